// A small asynchronous HTTP/1.1 server (Boost.Beast inside, not in this header).
//
// Used by `lastro stream` (health, readiness, metrics, dashboard, SSE) and by the
// simulators (`lastro sim risk-api`, ...). Handlers run on the server's IO threads
// and must not block: slow work is done elsewhere and answered later through the
// `Responder`, which may be called from any thread. `RunAfter` schedules work on the
// IO threads (e.g. a simulated latency) without holding a thread.
//
// Behaviour every route gets for free:
//   - unknown path -> 404, known path with another method -> 405 with `Allow`
//     (JSON `{"error": ...}`);
//   - bodies above `max_body_bytes` -> 413; malformed HTTP -> 400; both close the
//     connection. A bad percent-escape or a "." / ".." path segment -> 400;
//   - security headers (CSP, X-Content-Type-Options, X-Frame-Options, Referrer-Policy),
//     and `Cache-Control: no-store` on JSON responses;
//   - optional bearer-token / basic auth (401 with a message) except for `public_paths`;
//     checked before routing, so unauthenticated clients cannot probe which paths exist;
//   - keep-alive, `Expect: 100-continue`, idle timeout;
//   - a handler that throws, or drops its Responder without answering, yields a 500;
//   - optional HTTPS (`tls_cert_file` + `tls_key_file`): all of the above over TLS.
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

// One request, as handed to a handler. Valid only during the handler call: copy what
// must outlive it.
struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw target, e.g. "/api/x?a=1"
  std::string path;                            // decoded path without the query
  std::map<std::string, std::string> query;    // decoded ('+' is a space); a repeat wins
  std::map<std::string, std::string> headers;  // lower-cased names; repeats joined by ", "
  std::string body;
  std::string remote;  // "ip:port" of the peer

  // Header value by lower-case name, or `fallback`.
  std::string Header(const std::string& name, const std::string& fallback = "") const;
};

// A complete response. Statuses outside 200..599 are sent as 500. Extra headers
// replace a default header of the same name; those containing CR or LF are dropped.
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
// The body is chunked (close-delimited for HTTP/1.0 clients) and the response carries
// `Connection: close`: the connection ends with the stream.
// Writes are queued up to the limit given to `OpenStream`; a client that falls
// further behind is disconnected (Write returns false) so it cannot block others.
// A write that makes no progress for `idle_timeout` also disconnects the client; an
// open stream with nothing to write is never timed out.
// The object may outlive the connection and the server; it then only returns false.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues `data` (already formatted, e.g. "id: 5\ndata: {...}\n\n"). Never blocks.
  // Bytes count against the limit until the socket has taken them. Empty data is a
  // no-op. Returns false when the stream is closed or the client is too slow (then
  // the connection is dropped without the terminating chunk).
  virtual bool Write(std::string data) = 0;
  // Ends the response after the queued data has been sent. Idempotent.
  virtual void Close() = 0;
  // True once Close() was called or the stream ended (client gone, too slow, Stop()).
  virtual bool closed() const = 0;
  // Called once, on an IO thread, when the stream ends for any reason: client hung up,
  // queue overflow, Close() completed, or the server stopped. Registering after the
  // end runs the callback soon on an IO thread (unless the server has stopped).
  // A later call replaces a callback that has not run yet.
  virtual void OnClose(std::function<void()> callback) = 0;
};

// Answers one request. Created by the server for each handler call. Copyable; exactly
// one of Send/OpenStream must be called once (later calls are ignored). May be called
// from any thread, at any later time; once the connection is gone or the server has
// stopped, calls are silently dropped. If every copy is destroyed unanswered, the
// client gets a 500. Keeping a Responder does not keep the server alive, but is safe
// after the server is destroyed.
class Responder {
 public:
  class Impl;
  explicit Responder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  void Send(Response response) const;
  // Starts a streaming response with `head`'s status, content type and headers (its
  // body is ignored; `Cache-Control: no-cache` and `X-Accel-Buffering: no` are added).
  // `max_queued_bytes` bounds the per-client queue. If the request was already
  // answered, returns a stream that is already closed.
  std::shared_ptr<EventStream> OpenStream(const Response& head, size_t max_queued_bytes) const;

 private:
  std::shared_ptr<Impl> impl_;
};

using Handler = std::function<void(const Request&, Responder)>;

struct ServerOptions {
  // "host:port" or "[v6]:port"; host is an IP literal, "localhost", or "*"/"" for any
  // IPv4 address (no DNS). Port 0 picks a free one.
  std::string addr = "127.0.0.1:8080";
  int threads = 1;  // IO threads, >= 1
  size_t max_body_bytes = 1 << 20;
  // Closes a connection waiting this long for a request (or its rest), or unable to
  // write for this long. Not applied while a handler is working or a stream is idle.
  std::chrono::milliseconds idle_timeout{60000};
  // When non-empty, requests need `Authorization: Bearer <token>` (or basic auth
  // with this token as password, any user name), except paths listed in
  // `public_paths` (exact, or prefix when ending with '*'). Compared in constant time.
  std::string auth_token;
  std::vector<std::string> public_paths = {"/healthz", "/readyz"};
  // Both set: HTTPS only (TLS 1.2+, the certificate chain and private key in PEM files,
  // read at Create). Errors at Create: kInvalidArgument for unreadable or mismatched files.
  // The certificate file holds the server's certificate first, then any intermediates;
  // the key must not be encrypted. OpenSSL's default ciphers; no compression, no
  // renegotiation, no client certificates. The handshake must finish within
  // `idle_timeout` or 10 s, whichever is shorter, else the connection is dropped; a
  // failed handshake is logged at debug level. A plain-HTTP request to this port gets a
  // plain-HTTP 400 and is closed. The files are read once: restart to rotate them.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Content-Security-Policy sent with every response.
  std::string csp =
      "default-src 'self'; img-src 'self' data:; style-src 'self'; "
      "script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
};

// True for a listen address only this machine can reach: "127.x.y.z:port",
// "localhost:port" or "[::1]:port". The services refuse other addresses without a
// token (lastro stream) or TLS (lastro serve).
bool IsLoopbackAddress(const std::string& addr);

// Create/Route/Start/Stop/destruction belong to the owning thread and must not run
// concurrently with each other, nor on an IO thread (Stop would join itself).
class HttpServer {
 public:
  // Binds and listens at once (so port() is known), but accepts only after Start().
  // Errors: kInvalidArgument (bad address, threads < 1, idle_timeout <= 0, only one of
  // the TLS files set, a TLS file unreadable or not PEM, a key that does not match the
  // certificate), kUnavailable (cannot bind, e.g. address in use).
  static StatusOr<std::unique_ptr<HttpServer>> Create(const ServerOptions& options);
  ~HttpServer();  // Stops and joins.

  // Registers a handler. `path` is exact, or a prefix when it ends with '*'; an exact
  // route beats a prefix, a longer prefix beats a shorter one. Handlers run on IO
  // threads and must not block. Call before Start(); later calls are ignored.
  void Route(const std::string& method, const std::string& path, Handler handler);

  // Starts the IO threads. Returns at once. kFailedPrecondition if already started
  // or stopped (a server is not restartable).
  Status Start();
  // Stops accepting, closes connections (firing OnClose of open streams), drops
  // pending RunAfter callbacks and joins the threads once running handlers return.
  // Idempotent.
  void Stop();

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Runs `fn` on an IO thread after `delay`. Thread-safe. Dropped if Stop() comes first.
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  // Runs `fn` on an IO thread soon. Thread-safe. Dropped after Stop() has begun.
  void Post(std::function<void()> fn);

 private:
  struct State;
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lastro::web
