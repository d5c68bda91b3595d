#include "governance/role_catalog.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <unistd.h>

#include <random>

#include "mart/catalog_store.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using lake::SqlIdent;
using lake::SqlString;

std::string CatalogKey(const Policies& policies, const RolePolicy& role,
                       const std::string& secret) {
  // The mask key's own digest: a new tokenisation key changes every hash, so it needs
  // new files, but the file name must not reveal the key.
  return absl::StrCat(policies.digest.substr(0, 16), "-", MaskKey(secret, role.name).substr(0, 8));
}

std::string TempSuffix() {
  std::random_device rd;
  return absl::StrCat(".", getpid(), ".", rd(), ".tmp");
}

// The source catalog's macros (score_band, date_key, ...), re-created in the role's
// file so the named queries run there as they do on the full catalog.
Status CopyMacros(lake::Engine& engine, const std::string& target) {
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult macros,
      engine.Query("SELECT function_name, array_to_string(parameters, ', '), macro_definition "
                   "FROM duckdb_functions() WHERE database_name = 'src' AND "
                   "function_type = 'macro' ORDER BY function_name"));
  for (size_t i = 0; i < macros.rows(); ++i) {
    LASTRO_RETURN_IF_ERROR(engine.Execute(
        absl::StrCat("CREATE MACRO ", SqlIdent(target), ".main.", SqlIdent(*macros.Text(i, 0)), "(",
                     macros.Text(i, 1).value_or(""), ") AS ", *macros.Text(i, 2))));
  }
  return absl::OkStatus();
}

Status Build(const RoleCatalogOptions& options, const Policies& policies, const RolePolicy& role,
             const fs::path& source, const fs::path& out) {
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = options.memory_limit,
                                                           .threads = options.threads,
                                                           .database = out}));
  LASTRO_ASSIGN_OR_RETURN(lake::Value db, engine->QueryValue("SELECT current_database()"));
  const std::string target = std::get<std::string>(db);
  LASTRO_RETURN_IF_ERROR(engine->Execute(
      absl::StrCat("ATTACH ", SqlString(source.string()), " AS src (READ_ONLY); USE src;")));
  LASTRO_ASSIGN_OR_RETURN(CatalogSchema schema, ReadCatalogSchema(*engine, "src"));
  const std::string key = MaskKey(options.mask_secret, role.name);
  for (const TableView& view : RoleTables(policies, role, schema, key)) {
    std::vector<std::string> select;
    for (const ColumnView& c : view.columns) {
      if (c.expr.empty()) continue;
      if (c.mask == Mask::kHash && options.mask_secret.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("role ", role.name, " hashes ", view.table, ".", c.name,
                         ": the hash mask needs the tokenisation key (LASTRO_TOKEN_KEY or "
                         "LASTRO_TOKEN_KEY_FILE)"));
      }
      select.push_back(absl::StrCat(c.expr, " AS ", SqlIdent(c.name)));
    }
    if (select.empty()) continue;  // nothing of it is visible: the table is not there
    Status s = engine->Execute(absl::StrCat(
        "CREATE TABLE ", SqlIdent(target), ".main.", SqlIdent(view.table), " AS SELECT ",
        absl::StrJoin(select, ", "), " FROM src.main.", SqlIdent(view.table),
        view.where.empty() ? ""
                           : absl::StrCat(" WHERE (", absl::StrJoin(view.where, ") AND ("), ")")));
    if (!s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("role ", role.name, ", table ", view.table, ": ", s.message()));
    }
  }
  LASTRO_RETURN_IF_ERROR(CopyMacros(*engine, target));
  return engine->Execute(absl::StrCat("USE ", SqlIdent(target), "; DETACH src; CHECKPOINT;"));
}

// Whether `role` sees every table of `schema` exactly as it is (every column allowed, no
// row condition): its catalog is then the published file itself, not a copy.
bool SeesEverythingAsIs(const Policies& policies, const RolePolicy& role,
                        const CatalogSchema& schema) {
  std::vector<TableView> views = RoleTables(policies, role, schema, "");
  if (views.size() != schema.size()) return false;
  for (const TableView& v : views) {
    if (!v.where.empty() || !v.problems.empty()) return false;
    for (const ColumnView& c : v.columns) {
      if (c.mask != Mask::kAllow) return false;
    }
  }
  return true;
}

}  // namespace

StatusOr<CatalogSchema> ReadCatalogSchema(lake::Engine& engine, const std::string& database) {
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult r,
      engine.Query(absl::StrCat(
          "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE "
          "table_schema = 'main' AND table_catalog = ",
          database.empty() ? "current_database()" : SqlString(database),
          " ORDER BY table_name, ordinal_position")));
  CatalogSchema schema;
  for (size_t i = 0; i < r.rows(); ++i) {
    std::string table = *r.Text(i, 0);
    if (schema.empty() || schema.back().name != table) schema.push_back({.name = table});
    schema.back().columns.emplace_back(*r.Text(i, 1), *r.Text(i, 2));
  }
  return schema;
}

StatusOr<CatalogSchema> PublishedSchema(const fs::path& lake_root) {
  mart::CatalogStore store(lake_root);
  std::error_code ec;
  fs::path db = fs::canonical(store.DatabasePath(), ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("no published catalog under ", lake_root.string(),
                                            " (run lastro refresh first)"));
  }
  LASTRO_ASSIGN_OR_RETURN(
      auto engine,
      lake::Engine::Open(
          {.memory_limit = "256MB", .database = db, .read_only = true, .external_access = false}));
  return ReadCatalogSchema(*engine);
}

StatusOr<RoleCatalog> EnsureRoleCatalog(const RoleCatalogOptions& options, const Policies& policies,
                                        const RolePolicy& role) {
  mart::CatalogStore store(options.lake_root);
  const std::string version = store.CurrentVersion();
  if (version.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no published catalog under ", options.lake_root.string(), " (run lastro refresh first)"));
  }
  const fs::path published = store.VersionDir(version) / "catalog.duckdb";
  {
    LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = "256MB",
                                                             .database = published,
                                                             .read_only = true,
                                                             .external_access = false}));
    LASTRO_ASSIGN_OR_RETURN(CatalogSchema full, ReadCatalogSchema(*engine));
    if (SeesEverythingAsIs(policies, role, full)) {
      return RoleCatalog{
          .role = role.name, .version = version, .path = published, .schema = std::move(full)};
    }
  }
  const fs::path dir = store.VersionDir(version) / "roles";
  const fs::path path =
      dir /
      absl::StrCat(role.name, "-", CatalogKey(policies, role, options.mask_secret), ".duckdb");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      return absl::UnavailableError(
          absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
    const fs::path tmp = fs::path(path.string() + TempSuffix());
    Status built = Build(options, policies, role, published, tmp);
    if (built.ok()) {
      fs::rename(tmp, path, ec);
      if (ec)
        built = absl::UnavailableError(
            absl::StrCat("cannot publish ", path.string(), ": ", ec.message()));
    }
    fs::remove(tmp, ec);
    fs::remove(fs::path(tmp.string() + ".wal"), ec);
    LASTRO_RETURN_IF_ERROR(built);
  }
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = "256MB",
                                                           .database = path,
                                                           .read_only = true,
                                                           .external_access = false}));
  LASTRO_ASSIGN_OR_RETURN(CatalogSchema schema, ReadCatalogSchema(*engine));
  return RoleCatalog{
      .role = role.name, .version = version, .path = path, .schema = std::move(schema)};
}

}  // namespace lastro::governance
