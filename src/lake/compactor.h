// Compaction: rewrites every partition of a published table that holds more than one
// file into a single file (the append-only tables - bronze, quarantine, quality
// results, bureau scores - gain one file per run), and publishes the result like any other version:
// built aside, one symlink rename per table, readers never see a half-compacted table. Row content
// and partitioning are unchanged; only files are merged.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"

namespace lastro::lake {

struct CompactOptions {
  std::string lake_dir;
  std::string version;              // the new versions' id: unique, time-sortable (a run id)
  std::vector<std::string> tables;  // "zone/table"; empty = every published table
  bool dry_run = false;             // report what would be rewritten, change nothing
  int keep_versions = 3;
  int row_group_rows = 500000;
  EngineOptions engine;
};

struct CompactedTable {
  std::string table;  // "zone/table"
  int partitions_rewritten = 0;
  int64_t files_before = 0, files_after = 0;
  int64_t bytes_before = 0, bytes_after = 0;
  int64_t rows = 0;  // rows in the rewritten partitions (equal before and after)
};

// Takes the lake lock for the duration (kAborted when a batch run holds it).
// Errors: kNotFound for a named table that is not published; engine and file
// system errors otherwise (then nothing is published).
StatusOr<std::vector<CompactedTable>> Compact(const CompactOptions& options);

}  // namespace lastro::lake
