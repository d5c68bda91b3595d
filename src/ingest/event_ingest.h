// `lastro ingest events`: loads the event collector's JSON-lines files into the lake's
// bronze zone, idempotently (docs/ingest-events.md, ADR 0017).
//
// One run, with the lake lock held:
//   1. lists *.jsonl under the path and hashes each file (SHA-256); files whose hash
//      is in the ledger (bronze/app_event_files) or seen earlier in the run are
//      skipped whole;
//   2. reads the others line by line: valid lines become rows, bad ones quarantine
//      rows with a reason (event_line.h);
//   3. drops duplicates: an event_id seen earlier in the run (first file and line
//      wins) or already published in any event_date partition the run touches;
//   4. stages and publishes, in this order, bronze/app_events (Hive partitions
//      event_date=YYYY-MM-DD), quarantine/app_events (ingest_date=...) and the
//      ledger, each by one atomic rename (lake::TableTransaction).
// Every line read is loaded, a duplicate or quarantined: read = loaded + duplicates +
// quarantined, per file and per run, in the report and the run's manifest
// (<lake>/_ingest/events/<run id>/manifest.json).
//
// A run killed at any point leaves every table at its previous version or its new
// one. The ledger is published last, so a file whose events were published but which
// is not in the ledger yet is read again by the next run; its events are then
// duplicates and its quarantined lines are recognised by (file hash, line number), so
// nothing is stored twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace lastro::ingest {

struct EventIngestOptions {
  std::string path;                         // folder (or one file) to load
  const std::atomic<bool>* stop = nullptr;  // checked between files and before publishing
};

// What happened to one file.
struct EventFileReport {
  std::string name;    // relative to the path given
  std::string sha256;  // content hash
  int64_t bytes = 0;
  // "ingested", "skipped: already ingested by run <id>" or
  // "skipped: same content as <name> in this run".
  std::string outcome;
  int64_t read = 0, loaded = 0, duplicates = 0, quarantined = 0;
};

struct EventIngestReport {
  std::string run_id;
  std::string started_at, finished_at;  // RFC 3339 UTC
  std::vector<EventFileReport> files;
  int64_t files_ingested = 0, files_skipped = 0;
  int64_t read = 0, loaded = 0, quarantined = 0;
  int64_t duplicates_in_run = 0;                      // event_id repeated within this run
  int64_t duplicates_in_lake = 0;                     // event_id already in bronze
  std::map<std::string, int64_t> loaded_by_date;      // event_date -> rows appended
  std::map<std::string, int64_t> quarantine_reasons;  // reason -> lines
  // Seconds per phase: "setup" (engine, ledger), "hash", "read" (parse and stage),
  // "classify", "write", "publish".
  std::map<std::string, double> phase_seconds;
  std::string manifest_path;

  int64_t duplicates() const { return duplicates_in_run + duplicates_in_lake; }
};

// Runs one ingest. A path with no *.jsonl files is a successful run that loads nothing.
// Errors: kNotFound (no such path), kInvalidArgument (bad timezone), kAborted (the
// lake is locked by another writer: retry later), kUnavailable (I/O; a file changed
// while it was read), kCancelled (stopped; nothing published), engine errors.
StatusOr<EventIngestReport> IngestEvents(const Config& config, const EventIngestOptions& options);

}  // namespace lastro::ingest
