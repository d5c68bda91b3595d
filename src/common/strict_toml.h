// Helpers for the strict TOML file formats (the credit policy, the data-quality
// rules): reading a file, turning toml++'s exceptions into a status, "did you mean"
// hints for misspelled names, and errors located at "source:line". toml++ is the
// one third-party type here; only parsers that already use toml++ include this.
//
// Pure functions and immutable objects: thread-safe.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::strict_toml {

// The whole file at `path`. Errors: kNotFound "<what> not found: <path>" when it
// cannot be opened (e.g. what = "policy file").
StatusOr<std::string> ReadFile(const std::string& path, std::string_view what);

// Parses `text`; `source` names it in errors. Errors: kInvalidArgument
// "<source>:<line>: <toml++'s description>" for a syntax error.
StatusOr<toml::table> Parse(std::string_view text, const std::string& source);

// Levenshtein distance (insertions, deletions, substitutions) between a and b.
size_t EditDistance(std::string_view a, std::string_view b);

// "a, b, c" ("" for no names).
std::string JoinNames(std::span<const std::string_view> names);

// The tail of an "unknown name" error: " (did you mean 'x'?)" when one of `known`
// is a near miss (at most 2 edits, and fewer than half the shorter name, so "F" is
// not "did you mean 'A'"), otherwise " (known: a, b, c)".
std::string Hint(std::string_view name, std::span<const std::string_view> known);

// How errors name a value's type: "a string", "an integer", "a floating-point
// number", "a boolean", "a table", "an array" or "a date/time".
std::string_view TypeName(const toml::node& node);

// Base of a strict parser of one TOML document: errors that point into it and the
// checks the file formats share. Every error is kInvalidArgument
// "<source>:<line>: <reason>", line 1 at the least (for the document as a whole).
class ParserBase {
 public:
  const std::string& source() const { return source_; }

 protected:
  explicit ParserBase(std::string source) : source_(std::move(source)) {}
  ~ParserBase() = default;

  Status Err(int line, const std::string& reason) const;
  Status Err(const toml::node& node, const std::string& reason) const;
  Status Err(const toml::key& key, const std::string& reason) const;

  // OK when every key of `table` is in `known`; else the error, at the first
  // unknown key, "<unknown> '<key>'<Hint>", e.g. unknown = "rule 'X': unknown key".
  Status CheckKeys(const toml::table& table, std::span<const std::string_view> known,
                   std::string_view unknown) const;

  // The required top-level `version`, a non-empty string.
  StatusOr<std::string> Version(const toml::table& root) const;

  // The array of tables at `key` ([[key]] sections), or nullptr when absent; an
  // error when it is something else.
  StatusOr<const toml::array*> ArrayOfTables(const toml::table& table, std::string_view key) const;

  // An integer in min..max into *out; `what` starts the error ("rule 'x': 'key'").
  Status IntIn(const toml::node& v, std::string_view what, int64_t min, int64_t max,
               int64_t* out) const;

  // A finite number in min..max into *out. Accepts an integer too (`= 1`), since
  // TOML spells whole numbers without a point.
  Status NumberIn(const toml::node& v, std::string_view what, double min, double max,
                  double* out) const;

 private:
  std::string source_;
};

}  // namespace lastro::strict_toml
