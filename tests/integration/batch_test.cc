// `lastro batch run` against a real PostgreSQL, the real bureau simulator, and the
// lake read back with DuckDB.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "batch/lineage.h"
#include "batch_harness.h"
#include "pg/connection.h"
#include "testing/statsd_listener.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kRequests = 105000;  // 7 days of history, >= 100k
constexpr int64_t kCustomers = 20000;

// Each test seeds its own database and lake (SQL generate_series: seconds for 100k rows).
class BatchTest : public ::testing::Test {
 protected:
  static std::unique_ptr<BatchHarness> Make(const std::string& name,
                                            const std::string& extra_toml = "",
                                            const std::string& rules = "") {
    auto h = BatchHarness::Create({.name = name, .extra_toml = extra_toml, .quality_rules = rules});
    EXPECT_TRUE(h.ok()) << h.status();
    if (!h.ok()) return nullptr;
    return std::move(*h);
  }
};

nlohmann::json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

fs::path RunDir(const BatchHarness& h, const std::string& stdout_json) {
  auto j = nlohmann::json::parse(stdout_json, nullptr, false);
  if (j.is_discarded() || !j.contains("run_id")) return {};
  return fs::path(h.lake_dir()) / "_runs" / j["run_id"].get<std::string>();
}

TEST_F(BatchTest, SevenDaysInSilverEqualPostgresPerDayAndARerunIsIdempotent) {
  auto h = Make("batch_days");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(kRequests, kCustomers).ok());

  CommandResult first = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::map<std::string, int64_t> pg = h->PgCountsByDay();
  ASSERT_EQ(pg.size(), 7u);
  EXPECT_EQ(h->SilverCountsByDay(), pg);
  std::string digest = h->SilverDigest();
  // The status history came along: every row, each in its request's partition.
  const int64_t pg_history = h->PgCount("SELECT count(*) FROM credit_request_status_history");
  ASSERT_GT(pg_history, kRequests / 2);
  auto history = h->Lake(
      "SELECT count(*), count(*) FILTER (WHERE h.request_date IS DISTINCT FROM r.request_date) "
      "FROM silver_history h LEFT JOIN silver_requests r USING (request_id)");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->Int(0, 0), pg_history);
  EXPECT_EQ(history->Int(0, 1), 0);
  std::string history_digest = h->SilverHistoryDigest();

  // Every request was scored by the bureau or marked unknown; the rerun pays nothing.
  auto bureau = h->Lake(
      "SELECT count(*) FILTER (WHERE bureau_status IN ('FOUND', 'NOT_FOUND')), count(*) "
      "FROM silver_requests");
  ASSERT_TRUE(bureau.ok()) << bureau.status();
  EXPECT_GT(*bureau->Int(0, 0), *bureau->Int(0, 1) * 9 / 10);

  // Only answers that were not definitive get asked again.
  auto unsettled = h->Lake(
      "SELECT count(DISTINCT customer_token) FROM silver_requests WHERE request_date = "
      "'2026-11-07' AND bureau_status IN ('INCONSISTENT', 'UNAVAILABLE')");
  ASSERT_TRUE(unsettled.ok()) << unsettled.status();
  fs::path state_file = fs::path(h->lake_dir()) / "_runs" / "state.json";
  std::string watermark = ReadJson(state_file).value("watermark", "");
  EXPECT_EQ(watermark.substr(0, 19), "2026-11-08T03:00:00");  // end of 11-07 in São Paulo
  CommandResult again = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(h->SilverDigest(), digest);
  EXPECT_EQ(h->SilverCountsByDay(), pg);
  EXPECT_EQ(h->SilverHistoryDigest(), history_digest);
  nlohmann::json manifest = ReadJson(RunDir(*h, again.out) / "manifest.json");
  // The day is behind the watermark: rebuilt as a one-day backfill, watermark unmoved.
  EXPECT_EQ(manifest["mode"], "backfill");
  EXPECT_EQ(ReadJson(state_file).value("watermark", ""), watermark);
  int64_t fetched = -1;
  for (const auto& in : manifest["inputs"]) {
    if (in["name"] == "bureau.scores") fetched = in["rows"].get<int64_t>();
  }
  EXPECT_EQ(fetched, *unsettled->Int(0, 0)) << "a rerun must take bureau scores from the cache";
  EXPECT_LT(fetched, 15000 / 20);
  // Bronze is a log: the rerun added its extract and kept the first run's.
  std::string first_run = RunDir(*h, first.out).filename().string();
  auto bronze = h->Lake("SELECT count(*) FILTER (WHERE run_id = '" + first_run +
                        "'), count(DISTINCT run_id) FROM bronze_requests");
  ASSERT_TRUE(bronze.ok()) << bronze.status();
  EXPECT_EQ(bronze->Int(0, 0), kRequests);
  EXPECT_EQ(bronze->Int(0, 1), 2);
  auto bronze_history = h->Lake("SELECT count(*) FILTER (WHERE run_id = '" + first_run +
                                "'), count(DISTINCT run_id) FROM bronze_history");
  ASSERT_TRUE(bronze_history.ok()) << bronze_history.status();
  EXPECT_EQ(bronze_history->Int(0, 0), pg_history);
  EXPECT_EQ(bronze_history->Int(0, 1), 2);

  // No CPF, name or email reaches the lake's analytical layers.
  auto leak = h->Lake("SELECT count(*) FROM silver_customers WHERE customer_token LIKE '%@%'");
  ASSERT_TRUE(leak.ok());
  auto columns = h->Lake("DESCRIBE silver_requests");
  ASSERT_TRUE(columns.ok());
  for (size_t i = 0; i < columns->rows(); ++i) {
    std::string c = *columns->Text(i, 0);
    EXPECT_TRUE(c != "cpf" && c != "full_name" && c != "email") << c;
  }

  // A late update to one old request rewrites only its partition.
  auto before =
      h->Lake("SELECT request_date::VARCHAR, min(filename) FROM read_parquet('" + h->lake_dir() +
              "/silver/credit_requests/*/*.parquet', hive_partitioning = true, filename = true) "
              "GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(h->PgExec("CREATE TEMP TABLE late AS SELECT min(id) AS id FROM credit_requests "
                        "WHERE status = 'MANUAL_REVIEW' AND created_at >= '2026-11-02 12:00-03' "
                        "AND created_at < '2026-11-02 13:00-03'; "
                        "UPDATE credit_requests SET status = 'APPROVED', version = version + 1, "
                        "updated_at = now() WHERE id = (SELECT id FROM late); "
                        "INSERT INTO credit_request_status_history (request_id, from_status, "
                        "to_status, changed_by, reason) SELECT id, 'MANUAL_REVIEW', 'APPROVED', "
                        "'analyst-7', 'income confirmed' FROM late")
                  .ok());
  CommandResult late = h->Lastro({"batch", "run", "--date", "2026-11-08"});
  ASSERT_EQ(late.exit_code, 0) << late.err;
  auto after =
      h->Lake("SELECT request_date::VARCHAR, min(filename) FROM read_parquet('" + h->lake_dir() +
              "/silver/credit_requests/*/*.parquet', hive_partitioning = true, filename = true) "
              "GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->rows(), before->rows());
  // Rewritten: the updated request's day, and the last day, which the overlap window
  // (batch.overlap_minutes before the watermark) re-reads by design.
  for (size_t i = 0; i < after->rows(); ++i) {
    bool changed = *after->Text(i, 1) != *before->Text(i, 1);
    std::string day = *after->Text(i, 0);
    EXPECT_EQ(changed, day == "2026-11-02" || day == "2026-11-07") << day;
  }
  EXPECT_EQ(h->SilverCountsByDay(), pg);
  auto updated =
      h->Lake("SELECT count(*) FROM silver_requests WHERE status = 'APPROVED' AND version = 3");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->Int(0, 0), 1);
  // Its new transition joined the rows already published for it, each once.
  auto late_history = h->Lake(
      "SELECT count(*), count(DISTINCT id), arg_max(to_status, changed_at) FROM "
      "silver_history WHERE request_id = (SELECT request_id FROM silver_requests WHERE status = "
      "'APPROVED' AND version = 3)");
  ASSERT_TRUE(late_history.ok()) << late_history.status();
  EXPECT_EQ(late_history->Int(0, 0),
            h->PgCount("SELECT count(*) FROM credit_request_status_history WHERE request_id = "
                       "(SELECT id FROM late)"));
  EXPECT_EQ(late_history->Int(0, 1), late_history->Int(0, 0));
  EXPECT_EQ(late_history->Text(0, 2), "APPROVED");
  auto all_history = h->Lake("SELECT count(*), count(DISTINCT id) FROM silver_history");
  ASSERT_TRUE(all_history.ok());
  EXPECT_EQ(all_history->Int(0, 0), pg_history + 1);
  EXPECT_EQ(all_history->Int(0, 1), pg_history + 1);

  // The manifest's checksums and row counts match the files it names.
  nlohmann::json m = ReadJson(RunDir(*h, late.out) / "manifest.json");
  ASSERT_EQ(m["state"], "SUCCEEDED");
  int checked = 0;
  for (const auto& out : m["outputs"]) {
    fs::path root =
        fs::path(h->lake_dir()) / out["zone"].get<std::string>() / out["table"].get<std::string>();
    for (const auto& f : out["files"]) {
      fs::path file = root / f["path"].get<std::string>();
      auto sha = batch::Sha256File(file);
      ASSERT_TRUE(sha.ok()) << file;
      EXPECT_EQ(*sha, f["sha256"].get<std::string>()) << file;
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(file)), f["bytes"].get<int64_t>());
      auto rows = h->Lake("SELECT count(*) FROM read_parquet('" + file.string() + "')");
      ASSERT_TRUE(rows.ok());
      EXPECT_EQ(rows->Int(0, 0), f["rows"].get<int64_t>());
      ++checked;
    }
  }
  EXPECT_GE(checked, 3);

  // `batch status` lists the three runs.
  CommandResult status = h->Lastro({"batch", "status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto s = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(s.is_discarded()) << status.out;
  ASSERT_EQ(s["runs"].size(), 3u);
  for (const auto& r : s["runs"]) EXPECT_EQ(r["state"], "SUCCEEDED");
}

TEST_F(BatchTest, BadRowsAreQuarantinedWithReasonsAndGoodRowsStillPublish) {
  auto h = Make("batch_bad");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(20000, 5000).ok());
  // The batch must defend itself even against a source without constraints.
  ASSERT_TRUE(h->PgExec(R"sql(
    ALTER TABLE credit_decisions DROP CONSTRAINT credit_decisions_request_id_fkey;
    ALTER TABLE credit_requests DROP CONSTRAINT credit_requests_customer_id_fkey;
    ALTER TABLE credit_requests DROP CONSTRAINT credit_requests_amount_cents_check;
    ALTER TABLE credit_requests DROP CONSTRAINT credit_requests_status_check;
    ALTER TABLE credit_requests DROP CONSTRAINT credit_requests_check;
    ALTER TABLE credit_requests ALTER COLUMN created_at DROP NOT NULL;
    ALTER TABLE customers DROP CONSTRAINT customers_cpf_check;
    INSERT INTO customers (id, cpf, full_name) VALUES (900001, '12345678900', 'Bad Cpf');
    INSERT INTO credit_requests (id, customer_id, amount_cents, term_months, purpose, channel,
                                 status, created_at, updated_at) VALUES
      (9000001, 1, -500, 12, 'personal', 'web', 'PENDING', '2026-11-03 10:00-03', '2026-11-03 10:00-03'),
      (9000002, 1, 50000, 12, 'personal', 'web', 'LIMBO', '2026-11-03 10:00-03', '2026-11-03 10:00-03'),
      (9000003, 77777777, 50000, 12, 'personal', 'web', 'PENDING', '2026-11-03 10:00-03', '2026-11-03 10:00-03'),
      (9000004, 900001, 50000, 12, 'personal', 'web', 'PENDING', '2026-11-03 10:00-03', '2026-11-03 10:00-03'),
      (9000005, 1, 50000, 12, 'personal', 'web', 'PENDING', NULL, '2026-11-03 10:00-03');
    -- A status no one knows, on a good request; a transition of a quarantined request.
    INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by,
                                               reason, changed_at) VALUES
      ((SELECT min(id) FROM credit_requests), 'APPROVED', 'LIMBO', 'analyst-7', 'typo',
       '2026-11-03 11:00-03'),
      (9000002, 'PENDING', 'APPROVED', 'lastro-stream', 'policy seed', '2026-11-03 10:00:02-03');
  )sql")
                  .ok());

  CommandResult r = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto q = h->Lake(
      "SELECT record_key, string_agg(rule_id, ',' ORDER BY rule_id), min(reason) "
      "FROM quarantine WHERE table_name = 'credit_requests' GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(q.ok()) << q.status();
  std::map<std::string, std::string> rules;
  for (size_t i = 0; i < q->rows(); ++i) {
    rules[*q->Text(i, 0)] = *q->Text(i, 1);
    EXPECT_FALSE(q->Text(i, 2)->empty());
  }
  ASSERT_EQ(rules.size(), 5u) << ::testing::PrintToString(rules);
  EXPECT_NE(rules["9000001"].find("amount"), std::string::npos) << rules["9000001"];
  EXPECT_NE(rules["9000002"].find("status"), std::string::npos) << rules["9000002"];
  EXPECT_NE(rules["9000003"].find("customer"), std::string::npos) << rules["9000003"];
  EXPECT_NE(rules["9000004"].find("cpf"), std::string::npos) << rules["9000004"];
  EXPECT_NE(rules["9000005"].find("created_at"), std::string::npos) << rules["9000005"];
  // The raw CPF of the bad customer is nowhere in the lake.
  auto leak = h->Lake("SELECT count(*) FROM quarantine WHERE record LIKE '%12345678900%'");
  ASSERT_TRUE(leak.ok());
  EXPECT_EQ(leak->Int(0, 0), 0);
  // The two history rows are quarantined with their reasons; the rest of the history
  // is published.
  auto hq = h->Lake(
      "SELECT rule_id, reason FROM quarantine WHERE table_name = "
      "'credit_request_status_history' ORDER BY rule_id");
  ASSERT_TRUE(hq.ok()) << hq.status();
  ASSERT_EQ(hq->rows(), 2u);
  EXPECT_EQ(hq->Text(0, 0), "status_history_request_published");
  EXPECT_NE(hq->Text(0, 1)->find("request_id = 9000002"), std::string::npos) << *hq->Text(0, 1);
  EXPECT_EQ(hq->Text(1, 0), "status_history_to_status_accepted");
  EXPECT_NE(hq->Text(1, 1)->find("LIMBO"), std::string::npos) << *hq->Text(1, 1);
  auto history = h->Lake(
      "SELECT count(*), count(*) FILTER (WHERE to_status = 'LIMBO' OR request_id = 9000002) "
      "FROM silver_history");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->Int(0, 0),
            h->PgCount("SELECT count(*) FROM credit_request_status_history") - 2);
  EXPECT_EQ(history->Int(0, 1), 0);
  // Every good row published.
  EXPECT_EQ(h->SilverCountsByDay(), h->PgCountsByDay("id < 9000000"));
  auto quality = h->Lake("SELECT count(*) FROM quality WHERE failed > 0");
  ASSERT_TRUE(quality.ok()) << quality.status();
  EXPECT_GE(quality->Int(0, 0), 5);
}

TEST_F(BatchTest, AnErrorBreachExitsNonZeroAndPublishesNothing) {
  // The default rules plus one that tolerates no failure at all.
  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/config/quality.toml");
  std::stringstream rules;
  rules << in.rdbuf()
        << "\n[[rule]]\nid = \"no_tiny_amounts\"\ntable = \"credit_requests\"\n"
           "type = \"range\"\ncolumn = \"amount_cents\"\nmin = 1000\nseverity = \"error\"\n"
           "max_failure_ratio = 0.0\n";
  std::string dir = TestDir("batch_breach_rules");
  std::ofstream(dir + "/quality.toml") << rules.str();

  auto h = Make("batch_breach", "", dir + "/quality.toml");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(10000, 2000).ok());
  CommandResult ok = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::string digest = h->SilverDigest();
  auto versions = [&] {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(h->lake_dir())) {
      if (e.is_symlink())
        out.insert(e.path().string() + "->" + fs::read_symlink(e.path()).string());
    }
    return out;
  };
  std::set<std::string> before = versions();

  ASSERT_TRUE(h->PgExec("UPDATE credit_requests SET amount_cents = 500, version = version + 1, "
                        "updated_at = now() WHERE id = (SELECT min(id) FROM credit_requests)")
                  .ok());
  CommandResult bad = h->Lastro({"batch", "run", "--date", "2026-11-08"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no_tiny_amounts"), std::string::npos) << bad.err;
  EXPECT_EQ(versions(), before) << "a failed run must not publish any table";
  EXPECT_EQ(h->SilverDigest(), digest);

  // The failure is on record: manifest FAILED and an OpenLineage FAIL event.
  CommandResult status = h->Lastro({"batch", "status", "--json"});
  auto s = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(s.is_discarded()) << status.out;
  ASSERT_EQ(s["runs"].size(), 2u);
  EXPECT_EQ(s["runs"][0]["state"], "FAILED");
  fs::path run_dir = fs::path(h->lake_dir()) / "_runs" / s["runs"][0]["run_id"].get<std::string>();
  bool fail_event = false;
  for (const auto& e : fs::directory_iterator(run_dir / "openlineage")) {
    if (e.path().filename().string().find("FAIL") != std::string::npos) fail_event = true;
  }
  EXPECT_TRUE(fail_event);
}

// The published tables as "zone/table -> version".
std::map<std::string, std::string> Versions(const BatchHarness& h) {
  std::map<std::string, std::string> out;
  for (const auto& zone : fs::directory_iterator(h.lake_dir())) {
    std::string z = zone.path().filename().string();
    if (!zone.is_directory() || z.starts_with("_")) continue;
    for (const auto& t : fs::directory_iterator(zone.path())) {
      if (t.is_symlink())
        out[z + "/" + t.path().filename().string()] =
            fs::read_symlink(t.path()).filename().string();
    }
  }
  return out;
}

TEST_F(BatchTest, ASigkilledRunLeavesTheLakeReadableAndTheNextRunRepairsIt) {
  auto h = Make("batch_kill");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(30000, 5000).ok());
  ASSERT_EQ(h->Lastro({"batch", "run", "--date", "2026-11-07"}).exit_code, 0);
  std::string digest = h->SilverDigest();
  auto before = Versions(*h);
  ASSERT_TRUE(h->PgExec("UPDATE credit_requests SET status = 'APPROVED', version = version + 1, "
                        "updated_at = now() WHERE status = 'MANUAL_REVIEW' AND id % 7 = 0")
                  .ok());

  // Killed half-way through publishing: bronze swapped, silver not.
  CommandResult killed = h->Lastro({"batch", "run", "--date", "2026-11-08"},
                                   {{"LASTRO_FAULT_KILL_AFTER_PUBLISH", "bronze/credit_requests"}});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  auto after_kill = Versions(*h);
  EXPECT_EQ(after_kill["silver/credit_requests"], before["silver/credit_requests"]);
  EXPECT_EQ(after_kill["silver/credit_request_status_history"],
            before["silver/credit_request_status_history"]);
  EXPECT_NE(after_kill["bronze/credit_requests"], before["bronze/credit_requests"]);
  EXPECT_EQ(h->SilverDigest(), digest) << "silver must still be the previous complete version";
  for (const char* view : {"silver_requests", "silver_customers", "quarantine", "quality",
                           "bronze_requests", "silver_history", "bronze_history"}) {
    EXPECT_TRUE(h->Lake(std::string("SELECT count(*) FROM ") + view).ok()) << view;
  }
  CommandResult status = h->Lastro({"batch", "status", "--json"});
  auto s = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(s.is_discarded()) << status.out;
  EXPECT_EQ(s["runs"][0]["state"], "ABANDONED");
  // The watermark did not move: the next run re-reads the same changes.
  EXPECT_EQ(s["last_run_id"], s["runs"][1]["run_id"]);

  // Killed while extracting (throttled so it is surely still reading).
  std::string slow = h->WriteConfig("slow.toml", "max_rows_per_s = 5000");
  auto runner = Subprocess::Start(
      {LastroBin(), "batch", "run", "--date", "2026-11-08", "--config", slow, "--no-enrich"},
      h->Env(), h->dir() + "/slow");
  ASSERT_TRUE(runner.ok());
  ASSERT_TRUE(WaitFor(
      [&] { return (*runner)->Stderr().find("\"phase\":\"extract\"") != std::string::npos; }, 20s))
      << (*runner)->Stderr();
  (*runner)->Signal(SIGKILL);
  (*runner)->Wait(10s);
  EXPECT_EQ(h->SilverDigest(), digest);

  // The next run publishes everything, clears the leftovers, and silver matches PostgreSQL.
  CommandResult next = h->Lastro({"batch", "run", "--date", "2026-11-08"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(h->SilverCountsByDay(), h->PgCountsByDay());
  auto approved = h->Lake("SELECT count(*) FROM silver_requests WHERE status = 'MANUAL_REVIEW'");
  ASSERT_TRUE(approved.ok());
  EXPECT_EQ(approved->Int(0, 0),
            h->PgCount("SELECT count(*) FROM credit_requests WHERE status = 'MANUAL_REVIEW'"));
  auto history = h->Lake("SELECT count(*) FROM silver_history");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->Int(0, 0), h->PgCount("SELECT count(*) FROM credit_request_status_history"));
  EXPECT_TRUE(fs::is_empty(fs::path(h->lake_dir()) / "_staging"));
}

TEST_F(BatchTest, AnOverlappingRunIsRefusedAndTheRunNeverBlocksTheAppsWrites) {
  auto h = Make("batch_lock", "", "");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(30000, 5000).ok());
  std::string slow = h->WriteConfig("slow.toml", "max_rows_per_s = 10000");
  auto runner = Subprocess::Start(
      {LastroBin(), "batch", "run", "--date", "2026-11-07", "--config", slow, "--no-enrich"},
      h->Env(), h->dir() + "/slow");
  ASSERT_TRUE(runner.ok());
  ASSERT_TRUE(WaitFor(
      [&] { return (*runner)->Stderr().find("\"phase\":\"extract\"") != std::string::npos; }, 20s))
      << (*runner)->Stderr();

  CommandResult second = h->Lastro({"batch", "run", "--date", "2026-11-07", "--no-enrich"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("is locked by pid"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("batch run 2026-11-07"), std::string::npos) << second.err;

  // While it reads, the app keeps inserting and updating: the batch holds only
  // ACCESS SHARE locks and nobody waits on it.
  auto app = pg::Connection::Connect(h->dsn(), {.application_name = "app"});
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE((*app)->Exec("SET statement_timeout = 2000; SET lock_timeout = 1000").ok());
  int writes = 0, samples_seen_batch = 0;
  while ((*runner)->running()) {
    auto w = (*app)->Exec(
        "INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, channel) "
        "SELECT min(id), 100000, 12, 'personal', 'web' FROM customers; "
        "UPDATE credit_requests SET updated_at = now() WHERE id = (SELECT min(id) FROM "
        "credit_requests)");
    ASSERT_TRUE(w.ok()) << w.status();
    ++writes;
    auto locks = (*app)->Exec(
        "SELECT count(*) FILTER (WHERE l.mode <> 'AccessShareLock'), count(*), "
        "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "cardinality(pg_blocking_pids(pid)) > 0) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = 'lastro-batch' AND a.datname = current_database() AND "
        "l.locktype = 'relation'");
    ASSERT_TRUE(locks.ok()) << locks.status();
    EXPECT_EQ(locks->GetInt(0, 0), 0) << "the batch took a lock stronger than ACCESS SHARE";
    EXPECT_EQ(locks->GetInt(0, 2), 0) << "a session is blocked";
    if (locks->GetInt(0, 1) > 0) ++samples_seen_batch;
  }
  EXPECT_EQ((*runner)->Wait(10s), 0) << (*runner)->Stderr();
  EXPECT_GT(samples_seen_batch, 0) << "the checks never overlapped the batch's transaction";
  EXPECT_GT(writes, 10);
}

TEST_F(BatchTest, AFailedHistoryStreamFailsTheRunAndPublishesNothing) {
  auto h = Make("batch_history_fails");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(5000, 1000).ok());
  ASSERT_EQ(h->Lastro({"batch", "run", "--date", "2026-11-07", "--no-enrich"}).exit_code, 0);
  auto before = Versions(*h);
  std::string digest = h->SilverDigest();

  // The history statement (on the second connection) waits for this lock and gives
  // up after lock_timeout, while the requests stream on the first connection.
  auto lock = pg::Connection::Connect(h->dsn(), {.application_name = "test-lock"});
  ASSERT_TRUE(lock.ok()) << lock.status();
  ASSERT_TRUE((*lock)
                  ->Exec("BEGIN; LOCK TABLE credit_request_status_history IN ACCESS EXCLUSIVE MODE")
                  .ok());
  CommandResult failed = h->Lastro({"batch", "run", "--date", "2026-11-07", "--no-enrich"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("lock timeout"), std::string::npos) << failed.err;
  EXPECT_EQ(Versions(*h), before) << "a table, bronze included, got a new version";
  EXPECT_EQ(h->SilverDigest(), digest);
  EXPECT_TRUE(fs::is_empty(fs::path(h->lake_dir()) / "_staging"));
  ASSERT_TRUE((*lock)->Exec("ROLLBACK").ok());
}

TEST_F(BatchTest, OpenLineageEventsCarryTheSpecsRequiredFields) {
  auto h = Make("batch_lineage");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(5000, 1000).ok());
  CommandResult r = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path dir = RunDir(*h, r.out) / "openlineage";
  std::vector<nlohmann::json> events;
  for (const auto& e : fs::directory_iterator(dir)) events.push_back(ReadJson(e.path()));
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> types;
  // Spec 2-0-2: RunEvent requires eventTime, producer, schemaURL, run.runId, job.namespace,
  // job.name; datasets namespace and name; every facet _producer and _schemaURL.
  auto check_facets = [](const nlohmann::json& facets, const std::string& where) {
    for (const auto& [name, facet] : facets.items()) {
      EXPECT_TRUE(facet.contains("_producer")) << where << "." << name;
      EXPECT_TRUE(facet.contains("_schemaURL")) << where << "." << name;
    }
  };
  for (const auto& e : events) {
    types.insert(e.value("eventType", ""));
    for (const char* key : {"eventTime", "producer", "schemaURL", "run", "job"}) {
      EXPECT_TRUE(e.contains(key)) << key;
    }
    EXPECT_EQ(e["schemaURL"], "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
    EXPECT_TRUE(batch::IsCanonicalUuid(e["run"]["runId"].get<std::string>()));
    EXPECT_FALSE(e["job"]["namespace"].get<std::string>().empty());
    EXPECT_EQ(e["job"]["name"], "batch.daily");
    check_facets(e["run"].value("facets", nlohmann::json::object()), "run");
    check_facets(e["job"].value("facets", nlohmann::json::object()), "job");
    for (const char* side : {"inputs", "outputs"}) {
      for (const auto& d : e.value(side, nlohmann::json::array())) {
        EXPECT_FALSE(d.value("namespace", "").empty());
        EXPECT_FALSE(d.value("name", "").empty());
        EXPECT_EQ(d.value("namespace", "").find("password"), std::string::npos);
        check_facets(d.value("facets", nlohmann::json::object()), d.value("name", ""));
        check_facets(d.value("inputFacets", nlohmann::json::object()), d.value("name", ""));
        check_facets(d.value("outputFacets", nlohmann::json::object()), d.value("name", ""));
      }
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"START", "COMPLETE"}));
  // COMPLETE names the silver table with its row count and schema.
  bool silver = false;
  for (const auto& e : events) {
    if (e["eventType"] != "COMPLETE") continue;
    for (const auto& d : e["outputs"]) {
      if (d["name"] != "silver/credit_requests") continue;
      silver = true;
      EXPECT_EQ(d["outputFacets"]["outputStatistics"]["rowCount"].get<int64_t>(), 5000);
      EXPECT_GE(d["facets"]["schema"]["fields"].size(), 30u);
    }
    EXPECT_FALSE(e["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"].empty());
  }
  EXPECT_TRUE(silver);
}

TEST_F(BatchTest, LakeDdlForDuckdbReadsTheSameRowsAndCompactionKeepsThem) {
  auto h = Make("batch_ddl");
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->Seed(5000, 1000).ok());
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(h->Lastro({"batch", "run", "--date", "2026-11-07"}).exit_code, 0);
  CommandResult ddl = h->Lastro({"lake", "ddl", "--engine", "duckdb"});
  ASSERT_EQ(ddl.exit_code, 0) << ddl.err;
  // A fresh DuckDB given only the printed DDL reads what the lake holds.
  auto fresh = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->Execute(ddl.out).ok()) << ddl.out;
  auto counted = (*fresh)->Query(
      "SELECT request_date::VARCHAR, count(*) FROM silver_credit_requests GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(counted.ok()) << counted.status();
  std::map<std::string, int64_t> by_day;
  for (size_t i = 0; i < counted->rows(); ++i) by_day[*counted->Text(i, 0)] = *counted->Int(i, 1);
  EXPECT_EQ(by_day, h->PgCountsByDay());
  for (const char* engine : {"athena", "trino", "spark"}) {
    CommandResult other =
        h->Lastro({"lake", "ddl", "--engine", engine, "--location", "s3://bucket/lake"});
    ASSERT_EQ(other.exit_code, 0) << other.err;
    EXPECT_NE(other.out.find("s3://bucket/lake/silver/credit_requests"), std::string::npos)
        << other.out;
  }

  // Three runs appended three quality files to one partition: compaction merges them.
  auto files_before =
      h->Lake("SELECT count(DISTINCT filename), count(*) FROM read_parquet('" + h->lake_dir() +
              "/quality/rule_results/*/*.parquet', filename = true)");
  ASSERT_TRUE(files_before.ok());
  EXPECT_EQ(files_before->Int(0, 0), 3);
  std::string digest = h->SilverDigest();
  CommandResult compact = h->Lastro({"lake", "compact"});
  ASSERT_EQ(compact.exit_code, 0) << compact.err;
  auto files_after =
      h->Lake("SELECT count(DISTINCT filename), count(*) FROM read_parquet('" + h->lake_dir() +
              "/quality/rule_results/*/*.parquet', filename = true)");
  ASSERT_TRUE(files_after.ok());
  EXPECT_EQ(files_after->Int(0, 0), 1);
  EXPECT_EQ(files_after->Int(0, 1), files_before->Int(0, 1));
  EXPECT_EQ(h->SilverDigest(), digest);
}

TEST_F(BatchTest, ContactDataReachesTheLakeOnlySealedAndOnlyWithAMasterKey) {
  for (bool keyed : {true, false}) {
    auto h = BatchHarness::Create({.name = keyed ? "batch_pii_sealed" : "batch_pii_off"});
    ASSERT_TRUE(h.ok()) << h.status();
    ASSERT_TRUE((*h)->Seed(2000, 300).ok());
    std::map<std::string, std::string> env;
    if (!keyed) env["LASTRO_MASTER_KEY"] = "";  // no master key: no contact PII at all
    CommandResult run = (*h)->Lastro({"batch", "run", "--date", "2026-11-07"}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const std::string& table :
         {std::string("bronze/customers/*/*.parquet"), std::string("silver/customers/*.parquet")}) {
      auto sealed = (*h)->Lake(
          "SELECT count(*), count(full_name_enc), count(email_enc), count(phone_enc), "
          "count(birth_date_enc), count(birth_year), count(marketing_consent), "
          "min(octet_length(email_enc)) FROM read_parquet('" +
          (*h)->lake_dir() + "/" + table + "')");
      ASSERT_TRUE(sealed.ok()) << sealed.status();
      EXPECT_EQ(sealed->Int(0, 0), 300) << table;
      for (size_t c = 1; c <= 4; ++c) EXPECT_EQ(sealed->Int(0, c), keyed ? 300 : 0) << table;
      EXPECT_EQ(sealed->Int(0, 5), 300) << table;
      EXPECT_EQ(sealed->Int(0, 6), 300) << table;
      // nonce + "cN@example.com" + tag: ciphertext, not the address.
      if (keyed) {
        EXPECT_GE(sealed->Int(0, 7), 24 + 14 + 16) << table;
      }
      auto cols = (*h)->Lake("DESCRIBE SELECT * FROM read_parquet('" + (*h)->lake_dir() + "/" +
                             table + "')");
      ASSERT_TRUE(cols.ok());
      for (size_t i = 0; i < cols->rows(); ++i) {
        std::string c = *cols->Text(i, 0);
        EXPECT_TRUE(c != "email" && c != "full_name" && c != "cpf" && c != "phone" &&
                    c != "birth_date")
            << table << "." << c;
      }
    }
    auto year =
        (*h)->Lake("SELECT count(*) FROM silver_customers WHERE birth_year BETWEEN 1960 AND 2002");
    ASSERT_TRUE(year.ok());
    EXPECT_EQ(year->Int(0, 0), 300);
    EXPECT_EQ(fs::exists(fs::path((*h)->governance_dir()) / "keys"), keyed);
  }
}

TEST_F(BatchTest, ARunSendsItsCountsAndOutcomeToDogStatsd) {
  StatsdListener agent;  // what a Datadog agent would receive
  ASSERT_TRUE(agent.ok());

  auto h = BatchHarness::Create({.name = "batch_statsd", .statsd = true});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE((*h)->Seed(3000, 500).ok());
  CommandResult r = (*h)->Lastro({"batch", "run", "--date", "2026-11-07"},
                                 {{"LASTRO_STATSD_ADDR", agent.addr()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  ASSERT_TRUE(
      agent.WaitForAll({"lastro.batch.runs:1|c", "lastro.batch.rows.published:3000|c"}, 10s))
      << agent.received();
  const std::string& received = agent.received();
  EXPECT_NE(received.find("outcome:succeeded"), std::string::npos) << received;
  EXPECT_NE(received.find("lastro.batch.phase.seconds"), std::string::npos) << received;
  EXPECT_NE(received.find("lastro.bureau.calls"), std::string::npos) << received;
}

}  // namespace
}  // namespace lastro::testing
