#include "decide/pipeline.h"

#include <thread>
#include <unordered_set>

#include "capture/pgoutput.h"
#include "capture/replication_stream.h"
#include "common/log.h"
#include "decide/batch_writer.h"
#include "decide/dispatcher.h"
#include "decide/lsn_tracker.h"
#include "decide/request_row.h"
#include "risk/risk_client.h"

namespace lastro::decide {

struct Pipeline::Impl {
  Config config;
  Policy policy;
  metrics::Registry& metrics;
  PipelineHooks hooks;
  LsnTracker tracker;
  std::unique_ptr<risk::RiskClient> risk;
  std::unique_ptr<BatchWriter> writer;
  std::unique_ptr<Dispatcher> dispatcher;

  std::atomic<bool> attached{false};
  std::atomic<uint64_t> confirmed{0};
  std::atomic<uint64_t> wal_end{0};
  std::atomic<double> lag_seconds{0};

  metrics::Counter& dead_letters;
  metrics::Counter& backfilled;
  metrics::Counter& reconnects;
  metrics::Histogram& decision_ms;
  metrics::Gauge& lag_bytes_gauge;
  metrics::Gauge& lag_seconds_gauge;
  metrics::Gauge& attached_gauge;

  Impl(const Config& c, Policy p, metrics::Registry& m, PipelineHooks h)
      : config(c),
        policy(std::move(p)),
        metrics(m),
        hooks(std::move(h)),
        dead_letters(m.GetCounter("lastro.stream.dead_letters", "Events parked in dead_letters")),
        backfilled(m.GetCounter("lastro.stream.backfilled",
                                "PENDING requests taken from the slot's snapshot")),
        reconnects(m.GetCounter("lastro.replication.reconnects", "Replication reconnects")),
        decision_ms(
            m.GetHistogram("lastro.decision.latency.ms", "Request commit to decision commit, ms")),
        lag_bytes_gauge(
            m.GetGauge("lastro.replication.lag.bytes", "Server WAL end minus confirmed position")),
        lag_seconds_gauge(m.GetGauge("lastro.replication.lag.seconds",
                                     "Age of the last commit read from the slot (0 when idle), s")),
        attached_gauge(m.GetGauge("lastro.replication.attached", "1 while streaming")) {}

  // Per-outcome counters, looked up once (OnWritten runs for every decision).
  metrics::Counter& DecisionCounter(const std::string& status) {
    for (auto& [name, counter] : decision_counters) {
      if (name == status) return *counter;
    }
    metrics::Counter& c =
        metrics.GetCounter("lastro.decisions", "Decisions committed", {{"decision", status}});
    decision_counters.emplace_back(status, &c);
    return c;
  }
  std::vector<std::pair<std::string, metrics::Counter*>> decision_counters;  // writer thread

  void OnWritten(const std::vector<Decision>& batch, const WriteResult& result) {
    std::unordered_set<int64_t> moved(result.transitioned.begin(), result.transitioned.end());
    for (const Decision& d : batch) {
      bool transitioned = moved.count(d.request_id) > 0;
      if (transitioned) {
        DecisionCounter(d.status).Add();
        if (d.commit_time_us > 0 && result.commit_time_us > 0) {
          decision_ms.Observe(double(result.commit_time_us - d.commit_time_us) / 1000.0);
        }
      }
      dispatcher->Complete(d.request_id);
      if (hooks.on_decided) hooks.on_decided(d, transitioned, result.commit_time_us);
    }
  }

  Status DeadLetter(StreamStore& store, uint64_t lsn, std::optional<int64_t> id,
                    const std::string& error, const std::string& payload) {
    dead_letters.Add();
    log::Error("undecodable replication event parked in dead_letters",
               {{"lsn", FormatLsn(lsn)}, {"error", error}});
    return store.DeadLetter("pgoutput", lsn, id, error, payload);
  }

  Status Backfill(StreamStore& store, const std::string& snapshot, const std::atomic<bool>& stop) {
    LASTRO_ASSIGN_OR_RETURN(auto pending, store.PendingAtSnapshot(snapshot));
    log::Info("slot created; taking PENDING requests from its snapshot",
              {{"count", pending.size()}});
    for (CapturedRequest& r : pending) {
      while (!dispatcher->Enqueue(r, std::chrono::milliseconds(200))) {
        if (stop) return absl::CancelledError("stopping");
      }
      backfilled.Add();
    }
    return absl::OkStatus();
  }

  Status RunOnce(const std::atomic<bool>& stop) {
    capture::ReplicationOptions ro;
    ro.dsn = config.pg.dsn;
    ro.slot = config.pg.slot;
    ro.publication = config.pg.publication;
    ro.application_name = config.pg.application_name + "-capture";
    ro.status_interval = std::chrono::milliseconds(config.stream.status_interval_ms);
    LASTRO_ASSIGN_OR_RETURN(
        auto store,
        StreamStore::Connect(config.pg.dsn, config.pg.application_name,
                             config.pg.statement_timeout_ms, config.pg.lock_timeout_ms));
    LASTRO_RETURN_IF_ERROR(store->EnsurePublication(config.pg.publication));
    LASTRO_ASSIGN_OR_RETURN(auto stream, capture::ReplicationStream::Open(ro));
    auto slot = stream->EnsureSlot(/*export_snapshot=*/true);
    if (absl::IsFailedPrecondition(slot.status()) &&
        slot.status().message().find("invalidated") != std::string::npos) {
      log::Error("replication slot was invalidated; re-creating it (backfill covers the gap)",
                 {{"slot", config.pg.slot}});
      LASTRO_RETURN_IF_ERROR(stream->DropSlot());
      slot = stream->EnsureSlot(true);
    }
    LASTRO_RETURN_IF_ERROR(slot.status());
    if (slot->created) LASTRO_RETURN_IF_ERROR(Backfill(*store, slot->snapshot_name, stop));
    tracker.Reset(stream->confirmed());
    dispatcher->ForgetLsns();
    LASTRO_RETURN_IF_ERROR(stream->Start());
    attached = true;
    attached_gauge.Set(1);
    log::Info("replication stream attached",
              {{"slot", config.pg.slot}, {"from_lsn", FormatLsn(stream->confirmed())}});

    capture::RelationCache relations;
    bool in_txn = false;
    int64_t txn_commit_us = 0;
    std::vector<CapturedRequest> txn;
    auto db_failing_since = std::chrono::steady_clock::time_point::max();
    while (!stop) {
      LASTRO_RETURN_IF_ERROR(dispatcher->fatal());
      // While decisions cannot be written, nothing can be confirmed; holding the
      // replication connection then would also block a clean server shutdown
      // (the walsender waits for our confirmation). Let go and reconnect later;
      // the server resends what was not confirmed.
      if (writer->db_ok() && dispatcher->db_ok()) {
        db_failing_since = std::chrono::steady_clock::time_point::max();
      } else if (db_failing_since == std::chrono::steady_clock::time_point::max()) {
        db_failing_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - db_failing_since > std::chrono::seconds(1)) {
        return absl::UnavailableError(
            "database unavailable for decisions; releasing the replication connection");
      }
      LASTRO_ASSIGN_OR_RETURN(auto msg, stream->Next(std::chrono::milliseconds(100)));
      if (msg) {
        auto decoded = capture::DecodeMessage(msg->payload);
        if (!decoded.ok()) {
          LASTRO_RETURN_IF_ERROR(DeadLetter(*store, msg->wal_start, std::nullopt,
                                            std::string(decoded.status().message()), msg->payload));
        } else if (auto* b = std::get_if<capture::Begin>(&*decoded)) {
          in_txn = true;
          txn.clear();
          txn_commit_us = b->commit_time_unix;
        } else if (auto* rel = std::get_if<capture::Relation>(&*decoded)) {
          relations.Put(*rel);
        } else if (auto* ins = std::get_if<capture::Insert>(&*decoded)) {
          LASTRO_RETURN_IF_ERROR(TakeRow(*store, relations, ins->relid, ins->new_tuple, *msg, txn));
        } else if (auto* upd = std::get_if<capture::Update>(&*decoded)) {
          LASTRO_RETURN_IF_ERROR(TakeRow(*store, relations, upd->relid, upd->new_tuple, *msg, txn));
        } else if (auto* c = std::get_if<capture::Commit>(&*decoded)) {
          uint64_t end = c->end_lsn.value();
          tracker.Commit(end, int(txn.size()));
          for (CapturedRequest& r : txn) {
            r.commit_lsn = end;
            r.commit_time_us = txn_commit_us;
            while (!dispatcher->Enqueue(r, std::chrono::milliseconds(200))) {
              if (stop) return absl::OkStatus();
              LASTRO_RETURN_IF_ERROR(stream->MaybeSendStatus());
            }
          }
          txn.clear();
          in_txn = false;
          lag_seconds =
              std::max(0.0, double(RealClock::Instance().WallMicros() - txn_commit_us) / 1e6);
        }
      } else if (!in_txn && stream->idle_at_wal_end()) {
        tracker.Idle(stream->server_wal_end());
        if (tracker.outstanding() == 0) lag_seconds = 0;
      }
      stream->Confirm(tracker.confirmed());
      confirmed = stream->confirmed();
      wal_end = stream->server_wal_end();
      lag_bytes_gauge.Set(double(wal_end > confirmed ? wal_end - confirmed : 0));
      lag_seconds_gauge.Set(lag_seconds);
    }
    IgnoreError(stream->MaybeSendStatus(true));
    return absl::OkStatus();
  }

  // A credit_requests row that is PENDING joins the transaction's work; anything
  // else (other tables, our own status write-backs) is ignored: that is the loop
  // avoidance. Unparsable rows are dead-lettered.
  Status TakeRow(StreamStore& store, const capture::RelationCache& relations, uint32_t relid,
                 const capture::TupleData& tuple, const capture::WalMessage& msg,
                 std::vector<CapturedRequest>& txn) {
    const capture::Relation* rel = relations.Find(relid);
    if (rel == nullptr) {
      return DeadLetter(store, msg.wal_start, std::nullopt,
                        "row for a relation never described by a Relation message", msg.payload);
    }
    if (!IsCreditRequests(*rel)) return absl::OkStatus();
    auto row = ParseRequestRow(*rel, tuple);
    if (!row.ok()) {
      return DeadLetter(store, msg.wal_start, std::nullopt, std::string(row.status().message()),
                        msg.payload);
    }
    if (row->status == "PENDING") txn.push_back(std::move(*row));
    return absl::OkStatus();
  }

  void Drain() {
    // Let work in flight finish (bounded), so a clean stop leaves little to replay.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (dispatcher->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    dispatcher->Stop();
    risk->Shutdown();
    writer->Stop();
  }
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() {
  if (impl_->dispatcher) impl_->dispatcher->Stop();
  if (impl_->risk) impl_->risk->Shutdown();
  if (impl_->writer) impl_->writer->Stop();
}

StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const Config& config, Policy policy,
                                                     metrics::Registry& m, PipelineHooks hooks) {
  auto impl = std::make_unique<Impl>(config, std::move(policy), m, std::move(hooks));
  LASTRO_ASSIGN_OR_RETURN(impl->risk,
                          risk::RiskClient::Create(config.risk, RealClock::Instance(), m));
  Impl* raw = impl.get();
  BatchWriterOptions wo;
  wo.dsn = config.pg.dsn;
  wo.application_name = config.pg.application_name + "-writer";
  wo.batch_max = config.stream.batch_max;
  wo.batch_max_wait = std::chrono::milliseconds(config.stream.batch_max_ms);
  wo.statement_timeout_ms = config.pg.statement_timeout_ms;
  wo.lock_timeout_ms = config.pg.lock_timeout_ms;
  impl->writer = std::make_unique<BatchWriter>(
      wo, m, [raw](const std::vector<Decision>& b, const WriteResult& r) { raw->OnWritten(b, r); });
  DispatcherOptions d;
  d.dsn = config.pg.dsn;
  d.application_name = config.pg.application_name + "-dispatch";
  d.statement_timeout_ms = config.pg.statement_timeout_ms;
  d.lock_timeout_ms = config.pg.lock_timeout_ms;
  d.lookup_batch = config.stream.batch_max;
  d.lookup_wait = std::chrono::milliseconds(config.stream.batch_max_ms);
  d.max_queued = size_t(config.risk.max_in_flight) * 4;
  d.sweep_interval = std::chrono::seconds(config.stream.sweep_interval_s);
  d.sweep_threshold = std::chrono::seconds(config.stream.sweep_threshold_s);
  d.sweep_limit = config.stream.sweep_limit;
  d.on_provider_failure = config.stream.on_provider_failure;
  impl->dispatcher = std::make_unique<Dispatcher>(
      d, impl->policy, *impl->risk, impl->tracker, m,
      [raw](Decision dec) { raw->writer->Add(std::move(dec)); }, impl->hooks.on_captured);
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Status Pipeline::Run(const std::atomic<bool>& stop) {
  Impl& s = *impl_;
  s.writer->Start();
  s.dispatcher->Start();
  auto backoff = std::chrono::milliseconds(100);
  auto max_backoff = std::chrono::milliseconds(s.config.stream.reconnect_max_backoff_ms);
  Status fatal;
  while (!stop) {
    auto started = std::chrono::steady_clock::now();
    Status st = s.RunOnce(stop);
    s.attached = false;
    s.attached_gauge.Set(0);
    if (stop) break;
    if (absl::IsFailedPrecondition(st) || absl::IsPermissionDenied(st) ||
        absl::IsInvalidArgument(st)) {
      log::Error("stream cannot continue", {{"error", std::string(st.message())}});
      fatal = st;
      break;
    }
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) {
      backoff = std::chrono::milliseconds(100);  // it had been working: start over
    }
    s.reconnects.Add();
    log::Warn("replication stream interrupted; reconnecting",
              {{"error", std::string(st.message())}, {"backoff_ms", backoff.count()}});
    auto until = std::chrono::steady_clock::now() + backoff;
    while (!stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, max_backoff);
  }
  s.Drain();
  return fatal;
}

PipelineStatus Pipeline::status() const {
  PipelineStatus st;
  st.attached = impl_->attached;
  st.db_ok = impl_->writer->db_ok() && impl_->dispatcher->db_ok();
  st.confirmed_lsn = impl_->confirmed;
  st.server_wal_end = impl_->wal_end;
  st.lag_bytes =
      st.server_wal_end > st.confirmed_lsn ? int64_t(st.server_wal_end - st.confirmed_lsn) : 0;
  st.lag_seconds = impl_->lag_seconds;
  st.in_flight = impl_->dispatcher->in_flight();
  return st;
}

bool Pipeline::ready() const {
  PipelineStatus st = status();
  return st.attached && st.db_ok;
}

risk::Health Pipeline::risk_health() const { return impl_->risk->health(); }

void Pipeline::SweepNow() { impl_->dispatcher->SweepSoon(); }

}  // namespace lastro::decide
