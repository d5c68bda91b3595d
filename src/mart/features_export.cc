#include "mart/features_export.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/iso_date.h"
#include "lake/engine.h"
#include "mart/catalog_store.h"
#include "mart/sql_files.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

constexpr char kTrainingSetFile[] = "features/training_set.sql";

Status CheckDate(const char* flag, const std::string& value) {
  if (value.empty() || IsIsoDate(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, " '", value, "' is not a date YYYY-MM-DD"));
}

std::string DateLiteral(const std::string& value) {
  return value.empty() ? "CAST(NULL AS DATE)" : absl::StrCat("DATE '", value, "'");
}

// The version's own id, from the manifest beside the opened file (the folder's name
// when a manifest is missing), so the summary names exactly the version that was read.
std::string CatalogVersion(const fs::path& version_dir) {
  std::ifstream in(version_dir / "manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_object() && manifest.contains("version") && manifest["version"].is_string()) {
    return manifest["version"];
  }
  return version_dir.filename().string();
}

// Removes the temporary output unless the export completed.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    std::error_code ec;
    if (!kept_) fs::remove(path_, ec);  // best effort: a leftover is named after our pid
  }
  const fs::path& path() const { return path_; }
  void Keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

Status Validate(const TrainingExportOptions& options) {
  LASTRO_RETURN_IF_ERROR(CheckDate("--from", options.from));
  LASTRO_RETURN_IF_ERROR(CheckDate("--to", options.to));
  // ISO dates compare as text.
  if (!options.from.empty() && !options.to.empty() && options.from > options.to) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from ", options.from, " is after --to ", options.to));
  }
  if (options.format != "parquet" && options.format != "csv") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown format '", options.format, "' (parquet, csv)"));
  }
  if (options.out.empty()) return absl::InvalidArgumentError("--out FILE is required");
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::string> TrainingSetSql(const std::string& from, const std::string& to) {
  LASTRO_RETURN_IF_ERROR(CheckDate("--from", from));
  LASTRO_RETURN_IF_ERROR(CheckDate("--to", to));
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (f.name != kTrainingSetFile) continue;
    return absl::StrReplaceAll(f.sql,
                               {{"{{from}}", DateLiteral(from)}, {"{{to}}", DateLiteral(to)}});
  }
  return absl::InternalError(absl::StrCat(kTrainingSetFile, " is not embedded"));
}

StatusOr<TrainingExportResult> ExportTrainingSet(const Config& config,
                                                 const TrainingExportOptions& options) {
  LASTRO_RETURN_IF_ERROR(Validate(options));
  LASTRO_ASSIGN_OR_RETURN(std::string sql, TrainingSetSql(options.from, options.to));

  CatalogStore store(config.lake.dir);
  std::error_code ec;
  // Resolve the pointer once: the version read, and the one the summary names.
  const fs::path db = fs::canonical(store.DatabasePath(), ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("no published catalog under ", config.lake.dir,
                                            " (run lastro refresh first)"));
  }
  TrainingExportResult result;
  result.catalog_version = CatalogVersion(db.parent_path());

  const fs::path out = fs::absolute(options.out, ec).lexically_normal();
  if (ec || out.filename().empty() || fs::is_directory(out)) {
    return absl::InvalidArgumentError(absl::StrCat("--out '", options.out, "' is not a file path"));
  }
  if (!fs::is_directory(out.parent_path())) {
    return absl::UnavailableError(absl::StrCat("cannot write ", out.string(), ": folder ",
                                               out.parent_path().string(), " does not exist"));
  }
  result.out = out.string();
  // Written aside and renamed over `out` when complete: a reader of `out` never sees a
  // half-written file, and a failed export leaves the previous one.
  const std::string tmp_name = absl::StrCat(".", out.filename().string(), ".tmp-", ::getpid());
  TempFile tmp(out.parent_path() / tmp_name);
  fs::remove(tmp.path(), ec);  // a leftover of an earlier process with our pid

  // The sandbox of `lastro query --format parquet`: the catalog READ_ONLY, external
  // access off, and DuckDB's allowed_paths listing only the temporary output, with the
  // configuration locked, so not even this SQL can read or write any other file.
  // Spills go beside the output, not into the published version's folder (readers may
  // not be allowed to write there).
  LASTRO_ASSIGN_OR_RETURN(
      auto engine, lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                       .threads = config.lake.threads,
                                       .temp_directory = out.parent_path() / (tmp_name + ".spill"),
                                       .database = db,
                                       .read_only = true,
                                       .external_access = false,
                                       .allowed_paths = {tmp.path().string()}}));
  const std::string target = lake::SqlString(tmp.path().string());
  const std::string copy_options =
      options.format == "parquet" ? "FORMAT parquet, COMPRESSION zstd" : "FORMAT csv, HEADER true";
  Status copied =
      engine->Execute(absl::StrCat("COPY (", sql, ") TO ", target, " (", copy_options, ")"));
  if (!copied.ok()) {
    return Status(copied.code(), absl::StrCat("cannot write the training set to ", result.out, ": ",
                                              copied.message()));
  }
  // Counted from the written file: the summary describes what was delivered.
  const std::string read =
      options.format == "parquet"
          ? absl::StrCat("read_parquet(", target, ")")
          : absl::StrCat("read_csv(", target, ", header = true, all_varchar = true)");
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult counts,
      engine->Query(absl::StrCat("SELECT count(*), count(*) FILTER (WHERE f_feature_date IS NULL) "
                                 "FROM ",
                                 read)));
  result.rows = counts.Int(0, 0).value_or(0);
  result.requests_without_features = counts.Int(0, 1).value_or(0);
  engine.reset();

  fs::rename(tmp.path(), out, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot write ", result.out, ": ", ec.message()));
  }
  tmp.Keep();
  return result;
}

}  // namespace lastro::mart
