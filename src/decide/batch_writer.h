// Collects decisions from any thread and writes them in batches: one statement
// (one transaction, one round trip) per batch, bounded by size and by time.
//
// Failure handling:
//   - DB unavailable / timeout: reconnect with capped backoff and retry the same
//     batch (the write is idempotent, so a retry after an unknown outcome is safe);
//   - a value the DB refuses (constraint): the batch is retried row by row and
//     each refused row is parked in dead_letters with the error, so one bad row
//     never blocks the others.
// `on_written` runs on the writer thread after each commit, for every decision
// that is now durable (decided, already decided before, or parked).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "decide/stream_store.h"
#include "decide/types.h"

namespace lastro::decide {

struct BatchWriterOptions {
  std::string dsn;
  std::string application_name = "lastro-stream-writer";
  int batch_max = 500;
  std::chrono::milliseconds batch_max_wait{20};
  std::chrono::milliseconds max_backoff{5000};
  // How long a decision whose request row is not visible is retried before the
  // request is taken as deleted.
  std::chrono::milliseconds invisible_retry_for{10000};
  int statement_timeout_ms = 30000;
  int lock_timeout_ms = 5000;
};

class BatchWriter {
 public:
  // `written` gets each durable batch and the DB's result for it.
  using WrittenFn = std::function<void(const std::vector<Decision>&, const WriteResult&)>;

  BatchWriter(BatchWriterOptions options, metrics::Registry& metrics, WrittenFn on_written);
  ~BatchWriter();  // Stop()

  // Starts the writer thread. The first connection is made lazily.
  void Start();
  // Queues a decision. Thread-safe, never blocks on the DB.
  void Add(Decision decision);
  // Writes what is queued, then stops the thread. Idempotent.
  void Stop();

  size_t queued() const;
  // True when the last DB operation succeeded (for readiness).
  bool db_ok() const { return db_ok_.load(); }

 private:
  void Loop();
  void WriteWithRetry(std::vector<Decision>& batch);
  Status WriteOnce(const std::vector<Decision>& batch);
  Status WriteRowByRow(const std::vector<Decision>& batch);

  BatchWriterOptions options_;
  WrittenFn on_written_;
  metrics::Counter& batches_;
  metrics::Counter& rows_;
  metrics::Counter& parked_;
  metrics::Counter& write_errors_;
  metrics::Counter& invisible_retries_;
  metrics::Counter& vanished_;
  metrics::Histogram& batch_size_;
  metrics::Histogram& write_ms_;

  mutable std::mutex mu_;  // guards queue_ and stop_
  std::condition_variable cv_;
  std::vector<Decision> queue_;
  bool stop_ = false;
  std::atomic<bool> db_ok_{true};
  std::unique_ptr<StreamStore> store_;  // writer thread only
  std::thread thread_;
};

}  // namespace lastro::decide
