// A PostgreSQL binary COPY as a lake::RowSource: a reader thread receives the server's
// CopyData messages into a bounded queue while the statement's thread decodes them
// into DuckDB's vectors. The server producing rows, libpq reading them and DuckDB
// encoding them (e.g. into Parquet) overlap, and memory stays bounded by the queue.
//
// Thread safety: Fill() is called by one thread (DuckDB's); the reader thread is
// owned here and joined by Finish() or the destructor.
#pragma once

#include <atomic>
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

struct PgCopySourceOptions {
  std::vector<WireType> wire;               // the COPY's columns, as selected
  std::vector<lake::SourceColumn> columns;  // what the source yields
  // Writes output row `row` from the decoded tuple (one call per tuple).
  std::function<void(const CopyBinaryDecoder&, lake::ChunkWriter&, size_t row)> map;
  double max_rows_per_s = 0;  // throttle on the server side; 0 = unthrottled
  const std::atomic<bool>* stop = nullptr;
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
  // kInvalidArgument for a malformed stream, kCancelled when `stop` is set.
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
