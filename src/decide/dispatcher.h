// The stream's middle stage: holds every request between capture and its durable
// decision, and makes sure each is scored at most once per process.
//
//  capture --Enqueue--> queue --(one lookup query per batch)--> risk client
//      --> policy --> BatchWriter --Complete--> LSN tracker releases the slot.
//
// - De-duplication: a request already in flight (same id from a resent
//   transaction, the backfill or the sweep) is not scored again; its WAL position
//   is attached to the existing work so the slot waits for that one decision.
// - Before any provider call, one batched query checks the current status: a
//   request decided before a crash is never sent to the provider again.
// - Backpressure: Enqueue blocks while `max_queued` requests wait, and the risk
//   client blocks while its in-flight bound is reached.
// - The reconciliation sweep re-queues requests PENDING for longer than the
//   threshold that are not in flight (counted: it should stay at zero).
// Thread-safe: Enqueue from the capture thread, Complete from the writer, the
// risk callbacks from the risk client's thread; the loop runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "decide/lsn_tracker.h"
#include "decide/policy.h"
#include "decide/stream_store.h"
#include "decide/types.h"
#include "risk/risk_client.h"

namespace lastro::decide {

struct DispatcherOptions {
  std::string dsn;
  std::string application_name = "lastro-stream-dispatch";
  int statement_timeout_ms = 30000;
  int lock_timeout_ms = 5000;
  int lookup_batch = 500;
  // A partial batch waits this long to fill before its lookup: fewer, larger
  // queries on the operational DB for a few milliseconds of latency.
  std::chrono::milliseconds lookup_wait{20};
  size_t max_queued = 4096;
  std::chrono::seconds sweep_interval{30};
  std::chrono::seconds sweep_threshold{120};
  int sweep_limit = 1000;
  std::string on_provider_failure = "MANUAL_REVIEW";
};

class Dispatcher {
 public:
  using EmitFn = std::function<void(Decision)>;                    // to the writer
  using CapturedFn = std::function<void(const CapturedRequest&)>;  // observers

  Dispatcher(DispatcherOptions options, const Policy& policy, risk::RiskClient& risk,
             LsnTracker& tracker, metrics::Registry& metrics, EmitFn emit,
             CapturedFn on_captured = nullptr);
  ~Dispatcher();  // Stop()

  void Start();
  void Stop();

  // Queues a PENDING request (commit_lsn 0 when not from the slot). Blocks up to
  // `wait` while the queue is full; returns false then (nothing was queued).
  bool Enqueue(CapturedRequest request, std::chrono::milliseconds wait);
  // The request's decision is durable (or it was skipped/parked): releases its
  // WAL positions. Idempotent.
  void Complete(int64_t request_id);
  // After a replication reconnect: the server resends everything unconfirmed, so
  // positions held by in-flight work are dropped (the resends re-attach them).
  void ForgetLsns();
  // Runs the sweep on the next loop iteration (tests, operators).
  void SweepSoon();

  size_t in_flight() const;
  size_t queued() const;
  // Not OK once the provider refused us in a way retrying cannot fix (e.g. our
  // credentials: HTTP 401/403). Requests are then left undecided for a restart
  // with a corrected configuration; the pipeline stops and alerts.
  Status fatal() const;
  bool db_ok() const { return db_ok_.load(); }

 private:
  struct Work {
    CapturedRequest request;
    std::vector<uint64_t> lsns;
    bool queued = true;
  };
  void Loop();
  void ProcessBatch(std::vector<CapturedRequest>& batch);
  void Sweep();
  void Submit(const CapturedRequest& request, const RequestContext& context);
  StatusOr<StreamStore*> Store();

  DispatcherOptions options_;
  const Policy& policy_;
  risk::RiskClient& risk_;
  LsnTracker& tracker_;
  EmitFn emit_;
  CapturedFn on_captured_;
  metrics::Counter& captured_;
  metrics::Counter& deduplicated_;
  metrics::Counter& already_decided_;
  metrics::Counter& vanished_;
  metrics::Counter& swept_;
  metrics::Gauge& in_flight_gauge_;

  mutable std::mutex mu_;             // guards work_, queue_, stop_, sweep_now_
  std::condition_variable cv_;        // loop wakes: queue not empty / stop
  std::condition_variable space_cv_;  // Enqueue wakes: queue has room / stop
  std::unordered_map<int64_t, Work> work_;
  std::deque<int64_t> queue_;
  bool stop_ = false;
  bool sweep_now_ = false;
  Status fatal_;
  std::atomic<bool> db_ok_{true};
  std::unique_ptr<StreamStore> store_;  // loop thread only
  std::thread thread_;
};

}  // namespace lastro::decide
