// Per-role catalogs: for each role, a DuckDB file holding only what the policies give
// it - the role's tables, each column masked or left out, rows filtered - built from
// one published catalog version and kept beside it:
//
//   <lake>/_catalog/versions/<version>/roles/<role>-<key>.duckdb
//
// (<key> names the policies' digest and the mask key, so a policy change builds anew).
// A role that sees every table and column as they are (risk_admin) reads the published
// catalog.duckdb itself: same sandbox, no copy.
// A role's queries open only that file, READ_ONLY, with external access off and the
// configuration locked (governed_query.h): what is not in the file cannot be reached
// by any SQL, which makes the file, not the SQL checks, the security boundary.
//
// Built once per version, role and policy, by whichever process needs it first (the
// refresh, `lastro serve`, `lastro query --role`): written aside and renamed into
// place, so concurrent builders are harmless and readers never see half a file. The
// files go when their version goes (mart.keep_versions).
//
// Thread safety: free functions; concurrent calls are safe (see above).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "governance/policies.h"
#include "lake/engine.h"

namespace lastro::governance {

struct RoleCatalog {
  std::string role;
  std::string version;         // the serving catalog version it was built from
  std::filesystem::path path;  // the role's DuckDB file
  CatalogSchema schema;        // its tables and columns, as the role sees them
};

struct RoleCatalogOptions {
  std::filesystem::path lake_root;
  std::string mask_secret;  // keys the hash mask (batch.token_key); required when used
  std::string memory_limit = "1GB";
  int threads = 0;
};

// The role catalog of the published version, built when missing. Errors: kNotFound
// (nothing published: run lastro refresh), kFailedPrecondition (a row filter that does
// not bind, a hash mask without mask_secret), kUnavailable (I/O), the engine's errors.
StatusOr<RoleCatalog> EnsureRoleCatalog(const RoleCatalogOptions& options, const Policies& policies,
                                        const RolePolicy& role);

// The tables and columns (DuckDB type names) of the main schema of `database` ("" =
// the engine's default database), in table and column order.
StatusOr<CatalogSchema> ReadCatalogSchema(lake::Engine& engine, const std::string& database = "");

// The schema of the published catalog (for `lastro policy check`). Errors: kNotFound.
StatusOr<CatalogSchema> PublishedSchema(const std::filesystem::path& lake_root);

}  // namespace lastro::governance
