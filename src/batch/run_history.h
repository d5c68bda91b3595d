// The batch's records in the lake's _runs/ folder:
//   _runs/state.json            the incremental watermark and the last good run
//   _runs/<run id>/run.json     written when a run starts (pid, scope)
//   _runs/<run id>/manifest.json  written when it ends (lineage.h RunManifest)
// and the summary `lastro batch status` prints from them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "batch/lineage.h"
#include "common/status.h"

namespace lastro::batch {

struct LakeState {
  std::optional<absl::Time> watermark;  // requests updated before it are in the lake
  std::string last_run_id;
  std::string last_batch_date;
};

// Missing file = empty state. Errors: kInvalidArgument for a corrupt file.
StatusOr<LakeState> ReadLakeState(const std::filesystem::path& lake_root);
// Atomic (write aside + rename). Errors: kUnavailable.
Status WriteLakeState(const std::filesystem::path& lake_root, const LakeState& state);

// Creates <run_dir>/run.json for a starting run. Errors: kUnavailable.
Status MarkRunning(const std::filesystem::path& run_dir, const RunManifest& manifest);

struct RunSummary {
  std::string run_id;
  std::string state;  // SUCCEEDED | FAILED | RUNNING | ABANDONED (killed: no manifest, pid gone)
  std::string mode, batch_from, batch_to;
  std::string started_at, finished_at;
  double duration_s = 0;
  int64_t extracted = 0, published = 0, quarantined = 0;
  std::string error;
};

// The newest `limit` runs, newest first. Unreadable run folders are skipped with a warning.
StatusOr<std::vector<RunSummary>> ListRuns(const std::filesystem::path& lake_root, size_t limit);

// A terminal table of the runs and the state (for `lastro batch status`).
std::string FormatRuns(const LakeState& state, const std::vector<RunSummary>& runs);

}  // namespace lastro::batch
