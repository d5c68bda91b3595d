// A Clock that only moves when a test says so. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace lastro::testing {

class FakeClock final : public Clock {
 public:
  // Starts at an arbitrary steady time and at 2026-01-01T00:00:00Z wall time.
  FakeClock() = default;

  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_ns_.load()));
  }
  int64_t WallMicros() const override { return wall_base_us_ + now_ns_.load() / 1000; }

  // Moves both clocks forward by `d` (negative values are ignored).
  void Advance(std::chrono::nanoseconds d) {
    if (d.count() > 0) now_ns_.fetch_add(d.count());
  }

 private:
  static constexpr int64_t kStartNs = int64_t{1'000'000} * 1'000'000'000;  // ~11.6 days
  static constexpr int64_t kWallBaseUs = int64_t{1'767'225'600} * 1'000'000;
  std::atomic<int64_t> now_ns_{kStartNs};
  int64_t wall_base_us_ = kWallBaseUs - kStartNs / 1000;
};

}  // namespace lastro::testing
