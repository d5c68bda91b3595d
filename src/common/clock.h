// Injectable time source. Production code takes a `Clock&` so that tests can
// drive timeouts, backoff and circuit breakers without sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace lastro {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for durations and deadlines. Thread-safe.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Wall-clock time in microseconds since the Unix epoch (UTC). Thread-safe.
  virtual int64_t WallMicros() const = 0;
};

// The real clock. Stateless; `RealClock::Instance()` is shared process-wide.
class RealClock final : public Clock {
 public:
  static RealClock& Instance() {
    static RealClock clock;
    return clock;
  }
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  int64_t WallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace lastro
