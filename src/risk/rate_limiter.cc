#include "risk/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace lastro::risk {

RateLimiter::RateLimiter(double rate_per_s, double burst, const Clock& clock)
    : rate_per_s_(rate_per_s),
      burst_(std::max(burst, 1.0)),
      clock_(clock),
      tokens_(burst_),
      last_(clock.Now()) {}

std::chrono::nanoseconds RateLimiter::TryAcquire() {
  if (unlimited()) return std::chrono::nanoseconds(0);
  auto now = clock_.Now();
  if (now > last_) {
    double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * rate_per_s_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::chrono::nanoseconds(0);
  }
  double wait_s = (1.0 - tokens_) / rate_per_s_;
  return std::chrono::nanoseconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s * 1e9))));
}

}  // namespace lastro::risk
