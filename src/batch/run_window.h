// The scope of one batch run in time, and the SQL that selects it.
//
// A run covers business days [first_day, last_day] in the batch's time zone
// (America/Sao_Paulo by default): the instants [start of first_day, start of the day
// after last_day). An incremental run (--date D, or yesterday) reads what changed
// since the watermark among requests created before the end of D; a backfill
// (--from A --to B) reads every request created in [A, B].
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "batch/lineage.h"
#include "common/status.h"

namespace lastro::batch {

struct RunWindow {
  RunMode mode = RunMode::kIncremental;
  std::string first_day, last_day;  // YYYY-MM-DD
  absl::Time start, end;            // [start of first_day, end of last_day)
  std::string label;                // "D" or "A_B", names the run in its lock
};

// From the command line's --date / --from / --to (empty = not given). With neither,
// yesterday relative to `now` in `zone`.
// Errors: kInvalidArgument for a malformed date, only one of --from/--to, --to before
// --from, or a backfill longer than 367 days.
StatusOr<RunWindow> MakeRunWindow(const std::string& date, const std::string& from,
                                  const std::string& to, const absl::TimeZone& zone,
                                  absl::Time now);

// The SQL predicate over credit_requests aliased `r` for the window; `changed_since`
// is the incremental lower bound on updated_at (watermark minus overlap), nullopt on
// a first run. Rows without a created_at are in scope when their updated_at is, so
// they reach quarantine instead of vanishing. Only literals built here, never input.
std::string ScopePredicate(const RunWindow& window, const std::optional<absl::Time>& changed_since);

// "2026-11-21 03:00:00.000000+00": an instant as a PostgreSQL timestamptz literal.
std::string PgInstant(absl::Time t);
// "2026-11-21T03:00:00.000Z".
std::string Rfc3339Millis(absl::Time t);

}  // namespace lastro::batch
