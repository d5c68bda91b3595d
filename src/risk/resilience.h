// The resilience set of a client of an outside API (README.md, "How a request
// flows"): capped exponential backoff with full jitter, a retry budget, a circuit
// breaker and a client-side rate limit, built with one set of formulas from the
// settings RiskConfig and BureauConfig both spell the same way; and the admission
// step every call goes through before it is sent. The risk client applies it per
// request, the bureau client (src/batch/bureau_client.h) per batch of CPFs.
//
// Thread-compatible: one owner at a time (the risk client's loop thread, the bureau
// client's Fetch() under its mutex). Time comes from the Clock.
#pragma once

#include <chrono>

#include "common/clock.h"
#include "risk/backoff.h"
#include "risk/circuit_breaker.h"
#include "risk/rate_limiter.h"
#include "risk/retry_budget.h"

namespace lastro::risk {

// The numeric settings, named as in the config files.
struct ResilienceSettings {
  int backoff_base_ms = 50;
  int backoff_max_ms = 2000;
  double retry_budget_ratio = 0.2;  // retries per first attempt, long run
  int retry_budget_min_per_s = 10;
  double rate_limit_per_s = 0;  // 0 = unlimited
  int breaker_window = 50;
  double breaker_failure_ratio = 0.5;
  int breaker_min_calls = 20;
  int breaker_open_ms = 5000;

  // The fields of these names in `config` (a RiskConfig or a BureauConfig; the
  // config files depend on the names, so each config keeps its own).
  template <typename Config>
  static ResilienceSettings Of(const Config& config) {
    return {config.backoff_base_ms,        config.backoff_max_ms,    config.retry_budget_ratio,
            config.retry_budget_min_per_s, config.rate_limit_per_s,  config.breaker_window,
            config.breaker_failure_ratio,  config.breaker_min_calls, config.breaker_open_ms};
  }
};

struct Resilience {
  using TimePoint = std::chrono::steady_clock::time_point;

  // `settings` are validated by the client's Create(). `clock` must outlive this;
  // its wall time seeds the backoff's jitter. The retry budget's bucket holds
  // max(10, 10 x retry_budget_min_per_s) tokens, the rate limit's burst is 0.1 s
  // of calls (at least 1).
  Resilience(const ResilienceSettings& settings, const Clock& clock);

  // What a call that is due at `now`, and must end by `deadline`, does next. The
  // caller checks the deadline itself first (its error differs per client).
  struct Admission {
    bool send = false;             // send the call now; the breaker and limiter admitted it
    bool probe = false;            // with send: the half-open breaker's one probe
    bool waiting_breaker = false;  // not sent: the breaker refuses calls (no attempt spent)
    TimePoint next_at;             // not sent: look again then (never after `deadline`)
  };
  // Open breaker: wait until it turns half-open (or, with the probe out, look again
  // soon in case the probe fails and re-opens it). Then the rate limit: wait for a
  // token. Then admit, taking the breaker's probe slot when half-open.
  Admission Admit(TimePoint now, TimePoint deadline);

  Backoff backoff;
  RetryBudget budget;
  CircuitBreaker breaker;
  RateLimiter limiter;
};

}  // namespace lastro::risk
