// Internal: the thread-safe half of an EventStream. Application threads queue bytes
// here; the connection drains the queue on its strand. Not part of the public
// interface. Lock order: StreamImpl::mu_ before ServerCore's mutex.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "web/http_server.h"
#include "web/server_core.h"

namespace lastro::web::internal {

// Run on the connection's strand (defined in connection.cc).
void CloseOnStrand(Connection& conn);        // drops the connection, ending its stream
void FlushStreamOnStrand(Connection& conn);  // writes what the stream has queued

class StreamImpl final : public EventStream {
 public:
  // `conn` is weak: a stream kept by the application must not pin a socket.
  StreamImpl(std::shared_ptr<ServerCore> core, boost::asio::any_io_executor executor,
             std::weak_ptr<Connection> conn, size_t max_queued, bool chunked);

  bool Write(std::string data) override;
  void Close() override;
  bool closed() const override;
  void OnClose(std::function<void()> callback) override;

  // Queues the status line and headers, before the stream is handed out; they do
  // not count against the limit.
  void QueueHead(std::string head);
  // For a Responder that was already used: the stream is over before it starts.
  void MarkDead();

  struct Batch {
    std::deque<std::string> chunks;
    size_t payload = 0;   // payload bytes in `chunks` (framing excluded)
    bool abort = false;   // overflowed: drop the connection
    bool finish = false;  // closed and fully handed over: end the response
  };
  // Strand only: takes everything queued so far.
  Batch TakePending();
  // Strand only: `payload` bytes of a taken batch reached the socket.
  void Written(size_t payload);
  // Strand only: the stream is over; fires the OnClose callback once.
  void Ended();

 private:
  void ScheduleFlushLocked();

  const std::shared_ptr<ServerCore> core_;
  const boost::asio::any_io_executor executor_;  // the connection's strand
  const std::weak_ptr<Connection> conn_;
  const size_t max_queued_;
  const bool chunked_;

  mutable std::mutex mu_;
  std::deque<std::string> pending_;  // guarded by mu_: encoded bytes not yet taken
  size_t pending_payload_ = 0;       // guarded by mu_: payload bytes in pending_
  size_t queued_payload_ = 0;        // guarded by mu_: payload bytes pending or in flight
  bool close_requested_ = false;     // guarded by mu_
  bool overflow_ = false;            // guarded by mu_
  bool ended_ = false;               // guarded by mu_
  bool flush_scheduled_ = false;     // guarded by mu_: a FlushStream is posted or will run
  std::function<void()> on_close_;   // guarded by mu_
};

}  // namespace lastro::web::internal
