#include "testing/test_database.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "pg/migrations.h"

namespace lastro::testing {

std::string WithDatabase(const std::string& dsn, const std::string& dbname) {
  static const std::regex kDb(R"(dbname=\S+)");
  if (std::regex_search(dsn, kDb)) return std::regex_replace(dsn, kDb, "dbname=" + dbname);
  return dsn + " dbname=" + dbname;
}

StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(const std::string& prefix,
                                                             bool migrate) {
  const char* base = std::getenv("LASTRO_TEST_PG_DSN");
  if (base == nullptr) {
    return absl::FailedPreconditionError(
        "LASTRO_TEST_PG_DSN is not set: run the tests with `make test` (scripts/run-tests)");
  }
  std::string admin = WithDatabase(base, "postgres");
  std::mt19937_64 rng(std::random_device{}());
  std::string name = absl::StrCat("t_", prefix, "_", getpid(), "_", rng() % 100000);
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(admin));
  LASTRO_RETURN_IF_ERROR(conn->Exec("CREATE DATABASE " + conn->QuoteIdentifier(name)).status());
  auto db = std::unique_ptr<TestDatabase>(new TestDatabase(admin, name, WithDatabase(base, name)));
  if (migrate) {
    LASTRO_ASSIGN_OR_RETURN(auto c, db->Connect());
    LASTRO_RETURN_IF_ERROR(pg::Migrate(*c, pg::EmbeddedMigrations()).status());
  }
  return db;
}

TestDatabase::~TestDatabase() {
  conn_.reset();
  auto conn = pg::Connection::Connect(admin_dsn_);
  if (!conn.ok()) return;
  // Slots belong to the database and keep it from being dropped.
  IgnoreError((*conn)
                  ->Exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                         "WHERE database = $1 AND active_pid IS NOT NULL",
                         {name_})
                  .status());
  IgnoreError((*conn)
                  ->Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE database = $1 AND NOT active",
                         {name_})
                  .status());
  IgnoreError(
      (*conn)
          ->Exec("DROP DATABASE IF EXISTS " + (*conn)->QuoteIdentifier(name_) + " WITH (FORCE)")
          .status());
}

StatusOr<std::unique_ptr<pg::Connection>> TestDatabase::Connect() const {
  return pg::Connection::Connect(dsn_, {"lastro-test"});
}

std::string TestDatabase::Scalar(const std::string& sql) const {
  if (!conn_ || !conn_->healthy()) {
    auto c = Connect();
    if (!c.ok()) {
      std::cerr << "Scalar: " << c.status() << "\n";
      return "";
    }
    conn_ = std::move(*c);
  }
  auto r = conn_->Exec(sql);
  if (!r.ok()) {
    std::cerr << "Scalar(" << sql << "): " << r.status() << "\n";
    return "";
  }
  if (r->rows() == 0) return "";
  return std::string(r->Get(0, 0));
}

}  // namespace lastro::testing
