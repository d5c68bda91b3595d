// Internal to the policy engine (policy.cc evaluates, policy_parser.cc loads): the
// compiled rule and the closed vocabularies of the file format. Not a public header.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decide/policy.h"

namespace lastro::decide {
namespace policy_internal {

// The values `channel_in` and `purpose_in` accept (and the database's CHECK allows).
inline constexpr std::array<std::string_view, 5> kChannels = {"app_ios", "app_android", "web",
                                                              "partner", "call_center"};
inline constexpr std::array<std::string_view, 8> kPurposes = {
    "personal",  "debt_consolidation", "vehicle", "home_improvement",
    "education", "business",           "medical", "other"};

// Condition kinds, in the order of kCondNames; the value is the bit in Rule::present.
// clang-format off
enum Cond : uint8_t {
  kScoreLt, kScoreGte, kBandIn, kPdGt, kAmountGt, kAmountLte, kTermGt, kTermLt,
  kInstallmentToIncomeGt, kIncomeMissing, kChannelIn, kPurposeIn, kFirstTime,
  kProviderReasonIn, kBureauScoreLt, kBureauScoreGte, kBureauMissing, kCondCount
};
inline constexpr std::array<std::string_view, kCondCount> kCondNames = {
    "score_lt", "score_gte", "band_in", "probability_of_default_gt",
    "amount_gt_cents", "amount_lte_cents", "term_gt_months", "term_lt_months",
    "installment_to_income_gt", "income_missing", "channel_in", "purpose_in",
    "first_time_customer", "provider_reason_in", "bureau_score_lt", "bureau_score_gte",
    "bureau_missing"};
static_assert(kCondCount <= 32, "Rule::present has one bit per condition kind");
// clang-format on

// Position of `value` in `names`, or -1.
template <size_t N>
int IndexOf(const std::array<std::string_view, N>& names, std::string_view value) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == value) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace policy_internal

// A rule compiled for evaluation: one field per condition kind (TOML forbids a key
// twice in a table, so a rule has each kind at most once), `present` says which apply.
struct Policy::Rule {
  uint32_t present = 0;
  Outcome outcome = Outcome::kApproved;
  int32_t score_lt = 0, score_gte = 0, term_gt = 0, term_lt = 0;
  int32_t bureau_lt = 0, bureau_gte = 0;
  int64_t amount_gt = 0, amount_lte = 0;
  double pd_gt = 0, installment_to_income_gt = 0;
  bool income_missing = false, first_time = false, bureau_missing = false;
  uint64_t band_mask = 0;  // bit = index into bands_
  uint32_t channel_mask = 0, purpose_mask = 0;
  std::vector<std::string> provider_reasons;

  bool Has(policy_internal::Cond c) const { return (present >> c) & 1u; }
};

}  // namespace lastro::decide
