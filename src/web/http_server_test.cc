// Real HTTP on loopback: libcurl for well-formed requests, raw sockets for the rest.
#include "web/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "web/http_test_client.h"

namespace lastro::web {
namespace {

using testing::FetchOptions;
using testing::HttpResult;
using testing::RawClient;
using testing::WaitFor;

std::unique_ptr<HttpServer> MakeServer(ServerOptions options = {}) {
  options.addr = "127.0.0.1:0";
  auto server = HttpServer::Create(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return std::move(*server);
}

std::string Url(const HttpServer& server, const std::string& target) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + target;
}

Handler Text(const std::string& body) {
  return [body](const Request&, const Responder& r) {
    Response res;
    res.content_type = "text/plain";
    res.body = body;
    r.Send(std::move(res));
  };
}

bool HasHttpEnd(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

TEST(HttpServer, RoutesExactPathsAndPrefixes) {
  auto server = MakeServer();
  server->Route("GET", "/a", Text("a"));
  server->Route("GET", "/files/*", [](const Request& req, const Responder& r) {
    r.Send(Response::Json(200, "\"" + req.path + "\""));
  });
  server->Route("GET", "/files/special", Text("special"));
  ASSERT_TRUE(server->Start().ok());

  EXPECT_EQ(testing::Fetch(Url(*server, "/a")).body, "a");
  EXPECT_EQ(testing::Fetch(Url(*server, "/files/x/y")).body, "\"/files/x/y\"");
  EXPECT_EQ(testing::Fetch(Url(*server, "/files/special")).body, "special");
  EXPECT_EQ(testing::Fetch(Url(*server, "/a/b")).status, 404);  // exact is not a prefix
}

TEST(HttpServer, AnswersUnknownPathWith404JsonError) {
  auto server = MakeServer();
  server->Route("GET", "/a", Text("a"));
  ASSERT_TRUE(server->Start().ok());
  HttpResult r = testing::Fetch(Url(*server, "/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"error":"no route for /nope"})");
}

TEST(HttpServer, AnswersWrongMethodWith405AndAllow) {
  auto server = MakeServer();
  server->Route("GET", "/thing", Text("get"));
  server->Route("PUT", "/thing", Text("put"));
  ASSERT_TRUE(server->Start().ok());
  HttpResult r = testing::Fetch(Url(*server, "/thing"), FetchOptions().Method("DELETE"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET, PUT");
  EXPECT_EQ(r.body, R"({"error":"method DELETE not allowed"})");
  EXPECT_EQ(testing::Fetch(Url(*server, "/thing"), FetchOptions().Method("PUT")).body, "put");
}

TEST(HttpServer, RejectsBodyOverLimitWith413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  auto server = MakeServer(options);
  server->Route("POST", "/upload", [](const Request& req, const Responder& r) {
    r.Send(Response::Json(200, std::to_string(req.body.size())));
  });
  ASSERT_TRUE(server->Start().ok());
  HttpResult big = testing::Fetch(Url(*server, "/upload"),
                                  FetchOptions().Method("POST").Body(std::string(5000, 'x')));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body, R"({"error":"request body exceeds 1000 bytes"})");
  EXPECT_EQ(
      testing::Fetch(Url(*server, "/upload"), FetchOptions().Method("POST").Body("12345")).body,
      "5");

  // A chunked body has no length up front: the limit applies while reading it.
  RawClient raw(server->port());
  std::string chunk(900, 'y');
  raw.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n384\r\n" + chunk +
           "\r\n384\r\n" + chunk + "\r\n0\r\n\r\n");
  bool eof = false;
  std::string reply = raw.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
}

TEST(HttpServer, ReadsBodyAfterExpectContinue) {
  auto server = MakeServer();
  server->Route("POST", "/upload", [](const Request& req, const Responder& r) {
    r.Send(Response::Json(200, std::to_string(req.body.size())));
  });
  ASSERT_TRUE(server->Start().ok());
  HttpResult r = testing::Fetch(Url(*server, "/upload"), FetchOptions()
                                                             .Method("POST")
                                                             .Body(std::string(200000, 'z'))
                                                             .AddHeader("Expect: 100-continue"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "200000");
}

TEST(HttpServer, AnswersMalformedRequestWith400AndCloses) {
  auto server = MakeServer();
  server->Route("GET", "/a", Text("a"));
  ASSERT_TRUE(server->Start().ok());
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("THIS IS NOT HTTP\r\n\r\n"));
  bool eof = false;
  std::string reply = raw.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"({"error":"malformed request)"), std::string::npos) << reply;
}

TEST(HttpServer, DecodesPathQueryAndLowerCasesHeaders) {
  auto server = MakeServer();
  server->Route("GET", "/echo/*", [](const Request& req, const Responder& r) {
    std::string out = req.path + "|";
    for (const auto& [k, v] : req.query) {
      out.append(k).append("=").append(v).append(";");
    }
    out += "|" + req.Header("x-custom-thing", "missing") + "|" + req.target;
    Response res;
    res.content_type = "text/plain";
    res.body = out;
    r.Send(std::move(res));
  });
  ASSERT_TRUE(server->Start().ok());
  HttpResult r = testing::Fetch(Url(*server, "/echo/a%20b+c?x=1%202&y=a+b&z=%26%3D&flag"),
                                FetchOptions().AddHeader("X-Custom-Thing: yes"));
  EXPECT_EQ(r.body,
            "/echo/a b+c|flag=;x=1 2;y=a b;z=&=;|yes|/echo/a%20b+c?x=1%202&y=a+b&z=%26%3D&flag");
}

TEST(HttpServer, RejectsBadEscapesAndDotSegmentsWith400) {
  auto server = MakeServer();
  server->Route("GET", "/echo/*", Text("ok"));
  ASSERT_TRUE(server->Start().ok());
  EXPECT_EQ(testing::Fetch(Url(*server, "/echo/%zz")).status, 400);
  EXPECT_EQ(testing::Fetch(Url(*server, "/echo/x?q=%4")).status, 400);
  EXPECT_EQ(testing::Fetch(Url(*server, "/echo/%2e%2e/secret")).status, 400);
  EXPECT_EQ(testing::Fetch(Url(*server, "/echo/ok")).status, 200);
}

TEST(HttpServer, SendsSecurityHeadersOnEveryResponse) {
  ServerOptions options;
  options.csp = "default-src 'none'";
  auto server = MakeServer(options);
  server->Route("GET", "/json",
                [](const Request&, const Responder& r) { r.Send(Response::Json(200, "{}")); });
  server->Route("GET", "/text", Text("hi"));
  ASSERT_TRUE(server->Start().ok());
  for (const char* target : {"/json", "/text", "/missing"}) {
    HttpResult r = testing::Fetch(Url(*server, target));
    SCOPED_TRACE(target);
    EXPECT_EQ(r.Header("content-security-policy"), "default-src 'none'");
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.Header("x-frame-options"), "DENY");
    EXPECT_EQ(r.Header("referrer-policy"), "no-referrer");
  }
  EXPECT_EQ(testing::Fetch(Url(*server, "/json")).Header("cache-control"), "no-store");
  EXPECT_EQ(testing::Fetch(Url(*server, "/missing")).Header("cache-control"), "no-store");
  EXPECT_EQ(testing::Fetch(Url(*server, "/text")).Header("cache-control"), "");
}

TEST(HttpServer, RequiresTokenUnlessPathIsPublic) {
  ServerOptions options;
  options.auth_token = "s3cret";
  auto server = MakeServer(options);
  server->Route("GET", "/private", Text("private"));
  server->Route("GET", "/healthz", Text("ok"));
  ASSERT_TRUE(server->Start().ok());

  HttpResult none = testing::Fetch(Url(*server, "/private"));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, R"({"error":"authentication required"})");
  EXPECT_EQ(none.headers.count("www-authenticate"), 2u);
  HttpResult wrong = testing::Fetch(Url(*server, "/private"),
                                    FetchOptions().AddHeader("Authorization: Bearer s3cre"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, R"({"error":"invalid credentials"})");
  EXPECT_EQ(testing::Fetch(Url(*server, "/private"), FetchOptions().UserPwd("ana:nope")).status,
            401);
  EXPECT_EQ(testing::Fetch(Url(*server, "/unknown")).status, 401);  // routes are not revealed

  EXPECT_EQ(testing::Fetch(Url(*server, "/private"),
                           FetchOptions().AddHeader("Authorization: Bearer s3cret"))
                .body,
            "private");
  EXPECT_EQ(testing::Fetch(Url(*server, "/private"), FetchOptions().UserPwd("ana:s3cret")).body,
            "private");
  EXPECT_EQ(testing::Fetch(Url(*server, "/healthz")).body, "ok");
}

TEST(HttpServer, AnswersLaterViaRunAfterOrAnotherThread) {
  auto server = MakeServer();
  HttpServer* raw = server.get();
  std::mutex mu;
  std::vector<std::thread> workers;  // guarded by mu
  server->Route("GET", "/later", [raw](const Request&, const Responder& r) {
    raw->RunAfter(std::chrono::milliseconds(50),
                  [r] { r.Send(Response::Json(200, R"({"late":true})")); });
  });
  server->Route("GET", "/thread", [&](const Request&, const Responder& r) {
    std::lock_guard<std::mutex> lock(mu);
    workers.emplace_back([r] { r.Send(Response::Json(200, R"({"thread":true})")); });
  });
  server->Route("GET", "/posted", [raw](const Request&, const Responder& r) {
    raw->Post([r] { r.Send(Response::Json(202, "{}")); });
  });
  ASSERT_TRUE(server->Start().ok());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(testing::Fetch(Url(*server, "/later")).body, R"({"late":true})");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(testing::Fetch(Url(*server, "/thread")).body, R"({"thread":true})");
  EXPECT_EQ(testing::Fetch(Url(*server, "/posted")).status, 202);
  std::lock_guard<std::mutex> lock(mu);
  for (auto& t : workers) {
    t.join();
  }
}

TEST(HttpServer, AnswersWith500WhenHandlerDropsResponderOrThrows) {
  auto server = MakeServer();
  server->Route("GET", "/forgets", [](const Request&, const Responder&) {});
  server->Route("GET", "/throws",
                [](const Request&, const Responder&) { throw std::runtime_error("x"); });
  ASSERT_TRUE(server->Start().ok());
  HttpResult forgets = testing::Fetch(Url(*server, "/forgets"));
  EXPECT_EQ(forgets.status, 500);
  EXPECT_EQ(forgets.body, R"({"error":"handler did not respond"})");
  EXPECT_EQ(testing::Fetch(Url(*server, "/throws")).status, 500);
}

TEST(HttpServer, ReusesKeepAliveConnection) {
  auto server = MakeServer();
  std::mutex mu;
  std::set<std::string> remotes;  // guarded by mu
  server->Route("GET", "/who", [&](const Request& req, const Responder& r) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.insert(req.remote);
    r.Send(Response::Json(200, "{}"));
  });
  ASSERT_TRUE(server->Start().ok());
  CURL* handle = curl_easy_init();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(testing::Fetch(Url(*server, "/who"), {}, handle).status, 200);
  }
  curl_easy_cleanup(handle);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(remotes.size(), 1u);
  EXPECT_EQ(remotes.begin()->rfind("127.0.0.1:", 0), 0u);
}

TEST(HttpServer, ServesManyConcurrentKeepAliveConnections) {
  ServerOptions options;
  options.threads = 2;
  auto server = MakeServer(options);
  HttpServer* raw = server.get();
  // The first kHeld requests are parked until all of them have arrived, which proves
  // that many connections were open and waiting at once; later ones answer after a
  // short RunAfter delay.
  constexpr size_t kHeld = 150;
  std::mutex mu;
  std::set<std::string> remotes;                          // guarded by mu
  std::vector<std::pair<Responder, std::string>> parked;  // guarded by mu
  size_t arrived = 0;                                     // guarded by mu
  server->Route("GET", "/work", [&, raw](const Request& req, const Responder& r) {
    std::string id = req.query.count("i") ? req.query.at("i") : "?";
    std::lock_guard<std::mutex> lock(mu);
    remotes.insert(req.remote);
    if (++arrived <= kHeld) {
      parked.emplace_back(r, id);
      if (parked.size() == kHeld) {
        for (auto& [responder, body] : parked) {
          responder.Send(Response::Json(200, body));
        }
        parked.clear();
      }
      return;
    }
    raw->RunAfter(std::chrono::milliseconds(5), [r, id] { r.Send(Response::Json(200, id)); });
  });
  ASSERT_TRUE(server->Start().ok());

  constexpr int kClients = 200;
  constexpr int kRounds = 5;
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(kClients * 2));
  struct Client {
    CURL* handle = nullptr;
    HttpResult result;
    curl_slist* headers = nullptr;
    int index = 0;
    int round = 0;
    std::vector<std::string> bodies;
  };
  std::vector<Client> clients(kClients);
  auto start = [&](int i) {
    Client& c = clients[i];
    c.result = HttpResult();
    std::string target = "/work?i=" + std::to_string(i * 100 + c.round);
    testing::PrepareHandle(c.handle, Url(*server, target), {}, &c.result, &c.headers);
    curl_easy_setopt(c.handle, CURLOPT_PRIVATE, &c);
    curl_multi_add_handle(multi, c.handle);
  };
  for (int i = 0; i < kClients; ++i) {
    clients[i].handle = curl_easy_init();
    clients[i].index = i;
    start(i);
  }
  int finished = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished < kClients && std::chrono::steady_clock::now() < deadline) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      void* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      Client& c = *static_cast<Client*>(priv);
      int i = c.index;
      curl_easy_getinfo(c.handle, CURLINFO_RESPONSE_CODE, &c.result.status);
      EXPECT_EQ(msg->data.result, CURLE_OK);
      curl_multi_remove_handle(multi, c.handle);
      curl_slist_free_all(c.headers);
      c.headers = nullptr;
      c.bodies.push_back(c.result.body);
      if (++c.round < kRounds) {
        start(i);
      } else {
        ++finished;
      }
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  EXPECT_EQ(finished, kClients);
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(clients[i].bodies.size(), static_cast<size_t>(kRounds)) << i;
    for (int round = 0; round < kRounds; ++round) {
      EXPECT_EQ(clients[i].bodies[round], std::to_string(i * 100 + round));
    }
    curl_easy_cleanup(clients[i].handle);
  }
  curl_multi_cleanup(multi);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_LT(remotes.size(), static_cast<size_t>(kClients * kRounds / 2));  // connections reused
}

TEST(HttpServer, ClosesIdleConnections) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  auto server = MakeServer(options);
  server->Route("GET", "/a", Text("a"));
  ASSERT_TRUE(server->Start().ok());
  RawClient silent(server->port());
  bool eof = false;
  silent.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);

  RawClient after_request(server->port());
  ASSERT_TRUE(after_request.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply = after_request.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

TEST(HttpServer, StopClosesConnectionsAndIsIdempotent) {
  // Declared before the server so the responders outlive it, as an app's might.
  std::mutex mu;
  std::vector<Responder> kept;  // guarded by mu; never answered, Stop must still finish
  auto server = MakeServer();
  server->Route("GET", "/hang", [&](const Request&, const Responder& r) {
    std::lock_guard<std::mutex> lock(mu);
    kept.push_back(r);
  });
  ASSERT_TRUE(server->Start().ok());
  RawClient idle(server->port());
  RawClient waiting(server->port());
  ASSERT_TRUE(waiting.Send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool eof = false;
  idle.ReadUntil(HasHttpEnd, &eof);
  server->Stop();
  server->Stop();
  idle.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  waiting.ReadUntil([](const std::string&) { return false; }, &eof);
  EXPECT_TRUE(eof);
  EXPECT_TRUE(absl::IsFailedPrecondition(server->Start()));
  server->RunAfter(std::chrono::milliseconds(1), [] { FAIL() << "ran after Stop"; });
  server->Post([] { FAIL() << "ran after Stop"; });
}

TEST(HttpServerCreate, RejectsUnparsableAddress) {
  for (const char* addr :
       {"nonsense", "127.0.0.1:99999", "127.0.0.1:", "300.1.1.1:80", "host.example:80", "[::1"}) {
    ServerOptions options;
    options.addr = addr;
    auto server = HttpServer::Create(options);
    EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << addr << ": " << server.status();
  }
}

TEST(HttpServerCreate, ReportsUnavailableWhenPortIsTaken) {
  auto first = MakeServer();
  ASSERT_NE(first->port(), 0);
  ServerOptions options;
  options.addr = "127.0.0.1:" + std::to_string(first->port());
  auto second = HttpServer::Create(options);
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

TEST(HttpServerCreate, RejectsZeroThreads) {
  ServerOptions options;
  options.addr = "127.0.0.1:0";
  options.threads = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer::Create(options).status()));
}

}  // namespace
}  // namespace lastro::web

namespace lastro::web {
namespace {

TEST(IsLoopbackAddressTest, OnlyAddressesThisMachineAloneCanReach) {
  for (const char* a : {"127.0.0.1:8080", "127.1.2.3:0", "localhost:8095", "[::1]:8095"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:8095", "*:8095", ":8095", "10.0.0.1:80", "[::]:8095",
                        "localhost.evil.com:80", "[::1]"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

}  // namespace
}  // namespace lastro::web
