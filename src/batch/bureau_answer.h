// Internal to the bureau client: reading the bureau's 200 answers
// (docs/bureau-api.md, "The client"). Pure functions, thread-safe. `as_of` is
// checked with IsIsoDate (common/iso_date.h).
#pragma once

#include <span>
#include <string>

#include "batch/bureau_client.h"

namespace lastro::batch::bureau_internal {

// Reads a 200 body answering `asked` (distinct CPFs, 11 digits) for `as_of`, and
// sets out[i] (status, score, detail, model; not `cpf`) for asked[i]; `out` has
// asked.size() elements. Entries for CPFs not asked are ignored; a score outside
// 0..1000, a CPF listed twice with different answers or a CPF left out makes that
// CPF kInconsistent. Returns false when the body as a whole is unusable (not a JSON
// object, no `results` array, another `as_of`): then every CPF is kInconsistent. A
// `model` that is not a string of 1-64 printable ASCII characters is ignored ("").
// Details never contain a CPF.
bool ReadBureauAnswer(const std::string& body, const std::string& as_of,
                      std::span<const std::string> asked, std::span<BureauScore> out);

}  // namespace lastro::batch::bureau_internal
