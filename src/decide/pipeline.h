// `lastro stream`: the real-time credit decision pipeline, assembled.
//
//   PostgreSQL slot (pgoutput) -> capture loop (this thread) -> Dispatcher
//     -> RiskClient -> Policy -> BatchWriter -> PostgreSQL
//                                     \-> LsnTracker -> slot confirmation
//
// Guarantees (see docs/stream.md): no committed request is lost (the slot is
// confirmed only past transactions whose every request is durably decided or
// parked; requests committed before the slot existed are taken from the slot's
// exported snapshot; a sweep catches anything left PENDING); none is decided twice
// (idempotent writes guarded by the state machine); the provider is not called
// for a request already decided.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "decide/policy.h"
#include "decide/stream_store.h"
#include "decide/types.h"
#include "risk/types.h"

namespace lastro::decide {

// Observers (e.g. the live dashboard). Called on pipeline threads; must be quick
// and must not block.
struct PipelineHooks {
  std::function<void(const CapturedRequest&)> on_captured;
  // After the decision's transaction committed. `transitioned` is false when the
  // request had already been decided (a replay).
  std::function<void(const Decision&, bool transitioned, int64_t commit_time_us)> on_decided;
};

struct PipelineStatus {
  bool attached = false;       // replication stream running
  bool db_ok = false;          // last DB operations succeeded
  uint64_t confirmed_lsn = 0;  // what the slot may forget
  uint64_t server_wal_end = 0;
  int64_t lag_bytes = 0;
  double lag_seconds = 0;
  size_t in_flight = 0;
};

class Pipeline {
 public:
  // Loads nothing from disk: `policy` is already validated. Errors: from the risk
  // client's config validation.
  static StatusOr<std::unique_ptr<Pipeline>> Create(const Config& config, Policy policy,
                                                    metrics::Registry& metrics,
                                                    PipelineHooks hooks = {});
  ~Pipeline();

  // Runs until `stop` becomes true; reconnects with backoff on any stream error.
  // Then drains in-flight work (bounded) and stops. Returns OK on a clean stop.
  Status Run(const std::atomic<bool>& stop);

  PipelineStatus status() const;
  // Ready to serve: slot attached and DB reachable.
  bool ready() const;

  // The risk provider client's health (in flight, circuit state, error rate).
  // Thread-safe; cheap (no I/O).
  risk::Health risk_health() const;

  // For tests and operators: trigger the reconciliation sweep now.
  void SweepNow();

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastro::decide
