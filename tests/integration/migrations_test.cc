// `lastro db migrate` against a real server: applies once, is idempotent,
// refuses edited history, and the schema enforces its rules.
#include "pg/migrations.h"

#include <gtest/gtest.h>

#include "testing/subprocess.h"
#include "testing/test_database.h"

namespace lastro::testing {
namespace {

using std::chrono::seconds;

TEST(Migrations, CommandAppliesOnceThenIsIdempotent) {
  auto db = TestDatabase::Create("migrate", /*migrate=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  std::string dir = TestDir("migrate");
  for (int run = 0; run < 2; ++run) {
    auto p = Subprocess::Start({LastroBin(), "db", "migrate"}, {{"LASTRO_PG_DSN", (*db)->dsn()}},
                               dir + "/run" + std::to_string(run));
    ASSERT_TRUE(p.ok());
    ASSERT_EQ((*p)->Wait(seconds(30)), 0) << (*p)->Stderr();
    std::string expected = run == 0
                               ? std::to_string(pg::EmbeddedMigrations().size()) + " applied now"
                               : "0 applied now";
    EXPECT_NE((*p)->Stdout().find(expected), std::string::npos) << (*p)->Stdout();
  }
  EXPECT_EQ((*db)->Scalar("SELECT count(*) FROM lastro_schema_migrations"),
            std::to_string(pg::EmbeddedMigrations().size()));
}

TEST(Migrations, RefusesAnEditedMigration) {
  auto db = TestDatabase::Create("migedit", false);
  ASSERT_TRUE(db.ok());
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(pg::Migrate(**c, pg::EmbeddedMigrations()).ok());
  auto edited = pg::EmbeddedMigrations();
  edited[0].sql += "\n-- edited";
  auto r = pg::Migrate(**c, edited);
  ASSERT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("edited"), std::string::npos);
}

TEST(Migrations, UnreachableDatabaseIsAOneLineError) {
  auto p =
      Subprocess::Start({LastroBin(), "db", "migrate"},
                        {{"LASTRO_PG_DSN", "host=127.0.0.1 port=1 dbname=x connect_timeout=2"}},
                        TestDir("migfail") + "/run");
  ASSERT_TRUE(p.ok());
  auto code = (*p)->Wait(seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  std::string err = (*p)->Stderr();
  EXPECT_EQ(err.rfind("lastro: cannot connect to PostgreSQL", 0), 0u) << err;
}

TEST(Schema, EnforcesCpfStatusAndAppendOnlyHistory) {
  auto db = TestDatabase::Create("schema");
  ASSERT_TRUE(db.ok());
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  // Invalid CPF check digits are refused; a valid one is accepted.
  EXPECT_TRUE(absl::IsInvalidArgument(
      (*c)->Exec("INSERT INTO customers (cpf, full_name) VALUES ('52998224726', 'X')").status()));
  ASSERT_TRUE(
      (*c)->Exec("INSERT INTO customers (cpf, full_name) VALUES ('52998224725', 'X')").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(
      (*c)->Exec("INSERT INTO customers (cpf, full_name) VALUES ('52998224725', 'Y')").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      (*c)->Exec("INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, "
                 "channel, status) SELECT id, 1000, 12, 'personal', 'web', 'MAYBE' FROM customers")
          .status()));
  ASSERT_TRUE((*c)->Exec("INSERT INTO credit_requests (customer_id, amount_cents, term_months, "
                         "purpose, channel) SELECT id, 1000, 12, 'personal', 'web' FROM customers")
                  .ok());
  ASSERT_TRUE((*c)->Exec("INSERT INTO credit_request_status_history (request_id, to_status, "
                         "changed_by) SELECT id, 'PENDING', 'test' FROM credit_requests")
                  .ok());
  EXPECT_FALSE((*c)->Exec("UPDATE credit_request_status_history SET to_status = 'X'").ok());
  EXPECT_FALSE((*c)->Exec("DELETE FROM credit_request_status_history").ok());
  EXPECT_FALSE((*c)->Exec("TRUNCATE credit_request_status_history").ok());
}

}  // namespace
}  // namespace lastro::testing
