#include "sim/risk_model.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace lastro::sim {
namespace {

RiskModelInput Base() { return {"52998224725", 500000, 12, "personal", "app", 800000}; }

bool Has(const RiskModelOutput& o, const std::string& code) {
  return std::find(o.reason_codes.begin(), o.reason_codes.end(), code) != o.reason_codes.end();
}

TEST(RiskModel, SameInputSameAnswer) {
  RiskModelOutput a = ScoreApplicant(Base()), b = ScoreApplicant(Base());
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.risk_band, b.risk_band);
  EXPECT_EQ(a.probability_of_default, b.probability_of_default);
  EXPECT_EQ(a.reason_codes, b.reason_codes);
}

TEST(RiskModel, PunctuatedCpfScoresLikeDigits) {
  RiskModelInput punctuated = Base();
  punctuated.cpf = "529.982.247-25";
  EXPECT_EQ(ScoreApplicant(punctuated).score, ScoreApplicant(Base()).score);
}

TEST(RiskModel, BiggerLoanForSameIncomeNeverScoresHigher) {
  RiskModelInput in = Base();
  int32_t previous = 1001;
  for (int64_t amount : {100000, 400000, 1600000, 3200000, 9000000}) {
    in.amount_cents = amount;
    int32_t score = ScoreApplicant(in).score;
    EXPECT_LE(score, previous) << amount;
    previous = score;
  }
  in.amount_cents = 9000000;
  EXPECT_TRUE(Has(ScoreApplicant(in), "HIGH_AMOUNT_TO_INCOME"));
}

TEST(RiskModel, LongerTermNeverScoresHigher) {
  RiskModelInput in = Base();
  in.term_months = 12;
  int32_t short_term = ScoreApplicant(in).score;
  in.term_months = 48;
  RiskModelOutput long_term = ScoreApplicant(in);
  EXPECT_EQ(long_term.score, short_term - 72);
  EXPECT_TRUE(Has(long_term, "LONG_TERM"));
}

TEST(RiskModel, NoIncomeCostsTwoHundredPoints) {
  RiskModelInput in = Base();
  in.amount_cents = in.declared_income_cents;  // ratio 1: -30
  int32_t with_income = ScoreApplicant(in).score;
  in.declared_income_cents = 0;
  RiskModelOutput out = ScoreApplicant(in);
  EXPECT_EQ(out.score, std::max(0, with_income + 30 - 200));
  EXPECT_TRUE(Has(out, "NO_DECLARED_INCOME"));
}

TEST(RiskModel, BandsAndProbabilityFollowTheScore) {
  for (const char* cpf : {"52998224725", "11144477735", "12345678909", "98765432100"}) {
    for (int64_t amount : {10000, 500000, 5000000}) {
      RiskModelInput in = Base();
      in.cpf = cpf;
      in.amount_cents = amount;
      RiskModelOutput o = ScoreApplicant(in);
      ASSERT_GE(o.score, 0);
      ASSERT_LE(o.score, 1000);
      std::string band = o.score >= 800   ? "A"
                         : o.score >= 650 ? "B"
                         : o.score >= 500 ? "C"
                         : o.score >= 350 ? "D"
                                          : "E";
      EXPECT_EQ(o.risk_band, band);
      EXPECT_GT(o.probability_of_default, 0);
      EXPECT_LT(o.probability_of_default, 1);
      EXPECT_FALSE(o.reason_codes.empty());
    }
  }
}

TEST(RiskModel, HigherScoreMeansLowerProbabilityOfDefault) {
  RiskModelInput in = Base();
  in.amount_cents = 100000;
  RiskModelOutput good = ScoreApplicant(in);
  in.amount_cents = 9000000;
  RiskModelOutput bad = ScoreApplicant(in);
  ASSERT_GT(good.score, bad.score);
  EXPECT_LT(good.probability_of_default, bad.probability_of_default);
}

}  // namespace
}  // namespace lastro::sim
