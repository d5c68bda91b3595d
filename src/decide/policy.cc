#include "decide/policy.h"

#include <algorithm>
#include <optional>

#include "decide/policy_internal.h"

namespace lastro::decide {
namespace policy_internal {
namespace {

bool IncomeMissing(const PolicyInput& in) {
  return !in.declared_income_cents.has_value() || *in.declared_income_cents <= 0;
}

// Per-evaluation facts derived once from the input, shared by all rules.
struct Facts {
  uint64_t band_bit;
  uint32_t channel_bit;  // 0 when the channel is unknown
  uint32_t purpose_bit;
  bool income_missing;
};

int BandIndexIn(const std::vector<Policy::Band>& bands, int32_t score) {
  for (size_t i = 0; i < bands.size(); ++i) {
    if (score >= bands[i].min_score) return static_cast<int>(i);
  }
  return static_cast<int>(bands.size()) - 1;
}

// Simple installment (amount / term) over monthly income, compared without rounding
// twice: amount / (term * income) is one correctly rounded division, so a ratio equal
// to the threshold's decimal value never exceeds it. A term below 1 counts as 1.
bool InstallmentOverIncome(const PolicyInput& in, bool income_missing, double threshold) {
  if (income_missing) return true;
  double term = std::max<int32_t>(in.term_months, 1);
  double ratio = static_cast<double>(in.amount_cents) /
                 (term * static_cast<double>(*in.declared_income_cents));
  return ratio > threshold;
}

bool Holds(const Policy::Rule& r, const PolicyInput& in, const Facts& f) {
  if (r.Has(kScoreLt) && !(in.score < r.score_lt)) return false;
  if (r.Has(kScoreGte) && !(in.score >= r.score_gte)) return false;
  if (r.Has(kBandIn) && (r.band_mask & f.band_bit) == 0) return false;
  if (r.Has(kPdGt) && !(in.probability_of_default > r.pd_gt)) return false;
  if (r.Has(kAmountGt) && !(in.amount_cents > r.amount_gt)) return false;
  if (r.Has(kAmountLte) && !(in.amount_cents <= r.amount_lte)) return false;
  if (r.Has(kTermGt) && !(in.term_months > r.term_gt)) return false;
  if (r.Has(kTermLt) && !(in.term_months < r.term_lt)) return false;
  if (r.Has(kIncomeMissing) && f.income_missing != r.income_missing) return false;
  if (r.Has(kChannelIn) && (r.channel_mask & f.channel_bit) == 0) return false;
  if (r.Has(kPurposeIn) && (r.purpose_mask & f.purpose_bit) == 0) return false;
  if (r.Has(kFirstTime) && in.first_time_customer != r.first_time) return false;
  // An unknown bureau score passes no threshold, in either direction.
  if (r.Has(kBureauScoreLt) && !(in.bureau_score && *in.bureau_score < r.bureau_lt)) return false;
  if (r.Has(kBureauScoreGte) && !(in.bureau_score && *in.bureau_score >= r.bureau_gte)) {
    return false;
  }
  if (r.Has(kBureauMissing) && in.bureau_score.has_value() == r.bureau_missing) return false;
  if (r.Has(kInstallmentToIncomeGt) &&
      !InstallmentOverIncome(in, f.income_missing, r.installment_to_income_gt)) {
    return false;
  }
  if (r.Has(kProviderReasonIn)) {
    bool any = false;
    for (const std::string& reason : in.provider_reasons) {
      if (std::find(r.provider_reasons.begin(), r.provider_reasons.end(), reason) !=
          r.provider_reasons.end()) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

// Runs every rule; calls on_fire(index) for each fired rule in file order and
// returns the most severe fired outcome, or nullopt when none fired.
template <typename OnFire>
std::optional<Outcome> RunRules(const std::vector<Policy::Rule>& rules,
                                const std::vector<Policy::Band>& bands, const PolicyInput& in,
                                OnFire&& on_fire) {
  int channel = IndexOf(kChannels, in.channel);
  int purpose = IndexOf(kPurposes, in.purpose);
  const Facts facts{uint64_t{1} << BandIndexIn(bands, in.score), channel < 0 ? 0u : (1u << channel),
                    purpose < 0 ? 0u : (1u << purpose), IncomeMissing(in)};
  std::optional<Outcome> worst;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!Holds(rules[i], in, facts)) continue;
    on_fire(i);
    if (!worst || rules[i].outcome > *worst) worst = rules[i].outcome;
  }
  return worst;
}

}  // namespace
}  // namespace policy_internal

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApproved:
      return "APPROVED";
    case Outcome::kManualReview:
      return "MANUAL_REVIEW";
    case Outcome::kRejected:
      return "REJECTED";
  }
  return "UNKNOWN";
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (Outcome o : {Outcome::kApproved, Outcome::kManualReview, Outcome::kRejected}) {
    if (OutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

Policy::Policy() = default;
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::Policy(const Policy&) = default;
Policy& Policy::operator=(const Policy&) = default;
Policy::~Policy() = default;

int Policy::BandIndex(int32_t score) const { return policy_internal::BandIndexIn(bands_, score); }

const std::string& Policy::BandFor(int32_t score) const { return bands_[BandIndex(score)].name; }

Outcome Policy::Evaluate(const PolicyInput& input, std::vector<uint32_t>* fired) const {
  if (fired != nullptr) fired->clear();
  std::optional<Outcome> worst = policy_internal::RunRules(rules_, bands_, input, [&](size_t i) {
    if (fired != nullptr) fired->push_back(static_cast<uint32_t>(i));
  });
  return worst.value_or(default_outcome_);
}

PolicyDecision Policy::Decide(const PolicyInput& input) const {
  PolicyDecision decision;
  decision.band = BandFor(input.score);
  std::optional<Outcome> worst = policy_internal::RunRules(
      rules_, bands_, input, [&](size_t i) { decision.reason_codes.push_back(rule_info_[i].id); });
  decision.outcome = worst.value_or(default_outcome_);
  if (!worst) decision.reason_codes.push_back(default_reason_);
  return decision;
}

}  // namespace lastro::decide
