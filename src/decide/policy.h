// The company's credit policy as data: a versioned TOML rules file (docs/policy.md)
// applied to the risk provider's answer for one credit request.
//
// A Policy is loaded once, validated strictly (unknown keys, wrong types and unknown
// values are refused with "<file>:<line>: <reason>"), and is then immutable: Decide()
// and Evaluate() are const, pure and deterministic, so one Policy may be shared by
// any number of threads without locking, and the real-time stream and a historical
// backtest give the same answer for the same input and policy file.
//
// Evaluation: every rule whose conditions (AND-ed) all hold "fires". The outcome is
// the most severe outcome among the fired rules (REJECTED > MANUAL_REVIEW >
// APPROVED); when none fires it is the policy's `default`. Reason codes are the ids
// of the fired rules in file order, or ["DEFAULT_<outcome>"] when none fires.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::decide {

// Declared in severity order: a larger value beats a smaller one.
enum class Outcome : uint8_t { kApproved = 0, kManualReview = 1, kRejected = 2 };

// "APPROVED", "MANUAL_REVIEW" or "REJECTED" (the spelling used in policy files and
// in credit_requests.status). The view points to static storage.
std::string_view OutcomeName(Outcome outcome);

// Inverse of OutcomeName(); nullopt for anything else (case-sensitive).
std::optional<Outcome> ParseOutcome(std::string_view name);

// What the policy looks at for one credit request. A non-owning view: the strings
// and the reasons array are borrowed and must outlive the Decide()/Evaluate() call
// (build it from the request and the provider's Assessment right before deciding).
struct PolicyInput {
  int32_t score = 0;                              // provider score, 0..1000, higher is safer
  double probability_of_default = 0;              // provider PD, 0..1
  std::span<const std::string> provider_reasons;  // provider reason codes
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::optional<int64_t> declared_income_cents;  // monthly; nullopt = not declared
  // One of app_ios, app_android, web, partner, call_center. Any other value matches
  // no `channel_in` condition (the database's CHECK constraint prevents it upstream).
  std::string_view channel;
  // One of personal, debt_consolidation, vehicle, home_improvement, education,
  // business, medical, other. Any other value matches no `purpose_in` condition.
  std::string_view purpose;
  bool first_time_customer = false;
  // Credit-bureau score, 0..1000, from the daily batch's enrichment; nullopt = unknown
  // (not found, unavailable, or the real-time stream, which has none). Unknown makes
  // `bureau_score_lt` / `bureau_score_gte` false and `bureau_missing = true` true.
  std::optional<int32_t> bureau_score;
};

struct PolicyDecision {
  Outcome outcome = Outcome::kApproved;
  std::string band;  // BandFor(score)
  // Ids of the fired rules in file order, or {"DEFAULT_<outcome>"}. Never empty.
  std::vector<std::string> reason_codes;
};

// One rule as written in the file, for backtests, audit and dashboards.
struct RuleInfo {
  std::string id;
  std::string description;  // empty when the file gives none
  Outcome outcome = Outcome::kApproved;
  int line = 0;  // line of the rule's [[rule]] header in the source
};

class Policy {
 public:
  // Reads and validates a policy file.
  // Errors: kNotFound when the file cannot be opened; kInvalidArgument
  // "<path>:<line>: <reason>" for a TOML syntax error, an unknown key (with a
  // "did you mean" hint for near misses), a wrong type, an out-of-range number, an
  // unknown outcome/channel/purpose/band, a duplicate rule id, a rule without
  // conditions, a missing `version`/`default`/[bands], or bands not covering 0.
  static StatusOr<Policy> LoadFile(const std::string& path);

  // As LoadFile(), from text; `source_name` prefixes error messages.
  static StatusOr<Policy> Parse(std::string_view toml_text, std::string_view source_name);

  // Applies the policy. Allocates only the band string (short names stay in SSO)
  // and the reason codes. Thread-safe; never fails.
  PolicyDecision Decide(const PolicyInput& input) const;

  // Allocation-free variant for backtests: returns the outcome and, when `fired`
  // is not null, replaces its contents with the indices into rules() of the fired
  // rules, in file order (reuse the vector across calls to avoid allocating).
  Outcome Evaluate(const PolicyInput& input, std::vector<uint32_t>* fired) const;

  // The `version` string of the file; record it on every decision.
  const std::string& version() const { return version_; }

  // The outcome when no rule fires.
  Outcome default_outcome() const { return default_outcome_; }

  // The band whose minimum is the highest one <= score. Scores below every
  // minimum (only possible for negative scores) get the lowest band.
  const std::string& BandFor(int32_t score) const;

  // The rules in file order; Evaluate()'s indices point into this.
  const std::vector<RuleInfo>& rules() const { return rule_info_; }

  // Implementation details, public only so the engine's internal helpers can name
  // them: Rule is the compiled form of one rule (policy_internal.h).
  struct Rule;
  struct Band {
    std::string name;
    int32_t min_score = 0;
  };

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  Policy(const Policy&);
  Policy& operator=(const Policy&);
  ~Policy();

 private:
  Policy();
  friend class PolicyParser;

  int BandIndex(int32_t score) const;

  std::string version_;
  Outcome default_outcome_ = Outcome::kApproved;
  std::string default_reason_;  // "DEFAULT_<outcome>"
  std::vector<Band> bands_;     // sorted by min_score, highest first
  std::vector<Rule> rules_;     // file order
  std::vector<RuleInfo> rule_info_;
};

}  // namespace lastro::decide
