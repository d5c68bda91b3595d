#include "governance/role_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "governance/governance_fixture.h"

namespace lastro::governance {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class RoleCatalogTest : public GovernanceTest {
 protected:
  RoleCatalog Ensure(const std::string& role) {
    auto r = EnsureRoleCatalog({.lake_root = root_,
                                .mask_secret = config_.batch.token_key,
                                .memory_limit = "256MB",
                                .threads = 1},
                               policies_, policies_.roles.at(role));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RoleCatalog{};
  }

  // An engine with the full catalog as `src` and every role's catalog attached by name.
  void AttachAll() {
    auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(engine.ok());
    db_ = std::move(*engine);
    ASSERT_TRUE(
        db_->Execute(absl::StrCat("ATTACH ",
                                  lake::SqlString((root_ / "catalog" / "catalog.duckdb").string()),
                                  " AS src (READ_ONLY)"))
            .ok());
    for (const auto& [name, role] : policies_.roles) {
      RoleCatalog c = Ensure(name);
      ASSERT_TRUE(db_->Execute(absl::StrCat("ATTACH ", lake::SqlString(c.path.string()), " AS ",
                                            name, " (READ_ONLY)"))
                      .ok());
    }
  }

  int64_t Int(const std::string& sql) {
    auto v = db_->QueryValue(sql);
    EXPECT_TRUE(v.ok()) << v.status() << "\n" << sql;
    return v.ok() && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v) : -1;
  }
  bool HasColumn(const std::string& role, const std::string& table, const std::string& column) {
    return Int(absl::StrCat(
               "SELECT count(*) FROM information_schema.columns WHERE table_catalog = '", role,
               "' AND table_name = '", table, "' AND column_name = '", column, "'")) == 1;
  }
  bool HasTable(const std::string& role, const std::string& table) {
    return Int(absl::StrCat(
               "SELECT count(*) FROM information_schema.tables WHERE table_catalog = '", role,
               "' AND table_name = '", table, "'")) == 1;
  }

  std::unique_ptr<lake::Engine> db_;
};

// Every column of every gold table has a class: a new column fails this test until the
// policies say who may see it.
TEST_F(RoleCatalogTest, ThePoliciesClassifyEveryColumnOfTheModel) {
  Publish();
  auto schema = PublishedSchema(root_);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_GE(schema->size(), 11u);
  EXPECT_THAT(CheckPolicies(policies_, *schema), ::testing::IsEmpty());
}

// The role x column matrix, as data: what each team gets of the columns that matter.
TEST_F(RoleCatalogTest, EachRoleGetsEachColumnAsThePoliciesSay) {
  Publish();
  AttachAll();
  enum Expect { kAllowed, kHashed, kNulled, kPartial, kYear, kAbsent, kNoTable };
  struct Cell {
    std::string role, table, column;
    Expect expect;
  };
  const Cell matrix[] = {
      {"finance", "mart_finance_daily", "requested_cents", kAllowed},
      {"finance", "fact_credit_request", "", kNoTable},
      {"finance", "dim_customer", "", kNoTable},
      {"marketing", "dim_customer", "customer_id", kHashed},
      {"marketing", "dim_customer", "customer_token", kHashed},
      {"marketing", "dim_customer", "birth_year", kAllowed},
      {"marketing", "dim_customer", "customer_created_at", kYear},
      {"marketing", "fact_credit_request", "risk_score", kNulled},
      {"marketing", "fact_credit_request", "declared_income_cents", kNulled},
      {"marketing", "fact_credit_request", "amount_cents", kAllowed},
      {"marketing", "fact_app_event", "anonymous_id", kAbsent},
      {"marketing", "fact_app_event", "customer_id", kHashed},
      {"marketing", "fact_bank_transaction", "", kNoTable},
      {"credit", "fact_credit_request", "risk_score", kAllowed},
      {"credit", "fact_credit_request", "customer_id", kHashed},
      {"credit", "fact_credit_request", "request_id", kHashed},
      {"credit", "fact_bank_transaction", "account_id", kPartial},
      {"credit", "fact_bank_transaction", "amount_cents", kAllowed},
      {"credit", "dim_customer", "customer_token", kAbsent},
      {"credit", "customer_features_daily", "income_30d_cents", kAllowed},
      {"risk_admin", "dim_customer", "customer_token", kAllowed},
      {"risk_admin", "fact_credit_request", "customer_id", kAllowed},
      {"auditor", "fact_credit_request", "", kNoTable},
      {"auditor", "mart_finance_daily", "", kNoTable},
  };
  for (const Cell& c : matrix) {
    SCOPED_TRACE(absl::StrCat(c.role, " ", c.table, ".", c.column));
    if (c.expect == kNoTable) {
      EXPECT_FALSE(HasTable(c.role, c.table));
      continue;
    }
    ASSERT_TRUE(HasTable(c.role, c.table));
    if (c.expect == kAbsent) {
      EXPECT_FALSE(HasColumn(c.role, c.table, c.column));
      continue;
    }
    ASSERT_TRUE(HasColumn(c.role, c.table, c.column));
    const std::string col = lake::SqlIdent(c.column);
    const std::string role_t = absl::StrCat(c.role, ".main.", c.table);
    const std::string src_t = absl::StrCat("src.main.", c.table);
    EXPECT_GT(Int(absl::StrCat("SELECT count(*) FROM ", role_t)), 0);
    const std::string src_values = absl::StrCat("SELECT CAST(", col, " AS VARCHAR) FROM ", src_t);
    switch (c.expect) {
      case kAllowed:  // every value is a real one
        EXPECT_GT(Int(absl::StrCat("SELECT count(", col, ") FROM ", role_t)), 0);
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM ", role_t, " WHERE CAST(", col,
                                   " AS VARCHAR) NOT IN (", src_values, ")")),
                  0);
        break;
      case kHashed:  // 32 hex digits, none of them a real value
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM ", role_t, " WHERE NOT regexp_full_match(",
                                   col, ", '[0-9a-f]{32}')")),
                  0);
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM ", role_t, " WHERE ", col, " IN (",
                                   src_values, ")")),
                  0);
        break;
      case kNulled:
        EXPECT_EQ(Int(absl::StrCat("SELECT count(", col, ") FROM ", role_t)), 0);
        break;
      case kPartial:  // only the last 4 characters are real
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM ", role_t, " WHERE NOT regexp_full_match(",
                                   col, ", '\\*+.{4}') OR right(", col,
                                   ", 4) NOT IN (SELECT right(", col, ", 4) FROM ", src_t, ")")),
                  0);
        break;
      case kYear:
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM ", role_t, " WHERE ", col,
                                   " NOT IN (SELECT year(", col, ") FROM ", src_t, ")")),
                  0);
        EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM information_schema.columns WHERE "
                                   "table_catalog = '",
                                   c.role, "' AND table_name = '", c.table, "' AND column_name = '",
                                   c.column, "' AND data_type = 'INTEGER'")),
                  1);
        break;
      default:
        break;
    }
  }
}

TEST_F(RoleCatalogTest, MarketingSeesOnlyConsentingCustomersAndKeepsItsJoins) {
  Publish();
  AttachAll();
  // Customers 1 and 3 consent; 2 does not. Anonymous events have no customer: dropped.
  EXPECT_EQ(Int("SELECT count(*) FROM marketing.dim_customer"),
            Int("SELECT count(*) FROM src.dim_customer WHERE customer_id <> 2"));
  EXPECT_EQ(Int("SELECT count(*) FROM marketing.fact_app_event"),
            Int("SELECT count(*) FROM src.fact_app_event WHERE customer_id IN (1, 3)"));
  EXPECT_EQ(Int("SELECT count(*) FROM marketing.fact_credit_request"),
            Int("SELECT count(*) FROM src.fact_credit_request WHERE customer_id IN (1, 3)"));
  EXPECT_GT(Int("SELECT count(*) FROM marketing.fact_credit_request"), 0);
  // Hashed keys still join within the role...
  EXPECT_EQ(Int("SELECT count(*) FROM marketing.fact_credit_request f LEFT JOIN "
                "marketing.dim_customer d USING (customer_id) WHERE d.customer_id IS NULL"),
            0);
  // ...but not across roles: credit's hashes of the same customers differ.
  EXPECT_EQ(Int("SELECT count(*) FROM marketing.dim_customer m JOIN credit.dim_customer c "
                "USING (customer_id)"),
            0);
}

TEST_F(RoleCatalogTest, AggregatesBelowTheMinimumGroupSizeAreWithheld) {
  Publish();
  AttachAll();
  const int64_t kept = Int("SELECT count(*) FROM src.mart_finance_daily WHERE requests >= 10");
  EXPECT_EQ(Int("SELECT count(*) FROM finance.mart_finance_daily"), kept);
  EXPECT_LT(kept, Int("SELECT count(*) FROM src.mart_finance_daily"));
  EXPECT_EQ(Int("SELECT count(*) FROM finance.mart_finance_daily WHERE requests < 10"), 0);
  // risk_admin has no threshold.
  EXPECT_EQ(Int("SELECT count(*) FROM risk_admin.mart_finance_daily"),
            Int("SELECT count(*) FROM src.mart_finance_daily"));
}

TEST_F(RoleCatalogTest, BuiltOncePerVersionAndRebuiltForANewOne) {
  Publish();
  RoleCatalog first = Ensure("credit");
  const auto built_at = fs::last_write_time(first.path);
  RoleCatalog again = Ensure("credit");
  EXPECT_EQ(again.path, first.path);
  EXPECT_EQ(fs::last_write_time(again.path), built_at);
  // The role's macros came along (the named queries use score_band).
  EXPECT_TRUE(std::any_of(again.schema.begin(), again.schema.end(),
                          [](const TableSchema& t) { return t.name == "fact_credit_request"; }));
  auto r = mart::RunRefresh(config_, {.force = true});
  ASSERT_TRUE(r.ok()) << r.status();
  RoleCatalog next = Ensure("credit");
  EXPECT_NE(next.version, first.version);
  EXPECT_NE(next.path, first.path);
  auto engine = lake::Engine::Open({.memory_limit = "128MB",
                                    .database = next.path,
                                    .read_only = true,
                                    .external_access = false});
  ASSERT_TRUE(engine.ok());
  EXPECT_TRUE(engine->get()->Query("SELECT score_band(700)").ok());
  // risk_admin sees everything as it is: it reads the published file, not a copy.
  EXPECT_EQ(Ensure("risk_admin").path, fs::canonical(root_ / "catalog" / "catalog.duckdb"));
  for (const auto& f : fs::directory_iterator(next.path.parent_path())) {
    EXPECT_FALSE(f.path().filename().string().starts_with("risk_admin-")) << f.path();
  }
}

// The role's file is the boundary: even SQL that skips the guard reaches nothing else.
TEST_F(RoleCatalogTest, TheSandboxReachesNoFileOutsideTheRolesCatalog) {
  Publish();
  RoleCatalog c = Ensure("marketing");
  auto engine = lake::Engine::Open(
      {.memory_limit = "128MB", .database = c.path, .read_only = true, .external_access = false});
  ASSERT_TRUE(engine.ok());
  lake::Engine& e = **engine;
  const std::string full = (root_ / "catalog" / "catalog.duckdb").string();
  EXPECT_FALSE(e.Query(absl::StrCat("SELECT * FROM read_parquet(",
                                    lake::SqlString((root_ / "**" / "*.parquet").string()), ")"))
                   .ok());
  EXPECT_FALSE(e.Execute(absl::StrCat("ATTACH ", lake::SqlString(full), " AS full_catalog")).ok());
  EXPECT_FALSE(e.Execute("SET enable_external_access = true").ok());
  EXPECT_FALSE(e.Execute("CREATE TABLE x AS SELECT 1").ok());
  EXPECT_FALSE(e.Query("SELECT * FROM fact_bank_transaction").ok());  // not marketing's
  EXPECT_TRUE(e.Query("SELECT count(*) FROM dim_customer").ok());
}

}  // namespace
}  // namespace lastro::governance
