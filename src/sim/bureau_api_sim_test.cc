// BureauApiSim over loopback: the contract in docs/bureau-api.md.
#include "sim/bureau_api_sim.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/pii.h"
#include "sim/bureau_model.h"

namespace lastro::sim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string retry_after;
  json Json() const { return json::parse(body, nullptr, false); }
};

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}
size_t RetryAfter(char* d, size_t s, size_t n, void* out) {
  std::string line(d, s * n);
  if (line.size() > 12 &&
      (line.rfind("Retry-After:", 0) == 0 || line.rfind("retry-after:", 0) == 0)) {
    std::string value = line.substr(12);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n") + 1);
    *static_cast<std::string*>(out) = value;
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
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, RetryAfter);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.retry_after);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  r.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

// `n` distinct valid CPFs.
std::vector<std::string> Cpfs(int n, int first = 0) {
  std::vector<std::string> out;
  for (int i = first; i < first + n; ++i) {
    char base[16];
    std::snprintf(base, sizeof base, "%09d", 100000007 + i * 7919);
    out.push_back(pii::CpfWithCheckDigits(base));
  }
  return out;
}

std::string Body(const std::vector<std::string>& cpfs, const std::string& as_of = "2026-03-15") {
  return json{{"as_of", as_of}, {"cpfs", cpfs}}.dump();
}

// A free port, no imperfections: each test turns on what it checks.
BureauApiSimOptions Clean() {
  BureauApiSimOptions o;
  o.addr = "127.0.0.1:0";
  o.unknown_rate = 0;
  o.late_rate = 0;
  o.inconsistent_rate = 0;
  return o;
}

class BureauApiSimTest : public ::testing::Test {
 protected:
  void StartSim(const BureauApiSimOptions& options = Clean()) {
    auto sim = BureauApiSim::Create(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
  }
  Reply Score(const std::string& body, std::vector<std::string> headers = {},
              long timeout_ms = 10000) {
    headers.push_back("Content-Type: application/json");
    return Fetch("POST", base_ + "/v1/scores:batch", body, headers, timeout_ms);
  }
  json Stats() { return Fetch("GET", base_ + "/admin/stats").Json(); }

  std::unique_ptr<BureauApiSim> sim_;
  std::string base_;
};

TEST_F(BureauApiSimTest, HealthzAnswers) {
  StartSim();
  Reply r = Fetch("GET", base_ + "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ok");
}

TEST_F(BureauApiSimTest, ScoresAreDeterministicAcrossCallsAndFollowTheModel) {
  BureauApiSimOptions o = Clean();
  o.unknown_rate = 0.2;
  StartSim(o);
  const auto cpfs = Cpfs(200);
  Reply first = Score(Body(cpfs));
  Reply second = Score(Body(cpfs));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(second.body, first.body);
  json j = first.Json();
  EXPECT_EQ(j["as_of"], "2026-03-15");
  EXPECT_EQ(j["model"], kBureauModelVersion);
  ASSERT_EQ(j["results"].size(), cpfs.size());
  for (size_t i = 0; i < cpfs.size(); ++i) {
    const json& e = j["results"][i];
    EXPECT_EQ(e["cpf"], cpfs[i]);  // request order
    if (BureauKnows(cpfs[i], 0.2)) {
      EXPECT_EQ(e["status"], "FOUND");
      EXPECT_EQ(e["score"], BureauScoreFor(cpfs[i], "2026-03-15"));
    } else {
      EXPECT_EQ(e["status"], "NOT_FOUND");
      EXPECT_FALSE(e.contains("score"));
    }
  }
  // Another as_of, another (deterministic) answer.
  EXPECT_NE(Score(Body(cpfs, "2026-04-15")).body, first.body);
  // A restarted simulator gives the same answers.
  StartSim(o);
  EXPECT_EQ(Score(Body(cpfs)).body, first.body);
}

TEST_F(BureauApiSimTest, NotFoundShareIsRoughlyTheUnknownRate) {
  BureauApiSimOptions o = Clean();
  o.unknown_rate = 0.03;
  StartSim(o);
  int not_found = 0;
  for (int call = 0; call < 3; ++call) {
    Reply r = Score(Body(Cpfs(1000, call * 1000)));
    ASSERT_EQ(r.status, 200);
    const json j = r.Json();
    for (const auto& e : j["results"]) not_found += e["status"] == "NOT_FOUND";
  }
  EXPECT_NEAR(not_found / 3000.0, 0.03, 0.012) << not_found;
  // A CPF with wrong check digits is well-formed but unknown.
  Reply bad = Score(Body({"52998224726"}));
  ASSERT_EQ(bad.status, 200);
  EXPECT_EQ(bad.Json()["results"][0]["status"], "NOT_FOUND");
}

TEST_F(BureauApiSimTest, RejectsBadRequestsWith400AndAMessageWithoutCpfs) {
  StartSim();
  struct Case {
    std::string body, message;
  };
  auto too_many = Cpfs(1001);
  std::vector<Case> cases = {
      {"{not json", "body must be a JSON object"},
      {"[1]", "body must be a JSON object"},
      {R"({"cpfs":["52998224725"]})", "missing field 'as_of'"},
      {R"({"as_of":"2026-03-15"})", "missing field 'cpfs'"},
      {Body({"52998224725"}, "2026-02-30"), "'as_of' must be a date YYYY-MM-DD"},
      {Body({"52998224725"}, "15/03/2026"), "'as_of' must be a date YYYY-MM-DD"},
      {R"({"as_of":20260315,"cpfs":["52998224725"]})", "'as_of' must be a date YYYY-MM-DD"},
      {Body({}), "'cpfs' must be a non-empty array"},
      {R"({"as_of":"2026-03-15","cpfs":"52998224725"})", "'cpfs' must be a non-empty array"},
      {Body(too_many), "'cpfs' has 1001 entries; at most 1000 per call"},
      {Body({"52998224725", "5299822472"}), "'cpfs[1]' must be a string of 11 digits"},
      {Body({"529.982.247-25"}), "'cpfs[0]' must be a string of 11 digits"},
      {R"({"as_of":"2026-03-15","cpfs":[52998224725]})", "'cpfs[0]' must be a string of 11 digits"},
  };
  for (const auto& c : cases) {
    Reply r = Score(c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.Json().value("error", ""), c.message) << c.body;
    EXPECT_EQ(r.body.find("5299822472"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Score(Body(Cpfs(1000))).status, 200);  // the limit itself is fine
}

TEST_F(BureauApiSimTest, RequiresTheBearerTokenWhenConfigured) {
  BureauApiSimOptions o = Clean();
  o.token = "s3cret";
  StartSim(o);
  const std::string body = Body({"52998224725"});
  EXPECT_EQ(Score(body).status, 401);
  EXPECT_EQ(Score(body, {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(Score(body, {"Authorization: Bearer s3cret"}).status, 200);
  EXPECT_EQ(Fetch("GET", base_ + "/healthz").status, 200);      // no token needed
  EXPECT_EQ(Fetch("GET", base_ + "/admin/stats").status, 200);  // nor for admin
}

TEST_F(BureauApiSimTest, OtherPathsAndMethodsAre404And405) {
  StartSim();
  EXPECT_EQ(Fetch("POST", base_ + "/v1/scores").status, 404);
  EXPECT_EQ(Fetch("GET", base_ + "/v1/scores:batch").status, 405);
}

TEST_F(BureauApiSimTest, LateCallsAnswerAfterLateMs) {
  BureauApiSimOptions o = Clean();
  o.late_rate = 1;
  o.late_ms = 300;
  StartSim(o);
  auto start = std::chrono::steady_clock::now();
  Reply r = Score(Body({"52998224725"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  // A client that waits less gives up; the answer would have been the same.
  Reply impatient = Score(Body({"52998224725"}), {}, /*timeout_ms=*/100);
  EXPECT_EQ(impatient.code, CURLE_OPERATION_TIMEDOUT);
  json calls = Fetch("GET", base_ + "/admin/calls").Json();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["late"], true);
  EXPECT_EQ(calls[0]["cpfs"], 1);
}

TEST_F(BureauApiSimTest, LatenessIsDrawnPerCallSoARetryUsuallySucceeds) {
  BureauApiSimOptions o = Clean();
  o.late_rate = 0.5;
  o.late_ms = 5000;
  StartSim(o);
  int timed_out = 0;
  for (int i = 0; i < 40; ++i) {
    Reply r = Score(Body({"52998224725"}), {}, /*timeout_ms=*/200);
    timed_out += r.code == CURLE_OPERATION_TIMEDOUT ? 1 : 0;
  }
  EXPECT_GT(timed_out, 8);
  EXPECT_LT(timed_out, 32);
  EXPECT_EQ(Stats()["late"], timed_out);
}

TEST_F(BureauApiSimTest, InconsistentAnswersFollowTheModel) {
  BureauApiSimOptions o = Clean();
  o.inconsistent_rate = 1;
  StartSim(o);
  const auto cpfs = Cpfs(60);
  Reply r = Score(Body(cpfs));
  ASSERT_EQ(r.status, 200);
  json results = r.Json()["results"];
  size_t at = 0;
  int kinds[4] = {0, 0, 0, 0};
  for (const auto& cpf : cpfs) {
    BureauInconsistency kind = BureauInconsistencyFor(cpf, "2026-03-15", 1);
    ++kinds[static_cast<int>(kind)];
    switch (kind) {
      case BureauInconsistency::kMissing:
        if (at < results.size()) {
          EXPECT_NE(results[at]["cpf"], cpf);
        }
        break;
      case BureauInconsistency::kScoreOutOfRange:
        ASSERT_LT(at, results.size());
        EXPECT_EQ(results[at]["cpf"], cpf);
        EXPECT_EQ(results[at]["score"], BureauOutOfRangeScore(cpf, "2026-03-15"));
        ++at;
        break;
      case BureauInconsistency::kListedTwice:
        ASSERT_LT(at + 1, results.size());
        EXPECT_EQ(results[at]["cpf"], cpf);
        EXPECT_EQ(results[at]["score"], BureauScoreFor(cpf, "2026-03-15"));
        EXPECT_EQ(results[at + 1]["cpf"], cpf);
        EXPECT_EQ(results[at + 1]["score"], BureauConflictingScore(cpf, "2026-03-15"));
        at += 2;
        break;
      case BureauInconsistency::kNone:
        ADD_FAILURE() << "rate 1 makes every CPF inconsistent";
    }
  }
  EXPECT_EQ(at, results.size());
  for (int k = 1; k < 4; ++k) EXPECT_GT(kinds[k], 0) << k;
}

TEST_F(BureauApiSimTest, InjectsErrorsAnd429WithRetryAfter) {
  BureauApiSimOptions o = Clean();
  o.retry_after_s = 7;
  o.error_rate = 1;
  StartSim(o);
  for (int i = 0; i < 10; ++i) {
    long s = Score(Body({"52998224725"})).status;
    EXPECT_TRUE(s == 500 || s == 503) << s;
  }
  Reply c = Fetch("POST", base_ + "/admin/config", R"({"error_rate":0,"rate_429":1})");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.Json()["rate_429"], 1.0);
  Reply r = Score(Body({"52998224725"}));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, "7");
  ASSERT_EQ(Fetch("POST", base_ + "/admin/config", R"({"rate_429":0})").status, 200);
  EXPECT_EQ(Score(Body({"52998224725"})).status, 200);
  json stats = Stats();
  EXPECT_EQ(stats["calls"], 12);
  EXPECT_EQ(stats["ok"], 1);
  EXPECT_EQ(stats["errors"], 11);
  EXPECT_EQ(stats["cpfs"], 1);
}

TEST_F(BureauApiSimTest, OutageAnswers503UntilResetEndsIt) {
  StartSim();
  ASSERT_EQ(Fetch("POST", base_ + "/admin/outage?seconds=60").status, 200);
  EXPECT_EQ(Score(Body({"52998224725"})).status, 503);
  ASSERT_EQ(Fetch("POST", base_ + "/admin/reset").status, 200);
  EXPECT_EQ(Score(Body({"52998224725"})).status, 200);
  EXPECT_EQ(Stats()["calls"], 1);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/outage?seconds=abc").status, 400);
}

TEST_F(BureauApiSimTest, ConfigRejectsUnknownFieldsAndOutOfRangeValues) {
  StartSim();
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", R"({"late_rate":1.5})").status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", R"({"late_ms":-1})").status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", R"({"nope":1})").status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", R"({"unknown_rate":"x"})").status, 400);
  EXPECT_EQ(Fetch("POST", base_ + "/admin/config", "[").status, 400);
}

TEST(BureauApiSim, CreateRejectsBadOptions) {
  BureauApiSimOptions o = Clean();
  o.inconsistent_rate = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(BureauApiSim::Create(o).status()));
  o.inconsistent_rate = 0;
  o.late_ms = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(BureauApiSim::Create(o).status()));
  o.late_ms = 0;
  o.threads = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(BureauApiSim::Create(o).status()));
}

}  // namespace
}  // namespace lastro::sim
