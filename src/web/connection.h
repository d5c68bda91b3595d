// Internal: a client connection as the rest of the server sees it (ServerCore,
// Responder, StreamImpl), whatever its stream type, plus the response-head helpers
// shared by connection.cc and responder.cc. The HTTP logic itself is one template
// over the stream type (plain TCP or TLS) in connection.cc. Not part of the public
// interface; the only internal header with a Beast type (the response header).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "web/event_stream_impl.h"
#include "web/http_server.h"
#include "web/server_core.h"

namespace lastro::web {
namespace internal {

// A connection as the rest of the server sees it, whatever its stream type.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;

  const boost::asio::any_io_executor& executor() const { return executor_; }
  const std::shared_ptr<ServerCore>& core() const { return core_; }

  // Strand only.
  virtual void Start() = 0;
  virtual void Close() = 0;
  virtual void FlushStream() = 0;

  // Any thread: answer request `seq` unless the connection has moved on (or closed).
  void PostSend(uint64_t seq, Response response) {
    core_->PostUnlessStopped(executor_,
                             [self = shared_from_this(), seq, r = std::move(response)]() mutable {
                               self->SendIfCurrent(seq, std::move(r));
                             });
  }
  void PostBeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) {
    core_->PostUnlessStopped(executor_, [self = shared_from_this(), seq, s = std::move(stream)] {
      self->BeginStream(seq, s);
    });
  }

 protected:
  Connection(std::shared_ptr<ServerCore> core, boost::asio::any_io_executor executor)
      : core_(std::move(core)), executor_(std::move(executor)) {}

  // Strand only.
  virtual void SendIfCurrent(uint64_t seq, Response response) = 0;
  virtual void BeginStream(uint64_t seq, std::shared_ptr<StreamImpl> stream) = 0;

  const std::shared_ptr<ServerCore> core_;
  const boost::asio::any_io_executor executor_;  // the connection's strand
};

// Status, content type, security headers and the caller's extra headers. An extra
// header replaces a default of the same name; repeated extras are all kept.
void ApplyHeaders(const ServerOptions& options, const Response& r, bool streaming,
                  boost::beast::http::response_header<>& h);

// The status line and headers of a streamed response, serialised.
std::string FormatStreamHead(const ServerOptions& options, const Response& head, unsigned version,
                             bool chunked);

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

}  // namespace lastro::web
