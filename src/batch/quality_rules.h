// Data-quality rules as data: a versioned TOML file (docs/quality.md, default
// config/quality.toml) that declares what the daily batch checks in its candidate
// tables before it publishes them. This header parses and validates the file; the
// evaluation against DuckDB relations is in batch/quality.h.
//
// A QualityRules is loaded once, validated strictly (unknown keys, keys that do not
// apply to the rule's type, wrong types, unknown type or severity, duplicate ids and
// missing required keys are refused with kInvalidArgument "<file>:<line>: <reason>"),
// and is immutable afterwards: it may be shared by threads without locking.
//
// What the parser cannot know, it leaves to evaluation: whether a table is bound,
// whether a column exists and has a usable type, and whether an expression is valid
// SQL (EvaluateQuality() checks those before it runs anything).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::batch {

enum class RuleType {
  // Row rules: find failing rows.
  kNotNull,
  kUnique,
  kAcceptedValues,
  kRange,
  kRelationships,
  kExpression,
  // Dataset rules: one verdict about the whole table.
  kFreshness,
  kRowCountAnomaly,
};
enum class Severity { kError, kWarn };

// The spellings used in rules files and results ("not_null", ..., "error", "warn").
// The views point to static storage.
std::string_view RuleTypeName(RuleType type);
std::string_view SeverityName(Severity severity);
// True for the six rule types that find failing rows.
bool IsRowRule(RuleType type);

// Default max_failure_ratio of error-severity row rules: 0.1%, so a handful of bad
// rows in a day's 100k requests are quarantined without stopping the run.
inline constexpr double kDefaultMaxFailureRatio = 0.001;

// One [[rule]] as written in the file. Fields that do not apply to `type` keep their
// defaults.
struct QualityRule {
  std::string id;     // unique in the file, [a-z0-9_]+
  std::string table;  // logical table name, bound to a relation by the caller
  RuleType type = RuleType::kNotNull;
  Severity severity = Severity::kError;
  std::string description;  // "" when the file gives none
  int line = 0;             // line of the rule's [[rule]] header

  // The checked column(s): one for every type except not_null/unique (one or more),
  // expression (none) and row_count_anomaly (its date_column).
  std::vector<std::string> columns;

  // Error-severity row rules: the rule breaches when failed / checked is above this.
  // 0 for warn rules and dataset rules (the key is refused there).
  double max_failure_ratio = 0;

  // accepted_values: the allowed values, all strings or all integers (integers in
  // decimal, e.g. "12").
  std::vector<std::string> values;
  bool integer_values = false;

  // range: inclusive bounds, at least one set. *_text is the number in decimal (a
  // valid SQL numeric literal), exact for integers of any size.
  std::optional<double> min, max;
  std::string min_text, max_text;

  // relationships: every non-NULL value of the column must appear in
  // to_table.to_column.
  std::string to_table, to_column;

  // expression: a DuckDB boolean expression over the row's columns.
  std::string expression;

  // freshness: the newest value of the column must be at most this old.
  double max_age_hours = 0;

  // row_count_anomaly.
  int trailing_days = 7;
  int min_history_days = 3;
  double max_deviation_ratio = 0.5;
};

class QualityRules {
 public:
  // Reads and validates a rules file.
  // Errors: kNotFound when the file cannot be opened; kInvalidArgument
  // "<path>:<line>: <reason>" for any problem in the file (TOML syntax, an unknown
  // key with a "did you mean" hint, a key that does not apply to the rule's type, a
  // wrong type or range, an unknown type or severity, a duplicate id, a missing
  // required key). The first problem is reported.
  static StatusOr<QualityRules> LoadFile(const std::string& path);

  // Same as LoadFile() for a file's contents; `source` names it in errors.
  static StatusOr<QualityRules> Parse(std::string_view toml, std::string_view source);

  // The file's `version`, recorded with every result.
  const std::string& version() const { return version_; }
  // The file name given to LoadFile()/Parse(), used in evaluation errors.
  const std::string& source() const { return source_; }
  // The rules in file order (the order they are evaluated and reported in).
  const std::vector<QualityRule>& rules() const { return rules_; }

 private:
  friend class QualityRulesParser;
  std::string version_;
  std::string source_;
  std::vector<QualityRule> rules_;
};

}  // namespace lastro::batch
