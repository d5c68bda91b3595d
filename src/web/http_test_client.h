// Test-only HTTP clients for the server's tests: libcurl for well-formed traffic,
// a raw socket for malformed input and clients that misbehave (never read, hang up).
// All of them speak HTTPS too: libcurl for https:// URLs, given the CA file to trust,
// and the raw client after StartTls (OpenSSL directly).
#pragma once

#include <curl/curl.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "web/http_server.h"

namespace lastro::web::testing {

// Polls `condition` every millisecond until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

struct HttpResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-cased names, final response only
  // First value of a header, or "".
  std::string Header(const std::string& name) const;
};

struct FetchOptions {
  std::string method = "GET";
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string userpwd;               // basic auth "user:password"
  std::string ca_file;               // https: the PEM file of the only CA trusted

  FetchOptions& Method(std::string m) {
    method = std::move(m);
    return *this;
  }
  FetchOptions& Body(std::string b) {
    body = std::move(b);
    return *this;
  }
  FetchOptions& AddHeader(std::string h) {
    headers.push_back(std::move(h));
    return *this;
  }
  FetchOptions& UserPwd(std::string u) {
    userpwd = std::move(u);
    return *this;
  }
  FetchOptions& CaFile(std::string f) {
    ca_file = std::move(f);
    return *this;
  }
};

// One blocking request. `handle` (optional) is reused for keep-alive.
HttpResult Fetch(const std::string& url, const FetchOptions& options = {}, CURL* handle = nullptr);

// Configures `handle` for `url`, writing into `result`; shared by Fetch and the multi test.
void PrepareHandle(CURL* handle, const std::string& url, const FetchOptions& options,
                   HttpResult* result, curl_slist** header_list);

// A streaming GET on its own thread that records the body as it arrives.
class StreamClient {
 public:
  // `ca_file`: for https, the PEM file of the only CA trusted.
  explicit StreamClient(std::string url, std::string ca_file = "");
  ~StreamClient();  // aborts the transfer and joins
  std::string Body() const;
  size_t BodySize() const;
  std::string Header(const std::string& name) const;
  bool done() const { return done_.load(); }
  CURLcode code() const { return code_.load(); }

 private:
  static size_t OnBody(char* data, size_t size, size_t n, void* self);
  static size_t OnHeader(char* data, size_t size, size_t n, void* self);
  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

  mutable std::mutex mu_;
  std::string body_;                                 // guarded by mu_
  std::multimap<std::string, std::string> headers_;  // guarded by mu_
  std::atomic<bool> abort_{false};
  std::atomic<bool> done_{false};
  std::atomic<CURLcode> code_{CURLE_OK};
  std::thread thread_;
};

// The streams that a test route opened, in order, with how often each one's OnClose
// fired. Thread-safe: handlers add from IO threads while the test reads.
class OpenedStreams {
 public:
  // Records `stream` and counts its OnClose calls (replacing any OnClose callback).
  void Add(const std::shared_ptr<EventStream>& stream);
  size_t size() const;
  std::shared_ptr<EventStream> at(size_t i) const;
  int closes_of(size_t i) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<EventStream>> opened_;       // guarded by mu_
  std::vector<std::shared_ptr<std::atomic<int>>> closes_;  // guarded by mu_
};

// A blocking TCP client on 127.0.0.1; TLS after StartTls.
class RawClient {
 public:
  // `receive_buffer` > 0 shrinks SO_RCVBUF before connecting (a slow reader).
  explicit RawClient(uint16_t port, int receive_buffer = 0);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return fd_ >= 0; }
  // TLS handshake trusting only `ca_file` and checking the name 127.0.0.1; from then
  // on Send and ReadUntil go through TLS. `max_version` (e.g. TLS1_1_VERSION) caps
  // the versions offered (0: the library's). Returns false when the handshake fails.
  bool StartTls(const std::string& ca_file, int max_version = 0);
  bool Send(const std::string& data);
  // Reads until `done(received)` holds, the peer closes, or the timeout passes.
  // Returns everything received so far; `*eof` tells whether the peer closed.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done, bool* eof,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // TLS only: the peer ended the session with close_notify (not just a TCP close).
  bool got_close_notify() const { return close_notify_; }
  void Close();

 private:
  int fd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool close_notify_ = false;
  std::string received_;
};

}  // namespace lastro::web::testing
