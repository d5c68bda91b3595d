// Capped exponential backoff with full jitter ("Exponential Backoff and Jitter",
// AWS Architecture Blog), honouring a server's Retry-After.
//
// Thread-compatible: one instance per thread (the RiskClient loop owns one).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace lastro::risk {

class Backoff {
 public:
  // `base` > 0 and `max` >= `base` (other values are clamped: base >= 1 ms,
  // max >= base). `seed` makes the jitter reproducible in tests.
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max, uint64_t seed);

  // The ceiling for the delay after failed attempt `attempt` (1 = the first call):
  // min(max, base * 2^(attempt-1)). attempt < 1 is treated as 1.
  std::chrono::milliseconds Ceiling(int attempt) const;

  // The delay before the next attempt: uniform in [0, Ceiling(attempt)], or
  // `retry_after` when the server asked for longer. Retry-After is honoured even
  // above `max`; the caller bounds it by its own deadline.
  std::chrono::milliseconds Delay(
      int attempt, std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds max_;
  std::mt19937_64 rng_;
};

}  // namespace lastro::risk
