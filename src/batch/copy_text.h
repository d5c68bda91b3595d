// Splits rows of PostgreSQL's COPY text format (the default of COPY ... TO STDOUT)
// into fields: tab-separated, "\N" for NULL, backslash escapes (\t \n \r \\ \b \f \v,
// octal \ooo and hex \xHH), one row per line.
//
// Not thread-safe; reuse one parser per stream (it keeps its scratch buffers).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::batch {

class CopyTextParser {
 public:
  // Parses one row (with or without its trailing '\n'). The views in fields() point
  // into `row` or into the parser's buffers and stay valid until the next Parse().
  // Errors: kInvalidArgument when the row does not have `expected_fields` fields.
  Status Parse(std::string_view row, size_t expected_fields);

  // nullopt = SQL NULL.
  const std::vector<std::optional<std::string_view>>& fields() const { return fields_; }

 private:
  std::vector<std::optional<std::string_view>> fields_;
  std::vector<std::string> unescaped_;  // one per field (used when it had escapes)
};

}  // namespace lastro::batch
