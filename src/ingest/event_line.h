// One line of an app event log: the collector's JSON-lines contract checked field by
// field, and either a typed event or the one reason the line is refused
// (docs/ingest-events.md, "Line format"). Pure and thread-safe: no I/O, no clock.
//
// A line is accepted when it is a JSON object with
//   event_id     non-empty string (at most kMaxIdChars)
//   event_type   one of KnownEventTypes()
//   occurred_at  RFC 3339 string with a UTC offset ("2026-11-20T14:03:05.120-03:00", "...Z")
//   received_at  same; occurred_at at most LineRules::max_late before it (a device that
//                was offline) and at most max_ahead after it (a device clock ahead)
//   anonymous_id, session_id  non-empty strings (at most kMaxIdChars)
//   customer_id  absent, null or a positive integer (null before login)
//   device       absent, null or an object whose os / model / app_version are absent,
//                null or strings
//   properties   absent, null or an object; loan_simulation and request_submitted need
//                positive integers amount_cents and term_months, screen_view a
//                non-empty string screen
// Other top-level keys are ignored (the collector may add some; the file keeps them).
// The first failed check, in the order above, is the reason: "missing event_id",
// "unknown event_type 'push_openned'", "occurred_at is not RFC 3339",
// "invalid JSON at byte 37: unexpected end of input", ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace lastro::ingest {

inline constexpr size_t kMaxIdChars = 128;

// The event types the collector emits, sorted.
const std::vector<std::string>& KnownEventTypes();

// An accepted line, ready for bronze. Instants are UTC microseconds since the epoch.
struct AppEvent {
  std::string event_id;
  std::string event_type;
  int64_t occurred_at_us = 0;
  int64_t received_at_us = 0;
  std::string event_date;  // "YYYY-MM-DD": occurred_at's civil day in the ingest time zone
  std::string anonymous_id;
  std::optional<int64_t> customer_id;
  std::string session_id;
  std::optional<std::string> device_os, device_model, app_version;
  std::optional<std::string> properties;  // compact JSON text of the object
};

// The outcome of one line: `event` when accepted, otherwise `reason` (and `event_id`
// when the line had a readable one, to help find it).
struct LineResult {
  std::optional<AppEvent> event;
  std::string reason;
  std::string event_id;
};

// What a line is checked against besides its shape (config [events], batch.timezone).
struct LineRules {
  absl::TimeZone zone;                             // gives event_date
  absl::Duration max_late = absl::Hours(24 * 30);  // occurred_at before received_at
  absl::Duration max_ahead = absl::Hours(1);       // occurred_at after received_at
};

// Checks one line (without its newline; a trailing '\r' is ignored). Never throws.
LineResult ParseEventLine(std::string_view line, const LineRules& rules);

// Parses an RFC 3339 date-time with a mandatory offset ('Z' or +hh:mm / -hh:mm),
// 'T' separator, optional fraction. nullopt for anything else (no offset, a space
// separator, out-of-range fields, a year outside 0001..9999).
std::optional<absl::Time> ParseRfc3339(std::string_view text);

// `raw` made safe to store and show: cut to at most `max_bytes` bytes at a character
// boundary, invalid UTF-8 bytes and NULs replaced by U+FFFD. Always valid UTF-8.
std::string SafeText(std::string_view raw, size_t max_bytes);

}  // namespace lastro::ingest
