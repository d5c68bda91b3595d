#include "dashboard/dashboard_hub.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace lastro::dashboard {

namespace {

constexpr const char* kPending = "PENDING";
constexpr const char* kUnknownCpf = "***.***.***-**";

std::string Frame(uint64_t id, const std::string& type, const nlohmann::json& data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, type, data.dump());
}

nlohmann::json OrNull(bool present, double value) {
  return present ? nlohmann::json(value) : nlohmann::json(nullptr);
}

// Approved over decided (today's counts); null before the first decision.
nlohmann::json ApprovalRate(const std::map<std::string, int64_t>& today, int64_t* decided_out) {
  int64_t decided = 0;
  for (const auto& [status, n] : today) {
    if (status != kPending) decided += n;
  }
  if (decided_out) *decided_out = decided;
  auto approved = today.find("APPROVED");
  if (decided == 0) return nullptr;
  return double(approved == today.end() ? 0 : approved->second) / double(decided);
}

}  // namespace

struct DashboardHub::Subscriber {
  std::mutex mu;           // serialises writes to the sink
  Sink sink;               // guarded by mu
  uint64_t sent_upto = 0;  // guarded by mu: last event id written
  std::atomic<bool> dead{false};
};

DashboardHub::DashboardHub(const Clock& clock, HubOptions options)
    : clock_(clock),
      options_(std::move(options)),
      first_id_(uint64_t(std::max<int64_t>(clock.WallMicros(), 1))),
      next_id_(first_id_),
      broadcast_upto_(first_id_ - 1),
      day_(SaoPauloDay(clock.WallMicros())),
      last_tick_(clock.Now()),
      latency_(options_.latency_window, options_.latency_max_samples) {}

DashboardHub::~DashboardHub() { Stop(); }

void DashboardHub::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stop_) return;
  started_ = true;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    auto next_tick = clock_.Now() + options_.tick_interval;
    auto next_heartbeat = clock_.Now() + options_.heartbeat_interval;
    while (!stop_) {
      auto now = clock_.Now();
      bool pending = broadcast_upto_ + 1 != next_id_;
      if (!pending && now < next_tick && now < next_heartbeat) {
        cv_.wait_for(lock, std::min(next_tick, next_heartbeat) - now);
        continue;
      }
      lock.unlock();
      if (now >= next_tick) {
        Tick();
        next_tick += options_.tick_interval;
        if (next_tick <= now) next_tick = now + options_.tick_interval;  // fell behind
      }
      Broadcast();
      if (now >= next_heartbeat) {
        Heartbeat();
        next_heartbeat = now + options_.heartbeat_interval;
      }
      lock.lock();
    }
  });
}

void DashboardHub::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  subscribers_.clear();
}

void DashboardHub::RestoreTodayCounts(const std::map<std::string, int64_t>& counts) {
  std::lock_guard lock(mu_);
  restored_at_us_ = clock_.WallMicros();
  day_ = SaoPauloDay(restored_at_us_);
  today_ = counts;
}

uint64_t DashboardHub::AppendLocked(const std::string& type, const nlohmann::json& data) {
  uint64_t id = next_id_++;
  ring_.push_back({id, Frame(id, type, data)});
  ring_bytes_ += ring_.back().frame.size();
  while (ring_.size() > options_.ring_capacity) {
    ring_bytes_ -= ring_.front().frame.size();
    ring_.pop_front();
  }
  return id;
}

void DashboardHub::RollDayLocked(int64_t now_us) {
  int64_t day = SaoPauloDay(now_us);
  if (day > day_) {  // a new business day: counts start from zero
    day_ = day;
    today_.clear();
  }
}

bool DashboardHub::FirstSightingLocked(int64_t request_id) {
  if (!seen_.insert(request_id).second) return false;
  seen_order_.push_back(request_id);
  while (seen_order_.size() > options_.seen_capacity) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return true;
}

nlohmann::json& DashboardHub::UpsertRowLocked(int64_t id) {
  auto it = latest_.find(id);
  if (it != latest_.end()) return it->second;
  latest_order_.push_back(id);
  nlohmann::json& row = latest_[id];
  while (latest_order_.size() > options_.latest_capacity) {
    latest_.erase(latest_order_.front());
    latest_order_.pop_front();
  }
  return row;
}

void DashboardHub::OnCaptured(const decide::CapturedRequest& r) {
  int64_t now_us = clock_.WallMicros();
  int64_t created_us = r.created_at_us > 0 ? r.created_at_us : now_us;
  {
    std::lock_guard lock(mu_);
    RollDayLocked(now_us);
    // Requests created before the restore are in the restored counts already, and a
    // replayed capture (after a reconnect) is not a new request.
    if (created_us < restored_at_us_ || !FirstSightingLocked(r.id)) return;
    if (SaoPauloDay(created_us) == day_) ++today_[kPending];
    ++interval_[r.channel][kPending];
    nlohmann::json data = {
        {"id", r.id},           {"cpf", kUnknownCpf}, {"amount_cents", r.amount_cents},
        {"channel", r.channel}, {"status", kPending}, {"created_at", IsoUtc(created_us)}};
    UpsertRowLocked(r.id) = data;
    AppendLocked("request", data);
  }
  cv_.notify_one();
}

void DashboardHub::OnDecided(const decide::Decision& d, bool transitioned, int64_t commit_time_us) {
  if (!transitioned) return;  // already decided before: nothing changed
  int64_t now_us = clock_.WallMicros();
  {
    std::lock_guard lock(mu_);
    RollDayLocked(now_us);
    FirstSightingLocked(d.request_id);
    if (d.created_at_us > 0 && SaoPauloDay(d.created_at_us) == day_) {
      int64_t& pending = today_[kPending];
      pending = std::max<int64_t>(0, pending - 1);
      ++today_[d.status];
    }
    ++interval_[d.channel][d.status];
    bool timed = d.commit_time_us > 0 && commit_time_us > 0;
    double decision_ms = timed ? double(commit_time_us - d.commit_time_us) / 1000.0 : 0;
    if (timed) latency_.Add(clock_.Now(), decision_ms);
    nlohmann::json data = {
        {"id", d.request_id},
        {"cpf", d.cpf_masked.empty() ? kUnknownCpf : d.cpf_masked},
        {"amount_cents", d.amount_cents},
        {"channel", d.channel},
        {"status", d.status},
        {"band", d.risk_band},
        {"score", d.score ? nlohmann::json(*d.score) : nlohmann::json(nullptr)},
        {"reasons", d.reason_codes},
        {"created_at",
         d.created_at_us > 0 ? nlohmann::json(IsoUtc(d.created_at_us)) : nlohmann::json(nullptr)},
        {"decided_at", IsoUtc(commit_time_us > 0 ? commit_time_us : now_us)},
        {"decision_ms", OrNull(timed, decision_ms)},
        {"provider_ms",
         OrNull(d.provider_latency_ms.has_value(), d.provider_latency_ms.value_or(0))},
        {"attempts", d.attempts}};
    UpsertRowLocked(d.request_id) = data;
    AppendLocked("status", data);
  }
  cv_.notify_one();
}

nlohmann::json DashboardHub::TickJsonLocked(const Gauges& g, double seconds) {
  nlohmann::json rates = nlohmann::json::object();
  for (const auto& [channel, by_status] : interval_) {
    for (const auto& [status, n] : by_status) rates[channel][status] = double(n) / seconds;
  }
  LatencyWindow::Percentiles p = latency_.Compute(clock_.Now());
  bool have = p.samples > 0;
  return {{"at", IsoUtc(clock_.WallMicros())},
          {"interval_s", seconds},
          {"rates", rates},
          {"latency_ms",
           {{"p50", OrNull(have, p.p50)},
            {"p95", OrNull(have, p.p95)},
            {"p99", OrNull(have, p.p99)},
            {"samples", p.samples}}},
          {"risk",
           {{"error_rate", g.risk_error_rate},
            {"circuit", g.risk_circuit},
            {"in_flight", g.risk_in_flight}}},
          {"replication",
           {{"lag_bytes", g.lag_bytes},
            {"lag_seconds", g.lag_seconds},
            {"attached", g.attached},
            {"in_flight", g.pipeline_in_flight}}}};
}

void DashboardHub::Tick() {
  Gauges g = options_.gauges ? options_.gauges() : Gauges{};
  std::lock_guard lock(mu_);
  auto now = clock_.Now();
  double seconds = std::max(std::chrono::duration<double>(now - last_tick_).count(), 1e-3);
  last_tick_ = now;
  RollDayLocked(clock_.WallMicros());
  gauges_ = g;
  nlohmann::json tick = TickJsonLocked(g, seconds);
  interval_.clear();
  ticks_.push_back(tick);
  while (ticks_.size() > options_.tick_history) ticks_.pop_front();
  // The tick event also carries the day's counters, so the page needs nothing else.
  nlohmann::json event = tick;
  event["today"] = today_;
  event["approval_rate"] = ApprovalRate(today_, nullptr);
  AppendLocked("tick", event);
}

void DashboardHub::Broadcast() {
  std::vector<std::pair<uint64_t, std::string>> events;
  std::vector<std::pair<uint64_t, std::shared_ptr<Subscriber>>> subs;
  uint64_t oldest = 0;
  {
    std::lock_guard lock(mu_);
    if (broadcast_upto_ + 1 == next_id_) return;
    auto it = std::lower_bound(ring_.begin(), ring_.end(), broadcast_upto_ + 1,
                               [](const Event& e, uint64_t id) { return e.id < id; });
    for (; it != ring_.end(); ++it) events.emplace_back(it->id, it->frame);
    broadcast_upto_ = next_id_ - 1;
    oldest = ring_.empty() ? next_id_ : ring_.front().id;
    subs.assign(subscribers_.begin(), subscribers_.end());
  }
  if (events.empty()) return;
  std::string all;
  for (const auto& e : events) all += e.second;
  uint64_t last = events.back().first;
  std::vector<uint64_t> dead;
  for (auto& [id, sub] : subs) {
    std::lock_guard lock(sub->mu);
    if (sub->dead || sub->sent_upto >= last) continue;
    bool ok;
    if (sub->sent_upto + 1 < oldest) {
      ok = false;  // it missed events the ring no longer has: drop; it resyncs on reconnect
    } else if (sub->sent_upto + 1 == events.front().first) {
      ok = sub->sink(all);  // the usual case: one shared string for everyone
    } else {
      std::string data;  // subscribed meanwhile: skip what its replay had
      for (const auto& e : events) {
        if (e.first > sub->sent_upto) data += e.second;
      }
      ok = sub->sink(std::move(data));
    }
    sub->sent_upto = last;
    if (!ok) {
      sub->dead = true;
      dead.push_back(id);
    }
  }
  RemoveDead(dead);
}

void DashboardHub::Heartbeat() {
  std::vector<std::pair<uint64_t, std::shared_ptr<Subscriber>>> subs;
  {
    std::lock_guard lock(mu_);
    subs.assign(subscribers_.begin(), subscribers_.end());
  }
  std::vector<uint64_t> dead;
  for (auto& [id, sub] : subs) {
    std::lock_guard lock(sub->mu);
    if (!sub->dead && !sub->sink(": heartbeat\n\n")) {
      sub->dead = true;
      dead.push_back(id);
    }
  }
  RemoveDead(dead);
}

void DashboardHub::RemoveDead(const std::vector<uint64_t>& ids) {
  if (ids.empty()) return;
  std::lock_guard lock(mu_);
  // Counted here even when OnClose -> Unsubscribe has already erased it.
  dropped_ += ids.size();
  for (uint64_t id : ids) subscribers_.erase(id);
}

uint64_t DashboardHub::Subscribe(std::optional<uint64_t> last_event_id, Sink sink,
                                 const std::string& prefix) {
  auto sub = std::make_shared<Subscriber>();
  sub->sink = std::move(sink);
  std::string out = prefix;
  std::unique_lock lock(mu_);
  uint64_t newest = next_id_ - 1;
  uint64_t oldest = ring_.empty() ? next_id_ : ring_.front().id;
  std::string reason = "initial";
  bool replayed = false;
  if (last_event_id) {
    reason = "unknown_id";
    if (*last_event_id + 1 >= oldest && *last_event_id <= newest) {
      auto it = std::lower_bound(ring_.begin(), ring_.end(), *last_event_id + 1,
                                 [](const Event& e, uint64_t id) { return e.id < id; });
      size_t bytes = 0;
      for (auto j = it; j != ring_.end(); ++j) bytes += j->frame.size();
      if (bytes <= options_.max_replay_bytes) {
        for (; it != ring_.end(); ++it) out += it->frame;
        replayed = true;
      } else {
        reason = "too_far_behind";
      }
    } else if (*last_event_id >= first_id_ && *last_event_id < oldest) {
      reason = "too_old";
    }
  }
  if (!replayed) {
    nlohmann::json snapshot = SummaryLocked();
    snapshot["reason"] = reason;
    out += Frame(newest, "resync", snapshot);
  }
  uint64_t id = next_subscriber_++;
  std::unique_lock sub_lock(sub->mu);
  sub->sent_upto = newest;
  subscribers_.emplace(id, sub);
  lock.unlock();
  if (!sub->sink(std::move(out))) {
    sub->dead = true;
    sub_lock.unlock();
    RemoveDead({id});
  }
  return id;
}

void DashboardHub::Unsubscribe(uint64_t subscriber_id) {
  std::lock_guard lock(mu_);
  auto it = subscribers_.find(subscriber_id);
  if (it == subscribers_.end()) return;
  it->second->dead = true;
  subscribers_.erase(it);
}

nlohmann::json DashboardHub::SummaryLocked() const {
  int64_t decided = 0;
  nlohmann::json rate = ApprovalRate(today_, &decided);
  nlohmann::json latest = nlohmann::json::array();
  for (auto it = latest_order_.rbegin(); it != latest_order_.rend(); ++it) {
    latest.push_back(latest_.at(*it));
  }
  std::set<std::string> channels;
  for (const auto& row : latest) channels.insert(row.value("channel", ""));
  for (const auto& t : ticks_) {
    for (const auto& [channel, unused] : t["rates"].items()) channels.insert(channel);
  }
  channels.erase("");
  return {{"server_time", IsoUtc(clock_.WallMicros())},
          {"last_event_id", next_id_ - 1},
          {"today", today_},
          {"decided_today", decided},
          {"approval_rate", rate},
          {"last_tick", ticks_.empty() ? nlohmann::json(nullptr) : ticks_.back()},
          {"ticks", ticks_},
          {"latest", latest},
          {"channels", channels},
          {"subscribers", subscribers_.size()}};
}

nlohmann::json DashboardHub::Summary() const {
  std::lock_guard lock(mu_);
  return SummaryLocked();
}

uint64_t DashboardHub::last_event_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

size_t DashboardHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

uint64_t DashboardHub::dropped_subscribers() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace lastro::dashboard
