// The response heads every response gets, and the Responder handed to handlers.
#include <boost/beast/http.hpp>
#include <sstream>

#include "web/connection.h"

namespace lastro::web {
namespace internal {
namespace {

namespace http = boost::beast::http;

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IsJson(std::string_view content_type) {
  return content_type.substr(0, 16) == "application/json";
}

}  // namespace

void ApplyHeaders(const ServerOptions& options, const Response& r, bool streaming,
                  http::response_header<>& h) {
  int status = r.status;
  if (status < 200 || status > 599) {
    status = 500;
  }
  h.result(static_cast<unsigned>(status));
  h.set(http::field::server, "lastro");
  if (!r.content_type.empty() && !HasLineBreak(r.content_type)) {
    h.set(http::field::content_type, r.content_type);
  }
  if (!options.csp.empty()) {
    h.set("Content-Security-Policy", options.csp);
  }
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "no-referrer");
  if (streaming) {
    h.set(http::field::cache_control, "no-cache");
    h.set("X-Accel-Buffering", "no");
  } else if (IsJson(r.content_type)) {
    h.set(http::field::cache_control, "no-store");
  }
  for (const auto& [name, value] : r.headers) {
    if (!HasLineBreak(name) && !HasLineBreak(value)) {
      h.erase(name);
    }
  }
  for (const auto& [name, value] : r.headers) {
    // Dropped rather than sent: a CR/LF here would let input split the response.
    if (!name.empty() && !HasLineBreak(name) && !HasLineBreak(value)) {
      h.insert(name, value);
    }
  }
}

std::string FormatStreamHead(const ServerOptions& options, const Response& head, unsigned version,
                             bool chunked) {
  http::response<http::empty_body> res;
  res.version(version);
  ApplyHeaders(options, head, /*streaming=*/true, res);
  if (chunked) {
    res.chunked(true);
  }
  // A stream owns its connection to the end: the client reconnects for the next one.
  res.keep_alive(false);
  std::ostringstream os;
  os << res.base();
  return os.str();
}
}  // namespace internal

void Responder::Send(Response response) const {
  if (!impl_ || impl_->answered.exchange(true)) {
    return;
  }
  impl_->conn->PostSend(impl_->seq, std::move(response));
}

std::shared_ptr<EventStream> Responder::OpenStream(const Response& head,
                                                   size_t max_queued_bytes) const {
  if (!impl_) {
    return nullptr;
  }
  const auto& conn = impl_->conn;
  bool chunked = impl_->version >= 11;
  auto stream = std::make_shared<internal::StreamImpl>(conn->core(), conn->executor(), conn,
                                                       max_queued_bytes, chunked);
  if (impl_->answered.exchange(true)) {
    stream->MarkDead();
    return stream;
  }
  stream->QueueHead(
      internal::FormatStreamHead(conn->core()->options(), head, impl_->version, chunked));
  conn->PostBeginStream(impl_->seq, stream);
  return stream;
}

}  // namespace lastro::web
