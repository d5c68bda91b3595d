// The simulated risk provider's scoring model: a pure, deterministic function of the
// request fields, so reruns agree and tests can compute the expected answer.
//
//   base    = 350 + FNV-1a-64(CPF digits) mod 501            (350..850, "history")
//   income  = amount / declared income: -min(250, 30 x ratio); no income: -200;
//             ratio < 0.5: +40
//   term    = -2 per month above 12, at most -120
//   purpose = debt_consolidation -20, business -10; channel partner -10
//   score   = clamp(base + effects, 0, 1000)
//   band    = A >= 800 > B >= 650 > C >= 500 > D >= 350 > E
//   PD      = 1 / (1 + exp((score - 450) / 75)), rounded to 4 decimals
// Reason codes explain the biggest effects (docs/risk-api.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lastro::sim {

inline constexpr const char* kRiskModelVersion = "sim-risk-2026.11";

struct RiskModelInput {
  std::string cpf;  // 11 digits, with or without punctuation
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::string purpose;
  std::string channel;
  int64_t declared_income_cents = 0;
};

struct RiskModelOutput {
  int32_t score = 0;  // 0..1000
  std::string risk_band;
  double probability_of_default = 0;
  std::vector<std::string> reason_codes;  // never empty
};

// Deterministic; never fails (the caller validates the input first). Thread-safe.
RiskModelOutput ScoreApplicant(const RiskModelInput& input);

}  // namespace lastro::sim
