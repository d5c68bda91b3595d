#include "risk/assessment_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lastro::risk {
namespace {

constexpr const char* kGood = R"({"assessment_id":"ra_1f","request_id":"123","score":712,
  "risk_band":"B","probability_of_default":0.034,"reason_codes":["LOW_INCOME_RATIO"],
  "model_version":"sim-risk-2026.11","evaluated_at":"2026-11-02T10:00:00Z"})";

TEST(AssessmentJson, EncodesRequestIdAsStringAndAllFields) {
  ScoreRequest r{123, "52998224725", 500000, 12, "personal", "app", 800000};
  auto j = nlohmann::json::parse(EncodeScoreRequest(r));
  EXPECT_EQ(j["request_id"], "123");
  EXPECT_EQ(j["cpf"], "52998224725");
  EXPECT_EQ(j["amount_cents"], 500000);
  EXPECT_EQ(j["term_months"], 12);
  EXPECT_EQ(j["purpose"], "personal");
  EXPECT_EQ(j["channel"], "app");
  EXPECT_EQ(j["declared_income_cents"], 800000);
}

TEST(AssessmentJson, DecodesAGoodBody) {
  auto a = DecodeAssessment(kGood, 123);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->score, 712);
  EXPECT_EQ(a->risk_band, "B");
  EXPECT_DOUBLE_EQ(a->probability_of_default, 0.034);
  EXPECT_EQ(a->reason_codes, std::vector<std::string>{"LOW_INCOME_RATIO"});
  EXPECT_EQ(a->provider_ref, "ra_1f");
  EXPECT_EQ(a->model_version, "sim-risk-2026.11");
}

struct BadCase {
  std::string body;
  std::string message_part;
};

TEST(AssessmentJson, RejectsMalformedBodiesWithAClearMessage) {
  std::vector<BadCase> cases = {
      {"not json", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"risk_band":"B"})", "'score'"},
      {R"({"score":"712"})", "'score'"},
      {R"({"score":1001})", "'score'"},
      {R"({"score":700,"risk_band":""})", "'risk_band'"},
      {R"({"score":700,"risk_band":"B","probability_of_default":1.5})", "'probability_of_default'"},
      {R"({"score":700,"risk_band":"B","probability_of_default":0.1,"reason_codes":"x"})",
       "'reason_codes'"},
      {R"({"score":700,"risk_band":"B","probability_of_default":0.1,"reason_codes":[1]})",
       "'reason_codes'"},
      {R"({"score":700,"risk_band":"B","probability_of_default":0.1,"reason_codes":[]})",
       "'assessment_id'"},
      {R"({"score":700,"risk_band":"B","probability_of_default":0.1,"reason_codes":[],
          "assessment_id":"ra_1"})",
       "'model_version'"},
  };
  for (const auto& c : cases) {
    auto a = DecodeAssessment(c.body, 1);
    ASSERT_FALSE(a.ok()) << c.body;
    EXPECT_TRUE(absl::IsInvalidArgument(a.status())) << c.body;
    EXPECT_NE(a.status().message().find(c.message_part), std::string::npos)
        << a.status() << " for " << c.body;
  }
}

TEST(AssessmentJson, RejectsAnAnswerForAnotherRequest) {
  auto a = DecodeAssessment(kGood, 124);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("does not match"), std::string::npos);
}

TEST(AssessmentJson, ErrorsNeverQuoteTheBody) {
  auto a = DecodeAssessment(R"({"cpf":"52998224725","score":-1})", 1);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message().find("52998224725"), std::string::npos);
}

}  // namespace
}  // namespace lastro::risk
