#include "governance/governed_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "governance/governance_fixture.h"
#include "testing/wait_for.h"

namespace lastro::governance {
namespace {

using ::testing::HasSubstr;

// Seven copies of the fixture's 40 requests: 1.6e11 combinations, minutes of work.
constexpr char kSlowSql[] =
    "SELECT count(*) FROM fact_credit_request a, fact_credit_request b, fact_credit_request c, "
    "fact_credit_request d, fact_credit_request e, fact_credit_request f, fact_credit_request g "
    "WHERE a.amount_cents + b.amount_cents + c.amount_cents + d.amount_cents + e.amount_cents + "
    "f.amount_cents + g.amount_cents > 0";

class GovernedQueryTest : public GovernanceTest {
 protected:
  void SetUp() override {
    GovernanceTest::SetUp();
    Publish();
    auto q = GovernedQueries::Create(config_);
    ASSERT_TRUE(q.ok()) << q.status();
    queries_ = std::move(*q);
  }
  StatusOr<GovernedResult> Run(const std::string& role, GovernedRequest request) {
    if (request.format == "json") request.format = "csv";
    return queries_->Run({.user = "ana", .role = role, .remote = "127.0.0.1:1"}, request);
  }
  StatusOr<GovernedResult> Sql(const std::string& role, const std::string& sql) {
    return Run(role, {.sql = sql});
  }
  // The audit log as the auditor role sees it.
  std::string Audit(const std::string& select) {
    auto r = Sql("auditor", select);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->body : "";
  }

  std::unique_ptr<GovernedQueries> queries_;
};

TEST_F(GovernedQueryTest, ARoleQueriesItsMaskedTablesAndEachQueryIsAudited) {
  auto r = Sql("credit",
               "SELECT count(DISTINCT customer_id) AS customers, sum(amount_cents) AS total "
               "FROM fact_credit_request");
  ASSERT_TRUE(r.ok()) << r.status();
  auto full = Sql("risk_admin",
                  "SELECT count(DISTINCT customer_id) AS customers, "
                  "sum(amount_cents) AS total FROM fact_credit_request");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(r->body, full->body);  // hashing keeps distinct counts; amounts are internal
  EXPECT_EQ(r->tables, std::vector<std::string>{"fact_credit_request"});
  EXPECT_GT(r->audit_seq, 0);
  EXPECT_EQ(full->audit_seq, r->audit_seq + 1);
  const std::string audit = Audit(
      "SELECT user, role, action, outcome, rows, array_to_string(tables, ' ') AS t, "
      "array_to_string(columns, ' ') AS c FROM audit_log WHERE seq = " +
      std::to_string(r->audit_seq));
  EXPECT_EQ(audit,
            "user,role,action,outcome,rows,t,c\n"
            "ana,credit,query,allowed,1,fact_credit_request,fact_credit_request.amount_cents "
            "fact_credit_request.customer_id\n");
}

// The guard's verdicts are cached per role's catalog: a text accepted for one role is
// judged again, and refused, for a role without its table; a cached verdict gives the
// same tables and columns to the audit as the first.
TEST_F(GovernedQueryTest, CachedGuardVerdictsStayWithTheirRole) {
  const std::string sql = "SELECT count(*) AS n, sum(amount_cents) AS s FROM fact_credit_request";
  auto first = Sql("credit", sql);
  auto again = Sql("credit", sql);
  ASSERT_TRUE(first.ok() && again.ok()) << first.status() << again.status();
  EXPECT_EQ(again->body, first->body);
  EXPECT_EQ(again->tables, first->tables);
  EXPECT_EQ(Sql("finance", sql).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Sql("finance", sql).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Audit("SELECT role, outcome, array_to_string(columns, ' ') AS c FROM audit_log "
                  "WHERE action = 'query' AND role IN ('credit', 'finance') ORDER BY seq"),
            "role,outcome,c\n"
            "credit,allowed,fact_credit_request.amount_cents\n"
            "credit,allowed,fact_credit_request.amount_cents\n"
            "finance,denied,\n"
            "finance,denied,\n");
}

TEST_F(GovernedQueryTest, NamedQueriesBelongToTheirTeam) {
  auto mine = Run("finance", {.named = "finance.daily_volume",
                              .params = {{"from", "2026-11-01"}, {"to", "2026-11-30"}}});
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_THAT(mine->body, HasSubstr("request_date,requests"));
  auto theirs = Run("marketing", {.named = "finance.daily_volume",
                                  .params = {{"from", "2026-11-01"}, {"to", "2026-11-30"}}});
  EXPECT_EQ(theirs.status().code(), absl::StatusCode::kPermissionDenied);
  auto credit = Run("credit", {.named = "credit.approval_by_score_band",
                               .params = {{"from", "2026-11-01"}, {"to", "2026-11-30"}}});
  EXPECT_TRUE(credit.ok()) << credit.status();  // score_band() came with the role's catalog
}

// The bypass attempts of the issue: each refused with a reason, each audited as
// denied, and the service answers normally afterwards.
TEST_F(GovernedQueryTest, BypassAttemptsAreRefusedAuditedAndHarmless) {
  const std::string lake_file = (root_ / "**" / "*.parquet").string();
  const std::string catalog = (root_ / "catalog" / "catalog.duckdb").string();
  const std::vector<std::string> attempts = {
      "SELECT * FROM read_parquet('" + lake_file + "')",
      "SELECT * FROM '" + lake_file + "'",
      "SELECT * FROM glob('" + lake_file + "')",
      "ATTACH '" + catalog + "' AS full_catalog",
      "COPY fact_credit_request TO '/tmp/lastro-exfiltrated.csv'",
      "INSTALL httpfs",
      "LOAD httpfs",
      "SET enable_external_access = true",
      "PRAGMA database_list",
      "SELECT * FROM duckdb_settings()",
      "SELECT 1; SELECT * FROM read_parquet('" + lake_file + "')",
      "SELECT 1 /* */; ATTACH '" + catalog + "' AS c",
      "SELECT * FROM dim_customer",  // not one of finance's tables
      "SELECT " + std::string(70000, ' ') + "1",
  };
  for (const std::string& sql : attempts) {
    auto r = Sql("finance", sql);
    ASSERT_FALSE(r.ok()) << sql.substr(0, 80);
    EXPECT_THAT(r.status().code(), ::testing::AnyOf(absl::StatusCode::kPermissionDenied,
                                                    absl::StatusCode::kInvalidArgument))
        << sql.substr(0, 80) << ": " << r.status();
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/lastro-exfiltrated.csv"));
  EXPECT_EQ(Audit("SELECT outcome, count(*) AS n FROM audit_log WHERE role = 'finance' "
                  "GROUP BY ALL ORDER BY 1"),
            absl::StrCat("outcome,n\n", "denied,", attempts.size() - 1, "\nerror,1\n"));
  auto after = Sql("finance", "SELECT count(*) AS n FROM mart_finance_daily");
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(GovernedQueryTest, RowLimitTimeoutAndCancellation) {
  auto limited =
      Run("credit", {.sql = "SELECT request_id FROM fact_credit_request", .max_rows = 3});
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ(limited->rows, 3);
  EXPECT_TRUE(limited->truncated);
  EXPECT_EQ(std::count(limited->body.begin(), limited->body.end(), '\n'), 4);  // header + 3
  // The limit holds whatever the statement ends with (as data: SQL, rows, truncated).
  const struct {
    std::string sql;
    int64_t rows;
    bool truncated;
  } kCases[] = {
      {"SELECT request_id FROM fact_credit_request ORDER BY 1 -- a comment;", 3, true},
      {"SELECT request_id FROM fact_credit_request ORDER BY 1 LIMIT 10;", 3, true},
      {"SELECT request_id FROM fact_credit_request ORDER BY 1 LIMIT 2", 2, false},
      {"SELECT request_id FROM fact_credit_request ORDER BY 1 OFFSET 38", 2, false},
      {"SELECT request_id FROM fact_credit_request ORDER BY 1 OFFSET 30", 3, true},
      {"SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4", 3, true},
      {"WITH r AS (SELECT request_id FROM fact_credit_request) SELECT * FROM r /* end */", 3, true},
  };
  for (const auto& c : kCases) {
    auto r = Run("credit", {.sql = c.sql, .max_rows = 3});
    ASSERT_TRUE(r.ok()) << c.sql << ": " << r.status();
    EXPECT_EQ(r->rows, c.rows) << c.sql;
    EXPECT_EQ(r->truncated, c.truncated) << c.sql;
  }
  auto first = Run("risk_admin", {.sql = "SELECT request_id FROM fact_credit_request ORDER BY 1 "
                                         "DESC",
                                  .max_rows = 2});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "request_id\n40\n39\n");  // the first rows in the query's order
  auto parquet = Run(
      "credit",
      {.sql = "SELECT request_id FROM fact_credit_request", .format = "parquet", .max_rows = 5});
  ASSERT_TRUE(parquet.ok()) << parquet.status();
  EXPECT_EQ(parquet->rows, 5);

  auto slow = Run("credit", {.sql = kSlowSql, .timeout_ms = 300});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();

  auto running = std::async(std::launch::async,
                            [&] { return Run("credit", {.sql = kSlowSql, .query_id = "q-1"}); });
  const Caller ana{.user = "ana", .role = "credit"};
  EXPECT_TRUE(lastro::testing::WaitFor([&] { return queries_->Cancel(ana, "q-1").ok(); },
                                       std::chrono::seconds(20)));
  auto cancelled = running.get();
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  // Another user cannot cancel it, and nothing is left running.
  EXPECT_EQ(queries_->Cancel({.user = "bob", .role = "credit"}, "q-1").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Audit("SELECT outcome FROM audit_log WHERE role = 'credit' AND outcome <> 'allowed' "
                  "ORDER BY seq"),
            "outcome\ntimeout\ncancelled\n");
  // The engines stay usable.
  EXPECT_TRUE(Sql("credit", "SELECT count(*) FROM fact_credit_request").ok());
}

TEST_F(GovernedQueryTest, ParquetAndJsonOutputs) {
  auto p = Run("credit", {.sql = "SELECT request_id, amount_cents FROM fact_credit_request",
                          .format = "parquet"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rows, 40);
  ASSERT_GT(p->body.size(), 8u);
  EXPECT_EQ(p->body.substr(0, 4), "PAR1");
  auto j = queries_->Run({.user = "ana", .role = "finance"},
                         {.sql = "SELECT 1 AS one, 'a' AS txt", .format = "json"});
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_THAT(j->body, HasSubstr(R"("columns":["one","txt"])"));
  EXPECT_THAT(j->body, HasSubstr(R"("rows":[[1,"a"]])"));
  EXPECT_EQ(Run("finance", {.sql = "SELECT 1", .format = "xml"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GovernedQueryTest, UnknownRolesAreRefusedAndAudited) {
  auto r = Sql("intern", "SELECT 1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Audit("SELECT role, outcome FROM audit_log WHERE role = 'intern'"),
            "role,outcome\nintern,error\n");
}

}  // namespace
}  // namespace lastro::governance
