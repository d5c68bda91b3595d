// The refresh over a small lake written with real Parquet files (no PostgreSQL):
// build, gates, publish, incremental skip, rollback, read-only queries.
#include "mart/refresh.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lake/engine.h"
#include "lake/table_store.h"
#include "mart/catalog_store.h"
#include "mart/query.h"

namespace lastro::mart {
namespace {
namespace fs = std::filesystem;

constexpr char kRequests[] = R"sql(
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
             const std::string& sql, const std::string& partition) {
    lake::TableTransaction tx(*store_, version);
    auto dir = tx.Stage(zone, table, lake::PublishMode::kReplaceTable);
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

TEST_F(RefreshTest, PublishesTheModelWithEmptyFactsForMissingSources) {
  WriteLake("v1", "RJ");
  auto r = RunRefresh(config_, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, "PUBLISHED");
  EXPECT_EQ(r->rows["fact_credit_request"], 40);
  EXPECT_EQ(r->rows["fact_app_event"], 0);
  EXPECT_EQ(r->rows["fact_bank_transaction"], 0);
  EXPECT_EQ(r->rows["fact_credit_status_change"], 40 + 30);
  EXPECT_EQ(r->rows["dim_channel"], 2);
  for (const GateResult& g : r->gates) EXPECT_TRUE(g.passed) << g.name << ": " << g.detail;
  EXPECT_TRUE(
      fs::exists(CatalogStore(root_).VersionDir(r->version) / "fact_credit_request.parquet"));
  // SCD2: customer 1 has two versions, the second current from its updated_at.
  auto scd =
      Ask("SELECT version, state, valid_from, valid_to, is_current FROM dim_customer WHERE "
          "customer_id = 1 ORDER BY version");
  ASSERT_TRUE(scd.ok()) << scd.status();
  EXPECT_EQ(*scd,
            "version,state,valid_from,valid_to,is_current\n"
            "1,SP,2026-10-01 12:00:00,2026-11-01 18:30:00,false\n"
            "2,RJ,2026-11-01 18:30:00,,true\n");
  // Requests before the change point at the old version, later ones at the new one.
  auto pit =
      Ask("SELECT d.state, count(*) FROM fact_credit_request f JOIN dim_customer d USING "
          "(customer_sk) WHERE f.customer_id = 1 GROUP BY ALL ORDER BY 1");
  ASSERT_TRUE(pit.ok()) << pit.status();
  EXPECT_EQ(*pit, "state,count_star()\nRJ,12\nSP,1\n");
}

TEST_F(RefreshTest, EventsAndBankDataBecomeFactsAndDailyFeaturesLookingBackOnly) {
  WriteLake("v1", "RJ");
  // Customer 2: a session on 11-02 whose start and failed login precede the login.
  Write("v1", "bronze", "app_events",
        "SELECT * FROM (VALUES "
        "('e1', 'session_start', TIMESTAMP '2026-11-02 12:00:00', NULL::BIGINT, 's1', NULL),"
        "('e2', 'login_failure', TIMESTAMP '2026-11-02 12:00:10', NULL, 's1', NULL),"
        "('e3', 'login_success', TIMESTAMP '2026-11-02 12:00:20', 2, 's1', NULL),"
        "('e4', 'loan_simulation', TIMESTAMP '2026-11-02 12:01:00', 2, 's1', "
        "'{\"amount_cents\":500000,\"term_months\":12}'),"
        "('e5', 'session_start', TIMESTAMP '2026-11-02 13:00:00', NULL, 's2', NULL)) "
        "t(event_id, event_type, occurred_at, customer_id, session_id, properties), "
        "LATERAL (SELECT 'anon' AS anonymous_id, 'ios' AS device_os, '1.0' AS app_version, "
        "DATE '2026-11-02' AS event_date)",
        "event_date");
  // Customer 2's salary on 11-01 and 11-20, a debit on 11-02; balances on 11-01 only.
  Write("v1", "bronze", "bank_transactions",
        "SELECT * FROM (VALUES ('t1', 'a1', 2::BIGINT, 'CREDITO', 'FOLHA_PAGAMENTO', "
        "300000::BIGINT, TIMESTAMP '2026-11-01 12:00:00', DATE '2026-11-01'),"
        "('t2', 'a1', 2, 'DEBITO', 'PIX', 1000, TIMESTAMP '2026-11-02 12:00:00', DATE "
        "'2026-11-02'),"
        "('t3', 'a1', 2, 'CREDITO', 'FOLHA_PAGAMENTO', 300000, TIMESTAMP '2026-12-05 "
        "12:00:00', DATE '2026-12-05')) t(transaction_id, account_id, customer_id, "
        "credit_debit_type, type, amount_cents, booked_at, booking_date)",
        "booking_date");
  Write("v1", "bronze", "bank_balances",
        "SELECT 'a1' AS account_id, 2::BIGINT AS customer_id, 77000::BIGINT AS "
        "available_cents, TIMESTAMP '2026-11-01 20:00:00' AS updated_at, DATE '2026-11-01' "
        "AS balance_date",
        "balance_date");
  auto r = RunRefresh(config_, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows["fact_app_event"], 5);
  EXPECT_EQ(r->rows["fact_bank_transaction"], 3);
  EXPECT_EQ(*Ask("SELECT event_id, session_customer_id, customer_sk IS NOT NULL AS known, "
                 "amount_cents FROM fact_app_event ORDER BY event_id"),
            "event_id,session_customer_id,known,amount_cents\n"
            "e1,2,true,\ne2,2,true,\ne3,2,true,\ne4,2,true,500000\ne5,,false,\n");
  EXPECT_EQ(*Ask("SELECT feature_date, sessions, simulations, login_failures, credits_cents, "
                 "income_30d_cents, balance_cents FROM customer_features_daily WHERE "
                 "customer_id = 2 AND (sessions > 0 OR credits_cents > 0 OR debits_cents > 0) "
                 "ORDER BY 1"),
            "feature_date,sessions,simulations,login_failures,credits_cents,income_30d_cents,"
            "balance_cents\n"
            "2026-11-01,0,0,0,300000,300000,77000\n"
            "2026-11-02,1,1,1,0,300000,77000\n"
            "2026-12-05,0,0,0,300000,300000,77000\n");
}

TEST_F(RefreshTest, SkipsWhenNoInputChangedAndRollsBack) {
  WriteLake("v1", "RJ");
  auto first = RunRefresh(config_, {});
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = RunRefresh(config_, {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, "UNCHANGED");
  EXPECT_EQ(again->version, first->version);
  WriteLake("v2", "MG");
  auto second = RunRefresh(config_, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state, "PUBLISHED");
  EXPECT_NE(second->version, first->version);
  EXPECT_EQ(*Ask("SELECT state FROM dim_customer WHERE customer_id = 1 AND is_current"),
            "state\nMG\n");
  auto back = RollbackCatalog(config_);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, first->version);
  EXPECT_EQ(*Ask("SELECT state FROM dim_customer WHERE customer_id = 1 AND is_current"),
            "state\nRJ\n");
}

TEST_F(RefreshTest, AFailingGatePublishesNothingAndNamesTheGate) {
  WriteLake("v1", "RJ");
  auto first = RunRefresh(config_, {});
  ASSERT_TRUE(first.ok()) << first.status();
  // A duplicated silver file: every request of that day appears twice.
  fs::path day =
      fs::canonical(store_->TablePath("silver", "credit_requests")) / "request_date=2026-11-02";
  fs::path file = fs::directory_iterator(day)->path();
  fs::copy_file(file, day / "part-duplicate.parquet");
  auto failed = RunRefresh(config_, {.force = true});
  ASSERT_TRUE(absl::IsFailedPrecondition(failed.status())) << failed.status();
  EXPECT_TRUE(
      absl::StrContains(failed.status().message(), "unique(fact_credit_request: request_id)"))
      << failed.status();
  CatalogStore catalog(root_);
  EXPECT_EQ(catalog.CurrentVersion(), first->version);
  EXPECT_EQ(catalog.Versions().size(), 1u);
  EXPECT_EQ(*Ask("SELECT count(*) AS n FROM fact_credit_request"), "n\n40\n");
}

TEST_F(RefreshTest, ALockedLakeIsRefusedAndNothingIsBuilt) {
  WriteLake("v1", "RJ");
  auto lock = lake::LakeLock::Acquire(root_, "batch run (test)");
  ASSERT_TRUE(lock.ok()) << lock.status();
  auto r = RunRefresh(config_, {});
  EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  EXPECT_EQ(CatalogStore(root_).CurrentVersion(), "");
}

TEST_F(RefreshTest, QueryRefusesWritesAndNeedsACatalog) {
  auto none = Ask("SELECT 1");
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
  WriteLake("v1", "RJ");
  ASSERT_TRUE(RunRefresh(config_, {}).ok());
  for (const char* sql :
       {"DELETE FROM fact_credit_request", "CREATE TABLE x AS SELECT 1", "DROP TABLE dim_date",
        "COPY dim_date TO '/tmp/x.csv'", "ATTACH '/tmp/other.duckdb' AS o", "SELECT 1; SELECT 2"}) {
    auto r = Ask(sql);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << sql << ": " << r.status();
  }
  auto files = Ask("SELECT * FROM read_csv('/etc/hostname')");
  EXPECT_FALSE(files.ok());
  auto json = Ask("SELECT count(*) AS n FROM dim_channel", "json");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "[{\"n\":2}]\n");
}

}  // namespace
}  // namespace lastro::mart
