// `lastro batch run`: one daily (or backfill) run of the ETL from the operational
// database into the lake (docs/batch.md).
//
//   lock ─► extract (one snapshot) ─► normalise ─► enrich (bureau) ─► quality rules
//        ─► stage bronze, quarantine, quality, silver aside ─► publish (renames)
//        ─► watermark, manifest, OpenLineage COMPLETE
//
// Guarantees:
//  - Runs never overlap: the lake lock refuses a second run (kAborted, names the holder).
//  - Nothing half-written is visible: every table version is built aside and
//    published by a rename (atomic per table; silver is swapped last); a run killed
//    at any point leaves every table readable and complete, and the next run clears
//    its leftovers and republishes what the killed run had not.
//  - An error-severity quality breach fails the run and publishes nothing.
//  - Idempotent: rerunning a date rewrites the same silver partitions with the same
//    rows (per request the latest version wins; bureau answers come from the lake's
//    cache). Bronze, quarantine and quality results are logs: a rerun appends its own
//    file, tagged with its run_id, and erases nothing.
//  - The watermark (incremental scope) advances only when a run succeeds, and never
//    backwards.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "batch/lineage.h"
#include "common/config.h"
#include "common/status.h"

namespace lastro::batch {

struct BatchRunOptions {
  // Incremental run for one business day (YYYY-MM-DD): requests changed since the
  // last watermark (minus batch.overlap_minutes) and created before the day's end.
  // Empty = yesterday in batch.timezone. Ignored when `from`/`to` are set. A day
  // already behind the watermark is rebuilt as a one-day backfill.
  std::string date;
  // Backfill: every request created in [from, to] (business days, inclusive),
  // whatever the watermark. It sets the watermark only when there is none yet (the
  // initial load), so the first incremental run continues from there.
  std::string from, to;
  // false: the bureau is not called; cached scores still apply, the rest is SKIPPED
  // (benchmarks, a bureau outage).
  bool enrich = true;
  std::string code_version;  // recorded in the manifest and lineage
  // Called with (phase, rows, rows_per_s) a few times per second while working.
  std::function<void(const std::string&, int64_t, double)> progress;
  // Set asynchronously (SIGINT/SIGTERM) to stop the run: it fails with kCancelled
  // and publishes nothing.
  const std::atomic<bool>* stop = nullptr;
};

// Runs one batch. On success returns the manifest (also written to
// <lake>/_runs/<run_id>/manifest.json). On failure the manifest is written with
// state FAILED and the error is returned:
//   kAborted            another run holds the lake lock;
//   kFailedPrecondition an error-severity quality breach (message lists the rules),
//                       a missing token key, a lagging replica, a rejected bureau token;
//   kInvalidArgument    bad dates, a bad rules file or time zone;
//   kNotFound           the rules file is missing;
//   kUnavailable        database or file system trouble: retry;
//   kCancelled          stopped by `stop`.
StatusOr<RunManifest> RunDailyBatch(const Config& config, const BatchRunOptions& options);

}  // namespace lastro::batch
