// `lastro refresh`: builds the gold model (sql/mart/*.sql) over the lake's published
// tables into a new catalog version, checks the integrity gates, and publishes it by
// one pointer swap (catalog_store.h); `--rollback` points back to the previous version.
//
// Guarantees:
//   - nothing half-built is visible: the version is built under _catalog/staging and
//     becomes visible only by the pointer's rename; a failed gate, an error or a kill
//     leaves the published catalog as it was;
//   - one consistent input: each lake table is pinned to its version when the refresh
//     starts, and the LakeLock keeps batch runs and ingests out meanwhile;
//   - incremental: when no input table's version and no model file changed since the
//     published catalog (its manifest records both), nothing is rebuilt (UNCHANGED);
//     otherwise only the months and customers whose input partitions changed are
//     rebuilt from a copy of the published version (build.h), with the same result as
//     a full build; --force, a new model or timezone, or a first refresh build in full.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "mart/build.h"
#include "mart/gates.h"

namespace lastro::mart {

struct RefreshOptions {
  bool force = false;  // rebuild everything, even when no input changed
  std::string code_version;
};

struct RefreshResult {
  std::string state;                           // PUBLISHED | UNCHANGED | ROLLED_BACK
  std::string mode;                            // full | incremental (PUBLISHED)
  std::map<std::string, TableRefresh> tables;  // how each gold table was refreshed
  std::string version;
  std::string previous_version;               // "" when none
  std::map<std::string, int64_t> rows;        // gold table -> rows (PUBLISHED)
  std::map<std::string, std::string> inputs;  // "zone/table" -> version ("" = absent)
  std::vector<GateResult> gates;
  double seconds = 0;
};

// Builds, checks and publishes. Errors: kAborted (the lake is locked by another
// writer: retry later), kFailedPrecondition "integrity gate failed ..." naming every
// failed gate (nothing published), kUnavailable (file system), and the engine's errors
// for a model that does not build.
StatusOr<RefreshResult> RunRefresh(const Config& config, const RefreshOptions& options);

// Points the catalog at the previous version (under the LakeLock).
// Errors: kFailedPrecondition when there is no previous version; kAborted (locked).
StatusOr<RefreshResult> RollbackCatalog(const Config& config);

// A stable digest of the embedded model files (recorded in the manifest).
std::string ModelDigest();

}  // namespace lastro::mart
