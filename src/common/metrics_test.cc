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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lastro::metrics {
namespace {

// A real UDP socket stands in for the Datadog agent.
TEST(StatsdExporter, SendsDogStatsdDatagramsWithTags) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  Registry r;
  r.GetCounter("lastro.decisions", "d", {{"decision", "APPROVED"}}).Add(7);
  auto exporter = StatsdExporter::Create(r, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)),
                                         "service:lastro,env:test", std::chrono::hours(1));
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  (*exporter)->FlushNow();
  char buf[2048];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, size_t(n)),
            "lastro.decisions:7|c|#service:lastro,env:test,decision:APPROVED");
  close(fd);
}

TEST(StatsdExporter, RefusesAnUnparsableAddress) {
  Registry r;
  EXPECT_TRUE(absl::IsInvalidArgument(
      StatsdExporter::Create(r, "no-port", "", std::chrono::seconds(1)).status()));
}

}  // namespace
}  // namespace lastro::metrics
