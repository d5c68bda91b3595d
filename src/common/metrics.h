// Process metrics, exported two ways with the same names and values:
//   - DogStatsD over UDP to the Datadog agent (`Flush*`), tagged `service:lastro`;
//   - OpenMetrics text for `GET /metrics` (`RenderOpenMetrics`).
//
// Names use dots (`lastro.decisions`); OpenMetrics turns dots into underscores.
// Instruments are created once and live as long as the registry; updating them is
// lock-free (atomics) and safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace lastro::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void Add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed exponential buckets (in the unit of the observations, e.g. milliseconds).
// Quantiles are estimated by linear interpolation inside the bucket.
class Histogram {
 public:
  static constexpr int kBuckets = 24;  // 0.1 .. ~419430 (x2 each), plus +Inf
  void Observe(double v);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // q in [0,1]; 0 when empty.
  double Quantile(double q) const;
  static double UpperBound(int bucket);    // bucket < kBuckets
  uint64_t BucketCount(int bucket) const;  // bucket <= kBuckets (last = +Inf)

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
  std::atomic<double> max_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();
  // Process-wide registry.
  static Registry& Global();

  // Returns the instrument for (name, labels), creating it on first use. The
  // reference stays valid for the registry's lifetime. Thread-safe.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {});

  // OpenMetrics exposition text (ends with "# EOF").
  std::string RenderOpenMetrics() const;

  // DogStatsD datagram lines since the previous call: counters as deltas (|c),
  // gauges (|g), histograms as .count (|c) and .p50/.p95/.p99/.max (|g).
  // `global_tags` is "k:v,k:v".
  std::vector<std::string> DrainStatsdLines(const std::string& global_tags);

 private:
  struct Entry;
  Entry& Get(int kind, const std::string& name, const std::string& help, const Labels& labels);
  mutable std::mutex mu_;  // guards entries_ (the instruments themselves are atomic)
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

// Sends the registry to a DogStatsD agent every `interval` on a background thread.
// UDP is fire-and-forget: an absent agent costs nothing and loses only metrics.
class StatsdExporter {
 public:
  // Errors: kInvalidArgument for an unparsable "host:port".
  static StatusOr<std::unique_ptr<StatsdExporter>> Create(Registry& registry,
                                                          const std::string& addr,
                                                          const std::string& tags,
                                                          std::chrono::milliseconds interval);
  ~StatsdExporter();  // Flushes once more and stops.
  void FlushNow();

 private:
  StatsdExporter(Registry& registry, int fd, std::string tags, std::chrono::milliseconds interval);
  Registry& registry_;
  int fd_;
  std::string tags_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lastro::metrics
