#include "lake/table_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace lastro::lake {
namespace fs = std::filesystem;
namespace {

constexpr const char* kVersionsDir = "_versions";
constexpr const char* kStagingDir = "_staging";
constexpr const char* kRunsDir = "_runs";

Status FsError(const std::string& what, const std::error_code& ec) {
  return absl::UnavailableError(absl::StrCat(what, ": ", ec.message()));
}

bool IsParquet(const fs::path& p) { return p.extension() == ".parquet"; }

// Every *.parquet file below `dir`, relative to it, sorted.
StatusOr<std::vector<std::string>> ListParquet(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && IsParquet(it->path())) {
      out.push_back(fs::relative(it->path(), dir).string());
    }
  }
  if (ec) return FsError(absl::StrCat("cannot list ", dir.string()), ec);
  std::sort(out.begin(), out.end());
  return out;
}

// "request_date=2026-11-20" for "request_date=2026-11-20/part-0.parquet"; "" at the root.
std::string PartitionOf(const std::string& relative_file) {
  fs::path parent = fs::path(relative_file).parent_path();
  return parent.string();
}

Status LinkFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return FsError(absl::StrCat("cannot create ", to.parent_path().string()), ec);
  fs::create_hard_link(from, to, ec);
  if (ec) return FsError(absl::StrCat("cannot link ", from.string()), ec);
  return absl::OkStatus();
}

Status MoveFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return FsError(absl::StrCat("cannot create ", to.parent_path().string()), ec);
  fs::rename(from, to, ec);
  if (ec) return FsError(absl::StrCat("cannot move ", from.string()), ec);
  return absl::OkStatus();
}

void SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------

StatusOr<LakeLock> LakeLock::Acquire(const fs::path& root, const std::string& holder) {
  std::error_code ec;
  fs::create_directories(root / kRunsDir, ec);
  if (ec) return FsError(absl::StrCat("cannot create ", (root / kRunsDir).string()), ec);
  fs::path path = root / kRunsDir / "lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path.string(), ": ", strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {0};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string who = n > 0 ? std::string(buf, n) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    return absl::AbortedError(absl::StrCat("the lake ", root.string(), " is locked by ", who,
                                           "; wait for it to finish (runs never overlap)"));
  }
  char when[32];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::string info = absl::StrCat("pid ", ::getpid(), " (", holder, ") since ", when, "\n");
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, info.data(), info.size(), 0) < 0) {
    log::Warn("lake lock file not updated", {{"error", std::string(strerror(errno))}});
  }
  return LakeLock(fd);
}

LakeLock::LakeLock(LakeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

LakeLock& LakeLock::operator=(LakeLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

LakeLock::~LakeLock() {
  if (fd_ >= 0) {
    // Leave the file (others may have it open); empty it so a stale holder is not shown.
    if (::ftruncate(fd_, 0) != 0) {
      // Ignored on purpose: the flock is what matters and close() releases it.
    }
    ::close(fd_);
  }
}

// ---------------------------------------------------------------------------------

StatusOr<TableStore> TableStore::Open(const fs::path& root) {
  std::error_code ec;
  for (const char* dir : {kVersionsDir, kStagingDir, kRunsDir}) {
    fs::create_directories(root / dir, ec);
    if (ec) return FsError(absl::StrCat("cannot create ", (root / dir).string()), ec);
  }
  return TableStore(fs::absolute(root).lexically_normal());
}

fs::path TableStore::TablePath(const std::string& zone, const std::string& table) const {
  return root_ / zone / table;
}

bool TableStore::Exists(const std::string& zone, const std::string& table) const {
  return !CurrentVersion(zone, table).empty();
}

std::string TableStore::CurrentVersion(const std::string& zone, const std::string& table) const {
  std::error_code ec;
  fs::path link = TablePath(zone, table);
  if (!fs::is_symlink(link, ec)) return "";
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return "";
  return target.filename().string();
}

StatusOr<std::vector<DataFile>> TableStore::Files(const std::string& zone,
                                                  const std::string& table) const {
  std::vector<DataFile> out;
  std::string version = CurrentVersion(zone, table);
  if (version.empty()) return out;
  fs::path dir = root_ / kVersionsDir / zone / table / version;
  LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> files, ListParquet(dir));
  for (const std::string& f : files) {
    std::error_code ec;
    out.push_back({f, static_cast<int64_t>(fs::file_size(dir / f, ec))});
  }
  return out;
}

StatusOr<std::vector<std::string>> TableStore::Partitions(const std::string& zone,
                                                          const std::string& table) const {
  LASTRO_ASSIGN_OR_RETURN(std::vector<DataFile> files, Files(zone, table));
  std::set<std::string> parts;
  for (const DataFile& f : files) parts.insert(PartitionOf(f.path));
  return std::vector<std::string>(parts.begin(), parts.end());
}

Status TableStore::CleanStaging() {
  std::error_code ec;
  fs::path staging = root_ / kStagingDir;
  for (auto it = fs::directory_iterator(staging, ec); !ec && it != fs::end(it); it.increment(ec)) {
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    if (rm) return FsError(absl::StrCat("cannot remove ", it->path().string()), rm);
  }
  if (ec) return FsError("cannot list staging", ec);
  // Half-made symlinks from a publish that died between symlink() and rename().
  for (auto zone = fs::directory_iterator(root_, ec); !ec && zone != fs::end(zone);
       zone.increment(ec)) {
    if (!zone->is_directory() || zone->path().filename().string().starts_with("_")) continue;
    std::error_code inner;
    for (auto it = fs::directory_iterator(zone->path(), inner); !inner && it != fs::end(it);
         it.increment(inner)) {
      std::string name = it->path().filename().string();
      if (name.starts_with(".") && name.ends_with(".tmp")) fs::remove(it->path(), inner);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------

TableTransaction::TableTransaction(TableStore& store, std::string version)
    : store_(store), version_(std::move(version)) {}

TableTransaction::~TableTransaction() {
  if (!done_) {
    std::error_code ec;
    fs::remove_all(store_.root() / kStagingDir / version_, ec);
  }
}

StatusOr<fs::path> TableTransaction::Stage(const std::string& zone, const std::string& table,
                                           PublishMode mode) {
  for (const Staged& s : staged_) {
    if (s.zone == zone && s.table == table) return s.dir;
  }
  fs::path dir = store_.root() / kStagingDir / version_ / zone / table;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return FsError(absl::StrCat("cannot create ", dir.string()), ec);
  staged_.push_back({zone, table, mode, dir});
  return dir;
}

Status TableTransaction::Publish(int keep_versions) {
  const fs::path& root = store_.root();
  // Build every new version first, so a failure here changes nothing visible.
  std::vector<fs::path> new_dirs;
  for (const Staged& s : staged_) {
    fs::path new_dir = root / kVersionsDir / s.zone / s.table / version_;
    std::error_code ec;
    fs::remove_all(new_dir, ec);
    fs::create_directories(new_dir, ec);
    if (ec) return FsError(absl::StrCat("cannot create ", new_dir.string()), ec);
    LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> staged_files, ListParquet(s.dir));
    std::set<std::string> staged_parts;
    for (const std::string& f : staged_files) staged_parts.insert(PartitionOf(f));

    std::string current = store_.CurrentVersion(s.zone, s.table);
    if (!current.empty() && s.mode != PublishMode::kReplaceTable) {
      fs::path cur_dir = root / kVersionsDir / s.zone / s.table / current;
      LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> cur_files, ListParquet(cur_dir));
      for (const std::string& f : cur_files) {
        bool replaced =
            s.mode == PublishMode::kReplacePartitions && staged_parts.count(PartitionOf(f)) > 0;
        if (!replaced) LASTRO_RETURN_IF_ERROR(LinkFile(cur_dir / f, new_dir / f));
      }
    }
    for (const std::string& f : staged_files) {
      if (fs::exists(new_dir / f)) {
        return absl::FailedPreconditionError(
            absl::StrCat("staged file ", f, " of ", s.zone, "/", s.table,
                         " collides with a published one: name files by version"));
      }
      LASTRO_RETURN_IF_ERROR(MoveFile(s.dir / f, new_dir / f));
    }
    SyncDir(new_dir);
    new_dirs.push_back(new_dir);
  }

  // Swap each table's symlink: rename(2) replaces it atomically.
  for (const Staged& s : staged_) {
    fs::path zone_dir = root / s.zone;
    std::error_code ec;
    fs::create_directories(zone_dir, ec);
    if (ec) return FsError(absl::StrCat("cannot create ", zone_dir.string()), ec);
    fs::path link = zone_dir / s.table;
    if (fs::exists(link, ec) && !fs::is_symlink(link, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(link.string(), " is not a symlink managed by the lake"));
    }
    fs::path tmp = zone_dir / absl::StrCat(".", s.table, ".", version_, ".tmp");
    fs::remove(tmp, ec);
    fs::path target = fs::path("..") / kVersionsDir / s.zone / s.table / version_;
    fs::create_directory_symlink(target, tmp, ec);
    if (ec) return FsError(absl::StrCat("cannot create symlink ", tmp.string()), ec);
    fs::rename(tmp, link, ec);
    if (ec) return FsError(absl::StrCat("cannot publish ", link.string()), ec);
    SyncDir(zone_dir);
    LASTRO_ASSIGN_OR_RETURN(published_[absl::StrCat(s.zone, "/", s.table)],
                            store_.Files(s.zone, s.table));
    if (after_swap_) after_swap_(absl::StrCat(s.zone, "/", s.table));
  }
  done_ = true;
  std::error_code ec;
  fs::remove_all(root / kStagingDir / version_, ec);

  // Old versions: keep the newest `keep_versions` (the current one always among them).
  for (const Staged& s : staged_) {
    fs::path versions = root / kVersionsDir / s.zone / s.table;
    std::vector<std::string> names;
    for (auto it = fs::directory_iterator(versions, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    int excess = static_cast<int>(names.size()) - std::max(1, keep_versions);
    for (int i = 0; i < excess; ++i) {
      if (names[i] == version_) continue;
      std::error_code rm;
      fs::remove_all(versions / names[i], rm);
      if (rm) log::Warn("old lake version not removed", {{"dir", (versions / names[i]).string()}});
    }
  }
  return absl::OkStatus();
}

}  // namespace lastro::lake
