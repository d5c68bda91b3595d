// The privacy requests log, `<state_dir>/privacy/requests.jsonl` (privacy.h has the
// line format): appended one line per event with O_APPEND and fsync, so a request is
// on record before anything is done for it, and its outcome right after.
// Internal to lastro_privacy.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace lastro::governance::internal {

// `<state_dir>/privacy/requests.jsonl`.
std::filesystem::path RequestsLogPath(const std::filesystem::path& state_dir);

// Appends `line` (one JSON object) and fsyncs it; creates the folder (0700) and the
// file (0600) on first use. One write(2) per line, so concurrent appenders never
// interleave within a line. Errors: kUnavailable.
Status AppendRequestLine(const std::filesystem::path& state_dir, const nlohmann::json& line);

// A new request id: a UUIDv7 (time-ordered; libsodium randomness).
std::string NewRequestId();

// Now, RFC 3339 UTC with milliseconds ("2026-11-28T03:00:00.123Z").
std::string NowRfc3339();
// Microseconds since 1970 as RFC 3339 UTC with milliseconds.
std::string MicrosRfc3339(int64_t micros);

}  // namespace lastro::governance::internal
