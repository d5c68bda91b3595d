#include "decide/decider.h"

#include <gtest/gtest.h>

namespace lastro::decide {
namespace {

Policy DefaultPolicy() {
  auto p = Policy::LoadFile(std::string(LASTRO_SOURCE_DIR) + "/config/policy.toml");
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

CapturedRequest Request() {
  CapturedRequest r;
  r.id = 9;
  r.amount_cents = 300000;
  r.term_months = 12;
  r.purpose = "personal";
  r.channel = "app_android";
  r.declared_income_cents = 800000;
  r.commit_lsn = 0x1234;
  return r;
}

TEST(Decider, AppliesPolicyToAssessment) {
  Policy policy = DefaultPolicy();
  risk::ScoreResult res;
  res.request_id = 9;
  res.attempts = 2;
  res.latency_ms = 21.5;
  res.assessment = risk::Assessment{870, "A", 0.01, {}, "ra_1", "sim-1"};
  RequestContext ctx{"PENDING", "52998224725", false};
  Decision d = MakeDecision(Request(), ctx, res, policy, "MANUAL_REVIEW");
  EXPECT_EQ(d.status, "APPROVED");
  EXPECT_EQ(d.score, 870);
  EXPECT_EQ(d.policy_version, policy.version());
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.source_lsn, 0x1234u);
  EXPECT_FALSE(d.reason_codes.empty());
}

// A backtest replays a stored decision from its stored inputs, so the decision
// carries the two inputs that are not columns of the request.
TEST(Decider, CarriesThePolicyInputsABacktestNeeds) {
  Policy policy = DefaultPolicy();
  risk::ScoreResult res;
  res.assessment =
      risk::Assessment{870, "A", 0.01, {"ADVERSE_CREDIT_HISTORY", "LONG_TERM"}, "ra_1", "sim-1"};
  CapturedRequest request = Request();
  request.amount_cents = 2'500'000;
  request.declared_income_cents = 100'000'000;
  Decision d = MakeDecision(request, {"PENDING", "52998224725", true}, res, policy, "FAILED");
  EXPECT_EQ(d.provider_reason_codes,
            (std::vector<std::string>{"ADVERSE_CREDIT_HISTORY", "LONG_TERM"}));
  EXPECT_EQ(d.first_time_customer, std::optional<bool>(true));
  // Both inputs were used: the first-time rule and the adverse-history rule fired.
  EXPECT_EQ(d.reason_codes,
            (std::vector<std::string>{"FIRST_TIME_OVER_20K", "ADVERSE_HISTORY_OVER_10K"}));

  d = MakeDecision(request, {"PENDING", "52998224725", false}, res, policy, "FAILED");
  EXPECT_EQ(d.first_time_customer, std::optional<bool>(false));
  EXPECT_EQ(d.reason_codes, std::vector<std::string>{"ADVERSE_HISTORY_OVER_10K"});

  // Provider failure: no provider reasons, the lookup's first-time flag still known.
  res.assessment = absl::UnavailableError("down");
  d = MakeDecision(request, {"PENDING", "52998224725", true}, res, policy, "MANUAL_REVIEW");
  EXPECT_TRUE(d.provider_reason_codes.empty());
  EXPECT_EQ(d.first_time_customer, std::optional<bool>(true));
}

TEST(Decider, CarriesMaskedCpfNeverTheRawOne) {
  Policy policy = DefaultPolicy();
  risk::ScoreResult res;
  res.assessment = risk::Assessment{870, "A", 0.01, {}, "ra_1", "sim-1"};
  Decision d =
      MakeDecision(Request(), {"PENDING", "52998224725", false}, res, policy, "MANUAL_REVIEW");
  EXPECT_EQ(d.cpf_masked, "***.982.247-**");
  res.assessment = absl::UnavailableError("down");
  d = MakeDecision(Request(), {"PENDING", "", false}, res, policy, "MANUAL_REVIEW");
  EXPECT_EQ(d.cpf_masked, "***.***.***-**");
}

TEST(Decider, LowScoreIsRejectedWithReason) {
  Policy policy = DefaultPolicy();
  risk::ScoreResult res;
  res.assessment = risk::Assessment{120, "E", 0.4, {}, "ra_2", "sim-1"};
  Decision d = MakeDecision(Request(), {"PENDING", "", false}, res, policy, "MANUAL_REVIEW");
  EXPECT_EQ(d.status, "REJECTED");
  EXPECT_NE(std::find(d.reason_codes.begin(), d.reason_codes.end(), "SCORE_BELOW_MIN"),
            d.reason_codes.end());
}

TEST(Decider, ProviderFailureGoesToConfiguredStatusWithReason) {
  Policy policy = DefaultPolicy();
  risk::ScoreResult res;
  res.attempts = 4;
  res.assessment = absl::UnavailableError("risk provider unavailable after 4 attempts: HTTP 503");
  Decision d = MakeDecision(Request(), {"PENDING", "", false}, res, policy, "MANUAL_REVIEW");
  EXPECT_EQ(d.status, "MANUAL_REVIEW");
  EXPECT_EQ(d.reason_codes, std::vector<std::string>{"PROVIDER_UNAVAILABLE"});
  EXPECT_FALSE(d.score.has_value());
  EXPECT_NE(d.note.find("HTTP 503"), std::string::npos);
  d = MakeDecision(Request(), {"PENDING", "", false}, res, policy, "FAILED");
  EXPECT_EQ(d.status, "FAILED");
}

}  // namespace
}  // namespace lastro::decide
