// batch::Extract() against a real PostgreSQL: the status history and the customers,
// read on a second connection alongside the requests, are read in the first
// connection's snapshot; the throttle bounds the two connections together; a failure
// of either stream stops the other and fails the extract with the cause.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "batch/cpf_token.h"
#include "batch/extractor.h"
#include "batch_harness.h"
#include "lake/engine.h"
#include "pg/connection.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ExtractTest : public ::testing::Test {
 protected:
  // A fresh database seeded with `requests` requests, and an engine to extract into.
  void Start(const std::string& name, int64_t requests) {
    auto h = BatchHarness::Create({.name = name});
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    ASSERT_TRUE(h_->Seed(requests, requests / 5).ok());
    auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }

  // The extract's sessions still on the server.
  int64_t BatchSessions(const std::string& where = "true") {
    return h_->PgCount(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name = 'lastro-batch' AND " +
        where);
  }

  // Options for an extract of every request into <dir>/<name>/.
  batch::ExtractOptions Options(const std::string& name) {
    fs::path dir = fs::path(h_->dir()) / name;
    fs::create_directories(dir);
    return {.dsn = h_->dsn(),
            .requests_predicate = "true",
            .requests_parquet = (dir / "requests.parquet").string(),
            .history_parquet = (dir / "history.parquet").string(),
            .customers_parquet = (dir / "customers.parquet").string(),
            .run_id = name,
            .row_group_rows = 10000,
            .memory_limit = "256MB",
            .temp_directory = dir / "tmp"};
  }

  StatusOr<batch::ExtractResult> Extract(const batch::ExtractOptions& options) {
    auto tokenizer = batch::CpfTokenizer::Create("integration-test-token-key-0123456789");
    if (!tokenizer.ok()) return tokenizer.status();
    return batch::Extract(options, *engine_, *tokenizer, {});
  }

  int64_t Count(const std::string& sql) {
    auto v = engine_->QueryValue(sql);
    EXPECT_TRUE(v.ok()) << v.status() << " in " << sql;
    return v.ok() ? std::get<int64_t>(*v) : -1;
  }

  std::unique_ptr<BatchHarness> h_;
  std::unique_ptr<lake::Engine> engine_;
};

// A customer and a request created after the snapshot, with the request's creation
// row, and one more transition of an existing request: rows a reader in another
// snapshot would see.
constexpr char kCommitAfterSnapshot[] =
    "WITH c AS (INSERT INTO customers (cpf, full_name) VALUES ('52998224725', 'Cliente novo') "
    "RETURNING id), "
    "r AS (INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, channel) "
    "SELECT id, 100000, 12, 'personal', 'web' FROM c RETURNING id) "
    "INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by) "
    "SELECT id, NULL, 'PENDING', 'after-snapshot' FROM r; "
    "INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by) "
    "SELECT min(id), 'PENDING', 'APPROVED', 'after-snapshot' FROM credit_requests";

TEST_F(ExtractTest, TheSecondConnectionReadsTheHistoryInTheFirstConnectionsSnapshot) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_snapshot", 3000));
  const int64_t requests = h_->PgCount("SELECT count(*) FROM credit_requests");
  const int64_t history = h_->PgCount("SELECT count(*) FROM credit_request_status_history");
  const int64_t customers = h_->PgCount("SELECT count(*) FROM customers");
  ASSERT_GT(history, 1000);

  batch::ExtractOptions o = Options("shared");
  // Committed after the first transaction took its snapshot and before the second
  // connection imports it: a second connection with a snapshot of its own would see
  // these rows.
  o.on_snapshot_exported = [&] { EXPECT_TRUE(h_->PgExec(kCommitAfterSnapshot).ok()); };
  auto r = Extract(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->concurrent) << "nothing was read on the second connection";
  EXPECT_EQ(h_->PgCount("SELECT count(*) FROM credit_request_status_history "
                        "WHERE changed_by = 'after-snapshot'"),
            2)
      << "the concurrent commit did not happen";

  EXPECT_EQ(r->requests, requests);
  EXPECT_EQ(r->history, history);
  const std::string bronze = lake::SqlString(o.history_parquet);
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet(" + bronze + ")"), history);
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet(" + bronze +
                  ") WHERE changed_by = 'after-snapshot'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet(" + lake::SqlString(o.requests_parquet) + ")"),
            requests);
  // The customers, read on the second connection too, and visible as raw_customers.
  EXPECT_EQ(r->customers, customers);
  EXPECT_EQ(Count("SELECT count(*) FROM raw_customers"), customers);
}

TEST_F(ExtractTest, TheConcurrentAndTheSequentialReadsWriteTheSameFiles) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_same", 3000));
  batch::ExtractOptions concurrent = Options("concurrent");
  auto a = Extract(concurrent);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->concurrent);
  batch::ExtractOptions sequential = Options("sequential");
  sequential.concurrent = false;
  auto b = Extract(sequential);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->concurrent);
  EXPECT_EQ(a->history, b->history);
  EXPECT_EQ(a->requests, b->requests);
  EXPECT_EQ(a->customers, b->customers);
  // The same rows, run_id aside, both ways.
  auto rows = [](const std::string& file) {
    return absl::StrCat("SELECT * EXCLUDE (run_id) FROM read_parquet(", lake::SqlString(file), ")");
  };
  for (auto file :
       {&batch::ExtractOptions::history_parquet, &batch::ExtractOptions::customers_parquet,
        &batch::ExtractOptions::requests_parquet}) {
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM (", rows(concurrent.*file), " EXCEPT ALL ",
                                 rows(sequential.*file), ")")),
              0)
        << concurrent.*file;
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM (", rows(sequential.*file), " EXCEPT ALL ",
                                 rows(concurrent.*file), ")")),
              0)
        << sequential.*file;
  }
}

TEST_F(ExtractTest, WithoutASecondConnectionEverythingIsReadOnTheFirst) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_fallback", 3000));
  // A role allowed one connection at a time: the second connection is refused
  // ("too many connections for role"), as on a server at max_connections.
  const std::string role = absl::StrCat("extract_one_conn_", getpid());
  ASSERT_TRUE(h_->PgExec(absl::StrCat("CREATE ROLE ", role,
                                      " LOGIN PASSWORD 'one-connection' CONNECTION LIMIT 1; "
                                      "GRANT SELECT ON ALL TABLES IN SCHEMA public TO ",
                                      role))
                  .ok());
  batch::ExtractOptions o = Options("fallback");
  o.dsn = absl::StrCat(h_->dsn(), " user=", role, " password=one-connection");
  auto r = Extract(o);
  EXPECT_TRUE(h_->PgExec(absl::StrCat("DROP OWNED BY ", role, "; DROP ROLE ", role)).ok());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->concurrent);
  EXPECT_EQ(r->requests, h_->PgCount("SELECT count(*) FROM credit_requests"));
  EXPECT_EQ(r->history, h_->PgCount("SELECT count(*) FROM credit_request_status_history"));
  EXPECT_EQ(r->customers, h_->PgCount("SELECT count(*) FROM customers"));
  EXPECT_EQ(Count("SELECT count(*) FROM raw_customers"), r->customers);
}

TEST_F(ExtractTest, TheThrottleBoundsBothStreamsTogether) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_throttle", 20000));
  batch::ExtractOptions o = Options("throttled");
  o.max_rows_per_s = 20000;
  const auto start = Clock::now();
  auto r = Extract(o);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->concurrent);
  // Each COPY counts its rows by thousands, so up to 999 rows of each of the three
  // pass uncounted. Throttled each on its own, the two connections would take about
  // max(requests, history + customers) / rate: ~1 s here, against ~1.7 s together.
  const int64_t rows = r->customers + r->requests + r->history;
  EXPECT_GE(seconds, (rows - 3 * 999) / o.max_rows_per_s * 0.95)
      << rows << " rows at " << o.max_rows_per_s << " rows/s";
}

// Holds `lock` (e.g. "LOCK TABLE t IN ACCESS EXCLUSIVE MODE") in an open transaction.
std::unique_ptr<pg::Connection> HoldLock(const std::string& dsn, const std::string& lock) {
  auto conn = pg::Connection::Connect(dsn, {.application_name = "test-lock"});
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return nullptr;
  auto held = (*conn)->Exec("BEGIN; " + lock);
  EXPECT_TRUE(held.ok()) << held.status();
  return std::move(*conn);
}

TEST_F(ExtractTest, AFailingHistoryStreamFailsTheExtractWithItsCause) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_history_fails", 3000));
  // The history statement waits for this lock and gives up after lock_timeout; the
  // customers' and requests' statements never touch the table.
  auto lock =
      HoldLock(h_->dsn(), "LOCK TABLE credit_request_status_history IN ACCESS EXCLUSIVE MODE");
  ASSERT_TRUE(lock);
  batch::ExtractOptions o = Options("history_fails");
  o.lock_timeout_ms = 300;
  auto r = Extract(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("lock timeout"), std::string_view::npos) << r.status();
}

TEST_F(ExtractTest, AFailingRequestsStreamStopsTheHistoryStreamAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_requests_fail", 3000));
  // The requests statement (joined to the decisions) fails after lock_timeout, while
  // the throttled history stream, left alone, would take ~10 s.
  auto lock = HoldLock(h_->dsn(), "LOCK TABLE credit_decisions IN ACCESS EXCLUSIVE MODE");
  ASSERT_TRUE(lock);
  batch::ExtractOptions o = Options("requests_fail");
  o.lock_timeout_ms = 300;
  o.max_rows_per_s = 100;
  const auto start = Clock::now();
  auto r = Extract(o);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status()))
      << "the cause, not the cancelled history: " << r.status();
  EXPECT_LT(seconds, 6) << "the history stream was not stopped";
  // Neither connection is left behind on the server.
  EXPECT_TRUE(WaitFor([&] { return BatchSessions() == 0; }, 10s));
}

TEST_F(ExtractTest, StopCancelsBothStreams) {
  ASSERT_NO_FATAL_FAILURE(Start("extract_stop", 3000));
  batch::ExtractOptions o = Options("stopped");
  o.max_rows_per_s = 100;  // ~50 s unstopped
  std::atomic<bool> stop{false};
  o.stop = &stop;
  StatusOr<batch::ExtractResult> r = absl::UnknownError("not run");
  std::thread extract([&] { r = Extract(o); });
  // Stop once both streams are reading on the server.
  EXPECT_TRUE(WaitFor([&] { return BatchSessions("query LIKE 'COPY%'") == 2; }, 20s));
  const auto start = Clock::now();
  stop = true;
  extract.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_LT(seconds, 5);
}

}  // namespace
}  // namespace lastro::testing
