// Integration tests of `lastro stream` against a real PostgreSQL, the real risk
// simulator and the real app simulator, all over loopback.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "stream_harness.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

using std::chrono::seconds;

std::unique_ptr<StreamHarness> MakeHarness(HarnessOptions o) {
  auto h = StreamHarness::Create(o);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? std::move(*h) : nullptr;
}

TEST(Stream, DecidesEachOf5000RequestsExactlyOnce) {
  auto h = MakeHarness({.name = "once"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  auto inserted = h->Generate({"--count", "5000", "--customers", "800", "--clients", "4"});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  ASSERT_EQ(*inserted, 5000);
  ASSERT_TRUE(h->WaitNonePending(seconds(120))) << h->stream_log();
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 5000);
  EXPECT_EQ(h->Count("SELECT count(*) FROM dead_letters"), 0);
  // One provider call per request: nothing was scored twice.
  auto stats = nlohmann::json::parse(HttpGet(h->risk_url() + "/admin/stats"));
  EXPECT_EQ(stats["distinct_keys"], 5000);
  // Retries after a timeout under load are legitimate; nothing else may repeat.
  EXPECT_EQ(stats["calls"].get<double>(), 5000 + h->Metric("lastro_risk_retries_total"));
  // Decisions carry the policy version and provider data.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions WHERE policy_version = '' OR "
                     "(score IS NULL AND decision <> 'MANUAL_REVIEW')"),
            0);
  // Decisions carry the policy's inputs (migration 0002), so a backtest can replay
  // them: the first-time flag is always known and the provider's reasons are stored.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions WHERE first_time_customer IS NULL"), 0);
  EXPECT_GT(h->Count("SELECT count(*) FROM credit_decisions WHERE first_time_customer"), 0);
  EXPECT_GT(h->Count("SELECT count(*) FROM credit_decisions WHERE NOT first_time_customer"), 0);
  // The simulator always gives at least one reason code.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions WHERE score IS NOT NULL "
                     "AND cardinality(provider_reason_codes) = 0"),
            0);
  // The stored inputs explain the rules that used them (config/policy.toml): replaying
  // FIRST_TIME_OVER_20K and ADVERSE_HISTORY_OVER_10K from the row gives what fired.
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions d "
                     "JOIN credit_requests r ON r.id = d.request_id WHERE d.score IS NOT NULL "
                     "AND ('FIRST_TIME_OVER_20K' = ANY(d.reason_codes)) IS DISTINCT FROM "
                     "(d.first_time_customer AND r.amount_cents > 2000000)"),
            0);
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions d "
                     "JOIN credit_requests r ON r.id = d.request_id WHERE d.score IS NOT NULL "
                     "AND ('ADVERSE_HISTORY_OVER_10K' = ANY(d.reason_codes)) IS DISTINCT FROM "
                     "('ADVERSE_CREDIT_HISTORY' = ANY(d.provider_reason_codes) "
                     "AND r.amount_cents > 1000000)"),
            0);
  EXPECT_GT(h->Count("SELECT count(*) FROM credit_decisions "
                     "WHERE 'ADVERSE_CREDIT_HISTORY' = ANY(provider_reason_codes)"),
            0);
  // The slot catches up: confirmed position reaches the WAL written so far.
  std::string wal = std::to_string(h->Count("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"));
  EXPECT_TRUE(WaitFor(
      [&] {
        return h->Count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                        h->slot() + "' AND confirmed_flush_lsn - '0/0'::pg_lsn >= " + wal) == 1;
      },
      seconds(15)));
  // Once idle, the stream confirms the server's WAL end: the lag it reports (and the
  // dashboard shows) drops to zero.
  EXPECT_TRUE(WaitFor([&] { return h->Metric("lastro_replication_lag_bytes") == 0; }, seconds(15)));
  long code = 0;
  HttpGet(h->stream_url() + "/readyz", &code);
  EXPECT_EQ(code, 200);
}

TEST(Stream, IgnoresUnrelatedTablesUpdatesAndDeletes) {
  auto h = MakeHarness({.name = "unrelated"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_EQ(*h->Generate({"--count", "50", "--customers", "20"}), 50);
  ASSERT_TRUE(h->WaitNonePending(seconds(60)));
  // Traffic the stream must not act on: other tables, updates of decided
  // requests and customers, deletes, a rolled-back request.
  auto c = pg::Connection::Connect(h->dsn());
  ASSERT_TRUE(c.ok());
  for (const char* sql : {
           "CREATE TABLE app_notes (id serial PRIMARY KEY, note text)",
           "INSERT INTO app_notes (note) SELECT 'n' || g FROM generate_series(1, 100) g",
           "UPDATE app_notes SET note = note || '!'",
           "DELETE FROM app_notes WHERE id % 2 = 0",
           "UPDATE customers SET city = 'Campinas'",
           "UPDATE credit_requests SET updated_at = now()",
           "BEGIN; INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, "
           "channel) SELECT id, 100000, 12, 'personal', 'web' FROM customers LIMIT 1; ROLLBACK",
       }) {
    ASSERT_TRUE((*c)->Exec(sql).ok()) << sql;
  }
  ASSERT_EQ(*h->Generate({"--count", "10", "--customers", "20"}), 10);
  ASSERT_TRUE(h->WaitNonePending(seconds(60)));
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 60);
  EXPECT_EQ(h->Count("SELECT count(*) FROM dead_letters"), 0);
  auto stats = nlohmann::json::parse(HttpGet(h->risk_url() + "/admin/stats"));
  EXPECT_EQ(stats["calls"].get<double>(), 60 + h->Metric("lastro_risk_retries_total"));
  EXPECT_TRUE(h->stream_running());
}

TEST(Stream, FollowsAColumnAddedWhileStreaming) {
  auto h = MakeHarness({.name = "addcol"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_EQ(*h->Generate({"--count", "50", "--customers", "20"}), 50);
  auto c = pg::Connection::Connect(h->dsn());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("ALTER TABLE credit_requests ADD COLUMN promo_code text").ok());
  ASSERT_TRUE(
      (*c)->Exec("ALTER TABLE credit_requests ALTER COLUMN promo_code SET DEFAULT 'BF26'").ok());
  ASSERT_EQ(*h->Generate({"--count", "50", "--customers", "20"}), 50);
  ASSERT_TRUE(h->WaitNonePending(seconds(60))) << h->stream_log();
  EXPECT_EQ(h->CheckDecidedExactlyOnce(), "");
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 100);
  EXPECT_EQ(h->Count("SELECT count(*) FROM dead_letters"), 0);
}

TEST(Stream, ParksAnUnprocessableRowInDeadLettersAndGoesOn) {
  auto h = MakeHarness({.name = "deadletter"});
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->StartStream().ok());
  ASSERT_EQ(*h->Generate({"--count", "5", "--customers", "5"}), 5);
  auto c = pg::Connection::Connect(h->dsn());
  ASSERT_TRUE(c.ok());
  // A schema drift the pipeline cannot work with: a request without a channel.
  ASSERT_TRUE((*c)->Exec("ALTER TABLE credit_requests ALTER COLUMN channel DROP NOT NULL").ok());
  ASSERT_TRUE((*c)->Exec("INSERT INTO credit_requests (customer_id, amount_cents, term_months, "
                         "purpose, channel) SELECT id, 100000, 12, 'personal', NULL "
                         "FROM customers LIMIT 1")
                  .ok());
  ASSERT_EQ(*h->Generate({"--count", "5", "--customers", "5"}), 5);
  ASSERT_TRUE(
      WaitFor([&] { return h->Count("SELECT count(*) FROM dead_letters") == 1; }, seconds(30)));
  EXPECT_EQ(h->Count("SELECT count(*) FROM dead_letters WHERE error LIKE '%channel%' "
                     "AND payload IS NOT NULL AND lsn IS NOT NULL"),
            1);
  ASSERT_TRUE(WaitFor(
      [&] {
        return h->Count("SELECT count(*) FROM credit_requests WHERE status = 'PENDING'") == 1;
      },
      seconds(60)));
  EXPECT_EQ(h->Count("SELECT count(*) FROM credit_decisions"), 10);
  EXPECT_TRUE(h->stream_running());
  // The log says what happened without personal data.
  EXPECT_NE(h->stream_log().find("dead_letters"), std::string::npos);
}

}  // namespace
}  // namespace lastro::testing
