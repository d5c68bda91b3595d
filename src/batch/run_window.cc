#include "batch/run_window.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lake/engine.h"

namespace lastro::batch {
namespace {

StatusOr<absl::CivilDay> ParseDay(const std::string& text, const char* flag) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " '", text, "' is not a date (YYYY-MM-DD)"));
  }
  return day;
}

}  // namespace

std::string PgInstant(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

std::string Rfc3339Millis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

StatusOr<RunWindow> MakeRunWindow(const std::string& date, const std::string& from,
                                  const std::string& to, const absl::TimeZone& zone,
                                  absl::Time now) {
  RunWindow w;
  absl::CivilDay first, last;
  if (!from.empty() || !to.empty()) {
    if (from.empty() || to.empty()) {
      return absl::InvalidArgumentError("a backfill needs both --from and --to");
    }
    LASTRO_ASSIGN_OR_RETURN(first, ParseDay(from, "from"));
    LASTRO_ASSIGN_OR_RETURN(last, ParseDay(to, "to"));
    if (last < first) return absl::InvalidArgumentError("--to is before --from");
    if (last - first > 366) {
      return absl::InvalidArgumentError("a backfill covers at most 367 days; split it");
    }
    w.mode = RunMode::kBackfill;
  } else if (!date.empty()) {
    LASTRO_ASSIGN_OR_RETURN(first, ParseDay(date, "date"));
    last = first;
  } else {
    first = last = absl::ToCivilDay(now, zone) - 1;
  }
  w.first_day = absl::FormatCivilTime(first);
  w.last_day = absl::FormatCivilTime(last);
  w.start = absl::FromCivil(first, zone);
  w.end = absl::FromCivil(last + 1, zone);
  w.label = first == last ? w.first_day : absl::StrCat(w.first_day, "_", w.last_day);
  return w;
}

std::string ScopePredicate(const RunWindow& w, const std::optional<absl::Time>& changed_since) {
  using lake::SqlString;
  std::string end = SqlString(PgInstant(w.end));
  if (w.mode == RunMode::kBackfill) {
    std::string start = SqlString(PgInstant(w.start));
    return absl::StrCat("((r.created_at >= ", start, " AND r.created_at < ", end,
                        ") OR (r.created_at IS NULL AND r.updated_at >= ", start,
                        " AND r.updated_at < ", end, "))");
  }
  std::string in_window = absl::StrCat("(r.created_at < ", end, " OR r.created_at IS NULL)");
  if (!changed_since) return in_window;
  return absl::StrCat("(r.updated_at >= ", SqlString(PgInstant(*changed_since)), " AND ", in_window,
                      ")");
}

}  // namespace lastro::batch
