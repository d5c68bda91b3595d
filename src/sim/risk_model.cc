#include "sim/risk_model.h"

#include <algorithm>
#include <cmath>

#include "common/fnv.h"
#include "common/pii.h"

namespace lastro::sim {

RiskModelOutput ScoreApplicant(const RiskModelInput& in) {
  RiskModelOutput out;
  std::string digits = pii::CpfDigits(in.cpf);
  if (digits.empty()) digits = in.cpf;
  const int64_t base = 350 + static_cast<int64_t>(Fnv1a64(digits) % 501);
  int64_t score = base;
  if (base < 500) out.reason_codes.push_back("ADVERSE_CREDIT_HISTORY");
  if (base >= 750) out.reason_codes.push_back("GOOD_CREDIT_HISTORY");

  if (in.declared_income_cents <= 0) {
    score -= 200;
    out.reason_codes.push_back("NO_DECLARED_INCOME");
  } else {
    double ratio =
        static_cast<double>(in.amount_cents) / static_cast<double>(in.declared_income_cents);
    score -= static_cast<int64_t>(std::min(250.0, std::floor(30.0 * ratio)));
    if (ratio > 3) out.reason_codes.push_back("HIGH_AMOUNT_TO_INCOME");
    if (ratio < 0.5) {
      score += 40;
      out.reason_codes.push_back("STRONG_INCOME_COVERAGE");
    }
  }

  int64_t extra_months = std::max<int64_t>(0, int64_t{in.term_months} - 12);
  score -= std::min<int64_t>(120, 2 * extra_months);
  if (in.term_months > 36) out.reason_codes.push_back("LONG_TERM");

  if (in.purpose == "debt_consolidation") {
    score -= 20;
    out.reason_codes.push_back("DEBT_CONSOLIDATION");
  } else if (in.purpose == "business") {
    score -= 10;
  }
  if (in.channel == "partner") score -= 10;

  out.score = static_cast<int32_t>(std::clamp<int64_t>(score, 0, 1000));
  out.risk_band = out.score >= 800   ? "A"
                  : out.score >= 650 ? "B"
                  : out.score >= 500 ? "C"
                  : out.score >= 350 ? "D"
                                     : "E";
  double pd = 1.0 / (1.0 + std::exp((out.score - 450.0) / 75.0));
  out.probability_of_default = std::round(pd * 10000.0) / 10000.0;
  if (out.reason_codes.empty()) out.reason_codes.push_back("NO_ADVERSE_FACTORS");
  return out;
}

}  // namespace lastro::sim
