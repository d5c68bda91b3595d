// Loading and validation of policy files: TOML (toml++) -> Policy. toml++'s
// exceptions stop in strict_toml::Parse and become kInvalidArgument.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/strict_toml.h"
#include "decide/policy.h"
#include "decide/policy_internal.h"

namespace lastro::decide {
namespace {

namespace pi = policy_internal;

using strict_toml::Hint;
using strict_toml::TypeName;

bool ValidRuleId(std::string_view id) {
  if (id.empty() || !(id[0] >= 'A' && id[0] <= 'Z')) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

// Turns a parsed TOML document into a Policy, stopping at the first problem.
class PolicyParser : public strict_toml::ParserBase {
 public:
  explicit PolicyParser(std::string source) : ParserBase(std::move(source)) {}

  StatusOr<Policy> Build(const toml::table& root) {
    Policy p;
    static constexpr std::array<std::string_view, 4> kTopKeys = {"version", "default", "bands",
                                                                 "rule"};
    LASTRO_RETURN_IF_ERROR(CheckKeys(root, kTopKeys, "unknown top-level key"));
    LASTRO_ASSIGN_OR_RETURN(p.version_, Version(root));

    const toml::node* def = root.get("default");
    if (def == nullptr) {
      return Err(1, "missing required key 'default' (APPROVED, MANUAL_REVIEW or REJECTED)");
    }
    LASTRO_ASSIGN_OR_RETURN(p.default_outcome_, OutcomeOf(*def, "'default'"));
    p.default_reason_ = fmt::format("DEFAULT_{}", OutcomeName(p.default_outcome_));

    LASTRO_RETURN_IF_ERROR(ParseBands(root, p));

    LASTRO_ASSIGN_OR_RETURN(const toml::array* rules, ArrayOfTables(root, "rule"));
    if (rules != nullptr) {
      for (const toml::node& rule : *rules) {
        LASTRO_RETURN_IF_ERROR(ParseRule(*rule.as_table(), p));
      }
    }
    return p;
  }

 private:
  StatusOr<Outcome> OutcomeOf(const toml::node& node, const std::string& what) const {
    std::optional<Outcome> outcome;
    if (node.is_string()) outcome = ParseOutcome(node.as_string()->get());
    if (!outcome) {
      std::string got = node.is_string() ? fmt::format("'{}'", node.as_string()->get())
                                         : std::string(TypeName(node));
      return Err(node,
                 fmt::format("{} must be APPROVED, MANUAL_REVIEW or REJECTED, got {}", what, got));
    }
    return *outcome;
  }

  Status ParseBands(const toml::table& root, Policy& p) const {
    const toml::node* node = root.get("bands");
    if (node == nullptr) return Err(1, "missing required table [bands] (band = minimum score)");
    const toml::table* bands = node->as_table();
    if (bands == nullptr) return Err(*node, "'bands' must be a table of band = minimum score");
    for (const auto& [name, value] : *bands) {
      if (name.str().empty()) return Err(name, "band names must not be empty");
      std::optional<int64_t> min = value.value_exact<int64_t>();
      if (!min || *min < 0 || *min > 1000) {
        return Err(value, fmt::format("band '{}' must have an integer minimum score in 0..1000, "
                                      "got {}",
                                      name.str(),
                                      value.is_integer() ? std::to_string(*value.value<int64_t>())
                                                         : std::string(TypeName(value))));
      }
      for (const Policy::Band& other : p.bands_) {
        if (other.min_score == *min) {
          return Err(value, fmt::format("bands '{}' and '{}' have the same minimum score {}",
                                        other.name, name.str(), *min));
        }
      }
      p.bands_.push_back({std::string(name.str()), static_cast<int32_t>(*min)});
    }
    if (p.bands_.size() > 64) return Err(*node, "at most 64 bands are supported");
    std::sort(p.bands_.begin(), p.bands_.end(),
              [](const auto& a, const auto& b) { return a.min_score > b.min_score; });
    if (p.bands_.empty() || p.bands_.back().min_score != 0) {
      return Err(*node, "bands do not cover score 0: the lowest band's minimum must be 0");
    }
    return absl::OkStatus();
  }

  Status ParseRule(const toml::table& table, Policy& p) {
    static constexpr std::array<std::string_view, 4> kRuleKeys = {"id", "description", "outcome",
                                                                  "when"};
    RuleInfo info;
    info.line = static_cast<int>(table.source().begin.line);
    std::string where = fmt::format("rule #{}", p.rules_.size() + 1);
    const toml::node* id = table.get("id");
    if (id == nullptr) return Err(table, where + ": missing required key 'id'");
    if (!id->is_string() || !ValidRuleId(id->as_string()->get())) {
      return Err(*id, where +
                          ": 'id' must be a string of A-Z, 0-9 and _ starting with a "
                          "letter (it becomes a reason code)");
    }
    info.id = id->as_string()->get();
    if (info.id.rfind("DEFAULT_", 0) == 0) {
      return Err(*id, fmt::format("rule id '{}' is reserved: DEFAULT_* are the reason codes "
                                  "of the default outcome",
                                  info.id));
    }
    for (const RuleInfo& other : p.rule_info_) {
      if (other.id == info.id) {
        return Err(*id, fmt::format("duplicate rule id '{}' (first defined at line {})", info.id,
                                    other.line));
      }
    }
    where = fmt::format("rule '{}'", info.id);
    LASTRO_RETURN_IF_ERROR(CheckKeys(table, kRuleKeys, where + ": unknown key"));
    if (const toml::node* d = table.get("description")) {
      if (!d->is_string()) {
        return Err(*d,
                   where + ": 'description' must be a string, got " + std::string(TypeName(*d)));
      }
      info.description = d->as_string()->get();
    }
    const toml::node* outcome = table.get("outcome");
    if (outcome == nullptr) return Err(table, where + ": missing required key 'outcome'");
    LASTRO_ASSIGN_OR_RETURN(info.outcome, OutcomeOf(*outcome, where + ": 'outcome'"));

    Policy::Rule rule;
    rule.outcome = info.outcome;
    const toml::node* when = table.get("when");
    if (when == nullptr) return Err(table, where + ": missing required key 'when'");
    if (!when->is_table()) {
      return Err(*when, where + ": 'when' must be a table of conditions, got " +
                            std::string(TypeName(*when)));
    }
    if (when->as_table()->empty()) {
      return Err(*when, where +
                            ": 'when' has no conditions (for a rule that always fires, "
                            "write when = { score_gte = 0 })");
    }
    for (const auto& [key, value] : *when->as_table()) {
      int cond = pi::IndexOf(pi::kCondNames, key.str());
      if (cond < 0) {
        return Err(key, fmt::format("{}: unknown condition '{}'{}", where, key.str(),
                                    Hint(key.str(), pi::kCondNames)));
      }
      what_ = fmt::format("{}: condition '{}'", where, key.str());
      LASTRO_RETURN_IF_ERROR(ParseCondition(static_cast<pi::Cond>(cond), value, p, rule));
      rule.present |= 1u << cond;
    }
    p.rules_.push_back(std::move(rule));
    p.rule_info_.push_back(std::move(info));
    return absl::OkStatus();
  }

  Status ParseCondition(pi::Cond cond, const toml::node& v, const Policy& p, Policy::Rule& r) {
    switch (cond) {
      case pi::kScoreLt:
        return Int(v, 0, 1000, &r.score_lt);
      case pi::kScoreGte:
        return Int(v, 0, 1000, &r.score_gte);
      case pi::kAmountGt:
        return Int(v, 0, INT64_MAX, &r.amount_gt);
      case pi::kAmountLte:
        return Int(v, 0, INT64_MAX, &r.amount_lte);
      case pi::kTermGt:
        return Int(v, 0, 1200, &r.term_gt);
      case pi::kTermLt:
        return Int(v, 0, 1200, &r.term_lt);
      case pi::kPdGt:
        return Number(v, 0, 1, &r.pd_gt);
      case pi::kInstallmentToIncomeGt:
        return Number(v, 0, 100, &r.installment_to_income_gt);
      case pi::kIncomeMissing:
        return Bool(v, &r.income_missing);
      case pi::kFirstTime:
        return Bool(v, &r.first_time);
      case pi::kChannelIn:
        return NameSet(v, pi::kChannels, "channel", &r.channel_mask);
      case pi::kPurposeIn:
        return NameSet(v, pi::kPurposes, "purpose", &r.purpose_mask);
      case pi::kBandIn: {
        std::vector<std::string_view> names;
        for (const Policy::Band& band : p.bands_) names.push_back(band.name);
        return NameSet(v, names, "band", &r.band_mask);
      }
      case pi::kProviderReasonIn:
        return Strings(v, &r.provider_reasons);
      case pi::kBureauScoreLt:
        return Int(v, 0, 1000, &r.bureau_lt);
      case pi::kBureauScoreGte:
        return Int(v, 0, 1000, &r.bureau_gte);
      case pi::kBureauMissing:
        return Bool(v, &r.bureau_missing);
      case pi::kCondCount:
        break;
    }
    return absl::InternalError("unreachable condition kind");
  }

  template <typename T>
  Status Int(const toml::node& v, int64_t min, int64_t max, T* out) const {
    int64_t value = 0;
    LASTRO_RETURN_IF_ERROR(IntIn(v, what_, min, max, &value));
    *out = static_cast<T>(value);
    return absl::OkStatus();
  }

  Status Number(const toml::node& v, double min, double max, double* out) const {
    return NumberIn(v, what_, min, max, out);
  }

  Status Bool(const toml::node& v, bool* out) const {
    if (!v.is_boolean()) {
      return Err(v, fmt::format("{} must be true or false, got {}", what_, TypeName(v)));
    }
    *out = v.as_boolean()->get();
    return absl::OkStatus();
  }

  Status Strings(const toml::node& v, std::vector<std::string>* out) const {
    const toml::array* array = v.as_array();
    if (array == nullptr || array->empty()) {
      return Err(v, fmt::format("{} must be a non-empty list of strings, got {}", what_,
                                array ? "an empty list" : TypeName(v)));
    }
    for (const toml::node& item : *array) {
      if (!item.is_string()) {
        return Err(item, fmt::format("{} must list strings, got {}", what_, TypeName(item)));
      }
      out->push_back(item.as_string()->get());
    }
    return absl::OkStatus();
  }

  template <typename Names, typename Mask>
  Status NameSet(const toml::node& v, const Names& known, std::string_view kind, Mask* mask) const {
    std::vector<std::string> names;
    LASTRO_RETURN_IF_ERROR(Strings(v, &names));
    const toml::array& array = *v.as_array();
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = std::find(known.begin(), known.end(), names[i]);
      if (it == known.end()) {
        return Err(*array.get(i), fmt::format("{}: unknown {} '{}'{}", what_, kind, names[i],
                                              Hint(names[i], known)));
      }
      *mask |= Mask{1} << (it - known.begin());
    }
    return absl::OkStatus();
  }

  std::string what_;  // "rule 'X': condition 'y'", prefix of condition errors
};

StatusOr<Policy> Policy::LoadFile(const std::string& path) {
  LASTRO_ASSIGN_OR_RETURN(std::string text, strict_toml::ReadFile(path, "policy file"));
  return Parse(text, path);
}

StatusOr<Policy> Policy::Parse(std::string_view toml_text, std::string_view source_name) {
  std::string source(source_name);
  LASTRO_ASSIGN_OR_RETURN(toml::table root, strict_toml::Parse(toml_text, source));
  return PolicyParser(source).Build(root);
}

}  // namespace lastro::decide
