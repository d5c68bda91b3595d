// `lastro sim events`: the app's usage events as the event collector exports them,
// one JSON object per line, several files per day named events-YYYY-MM-DD-NNN.jsonl
// (the day the collector received the events, São Paulo time). Contract of a line:
// docs/ingest-events.md.
//
// Sessions follow a funnel: session_start, login (sometimes failing first), screen
// views, loan simulations, a request submitted with documents uploaded, session_end.
// Customers have a stable device and anonymous id; visitors who never log in have
// only an anonymous id. On purpose, and reported in the answer key:
//   - malformed lines (truncated JSON, a wrong type, no event_id, an unknown
//     event_type, a bad timestamp), round-robin over those kinds;
//   - duplicates: a line repeated later in the same file, or re-delivered (same
//     event_id, a later received_at) at the start of the next file;
//   - late sessions: recorded offline 1-3 days before the day they are received.
// Deterministic: the same options write byte-identical files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::sim {

struct EventLogSimOptions {
  std::string out_dir;   // created when missing; existing files of the same name replaced
  std::string date;      // first day, YYYY-MM-DD
  int days = 1;          // consecutive days
  int customers = 1000;  // customer ids 1..customers (as in the operational database)
  uint64_t seed = 7;
  int events_per_day = 10000;     // about: whole sessions are generated
  int files_per_day = 4;          // the collector rotates files by line count
  double malformed_rate = 0.002;  // malformed lines per good line
  double duplicate_rate = 0.01;   // duplicate lines per good line
  double late_rate = 0.005;       // share of sessions received 1-3 days late
  std::string truth_path;         // when set, the answer key is written there (JSON)
};

// One malformed line: where it is and what is wrong with it. `kind` is one of
// truncated_json, wrong_type, missing_event_id, unknown_event_type, bad_timestamp;
// `field` names the field at fault (wrong_type, bad_timestamp) or the unknown type.
struct MalformedLine {
  std::string file, kind, field;
  int64_t line = 0;
};

// One duplicate line: the event_id it repeats and where; `scope` is "same_file" or
// "next_file".
struct DuplicateLine {
  std::string file, event_id, scope;
  int64_t line = 0;
};

struct LateEvent {
  std::string event_id, event_date, file;
};

struct EventLogSimReport {
  std::vector<std::string> files;               // names, in writing order
  int64_t lines = 0;                            // every line written
  int64_t good = 0;                             // distinct valid events
  std::map<std::string, int64_t> good_by_date;  // event_date (São Paulo) -> distinct valid events
  std::vector<MalformedLine> malformed;
  std::vector<DuplicateLine> duplicates;
  std::vector<LateEvent> late;
};

// Writes the files. Errors: kInvalidArgument (bad date, days/customers/events/files
// < 1, a rate outside [0, 1]), kUnavailable (cannot write).
StatusOr<EventLogSimReport> RunEventLogSim(const EventLogSimOptions& options);

// The answer key as JSON text (what `truth_path` holds): counts, good_by_date, and
// every malformed, duplicate and late line.
std::string EventLogTruthJson(const EventLogSimReport& report);

}  // namespace lastro::sim
