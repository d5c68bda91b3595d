// The parameters of the simulators' /admin endpoints, parsed one way for all of them:
// POST /admin/outage?seconds=N and POST /admin/config {"knob": number, ...}.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "common/status.h"
#include "web/http_server.h"

namespace lastro::sim {

// The `seconds` query parameter of POST /admin/outage: a number in 0..86400.
// Errors: kInvalidArgument with the message the endpoint answers with 400.
StatusOr<double> OutageSeconds(const web::Request& req);

// The whole POST /admin/outage?seconds=N endpoint: sets `until` to now + N under
// `mu` and answers {"outage_seconds": N}, or 400 with the reason.
web::Response AdminOutage(const web::Request& req, std::mutex& mu,
                          std::chrono::steady_clock::time_point& until);

// Sets the named numeric fields from a JSON object `body` (POST /admin/config). Every
// key must name one of `fields` and hold a number; fields absent from the body keep
// their value. On error no field is changed.
// Errors: kInvalidArgument ("body must be a JSON object", "unknown field 'x'",
// "'x' must be a number").
Status SetNumbers(const std::string& body, std::span<const std::pair<const char*, double*>> fields);

}  // namespace lastro::sim
