// Plain-language Portuguese (pt-BR) texts of the credit decision's reason codes and
// outcomes, for `lastro decision explain` (LGPD Art. 20). The texts are data:
// config/reason_codes.pt-BR.toml, embedded in the binary at build time.
//
// Pure functions over immutable data: thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::governance {

struct ReasonTexts {
  std::map<std::string, std::string> reason;   // reason code -> text
  std::map<std::string, std::string> outcome;  // APPROVED, ..., PENDING -> text
};

// The embedded config/reason_codes.pt-BR.toml, as written.
std::string_view EmbeddedReasonTextsToml();

// Reads a texts file: tables [reason] and [outcome] of string values, nothing else.
// Errors: kInvalidArgument "<source>:<line>: <reason>" for a TOML syntax error, an
// unknown table or a value that is not a non-empty string.
StatusOr<ReasonTexts> ParseReasonTexts(std::string_view toml_text, const std::string& source);

}  // namespace lastro::governance
