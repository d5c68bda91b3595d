// One HTTP/1.1 connection, plain or TLS: reads requests, dispatches them to handlers,
// writes responses or a streamed (chunked) body. The HTTP logic is written once, as a
// template over the stream type (Beast's tcp_stream, or ssl_stream over it); TLS adds
// only the handshake and a close_notify where plain TCP half-closes. Every member of
// a connection is touched only on its strand; Responder::Impl and StreamImpl are the
// thread-safe doors through which other threads reach it (by posting).
#include "web/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/log.h"
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
// A TLS handshake gets at most this long (or idle_timeout when shorter): a client
// that connects and says nothing must not keep a connection for a full idle timeout.
constexpr std::chrono::milliseconds kHandshakeTimeout{10000};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// OpenSSL recognised an HTTP request line where a ClientHello belongs.
bool IsPlainHttpRequest(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <typename Stream>
class BasicConnection final : public Connection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  BasicConnection(std::shared_ptr<ServerCore> core, tcp::socket socket)
      : Connection(std::move(core), socket.get_executor()),
        stream_(MakeStream(*core_, std::move(socket))) {}

  void Start() override;
  void Close() override;
  void FlushStream() override;

 private:
  enum class Phase {
    kHandshaking,
    kReading,
    kHandling,
    kWriting,
    kStreaming,
    kFinishing,  // TLS stream complete; waiting for the disconnect read to end
    kLingering,
    kClosed,
  };

  static Stream MakeStream(ServerCore& core, tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *core.tls());
    } else {
      return Stream(std::move(socket));
    }
  }
  std::shared_ptr<BasicConnection> Self() {
    return std::static_pointer_cast<BasicConnection>(shared_from_this());
  }
  // The TCP layer: deadlines, the socket, closing.
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void SendIfCurrent(uint64_t seq, Response response) override;
  void BeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) override;

  void Handshake();
  void RefusePlainHttp();
  void DoReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void HandleReadError(beast::error_code ec);
  void OnRequest();
  void PrepareResponse(Response r, unsigned version, bool keep_alive);
  void SendResponse(Response response, bool close);
  void LingerClose();
  void LingerTcp();
  void DrainUntilEof();
  void ReadForDisconnect();
  void FinishStream();

  Stream stream_;
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

template <typename Stream>
void BasicConnection<Stream>::Start() {
  if (!core_->Register(this, weak_from_this())) {
    phase_ = Phase::kClosed;
    beast::error_code ec;
    Tcp().socket().close(ec);
    return;
  }
  registered_ = true;
  beast::error_code ec;
  Tcp().socket().set_option(tcp::no_delay(true), ec);
  tcp::endpoint peer = Tcp().socket().remote_endpoint(ec);
  if (!ec) {
    remote_ = peer.address().is_v6() ? "[" + peer.address().to_string() + "]"
                                     : peer.address().to_string();
    remote_ += ":" + std::to_string(peer.port());
  }
  if constexpr (kTls) {
    Handshake();
  } else {
    DoReadHeader();
  }
}

template <typename Stream>
void BasicConnection<Stream>::Handshake() {
  phase_ = Phase::kHandshaking;
  Tcp().expires_after(
      std::min<std::chrono::milliseconds>(core_->options().idle_timeout, kHandshakeTimeout));
  stream_.async_handshake(net::ssl::stream_base::server, [self = Self()](beast::error_code ec) {
    if (self->phase_ != Phase::kHandshaking) {
      return;  // closed meanwhile (Stop)
    }
    if (!ec) {
      return self->DoReadHeader();
    }
    // Scanners, clients that distrust the certificate and expired timeouts are routine.
    log::Debug("tls handshake failed", {{"remote", self->remote_}, {"error", ec.message()}});
    if (IsPlainHttpRequest(ec)) {
      return self->RefusePlainHttp();
    }
    self->Close();
  });
}

// A plain-HTTP client on the HTTPS port gets an answer it can read, instead of a
// connection dropped without a word.
template <typename Stream>
void BasicConnection<Stream>::RefusePlainHttp() {
  PrepareResponse(Response::Error(400, "this port speaks HTTPS: use an https:// URL"), 11, false);
  phase_ = Phase::kWriting;
  Tcp().expires_after(core_->options().idle_timeout);
  http::async_write(Tcp(), response_, [self = Self()](beast::error_code ec, size_t) {
    if (ec) {
      return self->Close();
    }
    self->LingerTcp();  // the TLS session failed: no close_notify to send
  });
}

template <typename Stream>
void BasicConnection<Stream>::Close() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kClosed;
  Tcp().close();  // abortive for TLS too: no close_notify on errors, timeouts and Stop()
  if (registered_) {
    core_->Forget(this);
  }
  if (stream_state_) {
    std::exchange(stream_state_, nullptr)->Ended();
  }
}

template <typename Stream>
void BasicConnection<Stream>::DoReadHeader() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kReading;
  parser_.emplace();
  parser_->body_limit(core_->options().max_body_bytes);
  parser_->header_limit(kHeaderLimit);
  Tcp().expires_after(core_->options().idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

template <typename Stream>
void BasicConnection<Stream>::OnHeader(beast::error_code ec) {
  if (ec) {
    return HandleReadError(ec);
  }
  if (!parser_->is_done() && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    Tcp().expires_after(core_->options().idle_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = Self()](beast::error_code ec, size_t) {
                       if (ec) {
                         return self->Close();
                       }
                       self->ReadBody();
                     });
    return;
  }
  ReadBody();
}

template <typename Stream>
void BasicConnection<Stream>::ReadBody() {
  if (parser_->is_done()) {
    return OnRequest();
  }
  Tcp().expires_after(core_->options().idle_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
    if (ec) {
      return self->HandleReadError(ec);
    }
    self->OnRequest();
  });
}

template <typename Stream>
void BasicConnection<Stream>::HandleReadError(beast::error_code ec) {
  const auto& http_category = http::make_error_code(http::error::bad_target).category();
  if (ec.category() != http_category || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    return Close();  // peer gone, idle timeout, TLS failure, or server closing
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

template <typename Stream>
void BasicConnection<Stream>::OnRequest() {
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  ++seq_;
  phase_ = Phase::kHandling;
  keep_alive_ = msg.keep_alive();
  version_ = msg.version();
  Tcp().expires_never();

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

template <typename Stream>
void BasicConnection<Stream>::SendIfCurrent(uint64_t seq, Response response) {
  if (phase_ == Phase::kHandling && seq_ == seq) {
    SendResponse(std::move(response), false);
  }
}

template <typename Stream>
void BasicConnection<Stream>::PrepareResponse(Response r, unsigned version, bool keep_alive) {
  response_ = {};
  response_.version(version);
  ApplyHeaders(core_->options(), r, /*streaming=*/false, response_);
  unsigned status = response_.result_int();
  if (status == 204 || status == 304) {
    r.body.clear();
  }
  response_.body() = std::move(r.body);
  response_.keep_alive(keep_alive);
  response_.prepare_payload();
}

template <typename Stream>
void BasicConnection<Stream>::SendResponse(Response r, bool close) {
  if (phase_ != Phase::kHandling) {
    return;
  }
  bool keep = keep_alive_ && !close && !core_->stopping();
  PrepareResponse(std::move(r), version_, keep);
  phase_ = Phase::kWriting;
  Tcp().expires_after(core_->options().idle_timeout);
  http::async_write(stream_, response_, [self = Self(), keep](beast::error_code ec, size_t) {
    if (ec) {
      return self->Close();
    }
    if (!keep) {
      return self->LingerClose();
    }
    self->DoReadHeader();
  });
}

// Ends a connection whose last response is written, without a reset that could
// destroy that response in the client's receive buffer.
template <typename Stream>
void BasicConnection<Stream>::LingerClose() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  if constexpr (kTls) {
    // close_notify, then OpenSSL reads (and discards) until the client's close_notify
    // or EOF: the TLS form of a half-close and drain.
    phase_ = Phase::kLingering;
    Tcp().expires_after(kLingerTimeout);
    stream_.async_shutdown([self = Self()](beast::error_code) { self->Close(); });
  } else {
    LingerTcp();
  }
}

template <typename Stream>
void BasicConnection<Stream>::LingerTcp() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kLingering;
  beast::error_code ec;
  Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  Tcp().expires_after(kLingerTimeout);
  DrainUntilEof();
}

template <typename Stream>
void BasicConnection<Stream>::DrainUntilEof() {
  Tcp().async_read_some(net::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
    if (ec || self->phase_ != Phase::kLingering) {
      return self->Close();
    }
    self->DrainUntilEof();
  });
}

template <typename Stream>
void BasicConnection<Stream>::BeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) {
  if (phase_ != Phase::kHandling || seq_ != seq) {
    return stream->Ended();
  }
  phase_ = Phase::kStreaming;
  stream_state_ = std::move(stream);
  Tcp().expires_never();
  ReadForDisconnect();
  FlushStream();
}

// A client of a stream sends nothing, so a pending read completes only when it goes
// away; that is how a dead client is noticed even when no event is being written.
template <typename Stream>
void BasicConnection<Stream>::ReadForDisconnect() {
  stream_.async_read_some(net::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
    if (self->phase_ == Phase::kFinishing) {
      return self->LingerClose();  // cancelled by FinishStream (or the client left)
    }
    if (ec) {
      return self->Close();
    }
    if (self->phase_ == Phase::kStreaming) {
      self->ReadForDisconnect();
    }
  });
}

template <typename Stream>
void BasicConnection<Stream>::FlushStream() {
  if (phase_ != Phase::kStreaming || stream_writing_) {
    return;
  }
  StreamImpl::Batch batch = stream_state_->TakePending();
  if (batch.abort) {
    return Close();
  }
  if (batch.chunks.empty()) {
    if (batch.finish) {
      FinishStream();
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
  Tcp().expires_after(core_->options().idle_timeout);
  net::async_write(stream_, buffers, [self = Self()](beast::error_code ec, size_t) {
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

// The stream's response is complete and written.
template <typename Stream>
void BasicConnection<Stream>::FinishStream() {
  if constexpr (kTls) {
    // A close_notify tells the client that the end is real, not a cut (an HTTP/1.0
    // stream has no other end marker). A TLS shutdown reads too, so the disconnect
    // read must end first; its handler goes on with LingerClose.
    phase_ = Phase::kFinishing;
    Tcp().cancel();
  } else {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    Close();
  }
}

}  // namespace

void CloseOnStrand(Connection& conn) { conn.Close(); }
void FlushStreamOnStrand(Connection& conn) { conn.FlushStream(); }

void StartConnection(const std::shared_ptr<ServerCore>& core, tcp::socket socket) {
  std::shared_ptr<Connection> conn;
  if (core->tls() != nullptr) {
    conn = std::make_shared<BasicConnection<TlsStream>>(core, std::move(socket));
  } else {
    conn = std::make_shared<BasicConnection<PlainStream>>(core, std::move(socket));
  }
  net::dispatch(conn->executor(), [conn] { conn->Start(); });
}

void CloseConnectionAsync(const std::shared_ptr<Connection>& conn) {
  net::post(conn->executor(), [conn] { conn->Close(); });
}

}  // namespace internal
}  // namespace lastro::web
