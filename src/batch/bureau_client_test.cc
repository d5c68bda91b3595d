// BureauClient against the real simulator (sim/bureau_api_sim.h) on loopback.
#include "batch/bureau_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/pii.h"
#include "sim/bureau_api_sim.h"
#include "sim/bureau_model.h"
#include "testing/wait_for.h"
#include "web/http_server.h"

namespace lastro::batch {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAsOf = "2026-03-15";

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

// A blocking admin call to the simulator; returns the parsed JSON body.
json Admin(const std::string& method, const std::string& url, const std::string& body = "") {
  std::string out;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  CURLcode code = curl_easy_perform(h);
  curl_easy_cleanup(h);
  EXPECT_EQ(code, CURLE_OK) << url;
  return json::parse(out, nullptr, false);
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

// No detail may carry a CPF (or anything CPF-shaped).
void ExpectNoCpfIn(const std::vector<BureauScore>& results) {
  for (const auto& r : results) {
    EXPECT_EQ(pii::Redact(r.detail), r.detail);
    if (r.cpf.size() >= 11) {
      EXPECT_EQ(r.detail.find(pii::CpfDigits(r.cpf)), std::string::npos) << r.detail;
    }
  }
}

class BureauClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_options_.addr = "127.0.0.1:0";
    sim_options_.unknown_rate = 0;
    sim_options_.late_rate = 0;
    sim_options_.inconsistent_rate = 0;
    config_.timeout_ms = 2000;
    config_.backoff_base_ms = 5;
    config_.backoff_max_ms = 20;
    config_.retry_budget_min_per_s = 1000;
    config_.breaker_min_calls = 1000;  // off unless a test turns it on
    config_.breaker_window = 1000;
    config_.deadline_ms = 20000;
  }
  void StartSim() {
    auto sim = sim::BureauApiSim::Create(sim_options_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
    config_.url = base_;
  }
  void StartClient() {
    auto client = BureauClient::Create(config_, RealClock::Instance(), registry_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void Start() {
    StartSim();
    StartClient();
  }
  std::vector<BureauScore> FetchOk(const std::vector<std::string>& cpfs) {
    auto results = client_->Fetch(kAsOf, cpfs, &stats_);
    EXPECT_TRUE(results.ok()) << results.status();
    if (!results.ok()) return {};
    EXPECT_EQ(results->size(), cpfs.size());
    return *std::move(results);
  }
  json SimCalls() { return Admin("GET", base_ + "/admin/calls"); }
  json SimStats() { return Admin("GET", base_ + "/admin/stats"); }
  int64_t Count(const std::string& name, const metrics::Labels& labels = {}) {
    return registry_.GetCounter(name, "", labels).value();
  }

  sim::BureauApiSimOptions sim_options_;
  BureauConfig config_;
  metrics::Registry registry_;
  BureauFetchStats stats_;
  std::unique_ptr<sim::BureauApiSim> sim_;
  std::unique_ptr<BureauClient> client_;
  std::string base_;
};

TEST_F(BureauClientTest, AnswersEveryCpfInInputOrder) {
  sim_options_.unknown_rate = 0.2;
  Start();
  std::vector<std::string> input = Cpfs(30);
  const std::string fifth = input[5];
  input.push_back(input[3]);  // a repeat
  input.push_back(fifth.substr(0, 3) + "." + fifth.substr(3, 3) + "." + fifth.substr(6, 3) + "-" +
                  fifth.substr(9));  // punctuated
  input.push_back("123");            // not a CPF
  input.push_back("52998224726");    // CPF-shaped, wrong check digit
  std::vector<BureauScore> results = FetchOk(input);
  ASSERT_EQ(results.size(), input.size());
  int found = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    const BureauScore& r = results[i];
    EXPECT_EQ(r.cpf, input[i]);
    if (i >= 30) continue;
    if (sim::BureauKnows(input[i], 0.2)) {
      ++found;
      EXPECT_EQ(r.status, BureauStatus::kFound);
      EXPECT_EQ(r.score, sim::BureauScoreFor(input[i], kAsOf));
      EXPECT_EQ(r.detail, "");
      EXPECT_EQ(r.model, sim::kBureauModelVersion);
    } else {
      EXPECT_EQ(r.status, BureauStatus::kNotFound);
      EXPECT_FALSE(r.score.has_value());
    }
  }
  EXPECT_GT(found, 15);
  EXPECT_LT(found, 30);
  EXPECT_EQ(results[30].score, results[3].score);
  EXPECT_EQ(results[30].status, results[3].status);
  EXPECT_EQ(results[31].score, results[5].score);
  EXPECT_EQ(results[31].status, results[5].status);
  EXPECT_EQ(results[32].status, BureauStatus::kNotFound);
  EXPECT_NE(results[32].detail.find("not a CPF"), std::string::npos);
  EXPECT_EQ(results[32].model, "");  // never asked
  EXPECT_EQ(results[33].status, BureauStatus::kNotFound);
  EXPECT_EQ(results[33].detail, "");
  // One call with each distinct, well-formed CPF once.
  EXPECT_EQ(stats_.calls, 1);
  EXPECT_EQ(stats_.retries, 0);
  EXPECT_EQ(stats_.failed_batches, 0);
  EXPECT_EQ(SimStats()["cpfs"], 31);
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "ok"}}), 1);
  EXPECT_EQ(Count("lastro.bureau.results", {{"status", "FOUND"}}) +
                Count("lastro.bureau.results", {{"status", "NOT_FOUND"}}),
            static_cast<int64_t>(input.size()));
  EXPECT_EQ(registry_.GetHistogram("lastro.bureau.latency.ms", "").count(), 1u);
  ExpectNoCpfIn(results);
}

TEST_F(BureauClientTest, SplitsIntoBatchesOfBatchSize) {
  config_.batch_size = 500;
  Start();
  const auto cpfs = Cpfs(1234);
  std::vector<BureauScore> results = FetchOk(cpfs);
  ASSERT_EQ(results.size(), 1234u);
  for (size_t i = 0; i < cpfs.size(); ++i) {
    EXPECT_EQ(results[i].cpf, cpfs[i]);
    EXPECT_EQ(results[i].score, sim::BureauScoreFor(cpfs[i], kAsOf));
  }
  EXPECT_EQ(stats_.calls, 3);
  std::vector<int64_t> sizes;
  for (const auto& c : SimCalls()) sizes.push_back(c["cpfs"].get<int64_t>());
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int64_t>{234, 500, 500}));
}

TEST_F(BureauClientTest, EmptyInputMakesNoCall) {
  Start();
  EXPECT_TRUE(FetchOk({}).empty());
  EXPECT_EQ(stats_.calls, 0);
  EXPECT_EQ(SimStats()["calls"], 0);
}

TEST_F(BureauClientTest, BadAsOfIsInvalidArgumentAndNothingIsSent) {
  Start();
  for (const char* as_of : {"", "2026-02-30", "2026-3-15", "15/03/2026", "2026-03-15T00:00"}) {
    auto r = client_->Fetch(as_of, Cpfs(3));
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << as_of << ": " << r.status();
  }
  EXPECT_EQ(SimStats()["calls"], 0);
}

TEST_F(BureauClientTest, LateCallsAreRetriedAndSucceedWithATimeoutBelowLateMs) {
  sim_options_.late_rate = 0.5;
  sim_options_.late_ms = 3000;
  config_.timeout_ms = 250;
  config_.max_attempts = 20;
  config_.batch_size = 10;
  Start();
  const auto cpfs = Cpfs(80);  // 8 batches
  std::vector<BureauScore> results = FetchOk(cpfs);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].status, BureauStatus::kFound) << results[i].detail;
    EXPECT_EQ(results[i].score, sim::BureauScoreFor(cpfs[i], kAsOf));
  }
  EXPECT_GT(stats_.retries, 0);
  EXPECT_EQ(stats_.calls, 8 + stats_.retries);
  EXPECT_EQ(stats_.failed_batches, 0);
  EXPECT_EQ(Count("lastro.bureau.retries"), stats_.retries);
  // Every retry followed a late call the client stopped waiting for.
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "timeout"}}), stats_.retries);
  EXPECT_EQ(SimStats()["late"], stats_.retries);
}

TEST_F(BureauClientTest, InconsistentAnswersAreFlaggedWithWhy) {
  sim_options_.inconsistent_rate = 1;
  Start();
  const auto cpfs = Cpfs(60);
  std::vector<BureauScore> results = FetchOk(cpfs);
  for (size_t i = 0; i < cpfs.size(); ++i) {
    const BureauScore& r = results[i];
    EXPECT_EQ(r.status, BureauStatus::kInconsistent);
    EXPECT_FALSE(r.score.has_value());
    switch (sim::BureauInconsistencyFor(cpfs[i], kAsOf, 1)) {
      case sim::BureauInconsistency::kScoreOutOfRange:
        EXPECT_EQ(r.detail, "score " + std::to_string(sim::BureauOutOfRangeScore(cpfs[i], kAsOf)) +
                                " outside 0..1000");
        break;
      case sim::BureauInconsistency::kListedTwice:
        EXPECT_EQ(r.detail, "listed twice with different answers");
        break;
      case sim::BureauInconsistency::kMissing:
        EXPECT_EQ(r.detail, "missing from the bureau's answer");
        break;
      case sim::BureauInconsistency::kNone:
        ADD_FAILURE();
    }
  }
  EXPECT_EQ(Count("lastro.bureau.results", {{"status", "INCONSISTENT"}}), 60);
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "ok"}}), 1);
  ExpectNoCpfIn(results);
}

TEST_F(BureauClientTest, ValidatesEveryAnswerAndIgnoresUnrequestedCpfs) {
  const auto c = Cpfs(12);
  std::atomic<int> mode{0};
  web::ServerOptions options;
  options.addr = "127.0.0.1:0";
  auto server = web::HttpServer::Create(options);
  ASSERT_TRUE(server.ok());
  (*server)->Route("POST", "/v1/scores:batch", [&](const web::Request&, web::Responder r) {
    json results = json::array({
        {{"cpf", c[0]}, {"status", "FOUND"}, {"score", 700}},
        {{"cpf", c[1]}, {"status", "FOUND"}, {"score", 650}},
        {{"cpf", c[1]}, {"status", "FOUND"}, {"score", 650}},  // twice, same: fine
        {{"cpf", c[2]}, {"status", "NOT_FOUND"}},
        {{"cpf", c[3]}, {"status", "FOUND"}, {"score", 1001}},
        {{"cpf", c[4]}, {"status", "FOUND"}, {"score", -1}},
        // c[5] missing
        {{"cpf", c[6]}, {"status", "FOUND"}, {"score", 500}},
        {{"cpf", c[6]}, {"status", "NOT_FOUND"}},
        {{"cpf", c[7]}, {"status", "FOUND"}, {"score", "700"}},
        {{"cpf", c[8]}, {"status", "MAYBE"}},
        {{"cpf", c[9]}, {"status", "FOUND"}, {"score", 0}},
        {{"cpf", c[10]}, {"status", "FOUND"}, {"score", 1000}},
        {{"cpf", c[11]}, {"status", "FOUND"}, {"score", 712.5}},
        {{"cpf", "52998224725"}, {"status", "FOUND"}, {"score", 1}},  // not asked
        {{"status", "FOUND"}, {"score", 1}},                          // no cpf
        42,
    });
    if (mode == 3) {
      r.Send(web::Response::Error(400, "cpfs[0] 529.982.247-25 is odd"));
      return;
    }
    std::string as_of = mode == 2 ? "2026-03-14" : kAsOf;
    json answer{{"as_of", as_of}, {"results", results}};
    if (mode == 4) answer["model"] = "score-v2";
    if (mode == 5) answer["model"] = "score\nv2";  // not printable: dropped
    if (mode == 6) answer["model"] = json::array({"score-v2"});
    std::string body = mode == 1 ? "<html>oops</html>" : answer.dump();
    r.Send(web::Response::Json(200, body));
  });
  ASSERT_TRUE((*server)->Start().ok());
  config_.url = "http://127.0.0.1:" + std::to_string((*server)->port());
  StartClient();

  std::vector<BureauScore> r = FetchOk(c);
  ASSERT_EQ(r.size(), 12u);
  auto expect = [&](size_t i, BureauStatus status, std::optional<int32_t> score,
                    const std::string& detail) {
    EXPECT_EQ(r[i].status, status) << i;
    EXPECT_EQ(r[i].score, score) << i;
    EXPECT_EQ(r[i].detail, detail) << i;
  };
  expect(0, BureauStatus::kFound, 700, "");
  expect(1, BureauStatus::kFound, 650, "");
  expect(2, BureauStatus::kNotFound, std::nullopt, "");
  expect(3, BureauStatus::kInconsistent, std::nullopt, "score 1001 outside 0..1000");
  expect(4, BureauStatus::kInconsistent, std::nullopt, "score -1 outside 0..1000");
  expect(5, BureauStatus::kInconsistent, std::nullopt, "missing from the bureau's answer");
  expect(6, BureauStatus::kInconsistent, std::nullopt, "listed twice with different answers");
  expect(7, BureauStatus::kInconsistent, std::nullopt, "FOUND without an integer 'score'");
  expect(8, BureauStatus::kInconsistent, std::nullopt, "result with an unknown 'status'");
  expect(9, BureauStatus::kFound, 0, "");
  expect(10, BureauStatus::kFound, 1000, "");
  expect(11, BureauStatus::kInconsistent, std::nullopt, "FOUND without an integer 'score'");
  for (const auto& x : r) EXPECT_EQ(x.model, "");  // the answer named no model
  ExpectNoCpfIn(r);

  // The model is metadata: named, it is kept; malformed, it is dropped, answers unchanged.
  for (int m : {4, 5, 6}) {
    mode = m;
    std::vector<BureauScore> named = FetchOk(c);
    ASSERT_EQ(named.size(), 12u);
    for (size_t i = 0; i < named.size(); ++i) {
      EXPECT_EQ(named[i].model, m == 4 ? "score-v2" : "") << m << " " << i;
      EXPECT_EQ(named[i].status, r[i].status) << m << " " << i;
      EXPECT_EQ(named[i].score, r[i].score) << m << " " << i;
    }
  }

  mode = 1;  // a body that is not JSON: the whole batch is unusable, not retried
  r = FetchOk(c);
  for (const auto& x : r) {
    EXPECT_EQ(x.status, BureauStatus::kInconsistent);
    EXPECT_EQ(x.detail, "bureau answer is not a JSON object");
  }
  EXPECT_EQ(stats_.calls, 1);
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "invalid_response"}}), 1);

  mode = 2;  // an answer for another day
  r = FetchOk(c);
  for (const auto& x : r) EXPECT_EQ(x.detail, "bureau answer is not for the as_of asked");

  mode = 3;  // a 400: the bureau rejects the request itself; not retried, CPF kept out
  r = FetchOk(c);
  for (const auto& x : r) {
    EXPECT_EQ(x.status, BureauStatus::kUnavailable);
    EXPECT_EQ(x.detail.rfind("bureau rejected the batch with HTTP 400: cpfs[0] ", 0), 0u)
        << x.detail;
    EXPECT_EQ(x.detail.find("247"), std::string::npos) << x.detail;
  }
  EXPECT_EQ(stats_.calls, 1);
  EXPECT_EQ(Count("lastro.bureau.giveups", {{"reason", "rejected"}}), 1);
  client_.reset();
}

TEST_F(BureauClientTest, WrongTokenIsFailedPreconditionWithoutRetries) {
  sim_options_.token = "s3cret";
  config_.token = "wrong";
  config_.batch_size = 2;
  config_.max_in_flight = 1;
  Start();
  auto r = client_->Fetch(kAsOf, Cpfs(6), &stats_);
  ASSERT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_NE(r.status().message().find("bureau.token"), std::string::npos);
  EXPECT_EQ(stats_.calls, 1);
  EXPECT_EQ(stats_.retries, 0);
  EXPECT_EQ(SimStats()["calls"], 1);
  EXPECT_EQ(Count("lastro.bureau.giveups", {{"reason", "unauthorized"}}), 1);

  // The right token works with the same kind of client.
  client_.reset();
  config_.token = "s3cret";
  StartClient();
  EXPECT_EQ(FetchOk(Cpfs(6)).size(), 6u);
}

TEST_F(BureauClientTest, RetriesServerErrorsThenSucceeds) {
  config_.max_attempts = 50;
  config_.backoff_base_ms = 20;
  config_.backoff_max_ms = 40;
  config_.batch_size = 10;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=0.3");
  std::vector<BureauScore> results = FetchOk(Cpfs(30));
  for (const auto& r : results) EXPECT_EQ(r.status, BureauStatus::kFound) << r.detail;
  EXPECT_GT(stats_.retries, 0);
  json stats = SimStats();
  EXPECT_EQ(stats["ok"], 3);
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "http_5xx"}}), stats["errors"]);
  EXPECT_EQ(stats_.calls, stats["calls"]);
}

TEST_F(BureauClientTest, GivesUpAfterMaxAttemptsSayingWhy) {
  config_.max_attempts = 3;
  config_.batch_size = 5;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=60");
  std::vector<BureauScore> results = FetchOk(Cpfs(10));
  for (const auto& r : results) {
    EXPECT_EQ(r.status, BureauStatus::kUnavailable);
    EXPECT_FALSE(r.score.has_value());
    EXPECT_EQ(r.detail, "bureau unavailable after 3 attempts: HTTP 503");
  }
  EXPECT_EQ(stats_.calls, 6);
  EXPECT_EQ(stats_.retries, 4);
  EXPECT_EQ(stats_.failed_batches, 2);
  EXPECT_EQ(Count("lastro.bureau.giveups", {{"reason", "attempts"}}), 2);
  EXPECT_EQ(Count("lastro.bureau.results", {{"status", "UNAVAILABLE"}}), 10);
}

TEST_F(BureauClientTest, ThrottlingHonoursRetryAfter) {
  sim_options_.rate_429 = 1;
  sim_options_.retry_after_s = 1;
  Start();
  std::vector<BureauScore> results;
  std::thread fetch([&] { results = FetchOk(Cpfs(5)); });
  ASSERT_TRUE(testing::WaitFor([&] { return SimStats()["calls"] == 1; }, seconds(20)));
  Admin("POST", base_ + "/admin/config", R"({"rate_429":0})");
  fetch.join();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].status, BureauStatus::kFound);
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["status"], 429);
  // backoff_max_ms is 20: only Retry-After explains a gap of a second.
  EXPECT_GE(calls[1]["at_ms"].get<int64_t>() - calls[0]["at_ms"].get<int64_t>(), 990);
  EXPECT_EQ(Count("lastro.bureau.calls", {{"outcome", "http_429"}}), 1);
}

TEST_F(BureauClientTest, SimulatorDownGivesUnavailableWithinTheDeadline) {
  config_.max_attempts = 10;
  config_.batch_size = 10;
  config_.max_in_flight = 4;
  config_.breaker_window = 4;
  config_.breaker_min_calls = 4;
  config_.breaker_open_ms = 60000;
  config_.deadline_ms = 1000;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=60");
  std::vector<BureauScore> results = FetchOk(Cpfs(100));  // 10 batches
  for (const auto& r : results) EXPECT_EQ(r.status, BureauStatus::kUnavailable);
  EXPECT_GE(stats_.elapsed_s, 0.9);
  EXPECT_LT(stats_.elapsed_s, 3.0);
  EXPECT_EQ(stats_.failed_batches, 10);
  EXPECT_EQ(registry_.GetGauge("lastro.bureau.circuit_open", "").value(), 1);
  EXPECT_EQ(Count("lastro.bureau.breaker_opened"), 1);
  EXPECT_GE(Count("lastro.bureau.giveups", {{"reason", "deadline"}}), 6);
  // The open breaker held the batches back: a first wave, not 10 x 10 calls.
  EXPECT_LE(SimStats()["calls"].get<int64_t>(), 8);
  EXPECT_NE(results.back().detail.find("(circuit open)"), std::string::npos)
      << results.back().detail;

  // Nothing listening at all: the same, through connection errors.
  sim_.reset();
  client_.reset();
  StartClient();
  results = FetchOk(Cpfs(30));
  for (const auto& r : results) EXPECT_EQ(r.status, BureauStatus::kUnavailable);
  EXPECT_LT(stats_.elapsed_s, 3.0);
  EXPECT_GT(Count("lastro.bureau.calls", {{"outcome", "network"}}), 0);
}

TEST_F(BureauClientTest, BreakerOpensDuringOutageAndBatchesCompleteAfterRecovery) {
  config_.max_attempts = 20;
  config_.batch_size = 10;
  config_.breaker_window = 10;
  config_.breaker_min_calls = 4;
  config_.breaker_open_ms = 200;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=1");
  std::vector<BureauScore> results = FetchOk(Cpfs(80));  // 8 batches
  for (const auto& r : results) EXPECT_EQ(r.status, BureauStatus::kFound) << r.detail;
  EXPECT_GE(Count("lastro.bureau.breaker_opened"), 1);
  EXPECT_EQ(registry_.GetGauge("lastro.bureau.circuit_open", "").value(), 0);
  // While open, batches waited instead of calling: about one probe per open period.
  EXPECT_LE(SimStats()["errors"].get<int64_t>(), 8 + 8);
}

TEST_F(BureauClientTest, MaxInFlightBoundsConcurrentCalls) {
  sim_options_.latency_ms = 200;
  config_.batch_size = 1;
  config_.max_in_flight = 2;
  Start();
  FetchOk(Cpfs(6));
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 6u);
  std::vector<int64_t> at;
  for (const auto& c : calls) at.push_back(c["at_ms"].get<int64_t>());
  // Two at a time: the fifth and sixth calls start after two rounds of 200 ms.
  EXPECT_GE(at[4] - at[0], 380);
  EXPECT_GE(stats_.elapsed_s, 0.58);
}

TEST_F(BureauClientTest, RateLimitSpacesOutCalls) {
  config_.rate_limit_per_s = 10;  // burst 1, then one call per 100 ms
  config_.batch_size = 1;
  Start();
  FetchOk(Cpfs(4));
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_GE(calls[3]["at_ms"].get<int64_t>() - calls[0]["at_ms"].get<int64_t>(), 290);
}

TEST(BureauClient, CreateRejectsBadConfig) {
  metrics::Registry registry;
  auto rejects = [&](const BureauConfig& c) {
    return absl::IsInvalidArgument(
        BureauClient::Create(c, RealClock::Instance(), registry).status());
  };
  BureauConfig config;
  EXPECT_TRUE(BureauClient::Create(config, RealClock::Instance(), registry).ok());
  BureauConfig c = config;
  c.url = "ftp://x";
  EXPECT_TRUE(rejects(c));
  c = config;
  c.batch_size = 1001;
  EXPECT_TRUE(rejects(c));
  c.batch_size = 0;
  EXPECT_TRUE(rejects(c));
  c = config;
  c.max_in_flight = 0;
  EXPECT_TRUE(rejects(c));
  c = config;
  c.backoff_max_ms = c.backoff_base_ms - 1;
  EXPECT_TRUE(rejects(c));
  c = config;
  c.deadline_ms = 0;
  EXPECT_TRUE(rejects(c));
}

TEST(BureauClient, StatusNamesAreTheLakeValues) {
  EXPECT_EQ(BureauStatusName(BureauStatus::kFound), "FOUND");
  EXPECT_EQ(BureauStatusName(BureauStatus::kNotFound), "NOT_FOUND");
  EXPECT_EQ(BureauStatusName(BureauStatus::kInconsistent), "INCONSISTENT");
  EXPECT_EQ(BureauStatusName(BureauStatus::kUnavailable), "UNAVAILABLE");
}

}  // namespace
}  // namespace lastro::batch
