#include "risk/resilience.h"

#include <algorithm>
#include <cstdint>

namespace lastro::risk {
namespace {

using Ms = std::chrono::milliseconds;

// How soon to look again at a breaker that is half-open with its probe out.
constexpr Ms kBreakerRecheck{100};

}  // namespace

Resilience::Resilience(const ResilienceSettings& s, const Clock& clock)
    : backoff(Ms(s.backoff_base_ms), Ms(s.backoff_max_ms),
              static_cast<uint64_t>(clock.WallMicros())),
      budget(s.retry_budget_ratio, s.retry_budget_min_per_s,
             std::max(10.0, 10.0 * s.retry_budget_min_per_s), clock),
      breaker(
          {s.breaker_window, s.breaker_min_calls, s.breaker_failure_ratio, Ms(s.breaker_open_ms)},
          clock),
      limiter(s.rate_limit_per_s, std::max(1.0, s.rate_limit_per_s / 10), clock) {}

Resilience::Admission Resilience::Admit(TimePoint now, TimePoint deadline) {
  Admission a;
  if (!breaker.WouldAdmit()) {
    a.waiting_breaker = true;
    TimePoint until = breaker.open_until();
    if (until == TimePoint::min()) until = now + kBreakerRecheck;
    a.next_at = std::min(until, deadline);
    return a;
  }
  auto wait = limiter.TryAcquire();
  if (wait > std::chrono::nanoseconds(0)) {
    // The loops poll in whole milliseconds.
    a.next_at = std::min(now + std::chrono::ceil<Ms>(wait), deadline);
    return a;
  }
  a.send = true;
  a.probe = breaker.TryAcquire() == CircuitBreaker::Admission::kProbe;
  return a;
}

}  // namespace lastro::risk
