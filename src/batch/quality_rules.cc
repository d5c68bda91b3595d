// Loading and validation of data-quality rules files: TOML (toml++) -> QualityRules.
// toml++'s exceptions stop in strict_toml::Parse and become kInvalidArgument.
#include "batch/quality_rules.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>

#include "common/strict_toml.h"

namespace lastro::batch {
namespace {

using strict_toml::Hint;
using strict_toml::JoinNames;
using strict_toml::TypeName;

constexpr std::array<std::string_view, 8> kTypeNames = {
    "not_null",      "unique",     "accepted_values", "range",
    "relationships", "expression", "freshness",       "row_count_anomaly"};

constexpr std::array<std::string_view, 5> kCommonKeys = {"id", "table", "type", "severity",
                                                         "description"};

// Every key a rule may have, for "did you mean" hints on misspellings.
constexpr std::array<std::string_view, 19> kAllKeys = {"id",
                                                       "table",
                                                       "type",
                                                       "severity",
                                                       "description",
                                                       "column",
                                                       "columns",
                                                       "values",
                                                       "min",
                                                       "max",
                                                       "to_table",
                                                       "to_column",
                                                       "expression",
                                                       "max_failure_ratio",
                                                       "max_age_hours",
                                                       "date_column",
                                                       "trailing_days",
                                                       "min_history_days",
                                                       "max_deviation_ratio"};

// The keys each type accepts besides kCommonKeys, indexed like RuleType.
const std::vector<std::vector<std::string_view>>& TypeKeys() {
  static const std::vector<std::vector<std::string_view>> kKeys = {
      {"column", "columns", "max_failure_ratio"},
      {"column", "columns", "max_failure_ratio"},
      {"column", "values", "max_failure_ratio"},
      {"column", "min", "max", "max_failure_ratio"},
      {"column", "to_table", "to_column", "max_failure_ratio"},
      {"expression", "max_failure_ratio"},
      {"column", "max_age_hours"},
      {"date_column", "trailing_days", "min_history_days", "max_deviation_ratio"},
  };
  return kKeys;
}

template <typename Names>
bool Contains(const Names& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// [a-z0-9_]+: rule ids and logical table names end up in file names, metrics and
// dashboards, so they stay plain.
bool ValidName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string_view RuleTypeName(RuleType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::string_view SeverityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warn";
}

bool IsRowRule(RuleType type) {
  return type != RuleType::kFreshness && type != RuleType::kRowCountAnomaly;
}

// Turns a parsed TOML document into QualityRules, stopping at the first problem.
class QualityRulesParser : public strict_toml::ParserBase {
 public:
  explicit QualityRulesParser(std::string source) : ParserBase(std::move(source)) {}

  StatusOr<QualityRules> Build(const toml::table& root) {
    QualityRules rules;
    rules.source_ = source();
    static constexpr std::array<std::string_view, 2> kTopKeys = {"version", "rule"};
    LASTRO_RETURN_IF_ERROR(CheckKeys(root, kTopKeys, "unknown top-level key"));
    LASTRO_ASSIGN_OR_RETURN(rules.version_, Version(root));
    LASTRO_ASSIGN_OR_RETURN(const toml::array* array, ArrayOfTables(root, "rule"));
    if (array != nullptr) {
      for (const toml::node& node : *array) {
        LASTRO_ASSIGN_OR_RETURN(QualityRule rule, ParseRule(*node.as_table(), rules));
        rules.rules_.push_back(std::move(rule));
      }
    }
    return rules;
  }

 private:
  StatusOr<QualityRule> ParseRule(const toml::table& t, const QualityRules& done) {
    QualityRule rule;
    rule.line = static_cast<int>(t.source().begin.line);
    where_ = fmt::format("rule #{}", done.rules_.size() + 1);
    const toml::node* id = t.get("id");
    if (id == nullptr) return Err(t, where_ + ": missing required key 'id'");
    if (!id->is_string() || !ValidName(id->as_string()->get())) {
      return Err(*id, where_ + ": 'id' must be a non-empty string of a-z, 0-9 and _");
    }
    rule.id = id->as_string()->get();
    for (const QualityRule& other : done.rules_) {
      if (other.id == rule.id) {
        return Err(*id, fmt::format("duplicate rule id '{}' (first defined at line {})", rule.id,
                                    other.line));
      }
    }
    where_ = fmt::format("rule '{}'", rule.id);
    LASTRO_RETURN_IF_ERROR(CheckKeys(t, kAllKeys, where_ + ": unknown key"));
    LASTRO_ASSIGN_OR_RETURN(std::string type, RequiredString(t, "type"));
    auto type_it = std::find(kTypeNames.begin(), kTypeNames.end(), type);
    if (type_it == kTypeNames.end()) {
      return Err(*t.get("type"),
                 fmt::format("{}: unknown type '{}'{}", where_, type, Hint(type, kTypeNames)));
    }
    rule.type = static_cast<RuleType>(type_it - kTypeNames.begin());
    const std::vector<std::string_view>& type_keys = TypeKeys()[type_it - kTypeNames.begin()];
    for (const auto& [key, value] : t) {
      if (!Contains(kCommonKeys, key.str()) && !Contains(type_keys, key.str())) {
        return Err(
            key, fmt::format("{}: key '{}' does not apply to type '{}' (its keys: {}, {})", where_,
                             key.str(), type, JoinNames(kCommonKeys), JoinNames(type_keys)));
      }
    }
    LASTRO_ASSIGN_OR_RETURN(rule.severity, ParseSeverity(t));
    LASTRO_ASSIGN_OR_RETURN(rule.table, RequiredString(t, "table"));
    if (!ValidName(rule.table)) {
      return Err(*t.get("table"), where_ + ": 'table' must be a logical name of a-z, 0-9 and _");
    }
    if (const toml::node* d = t.get("description")) {
      if (!d->is_string()) {
        return Err(*d,
                   fmt::format("{}: 'description' must be a string, got {}", where_, TypeName(*d)));
      }
      rule.description = d->as_string()->get();
    }
    LASTRO_RETURN_IF_ERROR(ParseTypeKeys(t, rule));
    return rule;
  }

  Status ParseTypeKeys(const toml::table& t, QualityRule& rule) const {
    if (IsRowRule(rule.type)) {
      const toml::node* ratio = t.get("max_failure_ratio");
      if (rule.severity == Severity::kWarn) {
        if (ratio != nullptr) {
          return Err(*ratio, where_ +
                                 ": 'max_failure_ratio' applies only to severity = \"error\" "
                                 "(a warn rule never breaches)");
        }
      } else {
        rule.max_failure_ratio = kDefaultMaxFailureRatio;
        if (ratio != nullptr) {
          LASTRO_RETURN_IF_ERROR(
              Number(*ratio, "max_failure_ratio", 0, 1, &rule.max_failure_ratio));
        }
      }
    }
    switch (rule.type) {
      case RuleType::kNotNull:
      case RuleType::kUnique:
        return Columns(t, rule);
      case RuleType::kAcceptedValues:
        LASTRO_RETURN_IF_ERROR(Column(t, "column", rule));
        return Values(t, rule);
      case RuleType::kRange: {
        LASTRO_RETURN_IF_ERROR(Column(t, "column", rule));
        LASTRO_RETURN_IF_ERROR(Bound(t, "min", &rule.min, &rule.min_text));
        LASTRO_RETURN_IF_ERROR(Bound(t, "max", &rule.max, &rule.max_text));
        if (!rule.min && !rule.max) return Err(t, where_ + ": a range needs 'min', 'max' or both");
        if (rule.min && rule.max && *rule.min > *rule.max) {
          return Err(*t.get("max"), fmt::format("{}: 'max' ({}) is below 'min' ({})", where_,
                                                rule.max_text, rule.min_text));
        }
        return absl::OkStatus();
      }
      case RuleType::kRelationships: {
        LASTRO_RETURN_IF_ERROR(Column(t, "column", rule));
        LASTRO_ASSIGN_OR_RETURN(rule.to_table, RequiredString(t, "to_table"));
        if (!ValidName(rule.to_table)) {
          return Err(*t.get("to_table"),
                     where_ + ": 'to_table' must be a logical name of a-z, 0-9 and _");
        }
        LASTRO_ASSIGN_OR_RETURN(rule.to_column, RequiredString(t, "to_column"));
        return absl::OkStatus();
      }
      case RuleType::kExpression: {
        LASTRO_ASSIGN_OR_RETURN(rule.expression, RequiredString(t, "expression"));
        // One expression, never a statement: a ';' could end the SELECT it is put in.
        if (rule.expression.find(';') != std::string::npos) {
          return Err(*t.get("expression"), where_ + ": 'expression' must not contain ';'");
        }
        return absl::OkStatus();
      }
      case RuleType::kFreshness: {
        LASTRO_RETURN_IF_ERROR(Column(t, "column", rule));
        const toml::node* age = t.get("max_age_hours");
        if (age == nullptr) return Err(t, where_ + ": missing required key 'max_age_hours'");
        LASTRO_RETURN_IF_ERROR(Number(*age, "max_age_hours", 0, 24 * 366, &rule.max_age_hours));
        if (rule.max_age_hours <= 0) {
          return Err(*age, where_ + ": 'max_age_hours' must be above 0");
        }
        return absl::OkStatus();
      }
      case RuleType::kRowCountAnomaly: {
        LASTRO_RETURN_IF_ERROR(Column(t, "date_column", rule));
        if (const toml::node* n = t.get("trailing_days")) {
          LASTRO_RETURN_IF_ERROR(Int(*n, "trailing_days", 1, 366, &rule.trailing_days));
        }
        rule.min_history_days = std::min(rule.min_history_days, rule.trailing_days);
        if (const toml::node* n = t.get("min_history_days")) {
          LASTRO_RETURN_IF_ERROR(
              Int(*n, "min_history_days", 1, rule.trailing_days, &rule.min_history_days));
        }
        if (const toml::node* n = t.get("max_deviation_ratio")) {
          LASTRO_RETURN_IF_ERROR(
              Number(*n, "max_deviation_ratio", 0, 1e6, &rule.max_deviation_ratio));
        }
        return absl::OkStatus();
      }
    }
    return absl::InternalError("unreachable rule type");
  }

  StatusOr<Severity> ParseSeverity(const toml::table& t) const {
    LASTRO_ASSIGN_OR_RETURN(std::string severity, RequiredString(t, "severity"));
    if (severity != "error" && severity != "warn") {
      return Err(
          *t.get("severity"),
          fmt::format("{}: 'severity' must be \"error\" or \"warn\", got '{}'", where_, severity));
    }
    return severity == "error" ? Severity::kError : Severity::kWarn;
  }

  StatusOr<std::string> RequiredString(const toml::table& t, std::string_view key) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return Err(t, fmt::format("{}: missing required key '{}'", where_, key));
    if (!node->is_string() || node->as_string()->get().empty()) {
      return Err(*node, fmt::format("{}: '{}' must be a non-empty string, got {}", where_, key,
                                    node->is_string() ? "\"\"" : TypeName(*node)));
    }
    return node->as_string()->get();
  }

  Status Column(const toml::table& t, std::string_view key, QualityRule& rule) const {
    LASTRO_ASSIGN_OR_RETURN(std::string column, RequiredString(t, key));
    rule.columns.push_back(std::move(column));
    return absl::OkStatus();
  }

  // not_null and unique: exactly one of `column` and `columns`.
  Status Columns(const toml::table& t, QualityRule& rule) const {
    const toml::node* one = t.get("column");
    const toml::node* many = t.get("columns");
    if (one != nullptr && many != nullptr) {
      return Err(*many, where_ + ": give 'column' or 'columns', not both");
    }
    if (one != nullptr) return Column(t, "column", rule);
    if (many == nullptr) {
      return Err(t, where_ + ": missing required key 'column' (or 'columns' = [...])");
    }
    const toml::array* array = many->as_array();
    if (array == nullptr || array->empty()) {
      return Err(*many, fmt::format("{}: 'columns' must be a non-empty list of column names, "
                                    "got {}",
                                    where_, array ? "an empty list" : TypeName(*many)));
    }
    for (const toml::node& item : *array) {
      if (!item.is_string() || item.as_string()->get().empty()) {
        return Err(item, where_ + ": 'columns' must list non-empty strings");
      }
      const std::string& name = item.as_string()->get();
      if (Contains(rule.columns, name)) {
        return Err(item, fmt::format("{}: column '{}' is listed twice", where_, name));
      }
      rule.columns.push_back(name);
    }
    return absl::OkStatus();
  }

  Status Values(const toml::table& t, QualityRule& rule) const {
    const toml::node* node = t.get("values");
    if (node == nullptr) return Err(t, where_ + ": missing required key 'values'");
    const toml::array* array = node->as_array();
    if (array == nullptr || array->empty()) {
      return Err(*node, fmt::format("{}: 'values' must be a non-empty list, got {}", where_,
                                    array ? "an empty list" : TypeName(*node)));
    }
    rule.integer_values = array->get(0)->is_integer();
    for (const toml::node& item : *array) {
      if (rule.integer_values ? !item.is_integer() : !item.is_string()) {
        return Err(item, fmt::format("{}: 'values' must be all strings or all integers, got {}",
                                     where_, TypeName(item)));
      }
      rule.values.push_back(rule.integer_values ? std::to_string(item.as_integer()->get())
                                                : item.as_string()->get());
    }
    return absl::OkStatus();
  }

  Status Bound(const toml::table& t, std::string_view key, std::optional<double>* value,
               std::string* text) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return absl::OkStatus();
    double v = 0;
    LASTRO_RETURN_IF_ERROR(Number(*node, key, -1e300, 1e300, &v));
    *value = v;
    *text = node->is_integer() ? std::to_string(node->as_integer()->get()) : fmt::format("{}", v);
    return absl::OkStatus();
  }

  Status Number(const toml::node& v, std::string_view key, double min, double max,
                double* out) const {
    return NumberIn(v, fmt::format("{}: '{}'", where_, key), min, max, out);
  }

  Status Int(const toml::node& v, std::string_view key, int min, int max, int* out) const {
    int64_t value = 0;
    LASTRO_RETURN_IF_ERROR(IntIn(v, fmt::format("{}: '{}'", where_, key), min, max, &value));
    *out = static_cast<int>(value);
    return absl::OkStatus();
  }

  std::string where_;  // "rule 'x'", prefix of rule errors
};

StatusOr<QualityRules> QualityRules::LoadFile(const std::string& path) {
  LASTRO_ASSIGN_OR_RETURN(std::string text, strict_toml::ReadFile(path, "quality rules file"));
  return Parse(text, path);
}

StatusOr<QualityRules> QualityRules::Parse(std::string_view toml_text, std::string_view source) {
  std::string name(source);
  LASTRO_ASSIGN_OR_RETURN(toml::table root, strict_toml::Parse(toml_text, name));
  return QualityRulesParser(name).Build(root);
}

}  // namespace lastro::batch
