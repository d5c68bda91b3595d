#include "sim/risk_api_sim.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/risk_model.h"

namespace lastro::sim {
namespace {

using nlohmann::json;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  json Json() const { return json::parse(body, nullptr, false); }
};

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}
size_t Header(char* d, size_t s, size_t n, void* out) {
  std::string line(d, s * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return s * n;
}

Reply Fetch(const std::string& method, const std::string& url, const std::string& body = "",
            const std::vector<std::string>& headers = {}, long timeout_ms = 10000) {
  Reply r;
  CURL* h = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& line : headers) list = curl_slist_append(list, line.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, Header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  r.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

const char* kBody =
    R"({"request_id":"123","cpf":"52998224725","amount_cents":500000,"term_months":12,)"
    R"("purpose":"personal","channel":"app","declared_income_cents":800000})";

// A free port and next to no latency, so tests run fast.
RiskApiSimOptions Fast() {
  RiskApiSimOptions o;
  o.addr = "127.0.0.1:0";
  o.latency_ms = 1;
  o.jitter_ms = 0;
  return o;
}

class RiskApiSimTest : public ::testing::Test {
 protected:
  void StartSim(const RiskApiSimOptions& options = Fast()) {
    auto sim = RiskApiSim::Create(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
  }
  Reply Assess(const std::string& body, const std::string& key = "",
               std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    if (!key.empty()) headers.push_back("Idempotency-Key: " + key);
    return Fetch("POST", base_ + "/v1/risk/assessments", body, headers);
  }
  Reply Config(const json& j) { return Fetch("POST", base_ + "/admin/config", j.dump()); }

  std::unique_ptr<RiskApiSim> sim_;
  std::string base_;
};

TEST_F(RiskApiSimTest, HealthzAnswers) {
  StartSim();
  Reply r = Fetch("GET", base_ + "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ok");
}

TEST_F(RiskApiSimTest, ScoresWithTheDeterministicModel) {
  StartSim();
  Reply r = Assess(kBody, "123");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  RiskModelOutput expected = ScoreApplicant({"52998224725", 500000, 12, "personal", "app", 800000});
  EXPECT_EQ(j["request_id"], "123");
  EXPECT_EQ(j["score"], expected.score);
  EXPECT_EQ(j["risk_band"], expected.risk_band);
  EXPECT_DOUBLE_EQ(j["probability_of_default"].get<double>(), expected.probability_of_default);
  EXPECT_EQ(j["reason_codes"].get<std::vector<std::string>>(), expected.reason_codes);
  EXPECT_EQ(j["model_version"], kRiskModelVersion);
  EXPECT_EQ(j["assessment_id"].get<std::string>().rfind("ra_", 0), 0u);
  std::string at = j["evaluated_at"];
  EXPECT_EQ(at.size(), 24u) << at;  // 2026-11-02T10:00:00.000Z
  EXPECT_EQ(at.back(), 'Z');
  EXPECT_EQ(r.headers.count("idempotent-replayed"), 0u);
}

TEST_F(RiskApiSimTest, RejectsBadBodiesWith400AndNeverEchoesTheCpf) {
  StartSim();
  json good = json::parse(kBody);
  struct Case {
    std::string body, message_part;
  };
  json missing = good, wrong_type = good, bad_cpf = good, numeric_id = good;
  missing.erase("term_months");
  wrong_type["amount_cents"] = "500000";
  bad_cpf["cpf"] = "52998224726";
  numeric_id["request_id"] = 123;
  std::vector<Case> cases = {{"{not json", "JSON object"},
                             {missing.dump(), "missing field 'term_months'"},
                             {wrong_type.dump(), "'amount_cents'"},
                             {bad_cpf.dump(), "not a valid CPF"},
                             {numeric_id.dump(), "'request_id'"}};
  for (const auto& c : cases) {
    Reply r = Assess(c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    std::string error = r.Json().value("error", "");
    EXPECT_NE(error.find(c.message_part), std::string::npos) << error;
    EXPECT_EQ(r.body.find("5299822472"), std::string::npos) << r.body;
  }
}

TEST_F(RiskApiSimTest, RequiresTheBearerTokenWhenConfigured) {
  RiskApiSimOptions o = Fast();
  o.token = "s3cret";
  StartSim(o);
  EXPECT_EQ(Assess(kBody).status, 401);
  EXPECT_EQ(Assess(kBody, "", {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(Assess(kBody, "", {"Authorization: Bearer s3cret"}).status, 200);
  EXPECT_EQ(Fetch("GET", base_ + "/admin/stats").status, 200);  // admin needs no token
}

TEST_F(RiskApiSimTest, RepeatedIdempotencyKeyReplaysTheCachedAnswer) {
  StartSim();
  Reply first = Assess(kBody, "k-1");
  Reply second = Assess(kBody, "k-1");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);  // same evaluated_at: the cached body
  EXPECT_EQ(second.headers["idempotent-replayed"], "true");
  json other = json::parse(kBody);
  other["amount_cents"] = 1;
  EXPECT_EQ(Assess(other.dump(), "k-1").status, 422);
  json stats = Fetch("GET", base_ + "/admin/stats").Json();
  EXPECT_EQ(stats["calls"], 3);
  EXPECT_EQ(stats["ok"], 2);
  EXPECT_EQ(stats["errors"], 1);
  EXPECT_EQ(stats["distinct_keys"], 1);
}

TEST_F(RiskApiSimTest, OutageAnswers503UntilItEnds) {
  StartSim();
  ASSERT_EQ(Fetch("POST", base_ + "/admin/outage?seconds=0.3").status, 200);
  Reply during = Assess(kBody);
  EXPECT_EQ(during.status, 503);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  long status = 0;
  while (std::chrono::steady_clock::now() < deadline && status != 200) {
    status = Assess(kBody).status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/outage?seconds=abc").status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/outage").status, 400);
}

TEST_F(RiskApiSimTest, ConfigInjectsErrorsAnd429WithRetryAfter) {
  RiskApiSimOptions o = Fast();
  o.retry_after_s = 7;
  StartSim(o);
  ASSERT_EQ(Config({{"error_rate", 1.0}}).status, 200);
  for (int i = 0; i < 10; ++i) {
    long s = Assess(kBody, "e" + std::to_string(i)).status;
    EXPECT_TRUE(s == 500 || s == 503) << s;
  }
  Reply c = Config({{"error_rate", 0.0}, {"rate_429", 1.0}});
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.Json()["rate_429"], 1.0);
  Reply r = Assess(kBody, "t");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "7");
  // Injected failures are not cached: the same key succeeds once the fault is gone.
  ASSERT_EQ(Config({{"rate_429", 0.0}}).status, 200);
  EXPECT_EQ(Assess(kBody, "t").status, 200);
}

TEST_F(RiskApiSimTest, ConfigRejectsUnknownFieldsAndOutOfRangeValues) {
  StartSim();
  EXPECT_EQ(Config({{"error_rate", 1.5}}).status, 400);
  EXPECT_EQ(Config({{"latency_ms", -1}}).status, 400);
  EXPECT_EQ(Config({{"nope", 1}}).status, 400);
  EXPECT_EQ(Config({{"rate_429", "x"}}).status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", "[").status, 400);
}

TEST_F(RiskApiSimTest, HangDoesNotBlockTheIoThread) {
  RiskApiSimOptions o = Fast();
  o.threads = 1;
  o.hang_ms = 3000;
  o.timeout_rate = 1;
  StartSim(o);
  Reply hung = Fetch("POST", base_ + "/v1/risk/assessments", kBody, {}, /*timeout_ms=*/200);
  EXPECT_EQ(hung.code, CURLE_OPERATION_TIMEDOUT);
  // The single IO thread still answers while the hung call is pending.
  Reply health = Fetch("GET", base_ + "/healthz", "", {}, 1000);
  EXPECT_EQ(health.status, 200);
  json calls = Fetch("GET", base_ + "/admin/calls").Json();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["status"], 504);
}

TEST_F(RiskApiSimTest, LatencyDelaysTheAnswer) {
  RiskApiSimOptions o = Fast();
  o.latency_ms = 150;
  StartSim(o);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Assess(kBody).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

TEST_F(RiskApiSimTest, CallsListsEveryAssessmentAndResetClearsIt) {
  StartSim();
  int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  Assess(kBody, "a");
  Assess("{}", "b");
  Assess(kBody);
  json calls = Fetch("GET", base_ + "/admin/calls").Json();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0]["key"], "a");
  EXPECT_EQ(calls[0]["status"], 200);
  EXPECT_GE(calls[0]["at_ms"].get<int64_t>(), before);
  EXPECT_EQ(calls[1]["key"], "b");
  EXPECT_EQ(calls[1]["status"], 400);
  EXPECT_EQ(calls[2]["key"], "");
  EXPECT_EQ(Fetch("POST", base_ + "/admin/reset").status, 200);
  EXPECT_EQ(Fetch("GET", base_ + "/admin/calls").Json().size(), 0u);
  json stats = Fetch("GET", base_ + "/admin/stats").Json();
  EXPECT_EQ(stats["calls"], 0);
  EXPECT_EQ(stats["distinct_keys"], 0);
}

TEST(RiskApiSim, CreateRejectsBadOptions) {
  RiskApiSimOptions o;
  o.addr = "127.0.0.1:0";
  o.error_rate = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(RiskApiSim::Create(o).status()));
  o.error_rate = 0;
  o.threads = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(RiskApiSim::Create(o).status()));
}

}  // namespace
}  // namespace lastro::sim
