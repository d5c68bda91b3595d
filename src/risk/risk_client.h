// Client for the third-party risk-assessment API (docs/risk-api.md).
//
// Asynchronous: Submit() queues a request and returns; one background thread drives
// every HTTP call with libcurl's multi interface (keep-alive connections reused,
// HTTP/1.1) and runs each request's `done` callback when its final answer is known.
//
// Per request: POST <url>/v1/risk/assessments with `Idempotency-Key: <request_id>`
// (and `Authorization: Bearer <token>` when configured), a per-call timeout
// (timeout_ms), and retries on timeouts, connection errors, 5xx and 429 with capped
// exponential backoff and full jitter (Retry-After honoured when longer), at most
// max_attempts calls, within a client-wide retry budget. A circuit breaker stops
// calls while the provider is failing; requests then wait (without spending
// attempts) until it lets calls through again, bounded by request_deadline_ms. An
// optional rate limit (rate_limit_per_s) spaces out the sends.
//
// Metrics (in the given registry):
//   lastro.risk.calls{outcome=ok|http_5xx|http_429|http_4xx|timeout|network}  counter
//   lastro.risk.retries                                                       counter
//   lastro.risk.giveups{reason=attempts|retry_budget|deadline|rejected|unauthorized|
//                       invalid_response}
//   lastro.risk.in_flight (gauge), lastro.risk.circuit_open (gauge 0/1),
//   lastro.risk.latency.ms (histogram, per HTTP call).
// The CPF is sent to the provider only: never logged, never in metrics or errors.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "risk/types.h"

namespace lastro::risk {

class RiskClient {
 public:
  // Validates the config and starts the client's thread. `clock` and `registry`
  // must outlive the client.
  // Errors: kInvalidArgument (url not http(s)://, non-positive limits),
  //         kInternal (libcurl could not be initialised).
  static StatusOr<std::unique_ptr<RiskClient>> Create(const RiskConfig& config, Clock& clock,
                                                      metrics::Registry& registry);
  // Shutdown(), then frees everything.
  ~RiskClient();
  RiskClient(const RiskClient&) = delete;
  RiskClient& operator=(const RiskClient&) = delete;

  // Queues one assessment. On OK, `done` runs exactly once, on the client's
  // thread, with the final ScoreResult (see types.h for its errors); it must not
  // block (hand slow work to another thread) and must not call Shutdown(); it may
  // Submit() with wait = 0.
  // Backpressure: while max_in_flight requests are outstanding (queued, waiting or
  // in a call) this blocks up to `wait` for a slot.
  // Errors (then `done` is never called):
  //   kResourceExhausted  - still max_in_flight outstanding after `wait`;
  //   kFailedPrecondition - the client is shut down.
  // Thread-safe.
  Status Submit(ScoreRequest request, std::function<void(ScoreResult)> done,
                std::chrono::milliseconds wait);

  // A snapshot of in-flight count, breaker state and call counts. Thread-safe.
  Health health() const;

  // Stops the thread: queued and in-flight requests complete with kCancelled, later
  // Submit() calls fail with kFailedPrecondition. Blocks until the callbacks have
  // run. Idempotent and thread-safe (but not from inside `done`).
  void Shutdown();

 private:
  struct Impl;
  explicit RiskClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastro::risk
