#include "common/metrics.h"

#include <gtest/gtest.h>

namespace lastro::metrics {
namespace {

TEST(Metrics, OpenMetricsHasCountersGaugesHistograms) {
  Registry r;
  r.GetCounter("lastro.decisions", "Decisions", {{"decision", "APPROVED"}}).Add(3);
  r.GetGauge("lastro.lag.bytes", "Lag").Set(1024);
  r.GetHistogram("lastro.latency.ms", "Latency").Observe(5);
  std::string text = r.RenderOpenMetrics();
  EXPECT_NE(text.find("lastro_decisions_total{decision=\"APPROVED\"} 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lastro_lag_bytes 1024"), std::string::npos);
  EXPECT_NE(text.find("lastro_latency_ms_count 1"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 1"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

TEST(Metrics, StatsdSendsCounterDeltas) {
  Registry r;
  Counter& c = r.GetCounter("lastro.x", "x");
  c.Add(5);
  auto first = r.DrainStatsdLines("service:lastro");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], "lastro.x:5|c|#service:lastro");
  c.Add(2);
  EXPECT_EQ(r.DrainStatsdLines("service:lastro")[0], "lastro.x:2|c|#service:lastro");
}

TEST(Metrics, HistogramQuantilesAreOrderedAndBounded) {
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.Observe(i);
  double p50 = h.Quantile(0.5), p99 = h.Quantile(0.99);
  EXPECT_GT(p50, 250);
  EXPECT_LT(p50, 1000);
  EXPECT_GE(p99, p50);
  EXPECT_LE(p99, 1000);
}

TEST(Metrics, SameNameAndLabelsIsSameInstrument) {
  Registry r;
  EXPECT_EQ(&r.GetCounter("a", "h", {{"k", "v"}}), &r.GetCounter("a", "h", {{"k", "v"}}));
  EXPECT_NE(&r.GetCounter("a", "h", {{"k", "v"}}), &r.GetCounter("a", "h", {{"k", "w"}}));
}

}  // namespace
}  // namespace lastro::metrics
