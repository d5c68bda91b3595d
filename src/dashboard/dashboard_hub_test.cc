#include "dashboard/dashboard_hub.h"

#include <gtest/gtest.h>

#include <mutex>

#include "testing/fake_clock.h"
#include "testing/wait_for.h"

namespace lastro::dashboard {
namespace {

using nlohmann::json;

struct SseEvent {
  uint64_t id = 0;
  std::string type;
  json data;
};

// Splits SSE text into events (comments and `retry:` lines are skipped).
std::vector<SseEvent> Parse(const std::string& text) {
  std::vector<SseEvent> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string block = text.substr(pos, end - pos);
    pos = end + 2;
    SseEvent e;
    bool any = false;
    size_t lp = 0;
    while (lp <= block.size()) {
      size_t le = block.find('\n', lp);
      if (le == std::string::npos) le = block.size();
      std::string line = block.substr(lp, le - lp);
      lp = le + 1;
      if (line.rfind("id: ", 0) == 0) e.id = std::stoull(line.substr(4)), any = true;
      if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data = json::parse(line.substr(6));
    }
    if (any) out.push_back(std::move(e));
  }
  return out;
}

// A sink that records what it gets; can be told to refuse (a slow client).
struct Recorder {
  std::mutex mu;
  std::string text;
  bool refuse = false;
  Sink sink() {
    return [this](std::string s) {
      std::lock_guard lock(mu);
      if (refuse) return false;
      text += s;
      return true;
    };
  }
  std::vector<SseEvent> events() {
    std::lock_guard lock(mu);
    return Parse(text);
  }
};

decide::CapturedRequest Captured(int64_t id, const testing::FakeClock& clock,
                                 std::string channel = "app_android") {
  decide::CapturedRequest r;
  r.id = id;
  r.amount_cents = 150000;
  r.channel = std::move(channel);
  r.status = "PENDING";
  r.created_at_us = clock.WallMicros();
  r.commit_time_us = clock.WallMicros();
  return r;
}

decide::Decision Decided(int64_t id, const std::string& status, const testing::FakeClock& clock) {
  decide::Decision d;
  d.request_id = id;
  d.status = status;
  d.score = 812;
  d.risk_band = "B";
  d.channel = "app_android";
  d.amount_cents = 150000;
  d.created_at_us = clock.WallMicros();
  d.commit_time_us = clock.WallMicros();
  d.provider_latency_ms = 12.5;
  d.attempts = 1;
  d.cpf_masked = "***.456.789-**";
  return d;
}

TEST(DashboardHub, NewSubscriberGetsRetryHintAndResyncSnapshot) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  hub.RestoreTodayCounts({{"APPROVED", 4}, {"PENDING", 1}});
  Recorder rec;
  hub.Subscribe(std::nullopt, rec.sink(), "retry: 2000\n\n");
  EXPECT_EQ(rec.text.rfind("retry: 2000\n\n", 0), 0u);
  auto events = rec.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "resync");
  EXPECT_EQ(events[0].data["reason"], "initial");
  EXPECT_EQ(events[0].data["today"]["APPROVED"], 4);
  EXPECT_EQ(events[0].id, hub.last_event_id());
}

TEST(DashboardHub, BroadcastsRequestAndStatusEventsWithIncreasingIds) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  Recorder rec;
  hub.Subscribe(std::nullopt, rec.sink());
  hub.OnCaptured(Captured(7, clock));
  clock.Advance(std::chrono::milliseconds(40));
  decide::Decision d = Decided(7, "APPROVED", clock);
  d.commit_time_us -= 40'000;  // the request committed 40 ms before the decision
  hub.OnDecided(d, true, clock.WallMicros());
  hub.Broadcast();
  auto events = rec.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].type, "request");
  EXPECT_EQ(events[1].data["id"], 7);
  EXPECT_EQ(events[1].data["status"], "PENDING");
  EXPECT_EQ(events[1].data["cpf"], "***.***.***-**");
  EXPECT_EQ(events[1].data["amount_cents"], 150000);
  EXPECT_EQ(events[2].type, "status");
  EXPECT_EQ(events[2].data["status"], "APPROVED");
  EXPECT_EQ(events[2].data["cpf"], "***.456.789-**");
  EXPECT_EQ(events[2].data["band"], "B");
  EXPECT_DOUBLE_EQ(events[2].data["decision_ms"].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(events[2].data["provider_ms"].get<double>(), 12.5);
  EXPECT_EQ(events[2].id, events[1].id + 1);
  EXPECT_GT(events[1].id, events[0].id);
}

TEST(DashboardHub, ResumesAfterLastEventIdWithExactlyTheMissedEvents) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  for (int i = 1; i <= 5; ++i) hub.OnCaptured(Captured(i, clock));
  uint64_t seen = hub.last_event_id() - 2;  // the client saw requests 1..3
  Recorder rec;
  hub.Subscribe(seen, rec.sink());
  hub.OnCaptured(Captured(6, clock));
  hub.Broadcast();
  auto events = rec.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data["id"], 4);
  EXPECT_EQ(events[1].data["id"], 5);
  EXPECT_EQ(events[2].data["id"], 6);
  EXPECT_EQ(events[0].id, seen + 1);
}

TEST(DashboardHub, ResumingAtTheNewestIdReplaysNothing) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  hub.OnCaptured(Captured(1, clock));
  Recorder rec;
  hub.Subscribe(hub.last_event_id(), rec.sink());
  EXPECT_TRUE(rec.events().empty());
}

TEST(DashboardHub, ResyncsWhenLastEventIdIsOlderThanTheRing) {
  testing::FakeClock clock;
  HubOptions options;
  options.ring_capacity = 3;
  DashboardHub hub(clock, options);
  hub.OnCaptured(Captured(1, clock));
  uint64_t old = hub.last_event_id();
  for (int i = 2; i <= 6; ++i) hub.OnCaptured(Captured(i, clock));
  Recorder rec;
  hub.Subscribe(old, rec.sink());
  auto events = rec.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "resync");
  EXPECT_EQ(events[0].data["reason"], "too_old");
  EXPECT_EQ(events[0].id, hub.last_event_id());
  EXPECT_EQ(events[0].data["latest"].size(), 6u);
  EXPECT_EQ(events[0].data["latest"][0]["id"], 6);  // newest first
}

TEST(DashboardHub, ResyncsWhenLastEventIdIsUnknown) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  hub.OnCaptured(Captured(1, clock));
  for (uint64_t id : {uint64_t{0}, hub.last_event_id() + 100}) {
    Recorder rec;
    hub.Subscribe(id, rec.sink());
    auto events = rec.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "resync");
    EXPECT_EQ(events[0].data["reason"], "unknown_id");
  }
}

TEST(DashboardHub, ResyncsInsteadOfAReplayLargerThanTheLimit) {
  testing::FakeClock clock;
  HubOptions options;
  options.max_replay_bytes = 600;
  DashboardHub hub(clock, options);
  uint64_t start = hub.last_event_id();
  for (int i = 1; i <= 10; ++i) hub.OnCaptured(Captured(i, clock));
  Recorder rec;
  hub.Subscribe(start, rec.sink());
  auto events = rec.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["reason"], "too_far_behind");
}

TEST(DashboardHub, KeepsTodayCountsFromRestoreThenStream) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  decide::CapturedRequest before_restore = Captured(1, clock);
  clock.Advance(std::chrono::seconds(1));
  hub.RestoreTodayCounts({{"PENDING", 2}, {"APPROVED", 5}});
  hub.OnCaptured(before_restore);  // already counted by the restore
  hub.OnCaptured(Captured(10, clock));
  hub.OnCaptured(Captured(10, clock));  // a replayed capture
  EXPECT_EQ(hub.Summary()["today"]["PENDING"], 3);
  hub.OnDecided(Decided(10, "APPROVED", clock), true, clock.WallMicros());
  hub.OnDecided(Decided(10, "APPROVED", clock), false, clock.WallMicros());  // replay
  hub.OnDecided(Decided(11, "REJECTED", clock), true, clock.WallMicros());
  json s = hub.Summary();
  EXPECT_EQ(s["today"]["PENDING"], 1);
  EXPECT_EQ(s["today"]["APPROVED"], 6);
  EXPECT_EQ(s["today"]["REJECTED"], 1);
  EXPECT_EQ(s["decided_today"], 7);
  EXPECT_DOUBLE_EQ(s["approval_rate"].get<double>(), 6.0 / 7.0);
}

TEST(DashboardHub, StartsCountingAfreshAtSaoPauloMidnight) {
  testing::FakeClock clock;  // 2026-01-01T00:00Z = 2025-12-31 21:00 in Sao Paulo
  DashboardHub hub(clock, {});
  hub.RestoreTodayCounts({{"APPROVED", 5}});
  clock.Advance(std::chrono::hours(2) + std::chrono::minutes(59));
  hub.OnCaptured(Captured(1, clock));
  EXPECT_EQ(hub.Summary()["today"]["APPROVED"], 5);
  clock.Advance(std::chrono::minutes(2));  // 00:01 local
  hub.OnDecided(Decided(1, "APPROVED", clock), true, clock.WallMicros());
  json today = hub.Summary()["today"];
  EXPECT_EQ(today["APPROVED"], 1);
  EXPECT_EQ(today.value("PENDING", 0), 0);
}

TEST(DashboardHub, TickReportsRatesLatencyAndGauges) {
  testing::FakeClock clock;
  HubOptions options;
  options.gauges = [] {
    Gauges g;
    g.risk_in_flight = 3;
    g.risk_circuit = "open";
    g.risk_error_rate = 0.25;
    g.lag_bytes = 4096;
    g.lag_seconds = 0.5;
    g.attached = true;
    return g;
  };
  DashboardHub hub(clock, options);
  Recorder rec;
  hub.Subscribe(std::nullopt, rec.sink());
  for (int i = 1; i <= 4; ++i) hub.OnCaptured(Captured(i, clock, i % 2 ? "web" : "app_ios"));
  for (int i = 1; i <= 100; ++i) {
    decide::Decision d = Decided(i, i <= 50 ? "APPROVED" : "REJECTED", clock);
    d.commit_time_us -= i * 1000;  // decided i ms after its commit
    hub.OnDecided(d, true, clock.WallMicros());
  }
  clock.Advance(std::chrono::seconds(2));
  hub.Tick();
  hub.Broadcast();
  auto events = rec.events();
  ASSERT_EQ(events.back().type, "tick");
  json t = events.back().data;
  EXPECT_DOUBLE_EQ(t["interval_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(t["rates"]["web"]["PENDING"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(t["rates"]["app_android"]["APPROVED"].get<double>(), 25.0);
  EXPECT_EQ(t["latency_ms"]["p50"], 50.0);
  EXPECT_EQ(t["latency_ms"]["p95"], 95.0);
  EXPECT_EQ(t["latency_ms"]["p99"], 99.0);
  EXPECT_EQ(t["risk"]["circuit"], "open");
  EXPECT_EQ(t["risk"]["in_flight"], 3);
  EXPECT_EQ(t["replication"]["lag_bytes"], 4096);
  EXPECT_EQ(t["today"]["APPROVED"], 50);
  EXPECT_DOUBLE_EQ(t["approval_rate"].get<double>(), 0.5);
  // The next tick starts a new interval; the window still holds the latencies.
  clock.Advance(std::chrono::seconds(1));
  hub.Tick();
  json s = hub.Summary();
  EXPECT_TRUE(s["last_tick"]["rates"].empty());
  EXPECT_EQ(s["last_tick"]["latency_ms"]["samples"], 100);
  EXPECT_EQ(s["ticks"].size(), 2u);
  clock.Advance(std::chrono::seconds(61));
  hub.Tick();
  EXPECT_TRUE(hub.Summary()["last_tick"]["latency_ms"]["p99"].is_null());
}

TEST(DashboardHub, DropsASubscriberThatRefusesAndKeepsServingOthers) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  Recorder slow, fast;
  hub.Subscribe(std::nullopt, slow.sink());
  hub.Subscribe(std::nullopt, fast.sink());
  slow.refuse = true;
  hub.OnCaptured(Captured(1, clock));
  hub.Broadcast();
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_EQ(hub.dropped_subscribers(), 1u);
  hub.OnCaptured(Captured(2, clock));
  hub.Broadcast();
  EXPECT_EQ(fast.events().size(), 3u);
}

TEST(DashboardHub, KeepsOnlyTheLatestRequestsNewestFirst) {
  testing::FakeClock clock;
  HubOptions options;
  options.latest_capacity = 3;
  DashboardHub hub(clock, options);
  for (int i = 1; i <= 5; ++i) hub.OnCaptured(Captured(i, clock));
  hub.OnDecided(Decided(4, "REJECTED", clock), true, clock.WallMicros());
  json latest = hub.Summary()["latest"];
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0]["id"], 5);
  EXPECT_EQ(latest[1]["id"], 4);
  EXPECT_EQ(latest[1]["status"], "REJECTED");
  EXPECT_EQ(latest[2]["id"], 3);
}

TEST(DashboardHub, ThreadDeliversEventsWithoutBeingStepped) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  Recorder rec;
  hub.Subscribe(std::nullopt, rec.sink());
  hub.Start();
  hub.OnCaptured(Captured(1, clock));
  EXPECT_TRUE(testing::WaitFor([&] { return rec.events().size() == 2; }, std::chrono::seconds(10)));
  hub.Stop();
  EXPECT_EQ(hub.subscribers(), 0u);
}

}  // namespace
}  // namespace lastro::dashboard

namespace lastro::dashboard {
namespace {

TEST(DashboardHub, EverySubscriberGetsEveryEventWhileThePipelineIsBusy) {
  testing::FakeClock clock;
  DashboardHub hub(clock, {});
  std::vector<std::unique_ptr<Recorder>> recs;
  for (int i = 0; i < 50; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    hub.Subscribe(std::nullopt, recs.back()->sink());
  }
  hub.Start();
  constexpr int kPerThread = 2000;
  std::vector<std::thread> pipeline;
  for (int t = 0; t < 2; ++t) {
    pipeline.emplace_back([&, t] {
      for (int i = 1; i <= kPerThread; ++i) {
        hub.OnDecided(Decided(t * kPerThread + i, "APPROVED", clock), true, clock.WallMicros());
      }
    });
  }
  for (auto& th : pipeline) th.join();
  auto count = [](Recorder& r) {
    std::lock_guard lock(r.mu);
    size_t n = 0;
    for (size_t p = 0; (p = r.text.find("event: status\n", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  for (auto& r : recs) {
    ASSERT_TRUE(
        testing::WaitFor([&] { return count(*r) == 2 * kPerThread; }, std::chrono::seconds(20)))
        << count(*r);
    std::vector<SseEvent> events = r->events();
    for (size_t i = 1; i < events.size(); ++i) ASSERT_EQ(events[i].id, events[i - 1].id + 1);
  }
  hub.Stop();
}

}  // namespace
}  // namespace lastro::dashboard
