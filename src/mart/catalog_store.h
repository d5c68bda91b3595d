// The serving catalog on disk: versions built aside and published by one pointer swap.
//
//   <lake>/catalog -> _catalog/versions/<version>      (relative symlink: the pointer)
//   <lake>/_catalog/versions/<version>/catalog.duckdb   the gold tables
//   <lake>/_catalog/versions/<version>/<table>.parquet  the same tables for other engines
//   <lake>/_catalog/versions/<version>/<fact>/month=YYYY-MM-01/*.parquet  (facts, by month)
//   <lake>/_catalog/versions/<version>/manifest.json    inputs, row counts, gates
//   <lake>/_catalog/staging/<version>/                  being built (never read)
//
// A reader opens <lake>/catalog/catalog.duckdb READ_ONLY: the path is resolved once at
// open, so the reader keeps that version's file for as long as it holds it open, even
// while a refresh publishes a newer one (versions are never modified, only deleted
// when older than the newest `keep_versions`, and an open file outlives its unlink).
//
// Thread/process safety: one writer at a time (the caller holds the LakeLock); any
// number of readers.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::mart {

class CatalogStore {
 public:
  explicit CatalogStore(std::filesystem::path lake_root);

  // <lake>/catalog (the pointer) and <lake>/catalog/catalog.duckdb.
  std::filesystem::path PointerPath() const;
  std::filesystem::path DatabasePath() const;

  // The published version id, "" when nothing is published.
  std::string CurrentVersion() const;
  // <lake>/_catalog/versions/<version>.
  std::filesystem::path VersionDir(const std::string& version) const;
  // Every built version, oldest first.
  std::vector<std::string> Versions() const;

  // A fresh staging folder for `version` (removes leftovers of killed refreshes first).
  // Errors: kUnavailable.
  StatusOr<std::filesystem::path> Stage(const std::string& version);

  // Moves the staged folder into versions/ and swaps the pointer to it (rename(2) of a
  // temporary symlink, then fsync of the folder), then removes versions beyond
  // `keep_versions` (never the published one). Errors: kUnavailable.
  Status Publish(const std::string& version, int keep_versions);

  // Points the catalog at the newest version older than the published one.
  // Errors: kFailedPrecondition when there is none (nothing to roll back to).
  StatusOr<std::string> Rollback();

 private:
  Status Point(const std::string& version);
  std::filesystem::path root_;
};

}  // namespace lastro::mart
