// The `lastro stream` process: the decision pipeline plus its HTTP surface
// (`/healthz`, `/readyz`, `/metrics`, `/api/status`, and the live dashboard: `/`,
// `/assets/*`, `/api/events`, `/api/summary`, see src/dashboard) and the DogStatsD
// exporter. Refuses to listen on a non-loopback address without `[http] auth_token`.
#pragma once

#include <atomic>
#include <functional>

#include "common/config.h"
#include "common/status.h"

namespace lastro::service {

struct StreamServiceOptions {
  Config config;
  // Called once the HTTP server listens, with its port (tests, scripts).
  std::function<void(uint16_t)> on_listening;
};

// Runs until `stop`; returns non-OK when start-up fails (bad policy file, port in
// use) or the stream hits an error it cannot recover from.
Status RunStreamService(const StreamServiceOptions& options, const std::atomic<bool>& stop);

}  // namespace lastro::service
