// `lastro batch run` against a real PostgreSQL, the real bureau simulator, and the
// lake read back with DuckDB.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "batch/lineage.h"
#include "batch_harness.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kRequests = 105000;  // 7 days of history, >= 100k
constexpr int64_t kCustomers = 20000;

// One seeded database shared by the read-only checks (seeding 100k rows is the
// slow part); tests that modify data make their own.
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

  // Every request was scored by the bureau or marked unknown; the rerun pays nothing.
  auto bureau = h->Lake(
      "SELECT count(*) FILTER (WHERE bureau_status IN ('FOUND', 'NOT_FOUND')), count(*) "
      "FROM silver_requests");
  ASSERT_TRUE(bureau.ok()) << bureau.status();
  EXPECT_GT(*bureau->Int(0, 0), *bureau->Int(0, 1) * 9 / 10);

  CommandResult again = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(h->SilverDigest(), digest);
  EXPECT_EQ(h->SilverCountsByDay(), pg);
  nlohmann::json manifest = ReadJson(RunDir(*h, again.out) / "manifest.json");
  int64_t fetched = -1;
  for (const auto& in : manifest["inputs"]) {
    if (in["name"] == "bureau.scores") fetched = in["rows"].get<int64_t>();
  }
  EXPECT_LE(fetched, 50) << "a rerun must take bureau scores from the lake's cache";

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
  auto before = h->Lake(
      "SELECT request_date::VARCHAR, min(filename) FROM read_parquet('" + h->lake_dir() +
      "/silver/credit_requests/*/*.parquet', hive_partitioning = true, filename = true) "
      "GROUP BY 1 ORDER BY 1");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(h->PgExec("UPDATE credit_requests SET status = 'APPROVED', version = version + 1, "
                        "updated_at = now() WHERE id = (SELECT min(id) FROM credit_requests "
                        "WHERE status = 'MANUAL_REVIEW' AND created_at >= '2026-11-02 12:00-03' "
                        "AND created_at < '2026-11-02 13:00-03')")
                  .ok());
  CommandResult late = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(late.exit_code, 0) << late.err;
  auto after = h->Lake(
      "SELECT request_date::VARCHAR, min(filename) FROM read_parquet('" + h->lake_dir() +
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
  auto updated = h->Lake(
      "SELECT count(*) FROM silver_requests WHERE status = 'APPROVED' AND version = 3");
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->Int(0, 0), 1);

  // The manifest's checksums and row counts match the files it names.
  nlohmann::json m = ReadJson(RunDir(*h, late.out) / "manifest.json");
  ASSERT_EQ(m["state"], "SUCCEEDED");
  int checked = 0;
  for (const auto& out : m["outputs"]) {
    fs::path root = fs::path(h->lake_dir()) / out["zone"].get<std::string>() /
                    out["table"].get<std::string>();
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
  )sql").ok());

  CommandResult r = h->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto q = h->Lake(
      "SELECT record_key, string_agg(rule_id, ',' ORDER BY rule_id), min(reason) "
      "FROM quarantine GROUP BY 1 ORDER BY 1");
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
      if (e.is_symlink()) out.insert(e.path().string() + "->" + fs::read_symlink(e.path()).string());
    }
    return out;
  };
  std::set<std::string> before = versions();

  ASSERT_TRUE(h->PgExec("UPDATE credit_requests SET amount_cents = 500, version = version + 1, "
                        "updated_at = now() WHERE id = (SELECT min(id) FROM credit_requests)")
                  .ok());
  CommandResult bad = h->Lastro({"batch", "run", "--date", "2026-11-07"});
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

}  // namespace
}  // namespace lastro::testing
