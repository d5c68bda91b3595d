// RiskClient against the real simulator (sim/risk_api_sim.h) on loopback.
#include "risk/risk_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "sim/risk_api_sim.h"
#include "sim/risk_model.h"
#include "web/http_server.h"

namespace lastro::risk {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

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

// Polls `condition` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition, milliseconds timeout = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Collects ScoreResults delivered on the client's thread.
class Results {
 public:
  std::function<void(ScoreResult)> Callback() {
    return [this](ScoreResult r) {
      std::lock_guard lock(mu_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  // Waits (with a deadline, not a sleep) until `n` results arrived.
  bool WaitFor(size_t n, milliseconds timeout = seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
  }
  std::vector<ScoreResult> Take() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ScoreResult> results_;
};

ScoreRequest Request(int64_t id, std::string cpf = "52998224725") {
  return {id, std::move(cpf), 500000, 12, "personal", "app", 800000};
}

class RiskClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_options_.addr = "127.0.0.1:0";
    sim_options_.latency_ms = 1;
    sim_options_.jitter_ms = 0;
    config_.timeout_ms = 1000;
    config_.backoff_base_ms = 5;
    config_.backoff_max_ms = 20;
    config_.retry_budget_min_per_s = 1000;
    config_.breaker_min_calls = 1000;  // off unless a test turns it on
    config_.breaker_window = 1000;
    config_.request_deadline_ms = 20000;
  }
  void StartSim() {
    auto sim = sim::RiskApiSim::Create(sim_options_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
    config_.url = base_;
  }
  void StartClient() {
    auto client = RiskClient::Create(config_, RealClock::Instance(), registry_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void Start() {
    StartSim();
    StartClient();
  }
  // Submits one request and waits for its result.
  ScoreResult Score(ScoreRequest r) {
    Results results;
    EXPECT_TRUE(client_->Submit(std::move(r), results.Callback(), seconds(5)).ok());
    EXPECT_TRUE(results.WaitFor(1));
    return results.Take().at(0);
  }
  json SimCalls() { return Admin("GET", base_ + "/admin/calls"); }
  void SimConfig(const json& j) { Admin("POST", base_ + "/admin/config", j.dump()); }
  int64_t Count(const std::string& name, const metrics::Labels& labels = {}) {
    return registry_.GetCounter(name, "", labels).value();
  }

  sim::RiskApiSimOptions sim_options_;
  RiskConfig config_;
  metrics::Registry registry_;
  std::unique_ptr<sim::RiskApiSim> sim_;
  std::unique_ptr<RiskClient> client_;  // destroyed before the simulator
  std::string base_;
};

TEST_F(RiskClientTest, HappyPathReturnsTheProviderAssessment) {
  Start();
  ScoreResult r = Score(Request(41));
  ASSERT_TRUE(r.assessment.ok()) << r.assessment.status();
  sim::RiskModelOutput expected =
      sim::ScoreApplicant({"52998224725", 500000, 12, "personal", "app", 800000});
  EXPECT_EQ(r.request_id, 41);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GT(r.latency_ms, 0);
  EXPECT_EQ(r.assessment->score, expected.score);
  EXPECT_EQ(r.assessment->risk_band, expected.risk_band);
  EXPECT_EQ(r.assessment->reason_codes, expected.reason_codes);
  EXPECT_EQ(r.assessment->model_version, sim::kRiskModelVersion);
  EXPECT_EQ(r.assessment->provider_ref.rfind("ra_", 0), 0u);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "ok"}}), 1);
  EXPECT_EQ(registry_.GetHistogram("lastro.risk.latency.ms", "").count(), 1u);
  Health h = client_->health();
  EXPECT_EQ(h.circuit, "closed");
  EXPECT_EQ(h.calls, 1);
  EXPECT_EQ(h.failures, 0);
  EXPECT_EQ(h.in_flight, 0);
}

TEST_F(RiskClientTest, SendsIdempotencyKeyAndBearerToken) {
  sim_options_.token = "s3cret";
  StartSim();
  config_.token = "s3cret";
  StartClient();
  ASSERT_TRUE(Score(Request(777)).assessment.ok());
  ASSERT_TRUE(Score(Request(778)).assessment.ok());
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["key"], "777");
  EXPECT_EQ(calls[1]["key"], "778");
}

TEST_F(RiskClientTest, MissingTokenIsAFailedPreconditionNotRetried) {
  sim_options_.token = "s3cret";
  Start();
  ScoreResult r = Score(Request(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.assessment.status())) << r.assessment.status();
  EXPECT_NE(r.assessment.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(Count("lastro.risk.giveups", {{"reason", "unauthorized"}}), 1);
}

TEST_F(RiskClientTest, RetriesOn503ThenSucceeds) {
  config_.max_attempts = 50;
  config_.backoff_base_ms = 20;
  config_.backoff_max_ms = 40;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=0.3");
  ScoreResult r = Score(Request(5));
  ASSERT_TRUE(r.assessment.ok()) << r.assessment.status();
  EXPECT_GT(r.attempts, 1);
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), static_cast<size_t>(r.attempts));
  EXPECT_EQ(calls.front()["status"], 503);
  EXPECT_EQ(calls.back()["status"], 200);
  for (const auto& c : calls) EXPECT_EQ(c["key"], "5");  // every retry, same key
  EXPECT_EQ(Count("lastro.risk.retries"), r.attempts - 1);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "http_5xx"}}), r.attempts - 1);
}

TEST_F(RiskClientTest, GivesUpAfterMaxAttemptsSayingWhy) {
  config_.max_attempts = 3;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=60");
  ScoreResult r = Score(Request(6));
  EXPECT_TRUE(absl::IsUnavailable(r.assessment.status()));
  EXPECT_EQ(r.assessment.status().message(),
            "risk provider unavailable after 3 attempts: HTTP 503");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(Count("lastro.risk.giveups", {{"reason", "attempts"}}), 1);
}

TEST_F(RiskClientTest, TooManyRequestsHonoursRetryAfter) {
  sim_options_.retry_after_s = 1;
  Start();
  SimConfig({{"rate_429", 1.0}});
  Results results;
  ASSERT_TRUE(client_->Submit(Request(9), results.Callback(), seconds(1)).ok());
  ASSERT_TRUE(Eventually([&] { return SimCalls().size() == 1; }));
  SimConfig({{"rate_429", 0.0}});
  ASSERT_TRUE(results.WaitFor(1));
  ScoreResult r = results.Take()[0];
  ASSERT_TRUE(r.assessment.ok()) << r.assessment.status();
  EXPECT_EQ(r.attempts, 2);
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["status"], 429);
  // backoff_max_ms is 20: only Retry-After explains a gap of a second.
  EXPECT_GE(calls[1]["at_ms"].get<int64_t>() - calls[0]["at_ms"].get<int64_t>(), 990);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "http_429"}}), 1);
}

TEST_F(RiskClientTest, TimeoutsAreRetriedThenReported) {
  sim_options_.timeout_rate = 1;
  sim_options_.hang_ms = 5000;
  config_.timeout_ms = 150;
  config_.max_attempts = 2;
  Start();
  ScoreResult r = Score(Request(10));
  EXPECT_TRUE(absl::IsUnavailable(r.assessment.status()));
  EXPECT_NE(r.assessment.status().message().find("after 2 attempts: timeout after"),
            std::string::npos)
      << r.assessment.status();
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "timeout"}}), 2);
}

TEST_F(RiskClientTest, BadRequestIsNotRetriedAndTheCpfStaysOut) {
  Start();
  ScoreResult r = Score(Request(11, "52998224726"));  // wrong check digit
  EXPECT_TRUE(absl::IsInvalidArgument(r.assessment.status()));
  EXPECT_NE(r.assessment.status().message().find("HTTP 400"), std::string::npos);
  EXPECT_NE(r.assessment.status().message().find("not a valid CPF"), std::string::npos);
  EXPECT_EQ(r.assessment.status().message().find("5299822472"), std::string::npos);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(SimCalls().size(), 1u);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "http_4xx"}}), 1);
  EXPECT_EQ(Count("lastro.risk.retries"), 0);
}

TEST_F(RiskClientTest, ConnectionErrorsAreRetried) {
  config_.max_attempts = 3;
  StartSim();
  sim_.reset();  // nothing listens on the port any more
  StartClient();
  ScoreResult r = Score(Request(12));
  EXPECT_TRUE(absl::IsUnavailable(r.assessment.status()));
  EXPECT_NE(r.assessment.status().message().find("after 3 attempts"), std::string::npos);
  EXPECT_EQ(Count("lastro.risk.calls", {{"outcome", "network"}}), 3);
}

TEST_F(RiskClientTest, MalformedSuccessBodyIsInvalidArgument) {
  web::ServerOptions options;
  options.addr = "127.0.0.1:0";
  auto server = web::HttpServer::Create(options);
  ASSERT_TRUE(server.ok());
  (*server)->Route("POST", "/v1/risk/assessments", [](const web::Request&, web::Responder r) {
    r.Send(web::Response::Json(200, R"({"score":"high"})"));
  });
  ASSERT_TRUE((*server)->Start().ok());
  config_.url = "http://127.0.0.1:" + std::to_string((*server)->port());
  StartClient();
  ScoreResult r = Score(Request(13));
  EXPECT_TRUE(absl::IsInvalidArgument(r.assessment.status()));
  EXPECT_NE(r.assessment.status().message().find("'score'"), std::string::npos);
  EXPECT_EQ(r.attempts, 1);
  client_.reset();
}

TEST_F(RiskClientTest, RetryBudgetExhaustionGivesUpEarly) {
  config_.max_attempts = 10;
  config_.retry_budget_ratio = 0;
  config_.retry_budget_min_per_s = 0;  // one starting token, never refilled
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=60");
  ScoreResult first = Score(Request(20));
  EXPECT_EQ(first.attempts, 2);
  EXPECT_NE(first.assessment.status().message().find("retry budget exhausted"), std::string::npos)
      << first.assessment.status();
  ScoreResult second = Score(Request(21));
  EXPECT_EQ(second.attempts, 1);
  EXPECT_EQ(Count("lastro.risk.giveups", {{"reason", "retry_budget"}}), 2);
}

TEST_F(RiskClientTest, BreakerOpensDuringOutageAndRequestsCompleteAfterRecovery) {
  config_.max_attempts = 20;
  config_.breaker_window = 10;
  config_.breaker_min_calls = 4;
  config_.breaker_failure_ratio = 0.5;
  config_.breaker_open_ms = 200;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=1");
  Results results;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(client_->Submit(Request(100 + i), results.Callback(), seconds(1)).ok());
  }
  metrics::Gauge& open_gauge = registry_.GetGauge("lastro.risk.circuit_open", "");
  // The breaker flips between open and half_open (failed probes) during the outage.
  EXPECT_TRUE(Eventually([&] { return client_->health().circuit == "open"; }));
  EXPECT_TRUE(Eventually([&] { return open_gauge.value() == 1; }));
  ASSERT_TRUE(results.WaitFor(8));
  for (const auto& r : results.Take()) {
    EXPECT_TRUE(r.assessment.ok()) << r.request_id << ": " << r.assessment.status();
  }
  // Health is published by the loop right after the callbacks ran.
  EXPECT_TRUE(Eventually([&] { return client_->health().circuit == "closed"; }));
  EXPECT_TRUE(Eventually([&] { return open_gauge.value() == 0; }));
  // While open, requests waited instead of calling: the failed calls are the first
  // wave plus about one probe per open period, far fewer than 8 x 20 attempts.
  int failed = 0;
  for (const auto& c : SimCalls()) failed += c["status"] == 503 ? 1 : 0;
  EXPECT_LE(failed, 8 + 8);
}

TEST_F(RiskClientTest, OpenBreakerWaitsWithoutSpendingAttemptsUntilTheDeadline) {
  config_.max_attempts = 10;
  config_.breaker_window = 1;
  config_.breaker_min_calls = 1;  // the first failure opens it
  config_.breaker_open_ms = 60000;
  config_.request_deadline_ms = 400;
  Start();
  Admin("POST", base_ + "/admin/outage?seconds=60");
  ScoreResult first = Score(Request(30));
  EXPECT_TRUE(absl::IsDeadlineExceeded(first.assessment.status())) << first.assessment.status();
  EXPECT_EQ(first.assessment.status().message(),
            "risk provider deadline of 400 ms exceeded after 1 attempts (circuit open): HTTP 503");
  EXPECT_EQ(first.attempts, 1);  // the retry waited on the breaker instead of calling
  ScoreResult second = Score(Request(31));
  EXPECT_TRUE(absl::IsDeadlineExceeded(second.assessment.status()));
  EXPECT_EQ(second.attempts, 0);  // never sent
  EXPECT_EQ(SimCalls().size(), 1u);
  EXPECT_EQ(Count("lastro.risk.giveups", {{"reason", "deadline"}}), 2);
}

TEST_F(RiskClientTest, BackpressureRejectsWhenFullAndWaitIsShort) {
  sim_options_.latency_ms = 300;
  config_.max_in_flight = 2;
  Start();
  Results results;
  ASSERT_TRUE(client_->Submit(Request(1), results.Callback(), milliseconds(0)).ok());
  ASSERT_TRUE(client_->Submit(Request(2), results.Callback(), milliseconds(0)).ok());
  Status full = client_->Submit(Request(3), results.Callback(), milliseconds(20));
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(client_->health().in_flight, 2);
  // A longer wait blocks until a slot frees, then queues.
  EXPECT_TRUE(client_->Submit(Request(4), results.Callback(), seconds(20)).ok());
  ASSERT_TRUE(results.WaitFor(3));
  EXPECT_FALSE(results.WaitFor(4, milliseconds(0)));  // request 3 was never queued
  for (const auto& r : results.Take()) EXPECT_NE(r.request_id, 3);
}

TEST_F(RiskClientTest, RateLimitSpacesOutCalls) {
  config_.rate_limit_per_s = 20;  // burst 2, then one call per 50 ms
  Start();
  Results results;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client_->Submit(Request(200 + i), results.Callback(), seconds(1)).ok());
  }
  ASSERT_TRUE(results.WaitFor(6));
  json calls = SimCalls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_GE(calls[5]["at_ms"].get<int64_t>() - calls[0]["at_ms"].get<int64_t>(), 190);
}

TEST_F(RiskClientTest, ShutdownCancelsOutstandingRequests) {
  sim_options_.latency_ms = 5000;
  Start();
  Results results;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client_->Submit(Request(300 + i), results.Callback(), seconds(1)).ok());
  }
  client_->Shutdown();
  ASSERT_TRUE(results.WaitFor(3, milliseconds(0)));  // Shutdown ran the callbacks
  for (const auto& r : results.Take()) EXPECT_TRUE(absl::IsCancelled(r.assessment.status()));
  EXPECT_TRUE(
      absl::IsFailedPrecondition(client_->Submit(Request(9), results.Callback(), milliseconds(0))));
  client_->Shutdown();  // idempotent
  EXPECT_EQ(client_->health().in_flight, 0);
}

TEST(RiskClient, CreateRejectsBadConfig) {
  metrics::Registry registry;
  RiskConfig config;
  config.url = "ftp://x";
  EXPECT_TRUE(absl::IsInvalidArgument(
      RiskClient::Create(config, RealClock::Instance(), registry).status()));
  config.url = "http://127.0.0.1:1";
  config.max_in_flight = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(
      RiskClient::Create(config, RealClock::Instance(), registry).status()));
}

}  // namespace
}  // namespace lastro::risk
