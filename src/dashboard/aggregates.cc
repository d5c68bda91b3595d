#include "dashboard/aggregates.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lastro::dashboard {

void LatencyWindow::Add(std::chrono::steady_clock::time_point now, double ms) {
  samples_.emplace_back(now, std::max(ms, 0.0));
  while (samples_.size() > max_samples_) samples_.pop_front();
}

void LatencyWindow::Expire(std::chrono::steady_clock::time_point now) {
  while (!samples_.empty() && now - samples_.front().first > window_) samples_.pop_front();
}

LatencyWindow::Percentiles LatencyWindow::Compute(std::chrono::steady_clock::time_point now) {
  Expire(now);
  Percentiles p;
  p.samples = samples_.size();
  if (samples_.empty()) return p;
  std::vector<double> v;
  v.reserve(samples_.size());
  for (const auto& s : samples_) v.push_back(s.second);
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto rank = [&](double q) {
    size_t k = size_t(std::ceil(q * double(v.size())));
    k = std::clamp<size_t>(k, 1, v.size()) - 1;
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
  };
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.p99 = rank(0.99);
  return p;
}

namespace {
const absl::TimeZone& SaoPaulo() {
  static const absl::TimeZone tz = [] {
    absl::TimeZone z;
    if (absl::LoadTimeZone("America/Sao_Paulo", &z)) return z;
    return absl::FixedTimeZone(-3 * 3600);
  }();
  return tz;
}
}  // namespace

int64_t SaoPauloDay(int64_t unix_micros) {
  absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMicros(unix_micros), SaoPaulo());
  return day - absl::CivilDay(1970, 1, 1);
}

std::string IsoUtc(int64_t unix_micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(unix_micros),
                          absl::UTCTimeZone());
}

}  // namespace lastro::dashboard
