// One HTTP/1.1 connection: reads requests, dispatches them to handlers, writes
// responses or a streamed (chunked) body. Every member of Connection is touched
// only on the connection's strand; Responder::Impl and StreamImpl are the
// thread-safe doors through which other threads reach it (by posting).
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "web/event_stream_impl.h"
#include "web/server_core.h"

namespace lastro::web {
namespace internal {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = size_t{16} * 1024;
// How long a server-closed connection keeps reading (and discarding) so that the
// peer gets our final response instead of a reset.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IsJson(std::string_view content_type) {
  return content_type.substr(0, 16) == "application/json";
}

// Status, content type, security headers and the caller's extra headers. An extra
// header replaces a default of the same name; repeated extras are all kept.
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

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerCore> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)), executor_(stream_.get_executor()) {}

  const net::any_io_executor& executor() const { return executor_; }
  const std::shared_ptr<ServerCore>& core() const { return core_; }

  // Strand only.
  void Start();
  void Close();
  void FlushStream();

  // Any thread.
  void PostSend(uint64_t seq, Response response);
  void PostBeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream);

 private:
  enum class Phase { kReading, kHandling, kWriting, kStreaming, kLingering, kClosed };

  void DoReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void HandleReadError(beast::error_code ec);
  void OnRequest();
  void SendResponse(Response response, bool close);
  void LingerClose();
  void DrainUntilEof();
  void BeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream);
  void ReadForDisconnect();

  const std::shared_ptr<ServerCore> core_;
  beast::tcp_stream stream_;
  const net::any_io_executor executor_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::string remote_;
  bool registered_ = false;
  Phase phase_ = Phase::kReading;
  uint64_t seq_ = 0;  // numbers requests so a stale Responder cannot answer a later one
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::shared_ptr<StreamImpl> stream_state_;  // while streaming
  std::deque<std::string> writing_;           // stream chunks in flight
  size_t writing_payload_ = 0;
  bool stream_writing_ = false;
  std::array<char, 1024> discard_{};
};

}  // namespace internal

class Responder::Impl {
 public:
  Impl(std::shared_ptr<internal::Connection> conn, uint64_t seq, unsigned version)
      : conn(std::move(conn)), seq(seq), version(version) {}
  // A handler that drops every copy without answering would leave the client hanging.
  ~Impl() {
    if (!answered.exchange(true)) {
      conn->PostSend(seq, Response::Error(500, "handler did not respond"));
    }
  }

  const std::shared_ptr<internal::Connection> conn;
  const uint64_t seq;
  const unsigned version;
  std::atomic<bool> answered{false};
};

namespace internal {

void Connection::Start() {
  if (!core_->Register(this, weak_from_this())) {
    phase_ = Phase::kClosed;
    beast::error_code ec;
    stream_.socket().close(ec);
    return;
  }
  registered_ = true;
  beast::error_code ec;
  stream_.socket().set_option(tcp::no_delay(true), ec);
  tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    remote_ = peer.address().is_v6() ? "[" + peer.address().to_string() + "]"
                                     : peer.address().to_string();
    remote_ += ":" + std::to_string(peer.port());
  }
  DoReadHeader();
}

void Connection::Close() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kClosed;
  stream_.close();
  if (registered_) {
    core_->Forget(this);
  }
  if (stream_state_) {
    std::exchange(stream_state_, nullptr)->Ended();
  }
}

void Connection::DoReadHeader() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kReading;
  parser_.emplace();
  parser_->body_limit(core_->options().max_body_bytes);
  parser_->header_limit(kHeaderLimit);
  stream_.expires_after(core_->options().idle_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(beast::error_code ec) {
  if (ec) {
    return HandleReadError(ec);
  }
  if (!parser_->is_done() && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    stream_.expires_after(core_->options().idle_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         return self->Close();
                       }
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

void Connection::ReadBody() {
  if (parser_->is_done()) {
    return OnRequest();
  }
  stream_.expires_after(core_->options().idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (ec) {
                       return self->HandleReadError(ec);
                     }
                     self->OnRequest();
                   });
}

void Connection::HandleReadError(beast::error_code ec) {
  const auto& http_category = http::make_error_code(http::error::bad_target).category();
  if (ec.category() != http_category || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    return Close();  // peer gone, idle timeout, or server closing
  }
  version_ = parser_->is_header_done() ? parser_->get().version() : 11;
  keep_alive_ = false;
  phase_ = Phase::kHandling;
  if (ec == http::error::body_limit) {
    SendResponse(
        Response::Error(413, "request body exceeds " +
                                 std::to_string(core_->options().max_body_bytes) + " bytes"),
        true);
  } else if (ec == http::error::header_limit) {
    SendResponse(Response::Error(431, "request header too large"), true);
  } else {
    SendResponse(Response::Error(400, "malformed request: " + ec.message()), true);
  }
}

void Connection::OnRequest() {
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  ++seq_;
  phase_ = Phase::kHandling;
  keep_alive_ = msg.keep_alive();
  version_ = msg.version();
  stream_.expires_never();

  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.remote = remote_;
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto [it, inserted] = req.headers.emplace(std::move(name), std::string(field.value()));
    if (!inserted) {
      it->second.append(", ").append(field.value());
    }
  }
  req.body = std::move(msg.body());

  if (std::optional<Response> refusal = Screen(core_->options(), core_->router(), &req)) {
    return SendResponse(std::move(*refusal), false);
  }
  const Handler* handler = core_->router().Find(req.method, req.path).handler;
  Responder responder(std::make_shared<Responder::Impl>(shared_from_this(), seq_, version_));
  try {
    (*handler)(req, responder);
  } catch (...) {
    responder.Send(Response::Error(500, "internal error"));  // ignored if already answered
  }
}

void Connection::SendResponse(Response r, bool close) {
  if (phase_ != Phase::kHandling) {
    return;
  }
  response_ = {};
  response_.version(version_);
  ApplyHeaders(core_->options(), r, /*streaming=*/false, response_);
  unsigned status = response_.result_int();
  if (status == 204 || status == 304) {
    r.body.clear();
  }
  response_.body() = std::move(r.body);
  bool keep = keep_alive_ && !close && !core_->stopping();
  response_.keep_alive(keep);
  response_.prepare_payload();
  phase_ = Phase::kWriting;
  stream_.expires_after(core_->options().idle_timeout);
  http::async_write(stream_, response_,
                    [self = shared_from_this(), keep](beast::error_code ec, size_t) {
                      if (ec) {
                        return self->Close();
                      }
                      if (!keep) {
                        return self->LingerClose();
                      }
                      self->DoReadHeader();
                    });
}

void Connection::LingerClose() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kLingering;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(kLingerTimeout);
  DrainUntilEof();
}

void Connection::DrainUntilEof() {
  stream_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec || self->phase_ != Phase::kLingering) {
                              return self->Close();
                            }
                            self->DrainUntilEof();
                          });
}

void Connection::PostSend(uint64_t seq, Response response) {
  core_->PostUnlessStopped(executor_,
                           [self = shared_from_this(), seq, r = std::move(response)]() mutable {
                             if (self->phase_ == Phase::kHandling && self->seq_ == seq) {
                               self->SendResponse(std::move(r), false);
                             }
                           });
}

void Connection::PostBeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) {
  core_->PostUnlessStopped(executor_, [self = shared_from_this(), seq, s = std::move(stream)] {
    self->BeginStream(seq, s);
  });
}

void Connection::BeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) {
  if (phase_ != Phase::kHandling || seq_ != seq) {
    return stream->Ended();
  }
  phase_ = Phase::kStreaming;
  stream_state_ = std::move(stream);
  stream_.expires_never();
  ReadForDisconnect();
  FlushStream();
}

// A client of a stream sends nothing, so a pending read completes only when it goes
// away; that is how a dead client is noticed even when no event is being written.
void Connection::ReadForDisconnect() {
  stream_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) {
                              return self->Close();
                            }
                            if (self->phase_ == Phase::kStreaming) {
                              self->ReadForDisconnect();
                            }
                          });
}

void Connection::FlushStream() {
  if (phase_ != Phase::kStreaming || stream_writing_) {
    return;
  }
  StreamImpl::Batch batch = stream_state_->TakePending();
  if (batch.abort) {
    return Close();
  }
  if (batch.chunks.empty()) {
    if (batch.finish) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      Close();
    }
    return;
  }
  writing_ = std::move(batch.chunks);
  writing_payload_ = batch.payload;
  std::vector<net::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const std::string& s : writing_) {
    buffers.emplace_back(s.data(), s.size());
  }
  stream_writing_ = true;
  // Only the write gets a deadline: a client that accepts no bytes for that long is gone.
  stream_.expires_after(core_->options().idle_timeout);
  net::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->stream_writing_ = false;
    if (ec) {
      return self->Close();
    }
    if (self->stream_state_) {
      self->stream_state_->Written(self->writing_payload_);
    }
    self->writing_.clear();
    self->FlushStream();
  });
}

void CloseOnStrand(Connection& conn) { conn.Close(); }
void FlushStreamOnStrand(Connection& conn) { conn.FlushStream(); }

void StartConnection(const std::shared_ptr<ServerCore>& core, tcp::socket socket) {
  auto conn = std::make_shared<Connection>(core, std::move(socket));
  net::dispatch(conn->executor(), [conn] { conn->Start(); });
}

void CloseConnectionAsync(const std::shared_ptr<Connection>& conn) {
  net::post(conn->executor(), [conn] { conn->Close(); });
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
