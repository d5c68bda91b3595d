#include "batch/pg_copy_source.h"

#include <algorithm>
#include <chrono>

namespace lastro::batch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBlockBytes = 1 << 20;  // messages gathered before a hand-over
// How often a waiting reader or consumer looks whether it should give up.
constexpr std::chrono::milliseconds kPoll(50);

}  // namespace

void RowThrottle::Pass(int64_t rows, const std::atomic<bool>& cancelled) {
  if (!enabled()) return;
  const int64_t total = rows_.fetch_add(rows, std::memory_order_relaxed) + rows;
  const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(total / max_rows_per_s_));
  for (auto now = Clock::now(); now < due && !cancelled.load(); now = Clock::now()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(due - now, kPoll));
  }
}

PgCopySource::PgCopySource(pg::Connection& conn, std::string copy_sql, PgCopySourceOptions options)
    : options_(std::move(options)), decoder_(options_.wire) {
  reader_ = std::thread([this, &conn, sql = std::move(copy_sql)] { Read(conn, sql); });
}

PgCopySource::~PgCopySource() { Finish().IgnoreError(); }

void PgCopySource::Read(pg::Connection& conn, const std::string& sql) {
  std::string block;
  block.reserve(kBlockBytes + 4096);
  int64_t messages = 0;
  RowThrottle* throttle =
      options_.throttle != nullptr && options_.throttle->enabled() ? options_.throttle : nullptr;
  auto hand_over = [&](Block b) -> Status {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closing_ || queued_bytes_ < options_.queue_bytes; });
    if (closing_) return absl::CancelledError("the reader of the COPY went away");
    queued_bytes_ += b.bytes.size();
    queue_.push_back(std::move(b));
    cv_.notify_all();
    return absl::OkStatus();
  };
  Status status = conn.CopyOut(sql, [&](std::string_view message) -> Status {
    if (cancel_.load(std::memory_order_relaxed)) {
      return absl::CancelledError("the reader of the COPY went away");
    }
    block.append(message);
    if (block.size() >= kBlockBytes) {
      LASTRO_RETURN_IF_ERROR(hand_over({std::move(block)}));
      block.clear();
      block.reserve(kBlockBytes + 4096);
    }
    // Throttle: one message is one row, except the header and trailer.
    if (throttle != nullptr && ++messages % 1000 == 0) throttle->Pass(1000, cancel_);
    return absl::OkStatus();
  });
  if (status.ok() && !block.empty()) status = hand_over({std::move(block)});
  std::lock_guard lock(mu_);
  outcome_ = status;
  queue_.push_back({"", true, status});
  cv_.notify_all();
}

StatusOr<PgCopySource::Block> PgCopySource::Pop() {
  std::unique_lock lock(mu_);
  // A reader may wait long for the server (or its throttle): look at `stopped` meanwhile.
  while (!cv_.wait_for(lock, kPoll, [&] { return !queue_.empty(); })) {
    if (options_.stopped && options_.stopped()) return absl::CancelledError("the run was stopped");
  }
  Block b = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= b.bytes.size();
  cv_.notify_all();
  return b;
}

StatusOr<size_t> PgCopySource::Fill(lake::ChunkWriter& out) {
  if (options_.stopped && options_.stopped()) return absl::CancelledError("the run was stopped");
  size_t n = 0;
  while (n < out.capacity() && !ended_) {
    LASTRO_ASSIGN_OR_RETURN(bool tuple, decoder_.Next());
    if (tuple) {
      options_.map(decoder_, out, n);
      ++n;
      if (++rows_ % 50000 == 0 && options_.progress) options_.progress(rows_);
      continue;
    }
    LASTRO_ASSIGN_OR_RETURN(Block block, Pop());
    if (block.end) {
      ended_ = true;
      LASTRO_RETURN_IF_ERROR(block.status);
      if (!decoder_.finished() || decoder_.pending_bytes() != 0) {
        return absl::InvalidArgumentError("the COPY stream ended mid-tuple");
      }
      if (options_.progress) options_.progress(rows_);
      break;
    }
    decoder_.Append(block.bytes);
  }
  return n;
}

Status PgCopySource::Finish() {
  if (!reader_.joinable()) return outcome_;
  {
    std::lock_guard lock(mu_);
    closing_ = true;  // a reader blocked on a full queue gives up and cancels the COPY
    cv_.notify_all();
  }
  cancel_ = true;
  reader_.join();
  std::lock_guard lock(mu_);
  return outcome_;
}

}  // namespace lastro::batch
