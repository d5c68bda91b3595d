// The dashboard's HTTP surface over real loopback connections, with the hub fed
// directly (no database, no pipeline).
#include "dashboard/routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/fake_clock.h"
#include "web/http_test_client.h"

namespace lastro::dashboard {
namespace {

using web::testing::Fetch;
using web::testing::FetchOptions;
using web::testing::RawClient;
using web::testing::StreamClient;
using web::testing::WaitFor;

decide::CapturedRequest Captured(int64_t id, const Clock& clock, std::string channel = "web") {
  decide::CapturedRequest r;
  r.id = id;
  r.amount_cents = 250000;
  r.channel = std::move(channel);
  r.created_at_us = clock.WallMicros();
  return r;
}

// A hub (stepped by hand: Broadcast() is called by the tests) behind a real server.
struct Dashboard {
  explicit Dashboard(std::string token = "", RouteOptions routes = {},
                     HubOptions hub_options = {}) {
    hub = std::make_unique<DashboardHub>(clock, std::move(hub_options));
    web::ServerOptions options;
    options.addr = "127.0.0.1:0";
    options.threads = 2;
    options.auth_token = std::move(token);
    auto created = web::HttpServer::Create(options);
    EXPECT_TRUE(created.ok()) << created.status();
    server = std::move(*created);
    RegisterRoutes(*server, *hub, routes);
    EXPECT_TRUE(server->Start().ok());
  }
  ~Dashboard() { server->Stop(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  bool WaitSubscribers(size_t n) {
    return WaitFor([&] { return hub->subscribers() == n; });
  }

  testing::FakeClock clock;
  std::unique_ptr<DashboardHub> hub;  // destroyed after the server (declared before)
  std::unique_ptr<web::HttpServer> server;
};

size_t CountRequests(const std::string& body) {
  size_t n = 0;
  for (size_t pos = 0; (pos = body.find("event: request\n", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// The ids of the `event: request` events in an SSE body, in order.
std::vector<int64_t> RequestIds(const std::string& body) {
  std::vector<int64_t> ids;
  size_t pos = 0;
  while ((pos = body.find("event: request\ndata: ", pos)) != std::string::npos) {
    pos += 21;
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) break;  // still arriving
    ids.push_back(nlohmann::json::parse(body.substr(pos, end - pos))["id"].get<int64_t>());
  }
  return ids;
}

TEST(DashboardRoutes, ServesThePageAndEmbeddedAssets) {
  Dashboard d;
  auto page = Fetch(d.Url("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.Header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos);
  EXPECT_NE(page.Header("content-security-policy").find("script-src 'self'"), std::string::npos);
  auto uplot = Fetch(d.Url("/assets/uPlot.iife.min.js"));
  EXPECT_EQ(uplot.status, 200);
  EXPECT_NE(uplot.Header("content-type").find("text/javascript"), std::string::npos);
  EXPECT_GT(uplot.body.size(), 10000u);
  EXPECT_EQ(Fetch(d.Url("/assets/uPlot.min.css")).status, 200);
  EXPECT_EQ(Fetch(d.Url("/assets/style.css")).status, 200);
}

TEST(DashboardRoutes, BadPathsAndMethodsGet4xxWithAMessage) {
  Dashboard d;
  auto missing = Fetch(d.Url("/assets/nope.js"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("error"), std::string::npos);
  auto post = Fetch(d.Url("/api/summary"), FetchOptions().Method("POST").Body("{}"));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(Fetch(d.Url("/api/nothing")).status, 404);
}

TEST(DashboardRoutes, StreamsServerSentEventsWithRetryHintAndIds) {
  Dashboard d;
  StreamClient client(d.Url("/api/events"));
  ASSERT_TRUE(d.WaitSubscribers(1));
  d.hub->OnCaptured(Captured(42, d.clock));
  d.hub->Broadcast();
  ASSERT_TRUE(WaitFor([&] { return client.Body().find("event: request") != std::string::npos; }));
  std::string body = client.Body();
  EXPECT_NE(client.Header("content-type").find("text/event-stream"), std::string::npos);
  EXPECT_EQ(body.rfind("retry: 2000\n\n", 0), 0u);
  uint64_t last = d.hub->last_event_id();
  EXPECT_NE(body.find("event: resync\n"), std::string::npos);
  EXPECT_NE(body.find("id: " + std::to_string(last) + "\nevent: request\ndata: {"),
            std::string::npos);
  EXPECT_EQ(RequestIds(body), std::vector<int64_t>{42});
  EXPECT_EQ(body.substr(body.size() - 2), "\n\n");
}

TEST(DashboardRoutes, ResumesFromLastEventIdWithExactlyTheMissedEvents) {
  Dashboard d;
  for (int i = 1; i <= 3; ++i) d.hub->OnCaptured(Captured(i, d.clock));
  uint64_t seen = d.hub->last_event_id();
  for (int i = 4; i <= 6; ++i) d.hub->OnCaptured(Captured(i, d.clock));
  d.hub->Broadcast();
  // By query (EventSource cannot set headers on the first connection)...
  StreamClient by_query(d.Url("/api/events?lastEventId=" + std::to_string(seen)));
  ASSERT_TRUE(WaitFor([&] { return RequestIds(by_query.Body()).size() == 3; }));
  EXPECT_EQ(RequestIds(by_query.Body()), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(by_query.Body().find("resync"), std::string::npos);
  // ...and by the header a reconnecting browser sends.
  RawClient raw(d.server->port());
  ASSERT_TRUE(raw.Send("GET /api/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " +
                       std::to_string(seen + 1) + "\r\n\r\n"));
  bool eof = false;
  std::string got =
      raw.ReadUntil([](const std::string& s) { return RequestIds(s).size() == 2; }, &eof);
  EXPECT_EQ(RequestIds(got), (std::vector<int64_t>{5, 6}));
  // New events reach both after the replay, in order.
  ASSERT_TRUE(d.WaitSubscribers(2));
  d.hub->OnCaptured(Captured(7, d.clock));
  d.hub->Broadcast();
  ASSERT_TRUE(WaitFor([&] { return RequestIds(by_query.Body()).size() == 4; }));
  EXPECT_EQ(RequestIds(by_query.Body()).back(), 7);
}

TEST(DashboardRoutes, SendsResyncWhenLastEventIdIsTooOld) {
  HubOptions small;
  small.ring_capacity = 2;
  Dashboard d("", {}, small);
  d.hub->OnCaptured(Captured(1, d.clock));
  uint64_t old = d.hub->last_event_id();
  for (int i = 2; i <= 5; ++i) d.hub->OnCaptured(Captured(i, d.clock));
  StreamClient client(d.Url("/api/events?lastEventId=" + std::to_string(old)));
  ASSERT_TRUE(WaitFor([&] { return client.Body().find("event: resync") != std::string::npos; }));
  std::string body = client.Body();
  EXPECT_NE(body.find("\"reason\":\"too_old\""), std::string::npos);
  EXPECT_NE(body.find("id: " + std::to_string(d.hub->last_event_id()) + "\nevent: resync"),
            std::string::npos);
  EXPECT_TRUE(RequestIds(body).empty());
}

TEST(DashboardRoutes, SummaryHasEverythingThePageShows) {
  Dashboard d;
  d.hub->RestoreTodayCounts({{"APPROVED", 3}, {"REJECTED", 1}});
  d.clock.Advance(std::chrono::seconds(1));
  d.hub->OnCaptured(Captured(9, d.clock, "app_ios"));
  d.hub->Tick();
  auto r = Fetch(d.Url("/api/summary"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  auto s = nlohmann::json::parse(r.body);
  for (const char* key : {"server_time", "last_event_id", "today", "approval_rate", "last_tick",
                          "ticks", "latest", "channels"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["today"]["APPROVED"], 3);
  EXPECT_EQ(s["today"]["PENDING"], 1);
  EXPECT_DOUBLE_EQ(s["approval_rate"].get<double>(), 0.75);
  EXPECT_EQ(s["latest"][0]["id"], 9);
  EXPECT_EQ(s["latest"][0]["cpf"], "***.***.***-**");
  EXPECT_EQ(s["channels"], nlohmann::json::array({"app_ios"}));
  for (const char* key : {"rates", "latency_ms", "risk", "replication"}) {
    EXPECT_TRUE(s["last_tick"].contains(key)) << key;
  }
}

TEST(DashboardRoutes, RefusesClientsWithoutTheTokenWhenOneIsSet) {
  Dashboard d("s3cret");
  for (const char* path : {"/", "/api/summary", "/api/events", "/assets/app.js"}) {
    auto r = Fetch(d.Url(path));
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_NE(r.body.find("error"), std::string::npos) << path;
  }
  EXPECT_EQ(
      Fetch(d.Url("/api/summary"), FetchOptions().AddHeader("Authorization: Bearer nope")).status,
      401);
  EXPECT_EQ(
      Fetch(d.Url("/api/summary"), FetchOptions().AddHeader("Authorization: Bearer s3cret")).status,
      200);
  EXPECT_EQ(Fetch(d.Url("/"), FetchOptions().UserPwd("ops:s3cret")).status, 200);
  EXPECT_EQ(d.hub->subscribers(), 0u);
}

TEST(DashboardRoutes, SlowClientIsDroppedWithoutBlockingOthers) {
  RouteOptions routes;
  routes.max_queued_bytes = 64 * 1024;
  Dashboard d("", routes);
  RawClient slow(d.server->port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(slow.Send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(d.WaitSubscribers(1));
  StreamClient fast(d.Url("/api/events"));
  ASSERT_TRUE(d.WaitSubscribers(2));
  // The slow client never reads: kernel buffers fill, then its queue, then the hub
  // drops it. The fast one is kept caught up and must get every event, in order.
  std::string big(3000, 'x');
  int64_t id = 0;
  while (d.hub->dropped_subscribers() == 0 && id < 5000) {
    d.hub->OnCaptured(Captured(++id, d.clock, big));
    d.hub->Broadcast();
    if (id % 16 == 0) {
      ASSERT_TRUE(WaitFor([&] { return CountRequests(fast.Body()) == size_t(id); }));
    }
  }
  ASSERT_EQ(d.hub->dropped_subscribers(), 1u)
      << "events " << id << " subscribers " << d.hub->subscribers();
  EXPECT_EQ(d.hub->subscribers(), 1u);
  for (int i = 0; i < 20; ++i) d.hub->OnCaptured(Captured(++id, d.clock, "web"));
  d.hub->Broadcast();
  ASSERT_TRUE(WaitFor([&] { return RequestIds(fast.Body()).size() == size_t(id); }));
  std::vector<int64_t> ids = RequestIds(fast.Body());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], int64_t(i + 1));
  // The dropped client's connection is closed (its browser would then reconnect).
  bool eof = false;
  slow.ReadUntil([](const std::string&) { return false; }, &eof, std::chrono::seconds(10));
  EXPECT_TRUE(eof);
}

}  // namespace
}  // namespace lastro::dashboard

namespace lastro::dashboard {
namespace {

TEST(DashboardRoutes, ManyViewersEachGetEveryEventInOrder) {
  Dashboard d;
  constexpr int kViewers = 10;
  std::vector<std::unique_ptr<StreamClient>> viewers;
  for (int i = 0; i < kViewers; ++i) {
    viewers.push_back(std::make_unique<StreamClient>(d.Url("/api/events")));
  }
  ASSERT_TRUE(d.WaitSubscribers(kViewers));
  d.hub->Start();
  constexpr int kEvents = 500;
  std::thread pipeline([&] {
    for (int i = 1; i <= kEvents; ++i) d.hub->OnCaptured(Captured(i, d.clock));
  });
  pipeline.join();
  for (auto& v : viewers) {
    ASSERT_TRUE(WaitFor([&] { return CountRequests(v->Body()) == size_t(kEvents); },
                        std::chrono::seconds(30)))
        << CountRequests(v->Body()) << " of " << kEvents;
  }
  std::vector<int64_t> ids = RequestIds(viewers[0]->Body());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], int64_t(i + 1));
  d.hub->Stop();
}

}  // namespace
}  // namespace lastro::dashboard
