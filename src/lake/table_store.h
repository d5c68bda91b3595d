// The lake on disk: zones (bronze, silver, quarantine, quality), tables inside them,
// Hive partitions inside tables, and atomic publication of new table versions.
//
//   <root>/<zone>/<table>            symlink -> ../_versions/<zone>/<table>/<version>
//   <root>/_versions/<zone>/<table>/<version>/<key>=<value>/part-*.parquet
//   <root>/_staging/<version>/<zone>/<table>/...     being written (never read)
//   <root>/_runs/                                     run records (batch/)
//
// Readers open <root>/<zone>/<table>/**/*.parquet (hive_partitioning) and always see
// one complete version: a version is built aside, partitions it does not rewrite are
// hard-linked from the current version (no copy), and it is published by one
// rename(2) of the table's symlink. A process killed at any point leaves the
// previous version readable and complete; its staging folder is removed by the next
// Begin(). Old versions are kept (`keep_versions`) for readers that opened them.
//
// Thread/process safety: one writer at a time per lake (the caller holds LakeLock);
// any number of concurrent readers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::lake {

// One file of a published table version, relative to the table root.
struct DataFile {
  std::string path;  // e.g. "request_date=2026-11-20/part-0.parquet"
  int64_t bytes = 0;
};

// An exclusive, process-wide lock on a lake (flock on <root>/_runs/lock). Released
// by the destructor or when the process dies, so a SIGKILLed run never wedges the lake.
class LakeLock {
 public:
  // Errors: kAborted "... is locked by pid P (<holder>) since T" when another
  // process holds it; kUnavailable when the lock file cannot be created.
  // `holder` (e.g. "batch run 2026-11-28 <run id>") is written into the lock file so
  // the refusal can say who holds it.
  static StatusOr<LakeLock> Acquire(const std::filesystem::path& root, const std::string& holder);
  LakeLock(LakeLock&& other) noexcept;
  LakeLock& operator=(LakeLock&& other) noexcept;
  ~LakeLock();

 private:
  explicit LakeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class TableStore {
 public:
  // Creates the root's fixed folders when missing. Errors: kUnavailable.
  static StatusOr<TableStore> Open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // <root>/<zone>/<table> (the published symlink; may not exist yet).
  std::filesystem::path TablePath(const std::string& zone, const std::string& table) const;

  // Whether <zone>/<table> has a published version.
  bool Exists(const std::string& zone, const std::string& table) const;

  // The published version id of a table, or "" when none.
  std::string CurrentVersion(const std::string& zone, const std::string& table) const;

  // The files of the current version, sorted by path. Empty when not published.
  StatusOr<std::vector<DataFile>> Files(const std::string& zone, const std::string& table) const;

  // The partition folders ("request_date=2026-11-20") of the current version.
  StatusOr<std::vector<std::string>> Partitions(const std::string& zone,
                                                const std::string& table) const;

  // Removes staging folders left by killed writers. Call with the lock held.
  Status CleanStaging();

 private:
  explicit TableStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

// How a staged table combines with the current version on publish.
enum class PublishMode {
  kReplacePartitions,  // staged partitions replace the same-named ones; others kept
  kAppend,             // staged files are added to their partitions; nothing removed
  kReplaceTable,       // the staged tree is the whole new version
};

// A set of table versions being written by one run, published one after the other
// (one symlink rename per table, in the order they were staged): each table is
// atomic on its own; a crash between two renames leaves some tables at the new
// version and the rest at the old one, every one of them complete.
class TableTransaction {
 public:
  // `version` must be unique per lake and sortable by time (a run id).
  TableTransaction(TableStore& store, std::string version);
  ~TableTransaction();  // removes the staging folder unless Publish() succeeded

  // A fresh, empty folder to write <zone>/<table>'s staged partitions into (e.g.
  // DuckDB's COPY ... TO '<dir>' (PARTITION_BY ...)). Files must end in ".parquet";
  // other files are ignored. Calling it twice for one table returns the same folder.
  StatusOr<std::filesystem::path> Stage(const std::string& zone, const std::string& table,
                                        PublishMode mode);

  // Builds each staged table's new version (hard links for carried-over files) and
  // swaps the symlinks. Then removes versions beyond `keep_versions` per table.
  // A failure part-way leaves every table either at its old or its new version.
  // Errors: kUnavailable (file system), kFailedPrecondition (a staged file is not
  // Parquet-named, or the table root is not a symlink we manage).
  Status Publish(int keep_versions = 3);

  // Fault injection for crash tests: called after each table's symlink swap with
  // "<zone>/<table>" (e.g. to SIGKILL the process between two swaps).
  void set_after_swap_hook(std::function<void(const std::string&)> hook) {
    after_swap_ = std::move(hook);
  }

  // Files of each staged table after Publish(): "<zone>/<table>" -> files.
  const std::map<std::string, std::vector<DataFile>>& published() const { return published_; }

 private:
  struct Staged {
    std::string zone, table;
    PublishMode mode;
    std::filesystem::path dir;
  };
  TableStore& store_;
  std::string version_;
  std::vector<Staged> staged_;
  bool done_ = false;
  std::map<std::string, std::vector<DataFile>> published_;
  std::function<void(const std::string&)> after_swap_;
};

}  // namespace lastro::lake
