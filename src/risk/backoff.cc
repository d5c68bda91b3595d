#include "risk/backoff.h"

#include <algorithm>

namespace lastro::risk {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, uint64_t seed)
    : base_(std::max(base, std::chrono::milliseconds(1))), max_(std::max(max, base_)), rng_(seed) {}

std::chrono::milliseconds Backoff::Ceiling(int attempt) const {
  attempt = std::max(attempt, 1);
  // Doubling past 2^40 ms would overflow nothing meaningful; stop early.
  int64_t ceiling = base_.count();
  for (int i = 1; i < attempt && ceiling < max_.count(); ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(ceiling, max_.count()));
}

std::chrono::milliseconds Backoff::Delay(int attempt, std::chrono::milliseconds retry_after) {
  std::uniform_int_distribution<int64_t> dist(0, Ceiling(attempt).count());
  std::chrono::milliseconds jittered(dist(rng_));
  return std::max(jittered, retry_after);
}

}  // namespace lastro::risk
