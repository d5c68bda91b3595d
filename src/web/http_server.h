// A small asynchronous HTTP/1.1 server (Boost.Beast inside, not in this header).
//
// Used by `lastro stream` (health, readiness, metrics, dashboard, SSE) and by the
// simulators (`lastro sim risk-api`, ...). Handlers run on the server's IO threads
// and must not block: slow work is done elsewhere and answered later through the
// `Responder`, which may be called from any thread. `RunAfter` schedules work on the
// IO threads (e.g. a simulated latency) without holding a thread.
//
// Behaviour every route gets for free:
//   - unknown path -> 404, known path with another method -> 405 (JSON `{"error": ...}`);
//   - bodies above `max_body_bytes` -> 413; malformed HTTP -> 400, connection closed;
//   - security headers (CSP, X-Content-Type-Options, X-Frame-Options, Referrer-Policy);
//   - optional bearer-token / basic auth (401 with a message) except for `public_paths`;
//   - keep-alive, idle timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace lastro::web {

struct Request {
  std::string method;                         // "GET", "POST", ...
  std::string target;                         // raw target, e.g. "/api/x?a=1"
  std::string path;                           // decoded path without the query
  std::map<std::string, std::string> query;   // decoded query parameters
  std::map<std::string, std::string> headers; // lower-cased names
  std::string body;
  std::string remote;                         // "ip:port" of the peer

  // Header value by lower-case name, or `fallback`.
  std::string Header(const std::string& name, const std::string& fallback = "") const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // `{"error": message}` with the given status.
  static Response Error(int status, const std::string& message);
  static Response Json(int status, std::string body);
};

// Server-Sent Events (or any chunked stream) to one client. Thread-safe.
// Writes are queued up to the limit given to `OpenStream`; a client that falls
// further behind is disconnected (Write returns false) so it cannot block others.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues `data` (already formatted, e.g. "id: 5\ndata: {...}\n\n").
  // Returns false when the stream is closed or the client is too slow (then closed).
  virtual bool Write(std::string data) = 0;
  // Ends the response. Idempotent.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // Called once, on an IO thread, when the stream ends for any reason.
  virtual void OnClose(std::function<void()> callback) = 0;
};

// Answers one request. Copyable; exactly one of Send/OpenStream must be called
// once (later calls are ignored). May be called from any thread.
class Responder {
 public:
  class Impl;
  explicit Responder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  void Send(Response response) const;
  // Starts a streaming response with `head`'s status and headers (its body is
  // ignored). `max_queued_bytes` bounds the per-client queue.
  std::shared_ptr<EventStream> OpenStream(Response head, size_t max_queued_bytes) const;

 private:
  std::shared_ptr<Impl> impl_;
};

using Handler = std::function<void(const Request&, Responder)>;

struct ServerOptions {
  std::string addr = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 1;
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout{60000};
  // When non-empty, requests need `Authorization: Bearer <token>` (or basic auth
  // with this token as password), except paths listed in `public_paths`.
  std::string auth_token;
  std::vector<std::string> public_paths = {"/healthz", "/readyz"};
  // Content-Security-Policy sent with every response.
  std::string csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
};

class HttpServer {
 public:
  // Binds the address. Errors: kInvalidArgument (bad address), kUnavailable (in use).
  static StatusOr<std::unique_ptr<HttpServer>> Create(const ServerOptions& options);
  ~HttpServer();  // Stops and joins.

  // Registers a handler. `path` is exact, or a prefix when it ends with '*'.
  // Call before Start(). Not thread-safe.
  void Route(const std::string& method, const std::string& path, Handler handler);

  // Starts the IO threads. Returns at once.
  Status Start();
  // Stops accepting, closes connections and joins the threads. Idempotent.
  void Stop();

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Runs `fn` on an IO thread after `delay`. Thread-safe.
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  // Runs `fn` on an IO thread soon. Thread-safe.
  void Post(std::function<void()> fn);

 private:
  struct State;
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lastro::web
