// Small building blocks of the dashboard's figures: a sliding window of latencies
// with percentiles, and the business day in America/Sao_Paulo.
// Not thread-safe: the owner (DashboardHub) guards them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace lastro::dashboard {

// Latency samples of the last `window`, at most `max_samples` of them (the oldest are
// dropped first, so a burst cannot grow memory without bound).
class LatencyWindow {
 public:
  LatencyWindow(std::chrono::steady_clock::duration window, size_t max_samples)
      : window_(window), max_samples_(max_samples) {}

  // Records one sample taken at `now`. Negative values are recorded as 0 (clock skew
  // between the database and this host).
  void Add(std::chrono::steady_clock::time_point now, double ms);

  struct Percentiles {
    double p50 = 0, p95 = 0, p99 = 0;
    size_t samples = 0;  // 0: the percentiles are meaningless (reported as null)
  };
  // Percentiles (nearest rank) over the samples younger than the window at `now`;
  // drops the older ones. O(n) in the number of samples.
  Percentiles Compute(std::chrono::steady_clock::time_point now);

 private:
  void Expire(std::chrono::steady_clock::time_point now);
  std::chrono::steady_clock::duration window_;
  size_t max_samples_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, double>> samples_;
};

// The local calendar day of an instant in America/Sao_Paulo, as days since
// 1970-01-01 (a number that only grows), using the system's zoneinfo; falls back to
// UTC-3 (Brazil has had no daylight saving time since 2019) when it is missing.
int64_t SaoPauloDay(int64_t unix_micros);

// "2026-01-01T00:00:00.123Z" (UTC, milliseconds), the format the page parses.
std::string IsoUtc(int64_t unix_micros);

}  // namespace lastro::dashboard
