// A fresh PostgreSQL database per test, on the private cluster that
// scripts/run-tests starts ($LASTRO_TEST_PG_DSN), migrated to the current schema.
// Dropped (with its replication slots) when the object dies.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "pg/connection.h"

namespace lastro::testing {

class TestDatabase {
 public:
  // Errors: kFailedPrecondition when LASTRO_TEST_PG_DSN is unset.
  static StatusOr<std::unique_ptr<TestDatabase>> Create(const std::string& prefix,
                                                        bool migrate = true);
  ~TestDatabase();

  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }
  // A new connection to this database.
  StatusOr<std::unique_ptr<pg::Connection>> Connect() const;
  // Runs a query expected to return one value; "" on error (the test then fails
  // on the comparison, with the error logged).
  std::string Scalar(const std::string& sql) const;

 private:
  TestDatabase(std::string admin_dsn, std::string name, std::string dsn)
      : admin_dsn_(std::move(admin_dsn)), name_(std::move(name)), dsn_(std::move(dsn)) {}
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
  mutable std::unique_ptr<pg::Connection> conn_;
};

// Replaces (or appends) `dbname=` in a key=value DSN.
std::string WithDatabase(const std::string& dsn, const std::string& dbname);

}  // namespace lastro::testing
