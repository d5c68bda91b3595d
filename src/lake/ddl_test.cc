#include "lake/ddl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lastro::lake {
namespace {

namespace fs = std::filesystem;
using Columns = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<Engine> OpenEngine() {
  auto e = Engine::Open({.memory_limit = "256MB", .threads = 1});
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

// A lake with silver/credit_requests (90 rows over 3 day partitions, every type the
// lake writes) and quality/rule_results (5 rows, unpartitioned), published through
// TableTransaction as the batch does.
class DdlLakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lake_ddl_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto store = TableStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<TableStore>(std::move(*store));
    engine_ = OpenEngine();
    ASSERT_NE(engine_, nullptr);
    TableTransaction tx(*store_, "v1");
    auto silver = tx.Stage("silver", "credit_requests", PublishMode::kReplaceTable);
    ASSERT_TRUE(silver.ok()) << silver.status();
    Write(
        "SELECT i::BIGINT AS request_id, (12 + i % 3)::INTEGER AS term_months, "
        "i / 100.0 AS probability_of_default, i % 2 = 0 AS first_time_customer, "
        "'APPROVED' AS status, TIMESTAMP '2026-11-20 10:00:00' + INTERVAL (i) MINUTE "
        "AS created_at, ['R1', 'R2'] AS reason_codes, (i * 1.25)::DECIMAL(18,2) AS amount, "
        "DATE '2026-11-01' AS bureau_as_of, DATE '2026-11-20' + (i % 3)::INTEGER "
        "AS request_date FROM range(90) t(i)",
        *silver, "PARTITION_BY (request_date)");
    auto quality = tx.Stage("quality", "rule_results", PublishMode::kReplaceTable);
    ASSERT_TRUE(quality.ok()) << quality.status();
    Write("SELECT 'rule_' || i AS rule_id, i AS failed FROM range(5) t(i)",
          *quality / "part-0.parquet", "");
    ASSERT_TRUE(tx.Publish().ok());
    fs::create_directories(root_ / "silver" / "not_published");  // a folder, not a table
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& select, const fs::path& to, const std::string& options) {
    const std::string sql = "COPY (" + select + ") TO " + SqlString(to.string()) +
                            " (FORMAT parquet" + (options.empty() ? "" : ", " + options) + ")";
    ASSERT_TRUE(engine_->Execute(sql).ok()) << sql;
  }

  fs::path root_;
  std::unique_ptr<TableStore> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(DdlLakeTest, DescribeLakeFindsColumnsAndPartitions) {
  auto tables = DescribeLake(*engine_, *store_);
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_EQ(tables->size(), 2u);
  const TableSchema& silver = (*tables)[0];
  EXPECT_EQ(silver.zone, "silver");
  EXPECT_EQ(silver.table, "credit_requests");
  EXPECT_EQ(silver.columns, (Columns{{"request_id", "BIGINT"},
                                     {"term_months", "INTEGER"},
                                     {"probability_of_default", "DOUBLE"},
                                     {"first_time_customer", "BOOLEAN"},
                                     {"status", "VARCHAR"},
                                     {"created_at", "TIMESTAMP"},
                                     {"reason_codes", "VARCHAR[]"},
                                     {"amount", "DECIMAL(18,2)"},
                                     {"bureau_as_of", "DATE"}}));
  EXPECT_EQ(silver.partitions, (Columns{{"request_date", "DATE"}}));
  EXPECT_EQ(silver.first_partition_value, "2026-11-20");
  const TableSchema& quality = (*tables)[1];
  EXPECT_EQ(quality.zone, "quality");
  EXPECT_EQ(quality.columns, (Columns{{"rule_id", "VARCHAR"}, {"failed", "BIGINT"}}));
  EXPECT_TRUE(quality.partitions.empty());
}

TEST_F(DdlLakeTest, DuckDbDdlReadsTheSameRowsInAFreshEngine) {
  auto tables = DescribeLake(*engine_, *store_);
  ASSERT_TRUE(tables.ok()) << tables.status();
  auto ddl = RenderDdl(*tables, "duckdb", store_->root().string());
  ASSERT_TRUE(ddl.ok()) << ddl.status();
  auto fresh = OpenEngine();
  ASSERT_TRUE(fresh->Execute(*ddl).ok()) << *ddl;
  EXPECT_EQ(std::get<int64_t>(*fresh->QueryValue("SELECT count(*) FROM silver_credit_requests")),
            90);
  EXPECT_EQ(std::get<int64_t>(*fresh->QueryValue("SELECT count(*) FROM silver_credit_requests "
                                                 "WHERE request_date = DATE '2026-11-21'")),
            30);
  EXPECT_EQ(std::get<int64_t>(*fresh->QueryValue("SELECT count(*) FROM quality_rule_results")), 5);
}

TEST_F(DdlLakeTest, GenerateDdlDefaultsToTheAbsoluteLakeRoot) {
  auto ddl = GenerateDdl({.lake_dir = root_.string(),
                          .engine = "trino",
                          .engine_options = {.memory_limit = "256MB", .threads = 1}});
  ASSERT_TRUE(ddl.ok()) << ddl.status();
  EXPECT_NE(ddl->find("external_location = 'file://" + store_->root().string() +
                      "/silver/credit_requests'"),
            std::string::npos)
      << *ddl;
}

TEST(GenerateDdl, MissingLakeIsNotFoundAndBadEngineIsInvalid) {
  EXPECT_TRUE(absl::IsNotFound(
      GenerateDdl({.lake_dir = "/nonexistent/lake", .engine = "duckdb"}).status()));
  auto bad = GenerateDdl({.lake_dir = "/nonexistent/lake", .engine = "hive"});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
}

// ---- Rendering: golden files per engine ---------------------------------------------

std::vector<TableSchema> GoldenSchemas() {
  return {{.zone = "silver",
           .table = "credit_requests",
           .columns = {{"request_id", "BIGINT"},
                       {"term_months", "INTEGER"},
                       {"probability_of_default", "DOUBLE"},
                       {"first_time_customer", "BOOLEAN"},
                       {"customer_token", "VARCHAR"},
                       {"created_at", "TIMESTAMP"},
                       {"bureau_as_of", "DATE"},
                       {"reason_codes", "VARCHAR[]"},
                       {"amount", "DECIMAL(18,2)"}},
           .partitions = {{"request_date", "DATE"}},
           .first_partition_value = "2026-11-20"},
          {.zone = "quarantine",
           .table = "credit_requests",
           .columns = {{"request_id", "BIGINT"}, {"rule_id", "VARCHAR"}},
           .partitions = {{"run_id", "VARCHAR"}}},
          {.zone = "quality",
           .table = "rule_results",
           .columns = {{"rule_id", "VARCHAR"}, {"failed", "BIGINT"}}}};
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Compares with src/lake/testdata/ddl_<engine>.sql; LASTRO_UPDATE_GOLDEN=1 rewrites it.
void ExpectGolden(const std::string& engine, const std::string& actual) {
  const fs::path golden = fs::path(LASTRO_LAKE_TESTDATA_DIR) / ("ddl_" + engine + ".sql");
  if (std::getenv("LASTRO_UPDATE_GOLDEN") != nullptr) std::ofstream(golden) << actual;
  EXPECT_EQ(actual, ReadText(golden)) << "golden " << golden << " differs";
}

TEST(RenderDdl, MatchesTheGoldenFilePerEngine) {
  for (std::string_view engine : kDdlEngines) {
    SCOPED_TRACE(std::string(engine));
    auto ddl = RenderDdl(GoldenSchemas(), engine, "s3://bucket/lake/");
    ASSERT_TRUE(ddl.ok()) << ddl.status();
    ExpectGolden(std::string(engine), *ddl);
  }
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(RenderDdl, AthenaDeclaresPartitionsApartAndProjectsDays) {
  const std::string ddl = *RenderDdl(GoldenSchemas(), "athena", "s3://bucket/lake");
  EXPECT_TRUE(Has(ddl, "CREATE EXTERNAL TABLE IF NOT EXISTS lastro_silver.credit_requests ("));
  EXPECT_TRUE(Has(ddl,
                  "PARTITIONED BY (`request_date` date)\nSTORED AS PARQUET\n"
                  "LOCATION 's3://bucket/lake/silver/credit_requests/'"));
  EXPECT_FALSE(Has(ddl, "`request_date` date,"));  // not among the data columns
  EXPECT_TRUE(Has(ddl, "`reason_codes` array<string>"));
  EXPECT_TRUE(Has(ddl, "`amount` decimal(18,2)"));
  EXPECT_TRUE(Has(ddl, "'parquet.compression'='ZSTD'"));
  EXPECT_TRUE(Has(ddl, "'projection.request_date.range'='2026-11-20,NOW'"));
  EXPECT_TRUE(Has(ddl, "MSCK REPAIR TABLE lastro_quarantine.credit_requests;"));
  EXPECT_FALSE(Has(ddl, "MSCK REPAIR TABLE lastro_silver.credit_requests;"));  // projected
}

TEST(RenderDdl, TrinoPutsPartitionColumnsLastAndSyncsThem) {
  const std::string ddl = *RenderDdl(GoldenSchemas(), "trino", "s3://bucket/lake");
  EXPECT_TRUE(Has(ddl, "CREATE TABLE IF NOT EXISTS hive.lastro_silver.credit_requests ("));
  EXPECT_TRUE(Has(ddl, "\"amount\" decimal(18,2),\n  \"request_date\" date\n)"));
  EXPECT_TRUE(Has(ddl, "\"reason_codes\" array(varchar)"));
  EXPECT_TRUE(Has(ddl, "\"term_months\" integer"));
  EXPECT_TRUE(Has(ddl, "external_location = 's3://bucket/lake/silver/credit_requests'"));
  EXPECT_TRUE(Has(ddl, "format = 'PARQUET'"));
  EXPECT_TRUE(Has(ddl, "partitioned_by = ARRAY['request_date']"));
  EXPECT_TRUE(Has(ddl,
                  "CALL hive.system.sync_partition_metadata('lastro_silver', "
                  "'credit_requests', 'FULL');"));
  EXPECT_FALSE(Has(ddl, "sync_partition_metadata('lastro_quality'"));  // unpartitioned
}

TEST(RenderDdl, SparkUsesParquetDatasourceTables) {
  const std::string ddl = *RenderDdl(GoldenSchemas(), "spark", "s3://bucket/lake");
  EXPECT_TRUE(Has(ddl, "CREATE TABLE IF NOT EXISTS lastro_silver.credit_requests ("));
  EXPECT_TRUE(Has(ddl,
                  "USING parquet\nPARTITIONED BY (`request_date`)\n"
                  "LOCATION 's3://bucket/lake/silver/credit_requests';"));
  EXPECT_TRUE(Has(ddl, "`reason_codes` ARRAY<STRING>"));
  EXPECT_TRUE(Has(ddl, "`customer_token` STRING"));
  EXPECT_TRUE(Has(ddl, "MSCK REPAIR TABLE lastro_silver.credit_requests;"));
}

TEST(RenderDdl, DuckDbGlobsOneLevelPerPartition) {
  const std::string ddl = *RenderDdl(GoldenSchemas(), "duckdb", "file:///srv/lake");
  EXPECT_TRUE(Has(ddl,
                  "CREATE OR REPLACE VIEW silver_credit_requests AS SELECT * FROM "
                  "read_parquet('/srv/lake/silver/credit_requests/*/*.parquet', "
                  "hive_partitioning = true, union_by_name = true);"));
  EXPECT_TRUE(Has(ddl, "read_parquet('/srv/lake/quality/rule_results/**/*.parquet'"));
}

TEST(RenderDdl, LocalPathsBecomeFileUrisForOtherEngines) {
  const std::string ddl = *RenderDdl(GoldenSchemas(), "spark", "/srv/lake/");
  EXPECT_TRUE(Has(ddl, "LOCATION 'file:///srv/lake/silver/credit_requests'"));
}

TEST(RenderDdl, RejectsUnknownEnginesTypesAndEmptyLocations) {
  auto engine = RenderDdl(GoldenSchemas(), "hive", "s3://b/l");
  EXPECT_TRUE(absl::IsInvalidArgument(engine.status()));
  EXPECT_TRUE(Has(std::string(engine.status().message()), "athena, trino, spark, duckdb"));

  std::vector<TableSchema> odd = {
      {.zone = "bronze", .table = "events", .columns = {{"payload", "STRUCT(a INTEGER)"}}}};
  auto type = RenderDdl(odd, "trino", "s3://b/l");
  EXPECT_TRUE(absl::IsInvalidArgument(type.status()));
  EXPECT_TRUE(Has(std::string(type.status().message()), "bronze/events column payload"));

  EXPECT_TRUE(absl::IsInvalidArgument(RenderDdl(GoldenSchemas(), "spark", "").status()));
  std::vector<TableSchema> bad_name = {{.zone = "silver", .table = "x'; DROP"}};
  EXPECT_TRUE(absl::IsInvalidArgument(RenderDdl(bad_name, "spark", "s3://b/l").status()));
}

}  // namespace
}  // namespace lastro::lake
