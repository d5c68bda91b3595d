// The DuckDB side of `lastro ingest events`: the run's staging tables, duplicate
// detection against the run and the lake, and the three outputs written as Parquet:
//
//   bronze/app_events        one row per accepted, first-seen event; Hive partitions
//                            event_date=YYYY-MM-DD; occurred_at/received_at UTC TIMESTAMP
//   quarantine/app_events    one row per refused line, partitions ingest_date=YYYY-MM-DD
//   bronze/app_event_files   the ledger: one row per ingested file (content SHA-256)
//
// Columns are listed in docs/ingest-events.md. One EventBronze per run; not thread-safe
// (it drives one Engine).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ingest/event_line.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::ingest {

inline constexpr char kEventsZone[] = "bronze";
inline constexpr char kEventsTable[] = "app_events";
inline constexpr char kQuarantineZone[] = "quarantine";
inline constexpr char kQuarantineTable[] = "app_events";
inline constexpr char kLedgerZone[] = "bronze";
inline constexpr char kLedgerTable[] = "app_event_files";

// Per file, after Classify().
struct FileCounts {
  int64_t loaded = 0, duplicates_in_run = 0, duplicates_in_lake = 0, quarantined = 0;
};

struct ClassifyResult {
  std::map<int, FileCounts> files;                    // by file index
  std::map<std::string, int64_t> loaded_by_date;      // event_date -> new rows
  std::map<std::string, int64_t> quarantine_reasons;  // reason -> lines
  int64_t quarantine_already_published = 0;           // refused lines a killed run already stored
};

class EventBronze {
 public:
  // Creates the staging tables and their appenders in `engine` (which must outlive this).
  // `raw_line_bytes` bounds the raw text kept for a quarantined line.
  static StatusOr<std::unique_ptr<EventBronze>> Create(lake::Engine& engine, std::string run_id,
                                                       size_t raw_line_bytes);
  ~EventBronze();

  // The ledger's published files: content SHA-256 -> the run that ingested it.
  // Empty when the ledger does not exist yet.
  static StatusOr<std::map<std::string, std::string>> ReadLedger(lake::Engine& engine,
                                                                 const lake::TableStore& store);

  // Staging. Errors (from the appender) mean a bug or an engine failure: stop the run.
  Status AddEvent(int file_index, int64_t line_number, const AppEvent& event);
  Status AddRefused(int file_index, int64_t line_number, std::string_view reason,
                    std::string_view event_id, std::string_view raw, int64_t raw_bytes);
  // A file fully read: its identity and line count (call after its lines).
  Status AddFile(int file_index, const std::string& name, const std::string& sha256, int64_t bytes,
                 int64_t lines_read);

  // Flushes the staging and marks duplicates: an event_id seen at an earlier (file,
  // line) of the run, or present in a published bronze/app_events partition of any
  // event_date the run's new events fall on; a refused line whose (file hash, line)
  // a killed earlier run already quarantined. Call once, after every Add*().
  StatusOr<ClassifyResult> Classify(const lake::TableStore& store);

  // Writes the new events under `dir` (Hive folders event_date=...), files named
  // part-<run id>-<n>.parquet, sorted by occurred_at. No-op without new events.
  Status WriteEvents(const std::string& dir, int row_group_rows);
  // Writes the refused lines not yet in quarantine under `dir`/ingest_date=<date>/.
  Status WriteQuarantine(const std::string& dir, const std::string& ingest_date,
                         const std::string& now_utc, int row_group_rows);
  // Writes one ledger row per ingested file to `dir`/part-<run id>.parquet.
  Status WriteLedger(const std::string& dir, const std::string& now_utc);

 private:
  EventBronze(lake::Engine& engine, std::string run_id, size_t raw_line_bytes)
      : engine_(engine), run_id_(std::move(run_id)), raw_line_bytes_(raw_line_bytes) {}
  Status CloseAppenders();

  lake::Engine& engine_;
  std::string run_id_;
  size_t raw_line_bytes_;
  std::unique_ptr<lake::Appender> events_, refused_, files_;
};

}  // namespace lastro::ingest
