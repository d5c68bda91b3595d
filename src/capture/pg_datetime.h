// Parsers for PostgreSQL's text output of date/time types (DateStyle ISO, the
// server default and what pgoutput uses) and an ISO-8601 UTC formatter.
// Internal to capture/: value_json.cc uses them; exposed in a header so they
// can be tested on their own.
//
// All functions are pure and thread-safe. Input not of the expected form, or an
// instant outside int64 microseconds since 1970, is InvalidArgument. The special
// values 'infinity' / '-infinity' are not handled here (callers keep them as
// strings). Years may have more than four digits; a trailing " BC" is honoured
// (1 BC is astronomical year 0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::capture {

// "YYYY-MM-DD[ BC]" -> days since 1970-01-01 (negative before it).
StatusOr<int64_t> ParsePgDate(std::string_view text);

// "HH:MM:SS[.ffffff]" -> microseconds since midnight. "24:00:00" is allowed,
// as in PostgreSQL, and gives 86'400'000'000.
StatusOr<int64_t> ParsePgTime(std::string_view text);

// "HH:MM:SS[.ffffff]{+|-}HH[:MM[:SS]]" (timetz) -> the UTC wall time as
// microseconds since midnight, wrapped into [0, 24h).
StatusOr<int64_t> ParsePgTimetzToUtc(std::string_view text);

// "YYYY-MM-DD HH:MM:SS[.ffffff][ BC]" (timestamp without time zone) ->
// microseconds since 1970-01-01 00:00, reading the wall time as if UTC.
StatusOr<int64_t> ParsePgTimestamp(std::string_view text);

// "YYYY-MM-DD HH:MM:SS[.ffffff]{+|-}HH[:MM[:SS]][ BC]" (timestamptz, rendered
// in the session's TimeZone with its UTC offset) -> microseconds since the
// Unix epoch, UTC.
StatusOr<int64_t> ParsePgTimestamptz(std::string_view text);

// Microseconds since the Unix epoch -> ISO-8601 UTC like java.time's
// ISO_OFFSET_DATE_TIME (Debezium's ZonedTimestamp): "2024-01-02T03:04:05.123456Z";
// the fraction has as few digits as exact and is omitted when zero; years
// outside 0000-9999 are signed ("+10000", "-0001").
std::string FormatIsoUtc(int64_t unix_micros);

// Microseconds since midnight -> "HH:MM:SS[.ffffff]Z" (same fraction rule).
std::string FormatIsoUtcTime(int64_t micros_of_day);

}  // namespace lastro::capture
