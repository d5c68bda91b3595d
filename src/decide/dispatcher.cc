#include "decide/dispatcher.h"

#include "common/log.h"
#include "decide/decider.h"

namespace lastro::decide {

Dispatcher::Dispatcher(DispatcherOptions options, const Policy& policy, risk::RiskClient& risk,
                       LsnTracker& tracker, metrics::Registry& m, EmitFn emit,
                       CapturedFn on_captured)
    : options_(std::move(options)),
      policy_(policy),
      risk_(risk),
      tracker_(tracker),
      emit_(std::move(emit)),
      on_captured_(std::move(on_captured)),
      captured_(m.GetCounter("lastro.stream.captured", "PENDING requests taken in")),
      deduplicated_(
          m.GetCounter("lastro.stream.deduplicated", "Requests already in flight when seen again")),
      already_decided_(m.GetCounter("lastro.stream.already_decided",
                                    "Requests found decided before scoring (not re-sent)")),
      vanished_(m.GetCounter("lastro.stream.vanished", "Requests deleted before scoring")),
      swept_(m.GetCounter("lastro.stream.sweep.requeued",
                          "Stale PENDING requests re-queued by the sweep (should stay 0)")),
      in_flight_gauge_(
          m.GetGauge("lastro.stream.in_flight", "Requests between capture and commit")) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  space_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Dispatcher::Enqueue(CapturedRequest request, std::chrono::milliseconds wait) {
  {
    std::unique_lock lock(mu_);
    auto it = work_.find(request.id);
    if (it != work_.end()) {
      if (request.commit_lsn) it->second.lsns.push_back(request.commit_lsn);
      deduplicated_.Add();
      return true;
    }
    if (!space_cv_.wait_for(lock, wait,
                            [this] { return stop_ || queue_.size() < options_.max_queued; }) ||
        stop_) {
      return false;
    }
    Work w;
    w.request = request;
    if (request.commit_lsn) w.lsns.push_back(request.commit_lsn);
    work_.emplace(request.id, std::move(w));
    queue_.push_back(request.id);
    in_flight_gauge_.Set(double(work_.size()));
  }
  captured_.Add();
  cv_.notify_one();
  if (on_captured_) on_captured_(request);
  return true;
}

void Dispatcher::Complete(int64_t request_id) {
  std::vector<uint64_t> lsns;
  {
    std::lock_guard lock(mu_);
    auto it = work_.find(request_id);
    if (it == work_.end() || it->second.queued) return;
    lsns = std::move(it->second.lsns);
    work_.erase(it);
    in_flight_gauge_.Set(double(work_.size()));
  }
  for (uint64_t lsn : lsns) tracker_.Done(lsn);
}

void Dispatcher::ForgetLsns() {
  std::lock_guard lock(mu_);
  for (auto& [id, w] : work_) w.lsns.clear();
}

void Dispatcher::SweepSoon() {
  {
    std::lock_guard lock(mu_);
    sweep_now_ = true;
  }
  cv_.notify_all();
}

size_t Dispatcher::in_flight() const {
  std::lock_guard lock(mu_);
  return work_.size();
}

Status Dispatcher::fatal() const {
  std::lock_guard lock(mu_);
  return fatal_;
}

size_t Dispatcher::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

StatusOr<StreamStore*> Dispatcher::Store() {
  if (!store_) {
    LASTRO_ASSIGN_OR_RETURN(
        store_, StreamStore::Connect(options_.dsn, options_.application_name,
                                     options_.statement_timeout_ms, options_.lock_timeout_ms));
  }
  return store_.get();
}

void Dispatcher::Loop() {
  // The first sweep runs soon after start: it picks up anything left PENDING by a
  // crash during a backfill, or by a slot that was dropped while we were away.
  auto next_sweep =
      std::chrono::steady_clock::now() + std::min<std::chrono::steady_clock::duration>(
                                             options_.sweep_interval, std::chrono::seconds(5));
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_until(lock, next_sweep, [&] { return stop_ || !queue_.empty() || sweep_now_; });
    if (stop_) break;
    if (!queue_.empty() && int(queue_.size()) < options_.lookup_batch) {
      cv_.wait_for(lock, options_.lookup_wait,
                   [this] { return stop_ || int(queue_.size()) >= options_.lookup_batch; });
      if (stop_) break;
    }
    if (!queue_.empty()) {
      std::vector<CapturedRequest> batch;
      while (!queue_.empty() && int(batch.size()) < options_.lookup_batch) {
        Work& w = work_.at(queue_.front());
        w.queued = false;
        batch.push_back(w.request);
        queue_.pop_front();
      }
      space_cv_.notify_all();
      lock.unlock();
      ProcessBatch(batch);
      lock.lock();
    }
    if (sweep_now_ || std::chrono::steady_clock::now() >= next_sweep) {
      sweep_now_ = false;
      lock.unlock();
      Sweep();
      lock.lock();
      next_sweep = std::chrono::steady_clock::now() + options_.sweep_interval;
    }
  }
}

void Dispatcher::ProcessBatch(std::vector<CapturedRequest>& batch) {
  std::map<int64_t, RequestContext> contexts;
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    auto store = Store();
    StatusOr<std::map<int64_t, RequestContext>> looked =
        store.ok() ? (*store)->Lookup(batch)
                   : StatusOr<std::map<int64_t, RequestContext>>(store.status());
    if (looked.ok()) {
      contexts = std::move(*looked);
      db_ok_ = true;
      break;
    }
    db_ok_ = false;
    store_.reset();
    log::Warn("request lookup failed; retrying",
              {{"error", std::string(looked.status().message())}, {"backoff_ms", backoff.count()}});
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, backoff, [this] { return stop_; })) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  for (const CapturedRequest& r : batch) {
    auto it = contexts.find(r.id);
    if (it == contexts.end()) {
      vanished_.Add();
      Complete(r.id);
    } else if (!it->second.status.empty() && it->second.status != "PENDING") {
      already_decided_.Add();
      Complete(r.id);
    } else {
      Submit(r, it->second);
    }
  }
}

void Dispatcher::Submit(const CapturedRequest& request, const RequestContext& context) {
  risk::ScoreRequest sr = MakeScoreRequest(request, context);
  auto done = [this, request, context](risk::ScoreResult result) {
    // A shutdown cancels calls in flight: leave those requests undecided (the slot
    // resends them after restart) rather than sending them to manual review.
    if (!result.assessment.ok() && absl::IsCancelled(result.assessment.status())) return;
    if (!result.assessment.ok() && absl::IsFailedPrecondition(result.assessment.status())) {
      std::lock_guard lock(mu_);
      if (fatal_.ok()) fatal_ = result.assessment.status();
      return;
    }
    Decision decision =
        MakeDecision(request, context, result, policy_, options_.on_provider_failure);
    if (log::Enabled(log::Level::kDebug)) {
      log::ScopedCorrelation correlation(log::RequestCorrelationId(request.id));
      log::Debug("request decided", {{"request_id", request.id},
                                     {"decision", decision.status},
                                     {"band", decision.risk_band},
                                     {"reasons", decision.reason_codes},
                                     {"attempts", decision.attempts}});
    }
    emit_(std::move(decision));
  };
  for (;;) {
    Status s = risk_.Submit(sr, done, std::chrono::milliseconds(200));
    if (s.ok()) return;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;  // stays unconfirmed: the slot resends it after restart
    }
    if (absl::IsResourceExhausted(s)) continue;  // backpressure: wait for room
    risk::ScoreResult failed;
    failed.request_id = request.id;
    failed.assessment = s;
    done(std::move(failed));
    return;
  }
}

void Dispatcher::Sweep() {
  auto store = Store();
  if (!store.ok()) return;
  auto stale = (*store)->StalePending(options_.sweep_threshold, options_.sweep_limit);
  if (!stale.ok()) {
    store_.reset();
    log::Warn("reconciliation sweep failed", {{"error", std::string(stale.status().message())}});
    return;
  }
  int requeued = 0;
  {
    std::lock_guard lock(mu_);
    for (CapturedRequest& r : *stale) {
      if (work_.count(r.id)) continue;
      if (queue_.size() >= options_.max_queued) break;
      Work w;
      w.request = std::move(r);
      int64_t id = w.request.id;
      work_.emplace(id, std::move(w));
      queue_.push_back(id);
      ++requeued;
    }
    in_flight_gauge_.Set(double(work_.size()));
  }
  if (requeued > 0) {
    swept_.Add(requeued);
    log::Warn("reconciliation sweep re-queued stale PENDING requests",
              {{"count", requeued}, {"threshold_s", options_.sweep_threshold.count()}});
    cv_.notify_all();
  }
}

}  // namespace lastro::decide
