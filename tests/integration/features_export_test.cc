// `lastro features export --training` end to end: real PostgreSQL seeded with a week of
// requests, `lastro batch run` into a real lake, `lastro refresh`, then the training set
// exported from the published catalog and checked against the catalog and PostgreSQL.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "batch_harness.h"
#include "lake/engine.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRequests = 3000;

// A lake holding a seeded week (3000 requests of 400 customers, 2026-11-01..07) and
// the catalog published from it; nullptr when any step failed.
std::unique_ptr<BatchHarness> Published(const std::string& name) {
  auto h = BatchHarness::Create({.name = name});
  Status s = h.ok() ? (*h)->SeedBatchRefresh(kRequests, 400) : h.status();
  EXPECT_TRUE(s.ok()) << s;
  return s.ok() ? std::move(*h) : nullptr;
}

// `lastro features export --training <args>`; its JSON summary (null on failure).
nlohmann::json Export(BatchHarness& h, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"features", "export", "--training"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = h.Lastro(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

// An engine on the published catalog (read-only) that may also read the exported files.
std::unique_ptr<lake::Engine> Catalog(const BatchHarness& h) {
  auto e = lake::Engine::Open({.memory_limit = "256MB",
                               .threads = 1,
                               .database = fs::path(h.lake_dir()) / "catalog" / "catalog.duckdb",
                               .read_only = true});
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

int64_t Count(lake::Engine& e, const std::string& sql) {
  auto v = e.QueryValue(sql);
  EXPECT_TRUE(v.ok()) << v.status() << "\n" << sql;
  return v.ok() && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v) : -1;
}

// The local (São Paulo) day of a PostgreSQL timestamptz column.
constexpr char kLocalDay[] = "(created_at AT TIME ZONE 'America/Sao_Paulo')::date";

TEST(FeaturesExport, ARequestSeesOnlyTheFeaturesOfDaysBeforeItsOwnDay) {
  auto h = Published("features_pit");
  ASSERT_TRUE(h);
  // R: a request of 2026-11-05, early enough in the day for three more after it.
  const std::string day = "2026-11-05";
  const int64_t r = h->PgCount(absl::StrCat(
      "SELECT min(id) FROM credit_requests WHERE ", kLocalDay, " = date '", day,
      "' AND (created_at AT TIME ZONE 'America/Sao_Paulo')::time BETWEEN '06:00' AND '18:00'"));
  ASSERT_GT(r, 0);
  const int64_t customer =
      h->PgCount(absl::StrCat("SELECT customer_id FROM credit_requests WHERE id = ", r));
  // The customer comes back three times later that same day: activity R could not know.
  ASSERT_TRUE(
      h->PgExec(absl::StrCat("INSERT INTO credit_requests (customer_id, amount_cents, term_months, "
                             "purpose, channel, status, version, created_at, updated_at) SELECT "
                             "customer_id, 250000, 12, 'personal', 'web', 'PENDING', 1, created_at "
                             "+ i * interval '1 hour', created_at + i * interval '1 hour' FROM "
                             "credit_requests, generate_series(1, 3) i WHERE id = ",
                             r))
          .ok());
  const int64_t same_day =
      h->PgCount(absl::StrCat("SELECT count(*) FROM credit_requests WHERE customer_id = ", customer,
                              " AND ", kLocalDay, " = date '", day, "'"));
  ASSERT_GE(same_day, 4);
  CommandResult batch = h->Lastro({"batch", "run", "--date", day});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  CommandResult refresh = h->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;

  const std::string out = h->dir() + "/training.parquet";
  nlohmann::json summary = Export(*h, {"--out", out});
  ASSERT_FALSE(summary.is_null());
  EXPECT_EQ(summary["rows"], kRequests + 3) << summary;
  EXPECT_EQ(summary["catalog_version"], h->CurrentCatalog());
  EXPECT_EQ(summary["out"], out);
  auto e = Catalog(*h);
  ASSERT_TRUE(e);
  const std::string rows = absl::StrCat("read_parquet(", lake::SqlString(out), ")");

  // Every row: the feature day is strictly before the request's São Paulo day, computed
  // here from created_at (UTC) rather than trusting request_date ...
  EXPECT_EQ(Count(*e, absl::StrCat("SELECT count(*) FROM ", rows,
                                   " WHERE f_feature_date >= CAST(timezone('America/Sao_Paulo', "
                                   "timezone('UTC', created_at)) AS DATE)")),
            0);
  // ... and it is the latest such day the catalog has, with that day's values.
  EXPECT_EQ(Count(*e, absl::StrCat("SELECT count(*) FROM ", rows,
                                   " t WHERE t.f_feature_date IS DISTINCT FROM (SELECT "
                                   "max(feature_date) FROM customer_features_daily f WHERE "
                                   "f.customer_id = t.customer_id AND f.feature_date < "
                                   "t.request_date)")),
            0);
  EXPECT_EQ(Count(*e, absl::StrCat("SELECT count(*) FROM ", rows,
                                   " t JOIN customer_features_daily f ON f.customer_id = "
                                   "t.customer_id AND f.feature_date = t.f_feature_date WHERE "
                                   "t.f_credit_requests IS DISTINCT FROM f.credit_requests OR "
                                   "t.f_bureau_score IS DISTINCT FROM f.bureau_score")),
            0);
  EXPECT_EQ(
      Count(*e, absl::StrCat("SELECT count(*) FILTER (WHERE f_feature_date IS NULL) FROM ", rows)),
      summary["requests_without_features"].get<int64_t>());

  // R: its features are the customer's last day before 2026-11-05, whose request count
  // PostgreSQL confirms; R's own day (four requests or more) is not what it sees.
  auto expected = e->Query(absl::StrCat(
      "SELECT feature_date::VARCHAR, credit_requests, bureau_score FROM customer_features_daily "
      "WHERE customer_id = ",
      customer, " AND feature_date < DATE '", day, "' ORDER BY feature_date DESC LIMIT 1"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(expected->rows(), 1u) << "customer " << customer << " has no day before " << day;
  const std::string feature_day = *expected->Text(0, 0);
  EXPECT_EQ(expected->Int(0, 1),
            h->PgCount(absl::StrCat("SELECT count(*) FROM credit_requests WHERE customer_id = ",
                                    customer, " AND ", kLocalDay, " = date '", feature_day, "'")));
  EXPECT_EQ(Count(*e, absl::StrCat("SELECT credit_requests FROM customer_features_daily WHERE "
                                   "customer_id = ",
                                   customer, " AND feature_date = DATE '", day, "'")),
            same_day);
  auto got = e->Query(absl::StrCat(
      "SELECT f_feature_date::VARCHAR, f_credit_requests, f_bureau_score, feature_age_days, "
      "request_date::VARCHAR FROM ",
      rows, " WHERE request_id = ", r));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->rows(), 1u);
  EXPECT_EQ(got->Text(0, 0), feature_day);
  EXPECT_EQ(got->Int(0, 1), expected->Int(0, 1));
  EXPECT_NE(got->Int(0, 1), same_day);
  EXPECT_EQ(got->at(0, 2), expected->at(0, 2));
  EXPECT_GE(got->Int(0, 3).value_or(0), 1);
  EXPECT_EQ(got->Text(0, 4), day);
}

TEST(FeaturesExport, RowsAreTheRequestsInTheRangeAndCsvHoldsTheSameRowsAsParquet) {
  auto h = Published("features_range");
  ASSERT_TRUE(h);
  const std::string parquet = h->dir() + "/training.parquet", csv = h->dir() + "/training.csv";
  const std::vector<std::string> range = {"--from", "2026-11-02", "--to", "2026-11-05"};
  std::vector<std::string> args = range;
  args.insert(args.end(), {"--out", parquet});
  nlohmann::json p = Export(*h, args);
  args = range;
  args.insert(args.end(), {"--out", csv, "--format", "csv"});
  nlohmann::json c = Export(*h, args);
  ASSERT_FALSE(p.is_null());
  ASSERT_FALSE(c.is_null());

  const int64_t in_range =
      h->PgCount(absl::StrCat("SELECT count(*) FROM credit_requests WHERE ", kLocalDay,
                              " BETWEEN date '2026-11-02' AND date '2026-11-05'"));
  ASSERT_GT(in_range, 0);
  EXPECT_EQ(p["rows"], in_range) << p;
  EXPECT_EQ(p["from"], "2026-11-02");
  EXPECT_EQ(p["to"], "2026-11-05");
  EXPECT_EQ(p["catalog_version"], h->CurrentCatalog());
  for (const char* key : {"rows", "requests_without_features", "from", "to", "catalog_version"}) {
    EXPECT_EQ(p[key], c[key]) << key;
  }

  auto e = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
  ASSERT_TRUE(e.ok()) << e.status();
  const std::string pq = absl::StrCat("read_parquet(", lake::SqlString(parquet), ")");
  const std::string cs =
      absl::StrCat("read_csv(", lake::SqlString(csv), ", header = true, all_varchar = true)");
  EXPECT_EQ(Count(**e, "SELECT count(DISTINCT request_id) FROM " + pq), in_range);
  EXPECT_EQ(Count(**e, "SELECT count(*) FROM " + pq +
                           " WHERE request_date NOT BETWEEN DATE '2026-11-02' AND DATE "
                           "'2026-11-05'"),
            0);
  EXPECT_EQ(Count(**e, "SELECT count(*) FROM " + cs), in_range);
  // The same rows, value for value (compared as text: CSV has no types).
  const std::string p_text = "SELECT COLUMNS(*)::VARCHAR FROM " + pq;
  const std::string c_text = "SELECT * FROM " + cs;
  EXPECT_EQ(Count(**e, absl::StrCat("SELECT count(*) FROM (", p_text, " EXCEPT ALL ", c_text, ")")),
            0);
  EXPECT_EQ(Count(**e, absl::StrCat("SELECT count(*) FROM (", c_text, " EXCEPT ALL ", p_text, ")")),
            0);
  // No PII and no label among the inputs: only the declared columns, labels marked.
  auto cols = (*e)->Query("SELECT column_name FROM (DESCRIBE SELECT * FROM " + pq +
                          ") WHERE column_name SIMILAR TO '.*(cpf|name|email|birth|token).*'");
  ASSERT_TRUE(cols.ok()) << cols.status();
  EXPECT_EQ(cols->rows(), 0u);
  // Cents stay integers in Parquet (the catalog's sums are HUGEINT, stored as DOUBLE).
  EXPECT_EQ(Count(**e, "SELECT count(*) FROM (DESCRIBE SELECT * FROM " + pq +
                           ") WHERE column_type IN ('DOUBLE', 'FLOAT')"),
            0);

  // A folder that does not exist cannot be written: exit 1, the old file stays.
  CommandResult missing = h->Lastro(
      {"features", "export", "--training", "--out", h->dir() + "/no-such-folder/t.parquet"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot write"), std::string::npos) << missing.err;
}

TEST(FeaturesExport, RefusesWithoutACatalogAndWithBadArguments) {
  auto made = BatchHarness::Create({.name = "features_refusals"});
  ASSERT_TRUE(made.ok()) << made.status();
  BatchHarness* h = made->get();
  const std::string out = h->dir() + "/training.parquet";
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"features", "export"};
    argv.insert(argv.end(), args.begin(), args.end());
    return h->Lastro(argv);
  };
  // The exit codes follow the CLI's contract (src/cli/README.md): 2 for a bad
  // argument or a missing catalog (fix the input / run refresh), 1 for the rest.
  CommandResult none = run({"--training", "--out", out});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no published catalog"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("lastro refresh"), std::string::npos) << none.err;

  CommandResult from = run({"--training", "--from", "2026-02-30", "--out", out});
  EXPECT_EQ(from.exit_code, 2);
  EXPECT_NE(from.err.find("--from '2026-02-30' is not a date"), std::string::npos) << from.err;
  CommandResult order =
      run({"--training", "--from", "2026-11-05", "--to", "2026-11-01", "--out", out});
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_NE(order.err.find("is after --to"), std::string::npos) << order.err;
  CommandResult format = run({"--training", "--format", "json", "--out", out});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("unknown format 'json'"), std::string::npos) << format.err;
  CommandResult which = run({"--out", out});
  EXPECT_EQ(which.exit_code, 2);
  EXPECT_NE(which.err.find("--training"), std::string::npos) << which.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace lastro::testing
