#include "mart/refresh.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "lake/engine.h"
#include "lake/table_store.h"
#include "mart/catalog_store.h"
#include "mart/sources.h"
#include "mart/sql_files.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

constexpr double kEngineMemoryShare = 0.6;  // as the batch: the rest is the process's

// Macros the model and the named queries use; stored in the catalog so readers have
// them too. local_date() is an instant's business day in `timezone`.
std::string Macros(const std::string& timezone) {
  return absl::StrCat(
      "CREATE MACRO date_key(d) AS CAST(year(d) * 10000 + month(d) * 100 + day(d) AS INTEGER);"
      "CREATE MACRO local_date(ts) AS CAST(timezone(",
      lake::SqlString(timezone),
      ", timezone('UTC', ts)) AS DATE);"
      "CREATE MACRO score_band(s) AS CASE WHEN s IS NULL THEN 'none' WHEN s < 200 THEN "
      "'0-199' WHEN s < 400 THEN '200-399' WHEN s < 600 THEN '400-599' WHEN s < 800 THEN "
      "'600-799' ELSE '800-1000' END;");
}

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

// Builds the model into <dir>/catalog.duckdb and checks the gates.
Status Build(const Config& config, const lake::TableStore& lake_store, const fs::path& dir,
             RefreshResult& result) {
  LASTRO_ASSIGN_OR_RETURN(std::string memory,
                          lake::ScaleMemorySize(config.lake.memory_limit, kEngineMemoryShare));
  LASTRO_ASSIGN_OR_RETURN(
      auto engine, lake::Engine::Open(
                       {.memory_limit = memory,
                        .threads = config.lake.threads,
                        .temp_directory = dir.parent_path() / (dir.filename().string() + ".tmp")}));
  LASTRO_RETURN_IF_ERROR(engine->Execute(absl::StrCat(
      "ATTACH ", lake::SqlString((dir / "catalog.duckdb").string()), " AS gold; USE gold;")));
  LASTRO_RETURN_IF_ERROR(engine->Execute(Macros(config.batch.timezone)));
  LASTRO_RETURN_IF_ERROR(DeclareSources(*engine, lake_store));
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (!f.name.starts_with("mart/")) continue;
    Status s = engine->Execute(f.sql);
    if (!s.ok()) {
      return Status(s.code(), absl::StrCat("model file ", f.name, ": ", s.message()));
    }
  }
  LASTRO_ASSIGN_OR_RETURN(result.gates, RunGates(*engine));
  if (std::string failed = DescribeFailures(result.gates); !failed.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("integrity gate failed, nothing published: ", failed));
  }
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult tables,
      engine->Query("SELECT table_name FROM duckdb_tables() WHERE database_name = 'gold' ORDER BY "
                    "table_name"));
  for (size_t i = 0; i < tables.rows(); ++i) {
    std::string name = *tables.Text(i, 0);
    LASTRO_ASSIGN_OR_RETURN(lake::Value n,
                            engine->QueryValue(absl::StrCat("SELECT count(*) FROM ", name)));
    result.rows[name] = std::get<int64_t>(n);
    LASTRO_RETURN_IF_ERROR(engine->Execute(
        absl::StrCat("COPY ", name, " TO ", lake::SqlString((dir / (name + ".parquet")).string()),
                     " (FORMAT parquet, COMPRESSION zstd)")));
  }
  // DETACH checkpoints: the file is complete and needs no WAL to be read.
  return engine->Execute("USE memory; DETACH gold;");
}

}  // namespace

std::string ModelDigest() {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64 over names and texts
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (!f.name.starts_with("mart/")) continue;
    for (unsigned char c : f.name + '\0' + f.sql + '\0') {
      h ^= c;
      h *= 1099511628211ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
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
  if (!options.force && !result.previous_version.empty()) {
    nlohmann::json m = ReadManifest(store, result.previous_version);
    if (m.is_object() && m.value("model_digest", "") == digest && m.contains("inputs") &&
        m["inputs"] == nlohmann::json(result.inputs)) {
      result.state = "UNCHANGED";
      result.version = result.previous_version;
      return result;
    }
  }
  result.version = NewVersionId(store);
  LASTRO_ASSIGN_OR_RETURN(fs::path dir, store.Stage(result.version));
  log::Info("refresh started", {{"version", result.version}});
  Status built = Build(config, lake_store, dir, result);
  std::error_code ec;
  fs::remove_all(dir.parent_path() / (dir.filename().string() + ".tmp"), ec);
  if (!built.ok()) {
    fs::remove_all(dir, ec);
    return built;
  }
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
      {"inputs", result.inputs},
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
