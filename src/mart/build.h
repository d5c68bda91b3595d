// Builds one catalog version of the gold model (model.h) into a staging folder: the
// DuckDB file, the gates, and the Parquet copies. In full, or incrementally from the
// published version: its DuckDB file is copied and only the months and customers whose
// inputs changed (source_prints.h) are deleted and rebuilt; small tables (dims, marts)
// are rebuilt whole every time. Both ways produce the same tables (tested).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "lake/table_store.h"
#include "mart/gates.h"
#include "mart/source_prints.h"

namespace lastro::mart {

struct BuildPlan {
  bool incremental = false;
  std::filesystem::path previous;              // the published version's folder (incremental only)
  std::map<std::string, ChangedDays> changed;  // source -> changed days (incremental only)
};

// How one table was refreshed.
struct TableRefresh {
  std::string how = "full";         // full | months | customers | unchanged
  std::vector<std::string> months;  // months: the rebuilt months ("2026-11-01")
  int64_t customers = 0;            // customers: how many were rebuilt
  std::string reason;               // why full in an incremental build ("" otherwise)
};

// {"fact_app_event": {"how": "months", "months": [...]}, ...} for manifests and output.
nlohmann::json TablesJson(const std::map<std::string, TableRefresh>& tables);

struct BuildOutput {
  std::map<std::string, TableRefresh> tables;
  std::map<std::string, int64_t> rows;
  std::vector<GateResult> gates;
};

// Builds into `dir` (an empty staging folder). Errors: kFailedPrecondition "integrity
// gate failed ..." naming every failed gate, kUnavailable (files), and the engine's
// errors for a model that does not build.
StatusOr<BuildOutput> BuildCatalog(const Config& config, const lake::TableStore& lake_store,
                                   const BuildPlan& plan, const std::filesystem::path& dir);

}  // namespace lastro::mart
