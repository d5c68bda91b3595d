#include "mart/refresh.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "lake/table_store.h"
#include "mart/build.h"
#include "mart/catalog_store.h"
#include "mart/source_prints.h"
#include "mart/sources.h"
#include "mart/sql_files.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

std::string NewVersionId(const CatalogStore& store) {
  std::string base = absl::FormatTime("%Y%m%dT%H%M%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string id = base;
  for (int n = 2; fs::exists(store.VersionDir(id)); ++n) id = absl::StrCat(base, "-", n);
  return id;
}

nlohmann::json ReadManifest(const CatalogStore& store, const std::string& version) {
  std::ifstream in(store.VersionDir(version) / "manifest.json");
  if (!in) return nlohmann::json::object();
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path.string());
  return absl::OkStatus();
}

}  // namespace

std::string ModelDigest() {
  uint64_t h = kLastroFnvSeed;  // over every model file's name and text
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (f.name.starts_with("mart/")) h = FnvField(FnvField(h, f.name), f.sql);
  }
  return Hex64(h);
}

StatusOr<RefreshResult> RunRefresh(const Config& config, const RefreshOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore lake_store, lake::TableStore::Open(config.lake.dir));
  LASTRO_ASSIGN_OR_RETURN(lake::LakeLock lock,
                          lake::LakeLock::Acquire(lake_store.root(), "refresh"));
  CatalogStore store(lake_store.root());
  RefreshResult result;
  result.inputs = SourceVersions(lake_store);
  result.previous_version = store.CurrentVersion();
  const std::string digest = ModelDigest();
  LASTRO_ASSIGN_OR_RETURN(SourcePrints prints, FingerprintSources(lake_store));
  BuildPlan plan;
  int incremental_chain = 0;  // incremental builds since the last full one
  if (!options.force && !result.previous_version.empty()) {
    nlohmann::json m = ReadManifest(store, result.previous_version);
    const bool same_model = m.is_object() && m.value("model_digest", "") == digest &&
                            m.value("timezone", "") == config.batch.timezone;
    if (same_model && m.contains("inputs") && m["inputs"] == nlohmann::json(result.inputs)) {
      result.state = "UNCHANGED";
      result.version = result.previous_version;
      return result;
    }
    // Incremental from the published version when it was built by this model, on this
    // timezone, and recorded what it read; anything else rebuilds in full. So does
    // every mart.full_refresh_every-th refresh: deleted rows leave free blocks in the copied DuckDB
    // file, and a full build writes it compact again.
    incremental_chain = m.value("incremental_chain", 0);
    if (same_model && m.contains("partitions") && m["partitions"].is_object() &&
        incremental_chain + 1 < config.mart.full_refresh_every) {
      plan.incremental = true;
      plan.previous = store.VersionDir(result.previous_version);
      plan.changed = DiffPrints(m["partitions"].get<SourcePrints>(), prints);
    }
  }
  result.mode = plan.incremental ? "incremental" : "full";
  result.version = NewVersionId(store);
  LASTRO_ASSIGN_OR_RETURN(fs::path dir, store.Stage(result.version));
  log::Info("refresh started", {{"version", result.version}, {"mode", result.mode}});
  StatusOr<BuildOutput> built = BuildCatalog(config, lake_store, plan, dir);
  std::error_code ec;
  fs::remove_all(dir.parent_path() / (dir.filename().string() + ".tmp"), ec);
  if (!built.ok()) {
    fs::remove_all(dir, ec);
    return built.status();
  }
  result.tables = std::move(built->tables);
  result.rows = std::move(built->rows);
  result.gates = std::move(built->gates);
  nlohmann::json gates = nlohmann::json::array();
  for (const GateResult& g : result.gates) {
    gates.push_back({{"gate", g.name}, {"passed", g.passed}, {"detail", g.detail}});
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json manifest = {
      {"version", result.version},
      {"created_at", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"code_version", options.code_version},
      {"model_digest", digest},
      {"timezone", config.batch.timezone},
      {"mode", result.mode},
      {"incremental_chain", plan.incremental ? incremental_chain + 1 : 0},
      {"inputs", result.inputs},
      {"partitions", prints},
      {"tables", TablesJson(result.tables)},
      {"rows", result.rows},
      {"gates", gates},
      {"build_seconds", result.seconds}};
  LASTRO_RETURN_IF_ERROR(WriteFile(dir / "manifest.json", manifest.dump(2) + "\n"));
  LASTRO_RETURN_IF_ERROR(store.Publish(result.version, config.mart.keep_versions));
  result.state = "PUBLISHED";
  log::Info("refresh published", {{"version", result.version}, {"seconds", result.seconds}});
  return result;
}

StatusOr<RefreshResult> RollbackCatalog(const Config& config) {
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore lake_store, lake::TableStore::Open(config.lake.dir));
  LASTRO_ASSIGN_OR_RETURN(lake::LakeLock lock,
                          lake::LakeLock::Acquire(lake_store.root(), "refresh --rollback"));
  CatalogStore store(lake_store.root());
  RefreshResult result;
  result.previous_version = store.CurrentVersion();
  LASTRO_ASSIGN_OR_RETURN(result.version, store.Rollback());
  result.state = "ROLLED_BACK";
  return result;
}

}  // namespace lastro::mart
