#include "lake/compactor.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lake/table_store.h"

namespace lastro::lake {
namespace fs = std::filesystem;
namespace {

// Every published "zone/table" under the lake root.
std::vector<std::string> PublishedTables(const TableStore& store) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto zone = fs::directory_iterator(store.root(), ec); !ec && zone != fs::end(zone);
       zone.increment(ec)) {
    std::string z = zone->path().filename().string();
    if (!zone->is_directory() || z.starts_with("_") || z.starts_with(".")) continue;
    std::error_code inner;
    for (auto t = fs::directory_iterator(zone->path(), inner); !inner && t != fs::end(t);
         t.increment(inner)) {
      std::string name = t->path().filename().string();
      if (!name.starts_with(".") && store.Exists(z, name)) out.push_back(z + "/" + name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

StatusOr<std::vector<CompactedTable>> Compact(const CompactOptions& options) {
  LASTRO_ASSIGN_OR_RETURN(TableStore store, TableStore::Open(options.lake_dir));
  LASTRO_ASSIGN_OR_RETURN(LakeLock lock,
                          LakeLock::Acquire(store.root(), "lake compact " + options.version));
  LASTRO_RETURN_IF_ERROR(store.CleanStaging());
  std::vector<std::string> tables =
      options.tables.empty() ? PublishedTables(store) : options.tables;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options.engine));

  TableTransaction tx(store, options.version);
  std::vector<CompactedTable> out;
  bool staged_any = false;
  for (const std::string& name : tables) {
    size_t slash = name.find('/');
    if (slash == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not zone/table"));
    }
    std::string zone = name.substr(0, slash), table = name.substr(slash + 1);
    if (!store.Exists(zone, table)) {
      return absl::NotFoundError(absl::StrCat("no published table ", name));
    }
    LASTRO_ASSIGN_OR_RETURN(std::vector<DataFile> files, store.Files(zone, table));
    std::map<std::string, std::vector<DataFile>> by_partition;
    for (const DataFile& f : files)
      by_partition[fs::path(f.path).parent_path().string()].push_back(f);

    CompactedTable report{.table = name};
    fs::path staged;
    for (const auto& [partition, part_files] : by_partition) {
      if (part_files.size() < 2) continue;
      ++report.partitions_rewritten;
      report.files_before += static_cast<int64_t>(part_files.size());
      std::vector<std::string> paths;
      for (const DataFile& f : part_files) {
        report.bytes_before += f.bytes;
        paths.push_back(SqlString((store.TablePath(zone, table) / f.path).string()));
      }
      std::string list = absl::StrCat("[", absl::StrJoin(paths, ", "), "]");
      LASTRO_ASSIGN_OR_RETURN(
          Value rows,
          engine->QueryValue(absl::StrCat("SELECT count(*) FROM read_parquet(", list,
                                          ", hive_partitioning = false, union_by_name = true)")));
      report.rows += std::get<int64_t>(rows);
      if (options.dry_run) continue;
      if (staged.empty()) {
        LASTRO_ASSIGN_OR_RETURN(staged, tx.Stage(zone, table, PublishMode::kReplacePartitions));
      }
      fs::path target = staged / partition / ("part-" + options.version + "-0.parquet");
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      if (ec) return absl::UnavailableError("cannot create " + target.parent_path().string());
      // The partition key lives in the folder name only (Hive layout), so it is not
      // read back as a column and the rewritten file has the same columns.
      LASTRO_RETURN_IF_ERROR(engine->Execute(absl::StrCat(
          "COPY (SELECT * FROM read_parquet(", list,
          ", hive_partitioning = false, union_by_name = true)) TO ", SqlString(target.string()),
          " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", options.row_group_rows, ")")));
      report.files_after += 1;
      report.bytes_after += static_cast<int64_t>(fs::file_size(target));
      staged_any = true;
    }
    out.push_back(report);
  }
  if (staged_any) LASTRO_RETURN_IF_ERROR(tx.Publish(options.keep_versions));
  return out;
}

}  // namespace lastro::lake
