#include "pg/migrations.h"

#include <fmt/format.h>

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/fnv.h"

namespace lastro::pg {
namespace {

constexpr int64_t kMigrationLockKey = 0x4c415354524f;  // "LASTRO"

// FNV-1a, enough to notice an edited file; not a security measure.
std::string Checksum(const std::string& text) { return Hex64(Fnv1a64(text, kLastroFnvSeed)); }

Status ApplyOne(Connection& conn, const Migration& m) {
  LASTRO_RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  Status s = conn.Exec(m.sql).status();
  if (s.ok()) {
    s = conn.Exec(
                "INSERT INTO lastro_schema_migrations (version, name, checksum) "
                "VALUES ($1, $2, $3)",
                {std::to_string(m.version), m.name, Checksum(m.sql)})
            .status();
  }
  if (!s.ok()) {
    IgnoreError(conn.Exec("ROLLBACK").status());
    return Status(s.code(), absl::StrCat("migration ", m.name, " failed: ", s.message()));
  }
  return conn.Exec("COMMIT").status();
}

}  // namespace

StatusOr<MigrateReport> Migrate(Connection& conn, const std::vector<Migration>& migrations) {
  LASTRO_RETURN_IF_ERROR(conn.Exec("SET client_min_messages = warning").status());
  LASTRO_RETURN_IF_ERROR(
      conn.Exec(fmt::format("SELECT pg_advisory_lock({})", kMigrationLockKey)).status());
  auto unlock = [&] {
    IgnoreError(
        conn.Exec(fmt::format("SELECT pg_advisory_unlock({})", kMigrationLockKey)).status());
  };
  auto run = [&]() -> StatusOr<MigrateReport> {
    LASTRO_RETURN_IF_ERROR(conn.Exec(R"sql(
      CREATE TABLE IF NOT EXISTS lastro_schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      ))sql")
                               .status());
    LASTRO_ASSIGN_OR_RETURN(
        Result done, conn.Exec("SELECT version, name, checksum FROM lastro_schema_migrations"));
    std::map<int, std::string> applied;
    int newest = 0;
    for (int r = 0; r < done.rows(); ++r) {
      int v = int(done.GetInt(r, 0));
      applied[v] = std::string(done.Get(r, 2));
      newest = std::max(newest, v);
    }
    int known = migrations.empty() ? 0 : migrations.back().version;
    if (newest > known) {
      return absl::FailedPreconditionError(fmt::format(
          "database schema is at version {} but this binary knows up to {}: upgrade lastro", newest,
          known));
    }
    MigrateReport report;
    for (const Migration& m : migrations) {
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != Checksum(m.sql)) {
          return absl::FailedPreconditionError(fmt::format(
              "migration {} was edited after it was applied; add a new migration instead", m.name));
        }
        ++report.already_applied;
        continue;
      }
      LASTRO_RETURN_IF_ERROR(ApplyOne(conn, m));
      report.applied.push_back(m.name);
    }
    return report;
  };
  StatusOr<MigrateReport> result = run();
  unlock();
  return result;
}

}  // namespace lastro::pg
