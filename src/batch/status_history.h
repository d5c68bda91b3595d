// The requests' status history on its way from the extract (extractor.h: the bronze
// file of credit_request_status_history rows) to silver/credit_request_status_history.
//
// A history row belongs to its request's partition: request_date is the business day
// of the REQUEST's created_at (not of changed_at), the same day as the request's row
// in silver/credit_requests, so a request and its history are always rewritten
// together and the gold model can rebuild both by the requests' partitions.
//
// A history row is published only with its request: the rows of a request this run
// quarantined are quarantined too (the request keeps its last published version, and
// its history the rows published with it).
//
// Thread safety: as the Engine given (one thread at a time, lake/engine.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "batch/quality.h"
#include "common/status.h"
#include "lake/engine.h"

namespace lastro::batch {

// The logical table the quality rules name, and the columns silver holds (in file
// order; request_date is the partition).
inline constexpr char kStatusHistoryTable[] = "credit_request_status_history";
const std::vector<std::string>& SilverStatusHistoryColumns();

// Makes the view candidate_status_history over the bronze file `history_parquet`:
// id, request_id, from_status, to_status, changed_at, changed_by, reason, request_date.
// Needs request_offsets (PrepareStage), which holds every hour of the requests'
// created_at, so request_date is computed exactly as the requests' own.
Status PrepareStatusHistory(lake::Engine& engine, const std::string& history_parquet);

// After SelectGood(): quarantines into `quarantine_relation` (quality.h's columns)
// the history rows of the requests this run quarantined (the table quarantined_ids),
// rule kStatusHistoryRequestRule, and makes the view good_status_history: the
// candidates without any error quarantine row of their own (table_name =
// kStatusHistoryTable) or of their request. `checked` is the number of candidate rows.
// Returns the check's verdict for the quality results; it never breaches: the
// requests' rules decide whether the day is published.
inline constexpr char kStatusHistoryRequestRule[] = "status_history_request_published";
StatusOr<RuleResult> SelectGoodStatusHistory(lake::Engine& engine,
                                             const std::string& quarantine_relation,
                                             const std::string& run_id,
                                             const std::string& batch_date, int64_t checked);

// Writes the partitions `days` (the ones WriteSilverRequests() rewrote, "2026-11-20")
// of silver/credit_request_status_history into `dir` (Hive layout, request_date=...):
// good_status_history merged with the rows already published in those partitions
// (`published_glob`, empty when the table has none), deduplicated by id with this
// run's copy first. The history is append-only, so this replaces a re-extracted
// request's rows with its whole history and keeps every other request's rows. Files
// are named part-<run_id>-<n>.parquet, ZSTD. A day with no row gets no file.
Status WriteSilverStatusHistory(lake::Engine& engine, const std::string& published_glob,
                                const std::string& dir, const std::vector<std::string>& days,
                                const std::string& run_id, int row_group_rows);

}  // namespace lastro::batch
