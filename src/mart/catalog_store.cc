#include "mart/catalog_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

Status IoError(const std::string& what, const std::error_code& ec) {
  return absl::UnavailableError(absl::StrCat(what, ": ", ec.message()));
}

void SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);  // best effort: the rename is already atomic
  ::close(fd);
}

}  // namespace

CatalogStore::CatalogStore(fs::path lake_root) : root_(std::move(lake_root)) {}

fs::path CatalogStore::PointerPath() const { return root_ / "catalog"; }
fs::path CatalogStore::DatabasePath() const { return PointerPath() / "catalog.duckdb"; }
fs::path CatalogStore::VersionDir(const std::string& version) const {
  return root_ / "_catalog" / "versions" / version;
}

std::string CatalogStore::CurrentVersion() const {
  std::error_code ec;
  fs::path target = fs::read_symlink(PointerPath(), ec);
  return ec ? "" : target.filename().string();
}

std::vector<std::string> CatalogStore::Versions() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ / "_catalog" / "versions", ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<fs::path> CatalogStore::Stage(const std::string& version) {
  std::error_code ec;
  fs::path staging = root_ / "_catalog" / "staging";
  fs::remove_all(staging, ec);  // leftovers of killed refreshes (the caller holds the lock)
  fs::create_directories(staging / version, ec);
  if (ec) return IoError("cannot create " + (staging / version).string(), ec);
  fs::create_directories(root_ / "_catalog" / "versions", ec);
  if (ec) return IoError("cannot create the catalog's versions folder", ec);
  return staging / version;
}

Status CatalogStore::Point(const std::string& version) {
  std::error_code ec;
  fs::path tmp = root_ / absl::StrCat(".catalog.", version, ".tmp");
  fs::remove(tmp, ec);
  fs::create_directory_symlink(fs::path("_catalog") / "versions" / version, tmp, ec);
  if (ec) return IoError("cannot create the catalog pointer", ec);
  fs::rename(tmp, PointerPath(), ec);
  if (ec) return IoError("cannot swap the catalog pointer", ec);
  SyncDir(root_);
  return absl::OkStatus();
}

Status CatalogStore::Publish(const std::string& version, int keep_versions) {
  std::error_code ec;
  fs::rename(root_ / "_catalog" / "staging" / version, VersionDir(version), ec);
  if (ec) return IoError("cannot move the staged catalog into versions/", ec);
  SyncDir(root_ / "_catalog" / "versions");
  LASTRO_RETURN_IF_ERROR(Point(version));
  std::vector<std::string> all = Versions();
  const size_t keep = static_cast<size_t>(std::max(1, keep_versions));
  for (size_t i = 0; i + keep < all.size(); ++i) {
    if (all[i] == version) continue;
    fs::remove_all(VersionDir(all[i]), ec);  // a failed prune only costs disk
  }
  return absl::OkStatus();
}

StatusOr<std::string> CatalogStore::Rollback() {
  std::string current = CurrentVersion();
  if (current.empty()) {
    return absl::FailedPreconditionError("no published catalog: nothing to roll back");
  }
  std::string previous;
  for (const std::string& v : Versions()) {
    if (v < current) previous = v;
  }
  if (previous.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "catalog version ", current, " is the oldest one kept: nothing to roll back to"));
  }
  LASTRO_RETURN_IF_ERROR(Point(previous));
  return previous;
}

}  // namespace lastro::mart
