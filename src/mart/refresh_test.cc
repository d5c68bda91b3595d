// The refresh over a small lake written with real Parquet files (no PostgreSQL):
// build, gates, publish, incremental skip, rollback, read-only queries.
#include "mart/refresh.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "mart/catalog_store.h"
#include "mart/refresh_fixture.h"

namespace lastro::mart {
namespace {

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
  EXPECT_TRUE(fs::exists(CatalogStore(root_).VersionDir(r->version) / "dim_customer.parquet"));
  EXPECT_TRUE(fs::is_directory(CatalogStore(root_).VersionDir(r->version) / "fact_credit_request" /
                               "month=2026-11-01"));
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

TEST_F(RefreshTest, ParquetOutputWritesTheOutputFileAndNothingElseIsReachable) {
  WriteLake("v1", "RJ");
  ASSERT_TRUE(RunRefresh(config_, {}).ok());
  fs::path out = root_ / "out.parquet";
  // A trailing comment and semicolons: the COPY around the query must still close.
  auto written = RunQuery(config_, {.sql = "SELECT channel FROM dim_channel ORDER BY 1 -- ok\n;",
                                    .format = "parquet",
                                    .output = out.string()});
  ASSERT_TRUE(written.ok()) << written.status();
  auto back = engine_->Query(absl::StrCat("SELECT string_agg(channel, ',') FROM read_parquet(",
                                          lake::SqlString(out.string()), ")"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Text(0, 0).value_or(""), "app_ios,web");
  // The SELECT itself still cannot read files, nor change the sandbox.
  for (std::string sql :
       {std::string("SELECT * FROM read_csv('/etc/hostname')"),
        absl::StrCat("SELECT * FROM read_parquet('", root_.string(), "/catalog/*.parquet')"),
        absl::StrCat("SELECT * FROM read_parquet(", lake::SqlString(out.string()), ")")}) {
    auto r = RunQuery(config_,
                      {.sql = sql, .format = "parquet", .output = (root_ / "o2.parquet").string()});
    EXPECT_FALSE(r.ok()) << sql;
  }
}

}  // namespace
}  // namespace lastro::mart
