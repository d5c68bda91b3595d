// Server-Sent Events over real loopback connections.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "web/http_server.h"
#include "web/http_test_client.h"

namespace lastro::web {
namespace {

using testing::OpenedStreams;
using testing::RawClient;
using testing::StreamClient;
using testing::WaitFor;

// A server whose GET /events?limit=N opens a stream with that queue limit.
std::unique_ptr<HttpServer> MakeStreamServer(OpenedStreams* streams) {
  ServerOptions options;
  options.addr = "127.0.0.1:0";
  options.threads = 2;
  auto server = HttpServer::Create(options);
  EXPECT_TRUE(server.ok()) << server.status();
  (*server)->Route("GET", "/events", [streams](const Request& req, const Responder& r) {
    Response head;
    head.content_type = "text/event-stream";
    size_t limit = req.query.count("limit") ? std::stoul(req.query.at("limit")) : 1 << 20;
    std::shared_ptr<EventStream> s = r.OpenStream(head, limit);
    streams->Add(s);
  });
  (*server)->Route("GET", "/used", [](const Request&, const Responder& r) {
    r.Send(Response::Json(200, "{}"));
    auto late = r.OpenStream(Response(), 100);
    Response res = Response::Json(200, "{}");
    if (!late->closed() && late->Write("x")) {
      res.status = 500;  // must not reach the client
    }
  });
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(*server);
}

std::string Url(const HttpServer& server, const std::string& target) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + target;
}

std::string Event(int i, size_t padding = 0) {
  return "id: " + std::to_string(i) + "\ndata: {\"n\":" + std::to_string(i) + ",\"pad\":\"" +
         std::string(padding, 'p') + "\"}\n\n";
}

TEST(EventStream, DeliversEventsInOrderWithStreamHeaders) {
  OpenedStreams streams;
  auto server = MakeStreamServer(&streams);
  StreamClient client(Url(*server, "/events"));
  ASSERT_TRUE(WaitFor([&] { return streams.size() == 1; }));
  std::shared_ptr<EventStream> s = streams.at(0);
  std::string expected;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(s->Write(Event(i)));
    expected += Event(i);
  }
  s->Close();
  EXPECT_TRUE(s->closed());
  EXPECT_FALSE(s->Write("late"));
  ASSERT_TRUE(WaitFor([&] { return client.done(); }));
  EXPECT_EQ(client.code(), CURLE_OK);  // a clean end of the chunked body
  EXPECT_EQ(client.Body(), expected);
  EXPECT_EQ(client.Header("content-type"), "text/event-stream");
  EXPECT_EQ(client.Header("cache-control"), "no-cache");
  EXPECT_EQ(client.Header("x-accel-buffering"), "no");
  EXPECT_EQ(client.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(client.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(client.Header("x-frame-options"), "DENY");
  ASSERT_TRUE(WaitFor([&] { return streams.closes_of(0) == 1; }));
  s->Close();  // idempotent, and OnClose does not fire again
  EXPECT_EQ(streams.closes_of(0), 1);
}

TEST(EventStream, FiresOnCloseWhenClientDisconnects) {
  OpenedStreams streams;
  auto server = MakeStreamServer(&streams);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return streams.size() == 1; }));
  ASSERT_TRUE(streams.at(0)->Write(Event(1)));
  bool eof = false;
  std::string got = client.ReadUntil(
      [](const std::string& s) { return s.find("id: 1") != std::string::npos; }, &eof);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  client.Close();
  // No write is needed to notice: the pending read sees the hang-up.
  ASSERT_TRUE(WaitFor([&] { return streams.closes_of(0) == 1; }));
  EXPECT_TRUE(streams.at(0)->closed());
  EXPECT_FALSE(streams.at(0)->Write(Event(2)));
}

TEST(EventStream, DisconnectsSlowClientWhileFastClientKeepsReceiving) {
  OpenedStreams streams;
  auto server = MakeStreamServer(&streams);
  RawClient slow(server->port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(slow.Send("GET /events?limit=65536 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return streams.size() == 1; }));
  StreamClient fast(Url(*server, "/events?limit=16777216"));
  ASSERT_TRUE(WaitFor([&] { return streams.size() == 2; }));
  std::shared_ptr<EventStream> slow_stream = streams.at(0);
  std::shared_ptr<EventStream> fast_stream = streams.at(1);

  std::string expected;
  int i = 0;
  bool slow_cut = false;
  // The slow client never reads: kernel buffers fill, then its 64 KiB queue, then it
  // is dropped. The fast client is kept caught up, so its queue stays near empty.
  while (!slow_cut && i < 100000) {
    std::string event = Event(i++, 4000);
    ASSERT_TRUE(fast_stream->Write(event)) << "fast client cut at event " << i;
    expected += event;
    slow_cut = !slow_stream->Write(event);
    if (i % 32 == 0) {
      ASSERT_TRUE(WaitFor([&] { return fast.BodySize() == expected.size(); }));
    }
  }
  ASSERT_TRUE(slow_cut);
  ASSERT_TRUE(WaitFor([&] { return streams.closes_of(0) == 1; }));
  EXPECT_TRUE(slow_stream->closed());
  bool eof = false;
  slow.ReadUntil([](const std::string&) { return false; }, &eof);  // drains, then sees the close
  EXPECT_TRUE(eof);

  for (int j = 0; j < 100; ++j, ++i) {
    ASSERT_TRUE(fast_stream->Write(Event(i)));
    expected += Event(i);
  }
  fast_stream->Close();
  ASSERT_TRUE(WaitFor([&] { return fast.done(); }));
  EXPECT_EQ(fast.code(), CURLE_OK);
  EXPECT_TRUE(fast.Body() == expected) << "fast client lost or reordered events";
  EXPECT_TRUE(WaitFor([&] { return streams.closes_of(1) == 1; }));
}

TEST(EventStream, StopClosesOpenStreamsAndFiresOnClose) {
  OpenedStreams streams;
  auto server = MakeStreamServer(&streams);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return streams.size() == 1; }));
  server->Stop();
  EXPECT_EQ(streams.closes_of(0), 1);
  bool eof = false;
  client.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  EXPECT_FALSE(streams.at(0)->Write(Event(1)));
}

TEST(EventStream, OpenStreamAfterSendReturnsClosedStream) {
  OpenedStreams streams;
  auto server = MakeStreamServer(&streams);
  testing::HttpResult r = testing::Fetch(Url(*server, "/used"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
}

}  // namespace
}  // namespace lastro::web
