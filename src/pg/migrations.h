// Versioned, idempotent schema migrations for the operational database.
//
// Migrations are the files under sql/operational/ (NNNN_name.sql), embedded in the
// binary at build time. Each applies once, in its own transaction, recorded in
// `lastro_schema_migrations` with a checksum; a session-level advisory lock makes
// concurrent `lastro db migrate` runs safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace lastro::pg {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// The migrations compiled into this binary, in version order.
const std::vector<Migration>& EmbeddedMigrations();

struct MigrateReport {
  std::vector<std::string> applied;  // names applied by this call
  int already_applied = 0;
};

// Applies every migration not yet recorded. Errors: kFailedPrecondition when an
// applied migration's checksum no longer matches its file (history was edited), or
// when the database has a newer version than this binary knows; any SQL error
// aborts that migration's transaction and is returned.
StatusOr<MigrateReport> Migrate(Connection& conn, const std::vector<Migration>& migrations);

}  // namespace lastro::pg
