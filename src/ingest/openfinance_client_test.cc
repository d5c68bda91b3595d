// OpenFinanceClient and PullConsent against the real simulator (sim/openfinance_sim.h)
// on loopback.
#include "ingest/openfinance_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ingest/openfinance_pull.h"
#include "sim/openfinance_model.h"
#include "sim/openfinance_sim.h"
#include "testing/wait_for.h"

namespace lastro::ingest {
namespace {

using nlohmann::json;

constexpr const char* kCpf = "52998224725";

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

json Get(const std::string& url) {
  std::string out;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(h);
  curl_easy_cleanup(h);
  return json::parse(out, nullptr, false);
}

json Post(const std::string& url, const std::string& body) {
  std::string out;
  CURL* h = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  EXPECT_EQ(curl_easy_perform(h), CURLE_OK);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return json::parse(out, nullptr, false);
}

class OpenFinanceClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.timeout_ms = 2000;
    config_.backoff_base_ms = 5;
    config_.backoff_max_ms = 20;
    config_.retry_budget_min_per_s = 1000;
    config_.breaker_min_calls = 1000;  // off unless a test turns it on
    config_.breaker_window = 1000;
    config_.deadline_ms = 30000;
  }
  void StartSim(sim::OpenFinanceSimOptions options = {}) {
    options.addr = "127.0.0.1:0";
    options.now = "2026-11-20T15:00:00Z";
    auto sim = sim::OpenFinanceSim::Create(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
    config_.url = base_;
  }
  void StartClient() {
    auto client = OpenFinanceClient::Create(config_, RealClock::Instance(), registry_, &stop_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  std::string NewConsent() {
    json j = Post(base_ + "/open-banking/consents/v3/consents",
                  json{{"data",
                        {{"loggedUser", {{"document", {{"identification", kCpf}, {"rel", "CPF"}}}}},
                         {"permissions",
                          {"ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "ACCOUNTS_TRANSACTIONS_READ",
                           "RESOURCES_READ"}},
                         {"expirationDateTime", "2027-06-01T00:00:00Z"}}}}
                      .dump());
    if (!j.contains("data") || !j["data"].is_object()) return "";  // a fault was injected
    return j["data"].value("consentId", "");
  }
  void Configure(const std::string& body) {
    ASSERT_FALSE(Post(base_ + "/admin/config", body).contains("error")) << body;
  }
  int64_t Count(const std::string& name, const metrics::Labels& labels = {}) {
    return registry_.GetCounter(name, "", labels).value();
  }
  PullOptions Options(int page_size = 50) {
    PullOptions o;
    o.page_size = page_size;
    o.history_days = 60;
    o.overlap_days = 2;
    o.zone = absl::UTCTimeZone();
    return o;
  }

  OpenFinanceConfig config_;
  metrics::Registry registry_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<sim::OpenFinanceSim> sim_;
  std::unique_ptr<OpenFinanceClient> client_;
  std::string base_;
};

const WatermarkLookup kNoWatermarks = [](const std::string&) {
  return std::optional<absl::CivilDay>();
};

TEST_F(OpenFinanceClientTest, GetsUnderAConsent) {
  StartSim();
  StartClient();
  const std::string consent = NewConsent();
  OfCallStats stats;
  auto body = client_->Get("/open-banking/accounts/v2/accounts", consent, &stats);
  ASSERT_TRUE(body.ok()) << body.status();
  auto page = ParseListPage(*body);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->data[0]["accountId"], sim::OpenFinanceModel(42).Accounts(kCpf)[0].account_id);
  EXPECT_EQ(stats.calls, 1);
  EXPECT_EQ(Count("lastro.openfinance.calls", {{"outcome", "ok"}}), 1);
}

TEST_F(OpenFinanceClientTest, FiveHundredsAnd429sAreRetriedUntilTheyPass) {
  StartSim({.seed = 5, .error_rate = 0.3, .rate_429 = 0.3, .retry_after_s = 0});
  config_.max_attempts = 30;
  StartClient();
  const std::string consent = [&] {
    for (;;) {  // the consent creation itself may meet a fault: this helper does not retry
      std::string id = NewConsent();
      if (!id.empty()) return id;
    }
  }();
  OfCallStats stats;
  for (int i = 0; i < 20; ++i) {
    auto body = client_->Get("/open-banking/accounts/v2/accounts", consent, &stats);
    ASSERT_TRUE(body.ok()) << body.status();
  }
  EXPECT_GT(stats.retries, 0);
  EXPECT_EQ(stats.calls, 20 + stats.retries);
  EXPECT_GT(Count("lastro.openfinance.calls", {{"outcome", "http_5xx"}}), 0);
  EXPECT_GT(Count("lastro.openfinance.calls", {{"outcome", "http_429"}}), 0);
}

TEST_F(OpenFinanceClientTest, GivesUpAfterMaxAttempts) {
  StartSim({.error_rate = 1});
  config_.max_attempts = 3;
  StartClient();
  OfCallStats stats;
  auto body = client_->Get("/open-banking/accounts/v2/accounts", "urn:x:y", &stats);
  ASSERT_TRUE(absl::IsUnavailable(body.status())) << body.status();
  EXPECT_NE(body.status().message().find("after 3 attempts"), std::string::npos);
  EXPECT_EQ(stats.calls, 3);
  EXPECT_EQ(Count("lastro.openfinance.giveups", {{"reason", "attempts"}}), 1);
}

TEST_F(OpenFinanceClientTest, AnOpenBreakerHoldsCallsUntilTheDeadline) {
  StartSim({.error_rate = 1});
  config_.max_attempts = 2;
  config_.breaker_min_calls = 2;
  config_.breaker_window = 2;
  config_.breaker_open_ms = 60000;
  config_.deadline_ms = 1500;
  StartClient();
  EXPECT_TRUE(
      absl::IsUnavailable(client_->Get("/open-banking/accounts/v2/accounts", "c").status()));
  OfCallStats stats;
  auto held = client_->Get("/open-banking/accounts/v2/accounts", "c", &stats);
  EXPECT_TRUE(absl::IsDeadlineExceeded(held.status())) << held.status();
  EXPECT_EQ(stats.calls, 0) << "no call while the breaker is open";
  EXPECT_EQ(registry_.GetGauge("lastro.openfinance.circuit_open", "").value(), 1);
}

TEST_F(OpenFinanceClientTest, RejectionsMapToTheirStatuses) {
  StartSim({.token = "t0ken"});
  config_.token = "wrong";
  StartClient();
  auto unauthorised = client_->Get("/open-banking/accounts/v2/accounts", "c");
  EXPECT_TRUE(absl::IsFailedPrecondition(unauthorised.status())) << unauthorised.status();
  config_.token = "t0ken";
  StartClient();
  auto forbidden = client_->Get("/open-banking/accounts/v2/accounts", "urn:lastrobank:nope");
  EXPECT_TRUE(absl::IsPermissionDenied(forbidden.status())) << forbidden.status();
  EXPECT_EQ(forbidden.status().message().rfind("CONSENT_UNKNOWN", 0), 0u);
  auto missing = client_->Get("/open-banking/consents/v3/consents/urn:lastrobank:nope", "x");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  auto bad = client_->Get("/open-banking/accounts/v2/accounts?page=0", "");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_EQ(Count("lastro.openfinance.calls", {{"outcome", "http_4xx"}}), 4);
}

TEST_F(OpenFinanceClientTest, ARaisedStopFlagCancelsAWaitingCall) {
  StartSim({.error_rate = 1});
  config_.max_attempts = 1000;
  config_.backoff_base_ms = 200;
  config_.backoff_max_ms = 200;
  StartClient();
  // Raise the flag once the client is backing off between attempts.
  std::thread raiser([&] {
    testing::WaitFor(
        [&] {
          json stats = Get(base_ + "/admin/stats");
          return stats.is_object() && stats.value("calls", 0) >= 2;
        },
        std::chrono::seconds(20));
    stop_.store(true);
  });
  auto r = client_->Get("/open-banking/accounts/v2/accounts", "c");
  raiser.join();
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
}

TEST_F(OpenFinanceClientTest, OnlyLinksUnderTheBaseAreFollowed) {
  config_.url = "http://127.0.0.1:1/";
  StartClient();
  EXPECT_EQ(*client_->PathUnderBase("http://127.0.0.1:1/a/b?page=2"), "/a/b?page=2");
  EXPECT_FALSE(client_->PathUnderBase("http://evil.example/a").ok());
  EXPECT_FALSE(client_->PathUnderBase("http://127.0.0.1:10/a").ok());
  EXPECT_FALSE(client_->PathUnderBase("http://127.0.0.1:1").ok());
}

TEST_F(OpenFinanceClientTest, CreateRejectsABadConfig) {
  config_.url = "ftp://x";
  EXPECT_FALSE(OpenFinanceClient::Create(config_, RealClock::Instance(), registry_, nullptr).ok());
  config_.url = "http://x";
  config_.backoff_max_ms = 1;
  EXPECT_FALSE(OpenFinanceClient::Create(config_, RealClock::Instance(), registry_, nullptr).ok());
}

// ---- PullConsent ------------------------------------------------------------------

TEST(OpenFinancePullPeriod, StartsAtTheWatermarkMinusTheOverlapOrTheHistory) {
  PullOptions o;
  o.history_days = 30;
  o.overlap_days = 2;
  const absl::CivilDay today(2026, 11, 20);
  EXPECT_EQ(PullPeriod(std::nullopt, today, o).first, absl::CivilDay(2026, 10, 22));
  EXPECT_EQ(PullPeriod(absl::CivilDay(2026, 11, 18), today, o).first, absl::CivilDay(2026, 11, 16));
  EXPECT_EQ(PullPeriod(absl::CivilDay(2026, 11, 25), today, o).first, absl::CivilDay(2026, 11, 18))
      << "a watermark ahead of the bank's clock is capped at today";
  EXPECT_EQ(PullPeriod(absl::CivilDay(2024, 1, 1), today, o).first, today - 365)
      << "never more than the API's 366 days";
  EXPECT_EQ(PullPeriod(std::nullopt, today, o).second, today);
}

TEST_F(OpenFinanceClientTest, PullsEveryAccountAndEveryPage) {
  StartSim();
  StartClient();
  const ConsentToPull consent{NewConsent(), 7};
  auto pull = PullConsent(*client_, consent, Options(25), kNoWatermarks);
  ASSERT_TRUE(pull.ok()) << pull.status();
  ASSERT_EQ(pull->outcome, PullOutcome::kPulled) << pull->reason;
  const sim::OpenFinanceModel model(42);
  const auto accounts = model.Accounts(kCpf);
  ASSERT_EQ(pull->accounts.size(), accounts.size());
  const int64_t now = 1795186800000;  // 2026-11-20T15:00:00Z
  for (size_t i = 0; i < accounts.size(); ++i) {
    const PulledAccount& a = pull->accounts[i];
    EXPECT_EQ(a.from, absl::CivilDay(2026, 9, 22));
    EXPECT_EQ(a.to, absl::CivilDay(2026, 11, 20));
    auto want = model.Transactions(kCpf, accounts[i], a.from, a.to, now);
    ASSERT_EQ(a.transactions.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(a.transactions[k].transaction_id, want[k].transaction_id);
      EXPECT_EQ(a.transactions[k].amount_cents, want[k].amount_cents);
      EXPECT_EQ(a.transactions[k].booked_micros, want[k].at_ms * 1000);
    }
    ASSERT_TRUE(a.balance.has_value());
    EXPECT_EQ(a.balance->available_cents, model.BalanceCents(kCpf, accounts[i], now));
  }
  EXPECT_GT(pull->pages, static_cast<int64_t>(accounts.size()) + 1);
}

TEST_F(OpenFinanceClientTest, AWatermarkNarrowsThePeriod) {
  StartSim();
  StartClient();
  const ConsentToPull consent{NewConsent(), 7};
  WatermarkLookup at_18th = [](const std::string&) {
    return std::optional<absl::CivilDay>(absl::CivilDay(2026, 11, 18));
  };
  auto pull = PullConsent(*client_, consent, Options(), at_18th);
  ASSERT_TRUE(pull.ok());
  ASSERT_EQ(pull->outcome, PullOutcome::kPulled);
  for (const PulledAccount& a : pull->accounts) EXPECT_EQ(a.from, absl::CivilDay(2026, 11, 16));
}

TEST_F(OpenFinanceClientTest, RevokedOrUnknownConsentsAreSkippedWithTheReason) {
  StartSim();
  StartClient();
  const std::string revoked = NewConsent();
  Post(base_ + "/admin/consents/" + revoked + "/revoke", "");
  auto pull = PullConsent(*client_, {revoked, 1}, Options(), kNoWatermarks);
  ASSERT_TRUE(pull.ok());
  EXPECT_EQ(pull->outcome, PullOutcome::kSkipped);
  EXPECT_EQ(pull->reason, "REJECTED (CUSTOMER_MANUALLY_REVOKED)");
  auto unknown = PullConsent(*client_, {"urn:lastrobank:gone", 2}, Options(), kNoWatermarks);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->outcome, PullOutcome::kSkipped);
  EXPECT_NE(unknown->reason.find("unknown"), std::string::npos);
}

TEST_F(OpenFinanceClientTest, MalformedTransactionsAreQuarantinedNotLost) {
  StartSim({.malformed_rate = 0.2});
  StartClient();
  auto pull = PullConsent(*client_, {NewConsent(), 7}, Options(), kNoWatermarks);
  ASSERT_TRUE(pull.ok());
  ASSERT_EQ(pull->outcome, PullOutcome::kPulled);
  const PulledAccount& a = pull->accounts[0];
  const auto want = sim::OpenFinanceModel(42).Transactions(
      kCpf, sim::OpenFinanceModel(42).Accounts(kCpf)[0], a.from, a.to, 1795186800000);
  EXPECT_GT(a.quarantined.size(), 0u);
  EXPECT_EQ(a.transactions.size() + a.quarantined.size(), want.size());
  std::set<std::string> reasons;
  for (const QuarantinedRecord& q : a.quarantined) {
    reasons.insert(q.reason.substr(0, 12));
    EXPECT_EQ(q.raw.find("partieCnpjCpf"), std::string::npos);
  }
  EXPECT_GE(reasons.size(), 3u);
}

TEST_F(OpenFinanceClientTest, AnUnavailableBankFailsTheConsentNotTheRun) {
  StartSim({.error_rate = 1});
  config_.max_attempts = 2;
  StartClient();
  auto pull = PullConsent(*client_, {"urn:lastrobank:any", 1}, Options(), kNoWatermarks);
  ASSERT_TRUE(pull.ok()) << pull.status();
  EXPECT_EQ(pull->outcome, PullOutcome::kFailed);
  EXPECT_NE(pull->reason.find("unavailable after 2 attempts"), std::string::npos) << pull->reason;
}

TEST(OpenFinancePull, PathSegmentsAreEscaped) {
  EXPECT_EQ(EscapePathSegment("urn:lastrobank:ab-12"), "urn:lastrobank:ab-12");
  EXPECT_EQ(EscapePathSegment("a/b c?"), "a%2Fb%20c%3F");
}

}  // namespace
}  // namespace lastro::ingest
