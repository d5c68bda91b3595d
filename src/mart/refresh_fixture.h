// A test fixture for the refresh: a small lake written with real Parquet files by
// DuckDB (no PostgreSQL), the refresh's config pointing at it, and a query helper.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "lake/engine.h"
#include "lake/table_store.h"
#include "mart/query.h"

namespace lastro::mart {
namespace fs = std::filesystem;

inline constexpr char kRequests[] = R"sql(
SELECT i::BIGINT AS request_id, (i % 3 + 1)::BIGINT AS customer_id, 'tok' AS customer_token,
       (100000 + i)::BIGINT AS amount_cents, 12 AS term_months, 'personal' AS purpose,
       CASE WHEN i % 2 = 0 THEN 'web' ELSE 'app_ios' END AS channel,
       NULL::BIGINT AS declared_income_cents,
       CASE WHEN i % 4 = 0 THEN 'PENDING' WHEN i % 4 = 1 THEN 'REJECTED' ELSE 'APPROVED' END
         AS status,
       TIMESTAMP '2026-11-01 15:00:00' + i * INTERVAL 1 HOUR AS created_at,
       TIMESTAMP '2026-11-01 15:00:00' + i * INTERVAL 1 HOUR AS updated_at,
       CASE WHEN i % 4 <> 0 THEN TIMESTAMP '2026-11-01 15:00:02' + i * INTERVAL 1 HOUR END
         AS decided_at,
       NULL AS decision, (i * 97 % 1000)::INTEGER AS risk_score, 'B' AS risk_band,
       0.1 AS probability_of_default, 'p1' AS policy_version, 500 AS bureau_score,
       'FOUND' AS bureau_status,
       CAST(timezone('America/Sao_Paulo', timezone('UTC',
         TIMESTAMP '2026-11-01 15:00:00' + i * INTERVAL 1 HOUR)) AS DATE) AS request_date
FROM range(1, 41) t(i))sql";

class RefreshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            absl::StrCat("mart_refresh_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                         ::getpid());
    fs::remove_all(root_);
    config_.lake.dir = root_.string();
    config_.lake.memory_limit = "256MB";
    config_.lake.threads = 1;
    auto store = lake::TableStore::Open(root_);
    ASSERT_TRUE(store.ok());
    store_ = std::make_unique<lake::TableStore>(std::move(*store));
    auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Publishes `sql`'s rows as <zone>/<table> (partitioned by `partition` when given).
  void Write(const std::string& version, const std::string& zone, const std::string& table,
             const std::string& sql, const std::string& partition,
             lake::PublishMode mode = lake::PublishMode::kReplaceTable) {
    lake::TableTransaction tx(*store_, version);
    auto dir = tx.Stage(zone, table, mode);
    ASSERT_TRUE(dir.ok());
    std::string target = partition.empty() ? (*dir / "part-0.parquet").string() : dir->string();
    std::string opts = partition.empty()
                           ? "FORMAT parquet"
                           : absl::StrCat("FORMAT parquet, PARTITION_BY (", partition, ")");
    ASSERT_TRUE(engine_
                    ->Execute(absl::StrCat("COPY (", sql, ") TO ", lake::SqlString(target), " (",
                                           opts, ")"))
                    .ok());
    ASSERT_TRUE(tx.Publish().ok());
  }

  void WriteLake(const std::string& version, const std::string& state_of_customer_1) {
    Write(version, "silver", "credit_requests", kRequests, "request_date");
    std::string customers = absl::StrCat(
        "SELECT i::BIGINT AS customer_id, 'tok' || i AS customer_token, CASE WHEN i = 1 THEN '",
        state_of_customer_1,
        "' ELSE 'SP' END AS state, 'organic' AS acquisition_channel, 1990 AS birth_year, "
        "TIMESTAMP '2026-10-01 12:00:00' AS created_at, CASE WHEN i = 1 THEN TIMESTAMP "
        "'2026-11-01 18:30:00' ELSE TIMESTAMP '2026-10-01 12:00:00' END AS updated_at "
        "FROM range(1, 4) t(i)");
    Write(version, "silver", "customers", customers, "");
    // bronze/customers: the first extract saw customer 1 in SP, before its change.
    Write(version, "bronze", "customers",
          "SELECT i::BIGINT AS id, 'tok' || i AS customer_token, 'SP' AS state, 'organic' AS "
          "acquisition_channel, DATE '1990-05-01' AS birth_date, TIMESTAMP '2026-10-01 "
          "12:00:00' AS created_at, TIMESTAMP '2026-10-01 12:00:00' AS updated_at, 'run1' AS "
          "run_id, DATE '2026-11-01' AS batch_date FROM range(1, 4) t(i)",
          "batch_date");
  }

  StatusOr<std::string> Ask(const std::string& sql, const std::string& format = "csv") {
    return RunQuery(config_, {.sql = sql, .format = format});
  }

  fs::path root_;
  Config config_;
  std::unique_ptr<lake::TableStore> store_;
  std::unique_ptr<lake::Engine> engine_;
};

}  // namespace lastro::mart
