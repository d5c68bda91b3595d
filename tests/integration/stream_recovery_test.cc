// Failure handling of `lastro stream`: crashes, provider outages, database
// restarts, requests from before the slot existed.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "pg/migrations.h"
#include "stream_harness.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<StreamHarness> MakeHarness(HarnessOptions o) {
  auto h = StreamHarness::Create(o);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? std::move(*h) : nullptr;
}

// No provider call for a request after its decision was committed.
int64_t CallsAfterDecision(StreamHarness& h) {
  auto calls = nlohmann::json::parse(HttpGet(h.risk_url() + "/admin/calls"));
  auto c = pg::Connection::Connect(h.dsn());
  EXPECT_TRUE(c.ok());
  auto r = (*c)->Exec(
      "SELECT request_id, (extract(epoch from decided_at) * 1000)::bigint "
      "FROM credit_decisions");
  EXPECT_TRUE(r.ok());
  std::map<std::string, int64_t> decided;
  for (int i = 0; i < r->rows(); ++i) decided[std::string(r->Get(i, 0))] = r->GetInt(i, 1);
  int64_t late = 0;
  for (const auto& call : calls) {
    auto it = decided.find(call["key"].get<std::string>());
    // decided_at is the writer transaction's start; allow the clock's ms rounding.
    if (it != decided.end() && call["at_ms"].get<int64_t>() > it->second + 1) ++late;
  }
  return late;
}

TEST(StreamRecovery, SurvivesThreeKillsDuringLoadWithNothingLostOrRepeated) {
  auto h = MakeHarness({.name = "crash", .risk_latency_ms = 20, .risk_jitter_ms = 5});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  auto gen = h->StartGenerator({"--rate", "400", "--duration", "9", "--customers", "500"});
  ASSERT_TRUE(gen.ok());
  std::mt19937 rng(std::random_device{}());
  for (int kill = 0; kill < 3; ++kill) {
    std::this_thread::sleep_for(milliseconds(800 + rng() % 1500));  // a random moment
    h->StopStream(SIGKILL);
    ASSERT_TRUE(h->StartStream().ok()) << h->stream_log();
  }
  ASSERT_EQ((*gen)->Wait(seconds(60)), 0);
  ASSERT_TRUE(h->WaitNonePending(seconds(120))) << h->stream_log();
  int64_t requests = h->Count("SELECT count(*) FROM credit_requests");
  EXPECT_GT(requests, 1000);
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), requests);
  EXPECT_EQ(CallsAfterDecision(*h), 0);
  // Every request was scored, and re-sends after crashes were rare.
  auto stats = nlohmann::json::parse(HttpGet(h->risk_url() + "/admin/stats"));
  EXPECT_EQ(stats["distinct_keys"], requests);
}

TEST(StreamRecovery, ProviderOutageOpensBreakerAndEverythingIsDecidedAfter) {
  auto h = MakeHarness({.name = "outage",
                        .extra_toml = "[risk]\nmax_attempts = 3\nbackoff_base_ms = 20\n"
                                      "breaker_min_calls = 5\nbreaker_open_ms = 500\n"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  long code = 0;
  HttpPost(h->risk_url() + "/admin/outage?seconds=4", "", &code);
  ASSERT_EQ(code, 200);
  ASSERT_EQ(*h->Generate({"--count", "300", "--rate", "150", "--customers", "100"}), 300);
  ASSERT_TRUE(h->WaitNonePending(seconds(90))) << h->stream_log();
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 300);
  EXPECT_GT(h->Metric("lastro_risk_retries_total"), 0);
  EXPECT_GT(h->Metric("lastro_risk_breaker_opened_total"), 0);
  // The outage was shorter than the per-request deadline: once the breaker
  // opened, requests waited for the provider instead of going to manual review.
  // Only the first few, whose attempts ran out before the breaker had seen
  // breaker_min_calls failures, may have given up.
  EXPECT_LE(h->Count("SELECT count(*) FROM credit_decisions WHERE "
                     "'PROVIDER_UNAVAILABLE' = ANY(reason_codes)"),
            5);
}

TEST(StreamRecovery, ProviderDownPastDeadlineSendsToManualReviewWithReason) {
  auto h = MakeHarness({.name = "giveup",
                        .extra_toml = "[risk]\nmax_attempts = 2\nbackoff_base_ms = 10\n"
                                      "request_deadline_ms = 1500\nbreaker_open_ms = 300\n"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  HttpPost(h->risk_url() + "/admin/outage?seconds=30", "");
  ASSERT_EQ(*h->Generate({"--count", "20", "--customers", "10"}), 20);
  ASSERT_TRUE(h->WaitNonePending(seconds(60))) << h->stream_log();
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions WHERE decision = 'MANUAL_REVIEW' "
                     "AND 'PROVIDER_UNAVAILABLE' = ANY(reason_codes)"),
            20);
  // The provider gave no reasons; the first-time flag from the lookup is still stored.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions WHERE provider_reason_codes = '{}' "
                     "AND first_time_customer IS NOT NULL"),
            20);
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_request_status_history WHERE reason <> ''"), 20);
}

TEST(StreamRecovery, DecidesRequestsFromBeforeTheSlotAndAfterItWasDropped) {
  auto h = MakeHarness({.name = "backfill"});
  ASSERT_TRUE(h);
  ASSERT_EQ(*h->Generate({"--count", "100", "--customers", "50"}), 100);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_TRUE(h->WaitNonePending(seconds(60))) << h->stream_log();
  EXPECT_EQ(h->Metric("lastro_stream_backfilled_total"), 100);
  h->StopStream(SIGTERM);
  auto c = pg::Connection::Connect(h->dsn());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("SELECT pg_drop_replication_slot('" + h->slot() + "')").ok());
  ASSERT_EQ(*h->Generate({"--count", "100", "--customers", "50"}), 100);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_TRUE(h->WaitNonePending(seconds(60))) << h->stream_log();
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 200);
  auto stats = nlohmann::json::parse(HttpGet(h->risk_url() + "/admin/stats"));
  EXPECT_EQ(stats["distinct_keys"], 200);
  EXPECT_EQ(CallsAfterDecision(*h), 0);
}

TEST(StreamRecovery, SweepPicksUpRequestsStuckPending) {
  // A PENDING request whose change never reaches the slot (here the publication
  // is narrowed to inserts, the row is inserted decided and then set back to
  // PENDING by an update) is found by the reconciliation sweep.
  auto h = MakeHarness({.name = "sweep", .sweep_interval_s = 1, .sweep_threshold_s = 1});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  auto c = pg::Connection::Connect(h->dsn());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(*h->Generate({"--count", "10", "--customers", "10"}), 10);
  ASSERT_TRUE(h->WaitNonePending(seconds(30)));
  ASSERT_TRUE((*c)->Exec("ALTER PUBLICATION lastro_requests SET (publish = 'insert')").ok());
  ASSERT_TRUE((*c)->Exec("INSERT INTO credit_requests (customer_id, amount_cents, term_months, "
                         "purpose, channel, status, decided_at) SELECT id, 100000, 12, "
                         "'personal', 'web', 'MANUAL_REVIEW', now() FROM customers LIMIT 1")
                  .ok());
  ASSERT_TRUE((*c)->Exec("UPDATE credit_requests SET status = 'PENDING', decided_at = NULL "
                         "WHERE id = (SELECT max(id) FROM credit_requests)")
                  .ok());
  ASSERT_TRUE(h->WaitNonePending(seconds(30))) << h->stream_log();
  EXPECT_GE(h->Metric("lastro_stream_sweep_requeued_total"), 1);
}

TEST(StreamRecovery, ReconnectsAndCatchesUpAfterPostgresRestartUnderLoad) {
  // Its own cluster: restarting the shared one would disturb other tests.
  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::string dir = TestDir("pgrestart");
  std::string pg_local = std::string(src) + "/scripts/pg-local";
  std::string env = "LASTRO_PG_DIR=" + dir + "/pg ";
  ASSERT_EQ(std::system((env + pg_local + " start").c_str()), 0);
  std::string dsn;
  {
    FILE* p = popen((env + pg_local + " dsn").c_str(), "r");
    char buf[512] = {};
    ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
    pclose(p);
    dsn = buf;
    while (!dsn.empty() && dsn.back() == '\n') dsn.pop_back();
  }
  {
    auto c = pg::Connection::Connect(dsn);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(pg::Migrate(**c, pg::EmbeddedMigrations()).ok());
  }
  {
    auto h = MakeHarness({.name = "pgrestart_stream", .pg_dsn = dsn});
    ASSERT_TRUE(h);
    ASSERT_TRUE(h->StartStream().ok());
    auto gen = h->StartGenerator({"--rate", "200", "--duration", "6", "--customers", "200"});
    ASSERT_TRUE(gen.ok());
    std::this_thread::sleep_for(milliseconds(2000));
    ASSERT_EQ(std::system((env + pg_local + " restart").c_str()), 0);
    ASSERT_EQ((*gen)->Wait(seconds(60)), 0);
    ASSERT_TRUE(h->WaitNonePending(seconds(90))) << h->stream_log();
    EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
    EXPECT_GT(h->Count("SELECT count(*) FROM credit_decisions"), 500);
    EXPECT_NE(h->stream_log().find("reconnecting"), std::string::npos);
    EXPECT_TRUE(h->stream_running());
  }
  EXPECT_EQ(std::system((env + pg_local + " stop").c_str()), 0);
}

}  // namespace
}  // namespace lastro::testing

namespace lastro::testing {
namespace {

TEST(StreamRecovery, WrongProviderCredentialsStopTheStreamAndDecideNothing) {
  auto h = MakeHarness(
      {.name = "badtoken", .extra_toml = "[risk]\ntoken = \"wrong\"\n", .risk_token = "right"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_EQ(*h->Generate({"--count", "5", "--customers", "5"}), 5);
  ASSERT_TRUE(WaitFor([&] { return !h->stream_running(); }, seconds(60))) << h->stream_log();
  EXPECT_NE(h->stream_log().find("lastro: "), std::string::npos);
  EXPECT_NE(h->stream_log().find("401"), std::string::npos);
  // Nothing was pushed to manual review: the requests wait for a fixed config.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 0);
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_requests WHERE status = 'PENDING'"), 5);
}

}  // namespace
}  // namespace lastro::testing
