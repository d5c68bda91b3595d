// The training-set export over a small hand-made catalog (real DuckDB file, real
// publish): the point-in-time join, NULL features, the date range, and the refusals.
#include "mart/features_export.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "lake/engine.h"
#include "mart/catalog_store.h"

namespace lastro::mart {
namespace {
namespace fs = std::filesystem;

// Customer 1 has feature rows on 11-01 and 11-03 and requests on 11-01, 11-03 and 11-04;
// customer 2 has one request and no features. The 11-03 row counts five requests and a
// bureau score of 900: a request made on 11-03 must not see it.
constexpr char kCatalog[] = R"sql(
CREATE TABLE fact_credit_request AS
SELECT * FROM (VALUES
  (1, 1, 11, TIMESTAMP '2026-11-01 13:00:00', DATE '2026-11-01', 'APPROVED', 610),
  (2, 1, 11, TIMESTAMP '2026-11-03 13:00:00', DATE '2026-11-03', 'REJECTED', 620),
  (3, 1, 11, TIMESTAMP '2026-11-04 13:00:00', DATE '2026-11-04', 'APPROVED', 630),
  (4, 2, 22, TIMESTAMP '2026-11-02 13:00:00', DATE '2026-11-02', 'PENDING', NULL))
  t(request_id, customer_id, customer_sk, created_at, request_date, status, bureau_score),
  LATERAL (SELECT 100000 AS amount_cents, 12 AS term_months, 'personal' AS product,
           'web' AS channel, NULL::BIGINT AS declared_income_cents,
           status = 'APPROVED' AS is_approved, status AS decision, 700 AS risk_score);
CREATE TABLE customer_features_daily AS
SELECT customer_id, feature_date, 1 AS sessions, 0 AS simulations, 0 AS login_failures,
       1 AS app_events, 0 AS credits_cents, 0 AS debits_cents, 0 AS bank_transactions,
       0 AS income_30d_cents, NULL::BIGINT AS balance_cents, credit_requests, bureau_score
FROM (VALUES (1, DATE '2026-11-01', 1, 500), (1, DATE '2026-11-03', 5, 900))
  t(customer_id, feature_date, credit_requests, bureau_score);
)sql";

class FeaturesExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            absl::StrCat("mart_features_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                         ::getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    config_.lake.dir = (root_ / "lake").string();
    config_.lake.memory_limit = "256MB";
    config_.lake.threads = 1;
  }
  void TearDown() override { fs::remove_all(root_); }

  void Publish() {
    CatalogStore store(config_.lake.dir);
    auto dir = store.Stage("v1");
    ASSERT_TRUE(dir.ok()) << dir.status();
    {
      auto e = lake::Engine::Open(
          {.memory_limit = "128MB", .threads = 1, .database = *dir / "catalog.duckdb"});
      ASSERT_TRUE(e.ok()) << e.status();
      ASSERT_TRUE((*e)->Execute(kCatalog).ok());
    }
    std::ofstream(*dir / "manifest.json") << R"({"version": "v1"})";
    ASSERT_TRUE(store.Publish("v1", 3).ok());
  }

  lake::QueryResult Read(const std::string& from) {
    auto e = lake::Engine::Open({.memory_limit = "128MB", .threads = 1});
    EXPECT_TRUE(e.ok());
    auto r = (*e)->Query(absl::StrCat(
        "SELECT request_id, f_feature_date::VARCHAR, feature_age_days, f_credit_requests, "
        "f_bureau_score, label_status, label_bureau_score FROM ",
        from, " ORDER BY request_id"));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : lake::QueryResult();
  }

  fs::path root_;
  Config config_;
};

TEST_F(FeaturesExportTest, EachRequestGetsTheLatestFeatureDayStrictlyBeforeItsOwnDay) {
  Publish();
  const fs::path out = root_ / "train.parquet";
  auto result = ExportTrainingSet(config_, {.out = out.string()});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 4);
  EXPECT_EQ(result->requests_without_features, 2);  // request 1 (first day), customer 2
  EXPECT_EQ(result->catalog_version, "v1");
  EXPECT_EQ(result->out, out.string());

  lake::QueryResult r = Read(absl::StrCat("read_parquet('", out.string(), "')"));
  ASSERT_EQ(r.rows(), 4u);
  EXPECT_TRUE(r.IsNull(0, 1));            // nothing known before 11-01
  EXPECT_EQ(r.Text(1, 1), "2026-11-01");  // 11-03's own row is not complete yet
  EXPECT_EQ(r.Int(1, 2), 2);
  EXPECT_EQ(r.Int(1, 3), 1);
  EXPECT_EQ(r.Int(1, 4), 500);
  EXPECT_EQ(r.Text(1, 5), "REJECTED");
  EXPECT_EQ(r.Int(1, 6), 620);            // the request's own score: a label only
  EXPECT_EQ(r.Text(2, 1), "2026-11-03");  // the next day sees it
  EXPECT_EQ(r.Int(2, 3), 5);
  EXPECT_EQ(r.Int(2, 4), 900);
  EXPECT_TRUE(r.IsNull(3, 1));  // no features at all: the row stays
  // Nothing of ours is left beside the output.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_)) ++files;
  EXPECT_EQ(files, 2);  // lake/ and train.parquet
}

TEST_F(FeaturesExportTest, TheRangeSelectsRequestDaysAndCsvHoldsTheSameRows) {
  Publish();
  const fs::path out = root_ / "train.csv";
  auto result = ExportTrainingSet(
      config_, {.from = "2026-11-03", .to = "2026-11-04", .out = out.string(), .format = "csv"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 2);
  EXPECT_EQ(result->requests_without_features, 0);
  lake::QueryResult r = Read(absl::StrCat("read_csv('", out.string(), "')"));
  ASSERT_EQ(r.rows(), 2u);
  EXPECT_EQ(r.Int(0, 0), 2);
  EXPECT_EQ(r.Text(0, 1), "2026-11-01");
  EXPECT_EQ(r.Int(1, 4), 900);
}

TEST_F(FeaturesExportTest, BadArgumentsAMissingCatalogAndAMissingFolderAreRefused) {
  auto bad = [&](TrainingExportOptions o) { return ExportTrainingSet(config_, o).status(); };
  const std::string out = (root_ / "t.parquet").string();
  EXPECT_TRUE(absl::IsInvalidArgument(bad({.from = "2026-13-01", .out = out})));
  EXPECT_TRUE(absl::IsInvalidArgument(bad({.to = "yesterday", .out = out})));
  EXPECT_TRUE(absl::IsInvalidArgument(bad({.from = "2026-11-05", .to = "2026-11-04", .out = out})));
  EXPECT_TRUE(absl::IsInvalidArgument(bad({.out = out, .format = "json"})));
  EXPECT_TRUE(absl::IsInvalidArgument(bad({})));
  Status none = bad({.out = out});
  EXPECT_TRUE(absl::IsNotFound(none)) << none;
  EXPECT_NE(none.message().find("lastro refresh"), std::string::npos) << none;

  Publish();
  Status folder = bad({.out = (root_ / "no-such-folder" / "t.parquet").string()});
  EXPECT_TRUE(absl::IsUnavailable(folder)) << folder;
  EXPECT_FALSE(fs::exists(out));
}

TEST(FeaturesExportSql, FillsTheRangeAndJoinsStrictlyBeforeTheRequestDay) {
  auto sql = TrainingSetSql("2026-11-01", "");
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_NE(sql->find("DATE '2026-11-01'"), std::string::npos);
  EXPECT_NE(sql->find("CAST(NULL AS DATE)"), std::string::npos);
  EXPECT_EQ(sql->find("{{"), std::string::npos);
  EXPECT_NE(sql->find("f.feature_date < r.request_date"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(TrainingSetSql("2026-02-30", "").status()));
}

}  // namespace
}  // namespace lastro::mart
