#include <sstream>
#include <utility>

#include "web/event_stream_impl.h"

namespace lastro::web::internal {
namespace {

std::string ChunkSizeLine(size_t n) {
  std::ostringstream os;
  os << std::hex << n << "\r\n";
  return os.str();
}

}  // namespace

StreamImpl::StreamImpl(std::shared_ptr<ServerCore> core, boost::asio::any_io_executor executor,
                       std::weak_ptr<Connection> conn, size_t max_queued, bool chunked)
    : core_(std::move(core)),
      executor_(std::move(executor)),
      conn_(std::move(conn)),
      max_queued_(max_queued),
      chunked_(chunked) {}

bool StreamImpl::Write(std::string data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (close_requested_ || ended_) {
    return false;
  }
  if (data.empty()) {
    return true;  // an empty chunk would end a chunked body
  }
  if (queued_payload_ + data.size() > max_queued_) {
    overflow_ = true;
    close_requested_ = true;
    pending_.clear();
    // Not through a flush: a write stuck on this very client may be in flight.
    core_->PostUnlessStopped(executor_, [conn = conn_] {
      if (auto c = conn.lock()) {
        CloseOnStrand(*c);
      }
    });
    return false;
  }
  queued_payload_ += data.size();
  pending_payload_ += data.size();
  if (chunked_) {
    pending_.push_back(ChunkSizeLine(data.size()));
    pending_.push_back(std::move(data));
    pending_.emplace_back("\r\n");
  } else {
    pending_.push_back(std::move(data));
  }
  ScheduleFlushLocked();
  return true;
}

void StreamImpl::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (close_requested_ || ended_) {
    return;
  }
  close_requested_ = true;
  if (chunked_) {
    pending_.emplace_back("0\r\n\r\n");
  }
  ScheduleFlushLocked();
}

bool StreamImpl::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return close_requested_ || ended_;
}

void StreamImpl::OnClose(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ended_) {
      on_close_ = std::move(callback);
      return;
    }
  }
  core_->PostUnlessStopped(executor_, [cb = std::move(callback)] { InvokeUserCallback(cb); });
}

void StreamImpl::QueueHead(std::string head) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_front(std::move(head));
}

void StreamImpl::MarkDead() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = close_requested_ = true;
}

StreamImpl::Batch StreamImpl::TakePending() {
  std::lock_guard<std::mutex> lock(mu_);
  Batch b;
  flush_scheduled_ = false;
  if (overflow_) {
    b.abort = true;
    return b;
  }
  b.chunks.swap(pending_);
  b.payload = std::exchange(pending_payload_, 0);
  b.finish = close_requested_ && b.chunks.empty();
  return b;
}

void StreamImpl::Written(size_t payload) {
  std::lock_guard<std::mutex> lock(mu_);
  queued_payload_ -= payload;
}

void StreamImpl::Ended() {
  std::function<void()> cb;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) {
      return;
    }
    ended_ = close_requested_ = true;
    pending_.clear();
    cb = std::move(on_close_);
  }
  InvokeUserCallback(cb);  // outside the lock: the callback may call back into the stream
}

void StreamImpl::ScheduleFlushLocked() {
  if (flush_scheduled_) {
    return;
  }
  flush_scheduled_ = true;
  core_->PostUnlessStopped(executor_, [conn = conn_] {
    if (auto c = conn.lock()) {
      FlushStreamOnStrand(*c);
    }
  });
}

}  // namespace lastro::web::internal
