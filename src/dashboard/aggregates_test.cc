#include "dashboard/aggregates.h"

#include <gtest/gtest.h>

namespace lastro::dashboard {
namespace {

using std::chrono::seconds;

TEST(LatencyWindow, ReportsNearestRankPercentiles) {
  LatencyWindow w(seconds(60), 1000);
  auto t = std::chrono::steady_clock::time_point(seconds(100));
  for (int i = 1; i <= 100; ++i) w.Add(t, i);
  LatencyWindow::Percentiles p = w.Compute(t);
  EXPECT_EQ(p.samples, 100u);
  EXPECT_EQ(p.p50, 50);
  EXPECT_EQ(p.p95, 95);
  EXPECT_EQ(p.p99, 99);
}

TEST(LatencyWindow, ForgetsSamplesOlderThanTheWindow) {
  LatencyWindow w(seconds(60), 1000);
  auto t = std::chrono::steady_clock::time_point(seconds(100));
  w.Add(t, 1000);
  w.Add(t + seconds(30), 5);
  EXPECT_EQ(w.Compute(t + seconds(61)).samples, 1u);
  EXPECT_EQ(w.Compute(t + seconds(61)).p99, 5);
  EXPECT_EQ(w.Compute(t + seconds(200)).samples, 0u);
}

TEST(LatencyWindow, KeepsAtMostMaxSamplesAndClampsNegatives) {
  LatencyWindow w(seconds(60), 3);
  auto t = std::chrono::steady_clock::time_point(seconds(1));
  for (double v : {100.0, 200.0, -5.0, 1.0, 2.0}) w.Add(t, v);
  LatencyWindow::Percentiles p = w.Compute(t);
  EXPECT_EQ(p.samples, 3u);
  EXPECT_EQ(p.p50, 1);
  EXPECT_EQ(p.p99, 2);
}

TEST(SaoPauloDay, ChangesAtLocalMidnightNotUtcMidnight) {
  // 2026-03-10T02:59:59Z is still 2026-03-09 in Sao Paulo (UTC-3); 03:00Z is the 10th.
  int64_t before = int64_t{1773111599} * 1'000'000;
  int64_t after = before + 1'000'000;
  EXPECT_EQ(SaoPauloDay(after) - SaoPauloDay(before), 1);
  EXPECT_EQ(SaoPauloDay(before), SaoPauloDay(before - int64_t{20} * 3600 * 1'000'000));
}

TEST(IsoUtc, FormatsMillisecondsInUtc) {
  EXPECT_EQ(IsoUtc(int64_t{1767225600} * 1'000'000 + 123456), "2026-01-01T00:00:00.123Z");
}

}  // namespace
}  // namespace lastro::dashboard
