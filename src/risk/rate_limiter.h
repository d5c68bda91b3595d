// A client-side rate limit: a token bucket refilled at `rate_per_s`, holding at most
// `burst` tokens (it starts full). Callers ask for a token; when none is available
// they learn how long to wait instead of blocking, which suits an event loop.
//
// rate_per_s <= 0 means unlimited. Thread-compatible. Time comes from the Clock.
#pragma once

#include <chrono>

#include "common/clock.h"

namespace lastro::risk {

class RateLimiter {
 public:
  // burst is clamped to >= 1.
  RateLimiter(double rate_per_s, double burst, const Clock& clock);

  // Takes one token and returns 0, or takes nothing and returns how long until
  // a token will be available.
  std::chrono::nanoseconds TryAcquire();
  bool unlimited() const { return rate_per_s_ <= 0; }

 private:
  double rate_per_s_;
  double burst_;
  const Clock& clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace lastro::risk
