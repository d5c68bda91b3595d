// `lastro refresh` and `lastro query` end to end: real PostgreSQL seeded with history,
// `lastro batch run` into a real lake, then the gold catalog built, checked, published,
// read, rolled back; figures compared with the same questions asked of PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "batch_harness.h"
#include "lake/engine.h"
#include "pg/connection.h"
#include "testing/subprocess.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRequests = 3000;
constexpr int64_t kCustomers = 400;

std::unique_ptr<BatchHarness> Make(const std::string& name) {
  auto h = BatchHarness::Create({.name = name});
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? std::move(*h) : nullptr;
}

// Seeds a week, runs the batch over it and publishes the first catalog.
void SeedBatchRefresh(BatchHarness& h) {
  Status s = h.SeedBatchRefresh(kRequests, kCustomers);
  ASSERT_TRUE(s.ok()) << s;
}

// One string per row of a CSV result, selected columns joined by '|'.
std::string CsvRows(const std::string& csv, const std::vector<size_t>& columns) {
  std::vector<std::string> rows;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    std::vector<std::string> picked;
    for (size_t c : columns) picked.push_back(c < cells.size() ? cells[c] : "?");
    rows.push_back(absl::StrJoin(picked, "|"));
  }
  return absl::StrJoin(rows, ";");
}

std::string PgText(BatchHarness& h, const std::string& sql) {
  auto conn = pg::Connection::Connect(h.dsn(), {"mart-test"});
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return "";
  auto r = (*conn)->Exec(sql);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() && r->rows() == 1 ? std::string(r->Get(0, 0)) : "";
}

TEST(Mart, NamedQueriesEqualTheSameQuestionsAskedOfPostgres) {
  auto h = Make("mart_named");
  ASSERT_TRUE(h);
  SeedBatchRefresh(*h);

  CommandResult daily =
      h->Lastro({"query", "--named", "finance.daily_volume", "--param", "from=2026-11-01",
                 "--param", "to=2026-11-07", "--format", "csv"});
  ASSERT_EQ(daily.exit_code, 0) << daily.err;
  std::string pg_daily = PgText(
      *h,
      "SELECT string_agg(concat_ws('|', d, n, amt, decided, approved, approved_amt), ';' ORDER "
      "BY d) FROM (SELECT (created_at AT TIME ZONE 'America/Sao_Paulo')::date AS d, count(*) "
      "AS n, sum(amount_cents) AS amt, count(*) FILTER (WHERE status <> 'PENDING') AS decided, "
      "count(*) FILTER (WHERE status = 'APPROVED') AS approved, coalesce(sum(amount_cents) "
      "FILTER (WHERE status = 'APPROVED'), 0) AS approved_amt FROM credit_requests GROUP BY 1) "
      "t");
  EXPECT_EQ(CsvRows(daily.out, {0, 1, 2, 3, 4, 5}), pg_daily);

  CommandResult bands =
      h->Lastro({"query", "--named", "credit.approval_by_score_band", "--param", "from=2026-11-01",
                 "--param", "to=2026-11-07", "--format", "csv"});
  ASSERT_EQ(bands.exit_code, 0) << bands.err;
  std::string pg_bands = PgText(
      *h,
      "SELECT string_agg(concat_ws('|', band, n, decided, approved, rejected), ';' ORDER BY "
      "band) FROM (SELECT CASE WHEN d.score IS NULL THEN 'none' WHEN d.score < 200 THEN "
      "'0-199' WHEN d.score < 400 THEN '200-399' WHEN d.score < 600 THEN '400-599' WHEN "
      "d.score < 800 THEN '600-799' ELSE '800-1000' END AS band, count(*) AS n, count(*) "
      "FILTER (WHERE r.status <> 'PENDING') AS decided, count(*) FILTER (WHERE r.status = "
      "'APPROVED') AS approved, count(*) FILTER (WHERE r.status = 'REJECTED') AS rejected FROM "
      "credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id GROUP BY 1) t");
  EXPECT_EQ(CsvRows(bands.out, {0, 1, 2, 3, 4}), pg_bands);

  CommandResult unknown = h->Lastro({"query", "--named", "finance.nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("finance.daily_volume"), std::string::npos) << unknown.err;

  for (const char* sql : {"DELETE FROM fact_credit_request", "CREATE TABLE t AS SELECT 1",
                          "COPY fact_credit_request TO '/tmp/out.csv'"}) {
    CommandResult write = h->Lastro({"query", sql});
    EXPECT_EQ(write.exit_code, 2) << sql;
    EXPECT_NE(write.err.find("read-only"), std::string::npos) << write.err;
  }
  CommandResult count =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_credit_request", "--format", "json"});
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(nlohmann::json::parse(count.out)[0]["n"], kRequests);
}

TEST(Mart, CustomerChangeBetweenTwoBatchRunsGivesTwoScd2Versions) {
  auto h = Make("mart_scd2");
  ASSERT_TRUE(h);
  SeedBatchRefresh(*h);
  const std::string id = PgText(*h, "SELECT min(id)::text FROM customers");
  const std::string old_state = PgText(*h, "SELECT state FROM customers WHERE id = " + id);
  // The customer moves on 2026-11-04 12:00 São Paulo (15:00 UTC); the rerun re-extracts it.
  ASSERT_TRUE(h->PgExec(absl::StrCat("UPDATE customers SET state = 'AM', updated_at = "
                                     "timestamptz '2026-11-04 12:00:00-03' WHERE id = ",
                                     id))
                  .ok());
  CommandResult batch =
      h->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"}, BatchEnv());
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  CommandResult refresh = h->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  EXPECT_EQ(nlohmann::json::parse(refresh.out)["state"], "PUBLISHED") << refresh.out;

  CommandResult versions =
      h->Lastro({"query",
                 "SELECT version, state, valid_from, valid_to, is_current FROM dim_customer WHERE "
                 "customer_id = " +
                     id + " ORDER BY version",
                 "--format", "csv"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(versions.out,
            absl::StrCat("version,state,valid_from,valid_to,is_current\n1,", old_state,
                         ",2026-10-01 15:00:00,2026-11-04 15:00:00,false\n"
                         "2,AM,2026-11-04 15:00:00,,true\n"));
  // Each request points at the version valid when it was created.
  CommandResult by_version =
      h->Lastro({"query",
                 "SELECT d.version, count(*) FROM fact_credit_request f JOIN dim_customer d USING "
                 "(customer_sk) WHERE f.customer_id = " +
                     id + " GROUP BY 1 ORDER BY 1",
                 "--format", "csv"});
  ASSERT_EQ(by_version.exit_code, 0) << by_version.err;
  std::string pg =
      PgText(*h,
             "SELECT concat_ws(';', '1|' || count(*) FILTER (WHERE created_at < timestamptz "
             "'2026-11-04 12:00:00-03'), '2|' || count(*) FILTER (WHERE created_at >= timestamptz "
             "'2026-11-04 12:00:00-03')) FROM credit_requests WHERE customer_id = " +
                 id);
  EXPECT_EQ(CsvRows(by_version.out, {0, 1}), pg);
  // Only the changed customer has two versions.
  CommandResult multi = h->Lastro(
      {"query", "SELECT count(*) AS n FROM dim_customer WHERE version > 1", "--format", "csv"});
  EXPECT_EQ(multi.out, "n\n1\n");
}

TEST(Mart, FailingGatePublishesNothingAndRefreshSkipsWhenNothingChanged) {
  auto h = Make("mart_gate");
  ASSERT_TRUE(h);
  SeedBatchRefresh(*h);
  const std::string published = h->CurrentCatalog();
  CommandResult again = h->Lastro({"refresh"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["state"], "UNCHANGED") << again.out;

  // A crafted lake file: a second copy of one silver partition's file.
  fs::path day = fs::canonical(fs::path(h->lake_dir()) / "silver" / "credit_requests") /
                 "request_date=2026-11-03";
  fs::path file = fs::directory_iterator(day)->path();
  fs::copy_file(file, day / "part-crafted-duplicate.parquet");
  CommandResult failed = h->Lastro({"refresh", "--force"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("integrity gate failed"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("unique(fact_credit_request: request_id)"), std::string::npos)
      << failed.err;
  EXPECT_EQ(h->CurrentCatalog(), published);
  const fs::path staging = fs::path(h->lake_dir()) / "_catalog" / "staging";
  EXPECT_TRUE(!fs::exists(staging) || fs::is_empty(staging));
  CommandResult count =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_credit_request", "--format", "csv"});
  EXPECT_EQ(count.out, absl::StrCat("n\n", kRequests, "\n"));
}

TEST(Mart, AReaderKeepsItsVersionWhileARefreshPublishesAndRollbackReturnsToIt) {
  auto h = Make("mart_reader");
  ASSERT_TRUE(h);
  SeedBatchRefresh(*h);
  const std::string first = h->CurrentCatalog();
  // A long-lived reader on the published catalog, as a dashboard or notebook would be.
  auto reader =
      lake::Engine::Open({.memory_limit = "256MB",
                          .threads = 1,
                          .database = fs::path(h->lake_dir()) / "catalog" / "catalog.duckdb",
                          .read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto before = (*reader)->Query(
      "SELECT count(*) AS n, sum(amount_cents) AS amount FROM fact_credit_request");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->Int(0, 0), kRequests);

  // A new day arrives: 300 more requests on 2026-11-08, batch, refresh.
  ASSERT_TRUE(h->PgExec("INSERT INTO credit_requests (customer_id, amount_cents, term_months, "
                        "purpose, channel, status, version, created_at, updated_at) SELECT "
                        "(SELECT min(id) FROM customers) + i % 50, 250000, 12, 'personal', "
                        "'web', 'PENDING', 1, timestamptz '2026-11-08 10:00:00-03' + i * "
                        "interval '1 minute', timestamptz '2026-11-08 10:00:00-03' + i * "
                        "interval '1 minute' FROM generate_series(1, 300) i")
                  .ok());
  CommandResult batch = h->Lastro({"batch", "run", "--date", "2026-11-08"}, BatchEnv());
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  CommandResult refresh = h->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  ASSERT_NE(h->CurrentCatalog(), first);

  auto after = (*reader)->Query(
      "SELECT count(*) AS n, sum(amount_cents) AS amount FROM fact_credit_request");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->Int(0, 0), before->Int(0, 0));
  EXPECT_EQ(after->Int(0, 1), before->Int(0, 1));
  CommandResult fresh =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_credit_request", "--format", "csv"});
  EXPECT_EQ(fresh.out, absl::StrCat("n\n", kRequests + 300, "\n"));

  CommandResult rollback = h->Lastro({"refresh", "--rollback"});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
  EXPECT_EQ(nlohmann::json::parse(rollback.out)["version"], first);
  EXPECT_EQ(h->CurrentCatalog(), first);
  CommandResult old =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_credit_request", "--format", "csv"});
  EXPECT_EQ(old.out, absl::StrCat("n\n", kRequests, "\n"));
}

// The lastro query answer as CSV ("" on failure, with the error in the test log).
std::string Csv(BatchHarness& h, const std::string& sql) {
  CommandResult r = h.Lastro({"query", sql, "--format", "csv"});
  EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.err;
  return r.exit_code == 0 ? r.out : "";
}

TEST(Mart, StatusHistoryReachesTheFactInOrderAndARerunChangesNothing) {
  auto h = Make("mart_history");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(kRequests, kCustomers).ok());
  // A request the app created (and recorded, from_status NULL) and the stream sent to
  // manual review five seconds later; an analyst approves it after the first batch.
  ASSERT_TRUE(h->PgExec(R"sql(
    INSERT INTO credit_requests (id, customer_id, amount_cents, term_months, purpose, channel,
                                 status, version, created_at, updated_at, decided_at)
    SELECT 8000001, min(id), 250000, 12, 'personal', 'web', 'MANUAL_REVIEW', 2,
           '2026-11-03 10:00:00-03', '2026-11-03 10:00:05-03', '2026-11-03 10:00:05-03'
    FROM customers;
    INSERT INTO credit_decisions (request_id, decision, policy_version, decided_at)
    VALUES (8000001, 'MANUAL_REVIEW', 'seed', '2026-11-03 10:00:05-03');
    INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by,
                                               reason, changed_at) VALUES
      (8000001, NULL, 'PENDING', 'lastro-app', NULL, '2026-11-03 10:00:00-03'),
      (8000001, 'PENDING', 'MANUAL_REVIEW', 'lastro-stream', 'policy seed',
       '2026-11-03 10:00:05-03');
  )sql")
                  .ok());
  CommandResult batch = h->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  ASSERT_EQ(h->Lastro({"refresh"}).exit_code, 0);
  const std::string kRequest =
      "SELECT seq, from_status, to_status, changed_by, seconds_since_previous, source, date_key, "
      "request_date FROM fact_credit_status_change WHERE request_id = 8000001 ORDER BY seq";
  EXPECT_EQ(Csv(*h, kRequest),
            "seq,from_status,to_status,changed_by,seconds_since_previous,source,date_key,"
            "request_date\n"
            "1,,PENDING,lastro-app,,history,20261103,2026-11-03\n"
            "2,PENDING,MANUAL_REVIEW,lastro-stream,5,history,20261103,2026-11-03\n");

  ASSERT_TRUE(h->PgExec(R"sql(
    UPDATE credit_requests SET status = 'APPROVED', version = 3, updated_at = now()
    WHERE id = 8000001;
    INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by,
                                               reason, changed_at)
    VALUES (8000001, 'MANUAL_REVIEW', 'APPROVED', 'analyst-7', 'income confirmed',
            '2026-11-03 10:45:05-03');
  )sql")
                  .ok());
  batch = h->Lastro({"batch", "run", "--date", "2026-11-08"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  CommandResult refresh = h->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  const std::string three =
      "seq,from_status,to_status,changed_by,seconds_since_previous,source,date_key,"
      "request_date\n"
      "1,,PENDING,lastro-app,,history,20261103,2026-11-03\n"
      "2,PENDING,MANUAL_REVIEW,lastro-stream,5,history,20261103,2026-11-03\n"
      "3,MANUAL_REVIEW,APPROVED,analyst-7,2700,history,20261103,2026-11-03\n";
  EXPECT_EQ(Csv(*h, kRequest), three);
  auto silver = h->Lake(
      "SELECT string_agg(to_status, ',' ORDER BY changed_at, id), count(DISTINCT id) FROM "
      "silver_history WHERE request_id = 8000001");
  ASSERT_TRUE(silver.ok()) << silver.status();
  EXPECT_EQ(silver->Text(0, 0), "PENDING,MANUAL_REVIEW,APPROVED");
  EXPECT_EQ(silver->Int(0, 1), 3);

  // A request the stream decided: its creation derived, its decision from the history.
  const std::string streamed = PgText(
      *h, "SELECT min(id)::text FROM credit_requests WHERE status = 'APPROVED' AND id % 4 <> 0");
  EXPECT_EQ(Csv(*h,
                "SELECT seq, from_status, to_status, seconds_since_previous, source FROM "
                "fact_credit_status_change WHERE request_id = " +
                    streamed + " ORDER BY seq"),
            "seq,from_status,to_status,seconds_since_previous,source\n"
            "1,,PENDING,,derived\n2,PENDING,APPROVED,2,history\n");
  // Requests with no history (older data) keep the two derived rows; PENDING ones one.
  const std::string older = PgText(
      *h, "SELECT min(id)::text FROM credit_requests WHERE status = 'REJECTED' AND id % 4 = 0");
  EXPECT_EQ(Csv(*h,
                "SELECT seq, from_status, to_status, seconds_since_previous, source FROM "
                "fact_credit_status_change WHERE request_id = " +
                    older + " ORDER BY seq"),
            "seq,from_status,to_status,seconds_since_previous,source\n"
            "1,,PENDING,,derived\n2,PENDING,REJECTED,2,derived\n");
  const std::string pending =
      PgText(*h, "SELECT min(id)::text FROM credit_requests WHERE status = 'PENDING'");
  EXPECT_EQ(Csv(*h,
                "SELECT seq, to_status, source FROM fact_credit_status_change WHERE "
                "request_id = " +
                    pending),
            "seq,to_status,source\n1,PENDING,derived\n");
  // Every request once created, every recorded transition, every unrecorded decision.
  const std::string expected =
      PgText(*h,
             "SELECT ((SELECT count(*) FROM credit_requests) + (SELECT count(*) FROM "
             "credit_request_status_history WHERE from_status IS NOT NULL) + (SELECT count(*) FROM "
             "credit_requests r WHERE status <> 'PENDING' AND NOT EXISTS (SELECT 1 FROM "
             "credit_request_status_history h WHERE h.request_id = r.id)))::text");
  EXPECT_EQ(Csv(*h, "SELECT count(*) AS n FROM fact_credit_status_change"),
            "n\n" + expected + "\n");

  // Rerunning the same days changes neither silver's history nor the fact.
  const std::string kDigest =
      "SELECT count(*) AS n, sum(hash(request_id, seq, customer_sk, date_key, from_status, "
      "to_status, changed_at, changed_by, seconds_since_previous, source, request_date)) AS h "
      "FROM fact_credit_status_change";
  const std::string fact_digest = Csv(*h, kDigest);
  const std::string history_digest = h->SilverHistoryDigest();
  batch = h->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-08"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  refresh = h->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  EXPECT_EQ(nlohmann::json::parse(refresh.out)["state"], "PUBLISHED") << refresh.out;
  EXPECT_EQ(h->SilverHistoryDigest(), history_digest);
  EXPECT_EQ(Csv(*h, kDigest), fact_digest);
  EXPECT_EQ(Csv(*h, kRequest), three);
}

}  // namespace
}  // namespace lastro::testing

namespace lastro::testing {
namespace {

int64_t CsvCount(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  return lines.size() == 2 ? std::stoll(lines[1]) : -1;
}

TEST(Daily, RunsTheBatchTheEventsAndTheRefreshInOrderAndStopsAtAFailedStep) {
  auto h = Make("daily");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->Seed(kRequests, kCustomers).ok());
  const std::string events = h->dir() + "/events";
  {  // the simulator takes no --config, which BatchHarness::Lastro adds
    auto sim =
        Subprocess::Start({LastroBin(), "sim", "events", "--out", events, "--date", "2026-11-05",
                           "--days", "2", "--customers", "400", "--events-per-day", "300"},
                          {}, h->dir() + "/sim-events");
    ASSERT_TRUE(sim.ok()) << sim.status();
    ASSERT_EQ((*sim)->Wait(std::chrono::minutes(2)).value_or(-1), 0) << (*sim)->Stderr();
  }

  // A step that fails stops the day: nothing after it runs, no catalog is published.
  CommandResult bad = h->Lastro({"daily", "--date", "2026-11-07", "--no-enrich", "--no-openfinance",
                                 "--events-path", h->dir() + "/no-such-folder"},
                                BatchEnv());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("daily: ingest events"), std::string::npos) << bad.err;
  EXPECT_EQ(nlohmann::json::parse(bad.out)["steps"].size(), 1u) << bad.out;  // the batch only
  EXPECT_EQ(h->CurrentCatalog(), "");

  CommandResult day = h->Lastro(
      {"daily", "--date", "2026-11-07", "--no-enrich", "--no-openfinance", "--events-path", events},
      BatchEnv());
  ASSERT_EQ(day.exit_code, 0) << day.err;
  nlohmann::json out = nlohmann::json::parse(day.out);
  ASSERT_EQ(out["steps"].size(), 3u) << day.out;
  EXPECT_EQ(out["steps"][0]["step"], "batch");
  EXPECT_EQ(out["steps"][1]["step"], "events");
  EXPECT_EQ(out["steps"][2]["step"], "refresh");
  EXPECT_EQ(out["steps"][2]["state"], "PUBLISHED") << day.out;
  EXPECT_NE(h->CurrentCatalog(), "");

  // The catalog holds what the day loaded: every silver request and every event.
  auto silver = h->Lake("SELECT count(*) FROM silver_requests");
  ASSERT_TRUE(silver.ok()) << silver.status();
  auto bronze_events = h->Lake("SELECT count(*) FROM read_parquet('" + h->lake_dir() +
                               "/bronze/app_events/*/*.parquet')");
  ASSERT_TRUE(bronze_events.ok()) << bronze_events.status();
  ASSERT_GT(*bronze_events->Int(0, 0), 0);
  CommandResult requests =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_credit_request", "--format", "csv"});
  CommandResult app_events =
      h->Lastro({"query", "SELECT count(*) AS n FROM fact_app_event", "--format", "csv"});
  EXPECT_EQ(CsvCount(requests.out), *silver->Int(0, 0)) << requests.out << requests.err;
  EXPECT_EQ(CsvCount(app_events.out), *bronze_events->Int(0, 0)) << app_events.out;
}

}  // namespace
}  // namespace lastro::testing
