// A PostgreSQL binary COPY as a lake::RowSource: a reader thread receives the server's
// CopyData messages into a bounded queue while the statement's thread decodes them
// into DuckDB's vectors. The server producing rows, libpq reading them and DuckDB
// encoding them (e.g. into Parquet) overlap, and memory stays bounded by the queue.
//
// Thread safety: Fill() is called by one thread (DuckDB's); the reader thread is
// owned here and joined by Finish() or the destructor. Several sources may run at
// once on different connections, sharing one RowThrottle.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "batch/copy_binary.h"
#include "common/status.h"
#include "lake/row_source.h"
#include "pg/connection.h"

namespace lastro::batch {

// A rate limit on rows received, shared by every COPY of one extract, concurrent or
// not: together they stay at or under `max_rows_per_s`, on average since the
// throttle was made. A reader that runs ahead sleeps (the server then waits on its
// socket). Thread-safe.
class RowThrottle {
 public:
  // max_rows_per_s <= 0: unthrottled, Pass() never sleeps.
  explicit RowThrottle(double max_rows_per_s)
      : max_rows_per_s_(max_rows_per_s), start_(std::chrono::steady_clock::now()) {}
  bool enabled() const { return max_rows_per_s_ > 0; }
  // Counts `rows` more rows and sleeps until the total is within the rate, or until
  // `cancelled` (looked at every 50 ms) is true.
  void Pass(int64_t rows, const std::atomic<bool>& cancelled);

 private:
  const double max_rows_per_s_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> rows_{0};
};

struct PgCopySourceOptions {
  std::vector<WireType> wire;               // the COPY's columns, as selected
  std::vector<lake::SourceColumn> columns;  // what the source yields
  // Writes output row `row` from the decoded tuple (one call per tuple).
  std::function<void(const CopyBinaryDecoder&, lake::ChunkWriter&, size_t row)> map;
  RowThrottle* throttle = nullptr;  // not owned; nullptr = unthrottled
  // Polled before each chunk and every 50 ms while waiting for the reader: true fails
  // Fill() with kCancelled (the run was stopped, or another stream of the same
  // extract failed). Called on the statement's thread.
  std::function<bool()> stopped;
  std::function<void(int64_t rows)> progress;  // every 50,000 rows and at the end
  size_t queue_bytes = 32 << 20;               // received and not yet decoded
};

class PgCopySource final : public lake::RowSource {
 public:
  // Starts `copy_sql` (a COPY ... TO STDOUT (FORMAT binary)) on `conn`, which must
  // stay unused by anyone else until Finish().
  PgCopySource(pg::Connection& conn, std::string copy_sql, PgCopySourceOptions options);
  ~PgCopySource() override;

  const std::vector<lake::SourceColumn>& columns() const override { return options_.columns; }
  // Errors: the COPY's (kUnavailable, kDeadlineExceeded ... from the server),
  // kInvalidArgument for a malformed stream, kCancelled when `stopped` says so.
  StatusOr<size_t> Fill(lake::ChunkWriter& out) override;

  // Stops the reader (cancelling the COPY if it is still running, e.g. because the
  // statement failed) and returns the COPY's outcome. Call once the statement ended.
  Status Finish();

  int64_t rows() const { return rows_; }

 private:
  struct Block {
    std::string bytes;
    bool end = false;
    Status status;  // the COPY's outcome, on the end block
  };
  void Read(pg::Connection& conn, const std::string& sql);
  StatusOr<Block> Pop();

  PgCopySourceOptions options_;
  CopyBinaryDecoder decoder_;
  int64_t rows_ = 0;
  bool ended_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Block> queue_;          // guarded by mu_
  size_t queued_bytes_ = 0;          // guarded by mu_
  bool closing_ = false;             // guarded by mu_: the consumer is gone
  std::atomic<bool> cancel_{false};  // the same, read by the reader per message
  Status outcome_;                   // the COPY's outcome, set by the reader before exiting
  std::thread reader_;
};

}  // namespace lastro::batch
