// The live dashboard's state, kept in memory and fed by the decision pipeline's
// hooks, so that any number of viewers costs the operational database nothing.
//
// It keeps:
//   - a bounded replay ring of events, each with a sequence id that only grows (the
//     SSE `id:`). Ids start at the hub's creation time in Unix microseconds, so ids of
//     a previous process are recognised as unknown, never misread as recent;
//   - today's counts by status (America/Sao_Paulo day), restored once at start-up
//     (`RestoreTodayCounts`, from one aggregate query) and then kept from the stream;
//   - per-second aggregates ("tick"): requests/s by channel and status, approval rate,
//     decision latency p50/p95/p99 over a sliding window, the risk provider's health
//     and the replication lag (read from `HubOptions::gauges` once per tick);
//   - the latest requests, for the table.
//
// Events (SSE `event:` names; `data:` is one JSON object, see docs/dashboard.md):
//   "request" a request was created (status PENDING);
//   "status"  a request changed status (decision committed);
//   "tick"    the per-second aggregate;
//   "resync"  a full snapshot (as /api/summary) sent instead of a replay when the
//             client is new, its Last-Event-ID is unknown or older than the ring.
//
// Threads: OnCaptured/OnDecided run on pipeline threads and only append to the ring
// under a short lock; fan-out to subscribers happens on the hub's own thread
// (Start), which also emits ticks and heartbeats. Subscribe/Unsubscribe may run on
// any thread (HTTP IO threads). All methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "dashboard/aggregates.h"
#include "decide/types.h"

namespace lastro::dashboard {

// Figures the hub reads from the pipeline once per tick (not from the database).
struct Gauges {
  int64_t risk_in_flight = 0;
  std::string risk_circuit = "closed";  // closed | open | half_open
  double risk_error_rate = 0;
  int64_t lag_bytes = 0;
  double lag_seconds = 0;
  bool attached = false;
  int64_t pipeline_in_flight = 0;
};

struct HubOptions {
  size_t ring_capacity = 10000;  // events kept for Last-Event-ID replay
  size_t latest_capacity = 200;  // requests kept for the table
  size_t tick_history = 300;     // ticks kept for the chart (5 min at 1/s)
  std::chrono::seconds latency_window{60};
  size_t latency_max_samples = 100000;
  size_t seen_capacity = 100000;  // request ids remembered against replays
  std::chrono::milliseconds tick_interval{1000};
  std::chrono::milliseconds heartbeat_interval{15000};
  // A replay larger than this is replaced by a resync (keep it under the per-client
  // queue bound, or the replay itself would get the client dropped).
  size_t max_replay_bytes = 512 * 1024;
  // Called on the hub thread at each tick; may be empty (zeros are reported).
  std::function<Gauges()> gauges;
};

// Receives already formatted SSE text. Returns false when the client is gone or too
// slow; the hub then forgets the subscriber.
using Sink = std::function<bool(std::string)>;

class DashboardHub {
 public:
  // `clock` must outlive the hub. Does not start the thread.
  DashboardHub(const Clock& clock, HubOptions options);
  ~DashboardHub();  // Stops the thread.

  // Starts the fan-out/tick thread. Call once.
  void Start();
  // Stops and joins the thread and forgets the subscribers. Idempotent.
  void Stop();

  // Replaces today's counts (status -> count) with `counts`, as read from the
  // database at start-up. Requests created before this call are assumed counted.
  void RestoreTodayCounts(const std::map<std::string, int64_t>& counts);

  // Pipeline hooks. Cheap, never block on subscribers.
  void OnCaptured(const decide::CapturedRequest& request);
  void OnDecided(const decide::Decision& decision, bool transitioned, int64_t commit_time_us);

  // Registers `sink` and writes to it (before returning) either the events after
  // `last_event_id` or, when that is absent, unknown or too old, one "resync" event.
  // `prefix` (e.g. "retry: 2000\n\n") is written first. Later events follow in
  // order from the hub thread. Returns an id for Unsubscribe.
  uint64_t Subscribe(std::optional<uint64_t> last_event_id, Sink sink,
                     const std::string& prefix = "");
  // Forgets a subscriber (unknown ids are ignored). Never calls its sink again once
  // this returns, except for a write already under way on the hub thread.
  void Unsubscribe(uint64_t subscriber_id);

  // The snapshot served by /api/summary and carried by "resync" events.
  nlohmann::json Summary() const;

  // --- driven by the hub thread; public so tests can step it with a FakeClock ---
  // Computes the aggregate since the previous tick and appends a "tick" event.
  void Tick();
  // Sends the events appended since the last call to every subscriber.
  void Broadcast();
  // Writes an SSE comment to every subscriber (keeps proxies from timing out and
  // lets the server notice dead clients).
  void Heartbeat();

  uint64_t last_event_id() const;
  size_t subscribers() const;
  // Statistics for benchmarks and /metrics-like checks.
  uint64_t dropped_subscribers() const;

 private:
  struct Event {
    uint64_t id;
    std::string frame;  // the full SSE text of the event
  };
  struct Subscriber;

  // All below: caller holds mu_.
  uint64_t AppendLocked(const std::string& type, const nlohmann::json& data);
  void RollDayLocked(int64_t now_us);
  nlohmann::json SummaryLocked() const;
  nlohmann::json TickJsonLocked(const Gauges& g, double seconds);
  nlohmann::json& UpsertRowLocked(int64_t id);
  bool FirstSightingLocked(int64_t request_id);
  void RemoveDead(const std::vector<uint64_t>& ids);

  const Clock& clock_;
  const HubOptions options_;
  const uint64_t first_id_;

  mutable std::mutex mu_;
  std::condition_variable cv_;                                   // wakes the hub thread; with mu_
  bool stop_ = false;                                            // guarded by mu_
  bool started_ = false;                                         // guarded by mu_
  uint64_t next_id_;                                             // guarded by mu_
  uint64_t broadcast_upto_;                                      // guarded by mu_
  std::deque<Event> ring_;                                       // guarded by mu_
  size_t ring_bytes_ = 0;                                        // guarded by mu_
  std::map<uint64_t, std::shared_ptr<Subscriber>> subscribers_;  // guarded by mu_
  uint64_t next_subscriber_ = 1;                                 // guarded by mu_
  uint64_t dropped_ = 0;                                         // guarded by mu_
  int64_t restored_at_us_ = 0;                                   // guarded by mu_
  int64_t day_ = 0;                       // guarded by mu_; SaoPauloDay of the counts
  std::map<std::string, int64_t> today_;  // guarded by mu_
  // Since the last tick: channel -> status -> count (status PENDING = created).
  std::map<std::string, std::map<std::string, int64_t>> interval_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_tick_;                 // guarded by mu_
  LatencyWindow latency_;                                           // guarded by mu_
  std::deque<nlohmann::json> ticks_;                                // guarded by mu_
  Gauges gauges_;                                                   // guarded by mu_
  std::deque<int64_t> latest_order_;                                // guarded by mu_
  std::map<int64_t, nlohmann::json> latest_;                        // guarded by mu_
  // Request ids already announced (bounded), so a replayed capture is not counted twice.
  std::deque<int64_t> seen_order_;  // guarded by mu_
  std::set<int64_t> seen_;          // guarded by mu_
  std::thread thread_;
};

}  // namespace lastro::dashboard
