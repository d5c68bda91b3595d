// HTTPS on real loopback sockets: a self-signed certificate made at test time, pinned
// as the only CA by the clients (libcurl, or OpenSSL directly under RawClient).
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "testing/wait_for.h"
#include "web/http_server.h"
#include "web/http_test_client.h"
#include "web/tls_context.h"
#include "web/tls_test_files.h"

namespace lastro::web {
namespace {

using testing::FetchOptions;
using testing::HttpResult;
using testing::OpenedStreams;
using testing::RawClient;
using testing::StreamClient;
using testing::TlsTestFiles;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kDeadline{20};

bool Eventually(const std::function<bool()>& condition) {
  return lastro::testing::WaitFor(condition, kDeadline, std::chrono::milliseconds(5));
}

std::string Https(const HttpServer& server, const std::string& target) {
  return "https://127.0.0.1:" + std::to_string(server.port()) + target;
}

bool NeverDone(const std::string&) { return false; }

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(files_.ok()) << files_.error(); }

  // An HTTPS server with GET /a, GET /who (the peer's address), POST /upload (the body
  // size), GET /hang (never answered) and GET /events (a stream).
  std::unique_ptr<HttpServer> Start(ServerOptions options = {}) {
    options.addr = "127.0.0.1:0";
    options.tls_cert_file = files_.cert_file();
    options.tls_key_file = files_.key_file();
    auto created = HttpServer::Create(options);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) {
      return nullptr;
    }
    std::unique_ptr<HttpServer> server = std::move(*created);
    server->Route("GET", "/a", [](const Request&, const Responder& r) {
      r.Send(Response::Json(200, R"({"a":1})"));
    });
    server->Route("GET", "/who", [this](const Request& req, const Responder& r) {
      std::lock_guard<std::mutex> lock(mu_);
      remotes_.insert(req.remote);
      r.Send(Response::Json(200, "{}"));
    });
    server->Route("POST", "/upload", [](const Request& req, const Responder& r) {
      r.Send(Response::Json(200, std::to_string(req.body.size())));
    });
    server->Route("GET", "/hang", [this](const Request&, const Responder& r) {
      std::lock_guard<std::mutex> lock(mu_);
      kept_.push_back(r);
    });
    server->Route("GET", "/events", [this](const Request&, const Responder& r) {
      Response head;
      head.content_type = "text/event-stream";
      std::shared_ptr<EventStream> s = r.OpenStream(head, 1 << 20);
      streams_.Add(s);
    });
    EXPECT_TRUE(server->Start().ok());
    return server;
  }

  FetchOptions Pinned() const { return FetchOptions().CaFile(files_.cert_file()); }

  TlsTestFiles files_;
  std::mutex mu_;
  std::set<std::string> remotes_;  // guarded by mu_
  std::vector<Responder> kept_;    // guarded by mu_; outlives the servers, as an app's might
  OpenedStreams streams_;
};

TEST_F(HttpsServerTest, ServesGetWithThePinnedCertificate) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  HttpResult r = testing::Fetch(Https(*server, "/a"), Pinned());
  EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"a":1})");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  HttpResult missing = testing::Fetch(Https(*server, "/nope"), Pinned());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"no route for /nope"})");
  // Without the pin the system's CAs are used, and they do not know this certificate.
  EXPECT_EQ(testing::Fetch(Https(*server, "/a")).code, CURLE_PEER_FAILED_VERIFICATION);
}

TEST_F(HttpsServerTest, NegotiatesTls12AndLaterOnly) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  RawClient tls11(server->port());
  EXPECT_FALSE(tls11.StartTls(files_.cert_file(), TLS1_1_VERSION));
  RawClient tls12(server->port());
  ASSERT_TRUE(tls12.StartTls(files_.cert_file(), TLS1_2_VERSION));
  ASSERT_TRUE(tls12.Send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  bool eof = false;
  std::string reply = tls12.ReadUntil(NeverDone, &eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_TRUE(eof);
  EXPECT_TRUE(tls12.got_close_notify());  // a clean TLS end, not a bare TCP close
}

TEST_F(HttpsServerTest, ChecksTokensAndKeepsConnectionsAlive) {
  ServerOptions options;
  options.auth_token = "s3cret";
  options.public_paths = {"/a"};
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(testing::Fetch(Https(*server, "/who"), Pinned()).status, 401);
  EXPECT_EQ(testing::Fetch(Https(*server, "/a"), Pinned()).status, 200);
  CURL* handle = curl_easy_init();
  for (int i = 0; i < 10; ++i) {
    HttpResult r = testing::Fetch(Https(*server, "/who"),
                                  Pinned().AddHeader("Authorization: Bearer s3cret"), handle);
    EXPECT_EQ(r.status, 200) << curl_easy_strerror(r.code);
  }
  curl_easy_cleanup(handle);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(remotes_.size(), 1u);  // one TLS connection for all ten
}

TEST_F(HttpsServerTest, Answers413AndEndsTheSessionCleanly) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  HttpResult big = testing::Fetch(Https(*server, "/upload"),
                                  Pinned().Method("POST").Body(std::string(5000, 'x')));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(testing::Fetch(Https(*server, "/upload"), Pinned().Method("POST").Body("12345")).body,
            "5");

  // The limit hit in the middle of a chunked body that keeps coming: the client still
  // reads the 413, then the server's close_notify.
  RawClient raw(server->port());
  ASSERT_TRUE(raw.StartTls(files_.cert_file()));
  std::string chunk(900, 'y');
  std::string body;
  for (int i = 0; i < 50; ++i) {
    body += "384\r\n" + chunk + "\r\n";
  }
  raw.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
           "0\r\n\r\n");
  bool eof = false;
  std::string reply = raw.ReadUntil(NeverDone, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_TRUE(raw.got_close_notify());
}

TEST_F(HttpsServerTest, StreamsEventsOverTls) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  {
    StreamClient client(Https(*server, "/events"), files_.cert_file());
    ASSERT_TRUE(Eventually([&] { return streams_.size() == 1; }));
    std::shared_ptr<EventStream> s = streams_.at(0);
    std::string expected;
    for (int i = 0; i < 200; ++i) {
      std::string event =
          "id: " + std::to_string(i) + "\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
      ASSERT_TRUE(s->Write(event));
      expected += event;
    }
    s->Close();
    ASSERT_TRUE(Eventually([&] { return client.done(); }));
    EXPECT_EQ(client.code(), CURLE_OK) << curl_easy_strerror(client.code());
    EXPECT_EQ(client.Body(), expected);
    EXPECT_EQ(client.Header("content-type"), "text/event-stream");
    EXPECT_EQ(client.Header("transfer-encoding"), "chunked");
    EXPECT_TRUE(Eventually([&] { return streams_.closes_of(0) == 1; }));
  }
  {
    // A client that hangs up is noticed through TLS without a write.
    RawClient raw(server->port());
    ASSERT_TRUE(raw.StartTls(files_.cert_file()));
    ASSERT_TRUE(raw.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(Eventually([&] { return streams_.size() == 2; }));
    ASSERT_TRUE(streams_.at(1)->Write("data: 1\n\n"));
    bool eof = false;
    raw.ReadUntil([](const std::string& s) { return s.find("data: 1") != std::string::npos; },
                  &eof);
    raw.Close();
    EXPECT_TRUE(Eventually([&] { return streams_.closes_of(1) == 1; }));
  }
  {
    // HTTP/1.0: no last chunk, so only a close_notify tells the end from a cut.
    RawClient raw(server->port());
    ASSERT_TRUE(raw.StartTls(files_.cert_file()));
    ASSERT_TRUE(raw.Send("GET /events HTTP/1.0\r\n\r\n"));
    ASSERT_TRUE(Eventually([&] { return streams_.size() == 3; }));
    ASSERT_TRUE(streams_.at(2)->Write("data: last\n\n"));
    streams_.at(2)->Close();
    bool eof = false;
    std::string got = raw.ReadUntil(NeverDone, &eof);
    EXPECT_TRUE(eof);
    EXPECT_TRUE(raw.got_close_notify());
    EXPECT_TRUE(got.ends_with("data: last\n\n")) << got;
    EXPECT_EQ(got.find("chunked"), std::string::npos) << got;
    EXPECT_TRUE(Eventually([&] { return streams_.closes_of(2) == 1; }));
  }
}

TEST_F(HttpsServerTest, RefusesPlainHttpAndStaysHealthy) {
  auto server = Start();
  ASSERT_NE(server, nullptr);
  RawClient plain(server->port());
  ASSERT_TRUE(plain.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool eof = false;
  std::string reply = plain.ReadUntil(NeverDone, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("https://"), std::string::npos) << reply;

  std::string http_url = "http://127.0.0.1:" + std::to_string(server->port()) + "/a";
  HttpResult r = testing::Fetch(http_url);
  EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 400);

  RawClient garbage(server->port());
  ASSERT_TRUE(garbage.Send(std::string(300, '\x16')));
  garbage.ReadUntil(NeverDone, &eof);
  EXPECT_TRUE(eof);

  EXPECT_EQ(testing::Fetch(Https(*server, "/a"), Pinned()).status, 200);
}

TEST_F(HttpsServerTest, DropsClientsThatNeverHandshakeOrNeverAsk) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(300);
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  auto start = Clock::now();
  RawClient silent(server->port());  // TCP only: no ClientHello ever
  bool eof = false;
  silent.ReadUntil(NeverDone, &eof, kDeadline);
  EXPECT_TRUE(eof);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));

  RawClient quiet(server->port());  // handshakes, then sends no request
  ASSERT_TRUE(quiet.StartTls(files_.cert_file()));
  quiet.ReadUntil(NeverDone, &eof, kDeadline);
  EXPECT_TRUE(eof);

  EXPECT_EQ(testing::Fetch(Https(*server, "/a"), Pinned()).status, 200);
}

TEST_F(HttpsServerTest, StopReturnsPromptlyWithOpenTlsConnections) {
  auto server = Start();  // a 60 s idle timeout: only Stop() can end these in time
  ASSERT_NE(server, nullptr);
  RawClient handshaking(server->port());
  RawClient idle(server->port());
  ASSERT_TRUE(idle.StartTls(files_.cert_file()));
  RawClient waiting(server->port());
  ASSERT_TRUE(waiting.StartTls(files_.cert_file()));
  ASSERT_TRUE(waiting.Send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawClient streaming(server->port());
  ASSERT_TRUE(streaming.StartTls(files_.cert_file()));
  ASSERT_TRUE(streaming.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return streams_.size() == 1; }));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size() == 1;
  }));

  auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(streams_.closes_of(0), 1);
  for (RawClient* client : {&handshaking, &idle, &waiting, &streaming}) {
    bool eof = false;
    client->ReadUntil(NeverDone, &eof, kDeadline);
    EXPECT_TRUE(eof);
  }
}

TEST_F(HttpsServerTest, CreateRejectsMissingMalformedAndMismatchedFiles) {
  struct Case {
    const char* what;
    std::string cert, key;
  };
  const std::string missing = files_.dir() + "/missing.pem";
  const std::vector<Case> cases = {
      {"only a certificate", files_.cert_file(), ""},
      {"only a key", "", files_.key_file()},
      {"missing certificate", missing, files_.key_file()},
      {"missing key", files_.cert_file(), missing},
      {"certificate not PEM", files_.garbage_file(), files_.key_file()},
      {"key not PEM", files_.cert_file(), files_.garbage_file()},
      {"files swapped", files_.key_file(), files_.cert_file()},
      {"key of another certificate", files_.cert_file(), files_.other_key_file()},
      {"encrypted key", files_.cert_file(), files_.encrypted_key_file()},
  };
  for (const Case& c : cases) {
    ServerOptions options;
    options.addr = "127.0.0.1:0";
    options.tls_cert_file = c.cert;
    options.tls_key_file = c.key;
    auto server = HttpServer::Create(options);
    EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << c.what << ": " << server.status();
  }
}

TEST(TlsContext, RequiresTls12AndRefusesCompressionAndRenegotiation) {
  TlsTestFiles files;
  ASSERT_TRUE(files.ok()) << files.error();
  auto ctx = internal::MakeServerTlsContext(files.cert_file(), files.key_file());
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  SSL_CTX* native = (*ctx)->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  uint64_t options = SSL_CTX_get_options(native);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_EQ(SSL_CTX_get_verify_mode(native), SSL_VERIFY_NONE);  // no client certificates
}

}  // namespace
}  // namespace lastro::web
