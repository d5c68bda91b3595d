#include "governance/sql_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace lastro::governance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SqlGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine =
        lake::Engine::Open({.memory_limit = "128MB", .threads = 1, .external_access = false});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  StatusOr<GuardResult> Guard(const std::string& sql) { return GuardSql(*engine_, sql, tables_); }

  std::unique_ptr<lake::Engine> engine_;
  std::map<std::string, std::vector<std::string>> tables_ = {
      {"fact_credit_request", {"request_id", "amount_cents", "status"}},
      {"dim_date", {"date_key", "date"}}};
};

TEST_F(SqlGuardTest, NamesTheTablesAndColumnsAQueryReads) {
  auto r = Guard(
      "WITH big AS (SELECT request_id, amount_cents FROM fact_credit_request f WHERE "
      "f.amount_cents > 100) SELECT b.request_id, d.* FROM big b, dim_date d -- a comment");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->tables, ElementsAre("dim_date", "fact_credit_request"));
  EXPECT_THAT(r->columns,
              ElementsAre("dim_date.date", "dim_date.date_key", "fact_credit_request.amount_cents",
                          "fact_credit_request.request_id"));
  auto u = Guard(
      "SELECT status, count(*) FROM fact_credit_request GROUP BY ALL UNION ALL "
      "SELECT 'x', 1 ORDER BY 1");
  EXPECT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(Guard("SELECT * FROM (VALUES (1), (2)) t(x)").ok());
}

// Every way out of the role's tables is refused, with a reason, before it runs.
TEST_F(SqlGuardTest, RefusesEverythingButOneSelectOverTheRolesTables) {
  struct Case {
    std::string sql, reason;
  };
  const Case cases[] = {
      {"SELECT * FROM read_parquet('/etc/passwd')",
       "table functions are not available (read_parquet)"},
      {"SELECT * FROM read_csv_auto('/lake/**/*.csv')", "table functions are not available"},
      {"SELECT * FROM glob('/lake/*')", "table functions are not available (glob)"},
      {"SELECT * FROM '/lake/silver/customers/part-0.parquet'", "is not available to this role"},
      {"SELECT * FROM duckdb_settings()", "table functions are not available (duckdb_settings)"},
      {"SELECT * FROM query('SELECT 1')", "table functions are not available (query)"},
      {"SELECT * FROM range(10)", "table functions are not available (range)"},
      {"SELECT current_setting('enable_external_access')", "function 'current_setting'"},
      {"SELECT * FROM dim_customer", "table 'dim_customer' is not available to this role"},
      {"SELECT * FROM information_schema.tables", "'information_schema.tables' is not available"},
      {"SELECT * FROM src.main.fact_credit_request", "is not available to this role"},
      {"SELECT * FROM fact_credit_request AT (VERSION => 1)", "time travel"},
      {"DESCRIBE fact_credit_request", "only plain SELECT"},
      {"ATTACH '/lake/_catalog/versions/v1/catalog.duckdb' AS full_catalog", "only one SELECT"},
      {"COPY fact_credit_request TO '/tmp/out.csv'", "only one SELECT"},
      {"COPY (SELECT 1) TO '/tmp/out.csv'", "only one SELECT"},
      {"INSTALL httpfs", "only one SELECT"},
      {"LOAD httpfs", "only one SELECT"},
      {"SET enable_external_access = true", "only one SELECT"},
      {"PRAGMA database_list", "only one SELECT"},
      {"CREATE TABLE x AS SELECT 1", "only one SELECT"},
      {"SELECT 1; SELECT * FROM read_parquet('x')", "exactly one SELECT statement"},
      {"SELECT 1 /* ; */ ; ATTACH 'x' AS y", "only one SELECT"},
      {"SELECT 1 --\n; DETACH y", "only one SELECT"},
      {"EXPLAIN SELECT 1", "only one SELECT"},
  };
  for (const Case& c : cases) {
    auto r = Guard(c.sql);
    ASSERT_FALSE(r.ok()) << c.sql;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied)
        << c.sql << ": " << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.reason)) << c.sql;
  }
}

TEST_F(SqlGuardTest, SyntaxErrorsAndOversizedTextsAreInvalid) {
  EXPECT_EQ(Guard("SELEC 1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Guard("   ").status().code(), absl::StatusCode::kInvalidArgument);
  std::string huge = "SELECT 1" + std::string(kMaxSqlBytes, ' ');
  auto r = Guard(huge);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("at most"));
  // Quotes in the text cannot break out of the guard's own statement: this is one
  // string literal.
  auto quoted = Guard(R"(SELECT 'a'')); SELECT * FROM read_parquet(''x'') --' AS s)");
  ASSERT_TRUE(quoted.ok()) << quoted.status();
  EXPECT_TRUE(quoted->tables.empty());
}

}  // namespace
}  // namespace lastro::governance
