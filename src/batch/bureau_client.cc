#include "batch/bureau_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <unordered_map>
#include <utility>

#include "batch/bureau_answer.h"
#include "common/iso_date.h"
#include "common/log.h"
#include "common/pii.h"
#include "risk/circuit_breaker.h"
#include "risk/http_call.h"
#include "risk/resilience.h"

namespace lastro::batch {
namespace {

using bureau_internal::ReadBureauAnswer;
using nlohmann::json;
using Ms = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

constexpr Ms kMaxPollWait{1000};
constexpr int kMaxBatchSize = 1000;  // the API's limit per call

double MillisBetween(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One call's worth of CPFs, from its first attempt to its final answer.
struct Batch {
  size_t index = 0;  // in the Fetch, for logs
  size_t first = 0;  // its CPFs are Run::distinct[first, first + count)
  size_t count = 0;
  std::string body;
  std::unique_ptr<risk::HttpCall> call;  // created on the first attempt, reused by retries
  TimePoint next_at, call_started;
  int attempts = 0;
  bool in_call = false;
  bool probe = false;
  bool waiting_breaker = false;
  bool finished = false;
  std::string last_error;  // "HTTP 503", "timeout after 2000 ms", ...
};

// The state of one Fetch().
struct Run {
  std::string as_of;
  TimePoint deadline;
  std::vector<std::string> distinct;  // the CPFs to ask (digits), each once
  std::vector<BureauScore> answers;   // parallel to distinct
  std::vector<std::unique_ptr<Batch>> batches;
  int in_flight = 0;
  size_t unfinished = 0;
  BureauFetchStats* stats = nullptr;
};

Status ValidateConfig(const BureauConfig& c) {
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("bureau.url must start with http:// or https://");
  }
  if (c.batch_size < 1 || c.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError("bureau.batch_size must be 1..1000 (the API's limit)");
  }
  if (c.timeout_ms <= 0 || c.max_in_flight <= 0 || c.max_attempts <= 0 || c.deadline_ms <= 0 ||
      c.breaker_window <= 0 || c.breaker_min_calls <= 0 || c.breaker_open_ms < 0 ||
      c.backoff_base_ms <= 0 || c.backoff_max_ms < c.backoff_base_ms ||
      c.breaker_failure_ratio <= 0 || c.breaker_failure_ratio > 1 || c.retry_budget_ratio < 0 ||
      c.retry_budget_min_per_s < 0 || c.rate_limit_per_s < 0) {
    return absl::InvalidArgumentError(
        "bureau: timeout_ms, max_in_flight, max_attempts, deadline_ms, breaker_window, "
        "breaker_min_calls and backoff_base_ms must be positive, backoff_max_ms >= "
        "backoff_base_ms, breaker_failure_ratio in (0, 1], the other limits >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view BureauStatusName(BureauStatus status) {
  switch (status) {
    case BureauStatus::kFound:
      return "FOUND";
    case BureauStatus::kNotFound:
      return "NOT_FOUND";
    case BureauStatus::kInconsistent:
      return "INCONSISTENT";
    case BureauStatus::kUnavailable:
      return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

struct BureauClient::Impl {
  Impl(const BureauConfig& c, Clock& clk, metrics::Registry& reg, CURLM* m)
      : config(c),
        clock(clk),
        registry(reg),
        multi(m),
        endpoint(c.url.substr(0, c.url.find_last_not_of('/') + 1) + "/v1/scores:batch"),
        resilience(risk::ResilienceSettings::Of(c), clk),
        retries(reg.GetCounter("lastro.bureau.retries", "Bureau call retries")),
        circuit_open(reg.GetGauge("lastro.bureau.circuit_open", "1 while the breaker is open")),
        latency(reg.GetHistogram("lastro.bureau.latency.ms", "Bureau call latency (ms)")) {}

  StatusOr<std::vector<BureauScore>> Fetch(const std::string& as_of,
                                           const std::vector<std::string>& cpfs,
                                           BureauFetchStats& stats);
  Status Drive(Run& run);
  void Advance(Run& run, Batch& b, TimePoint now);
  void StartCall(Run& run, Batch& b, TimePoint now);
  Status OnCallDone(Run& run, Batch& b, CURLcode code);
  void RetryOrGiveUp(Run& run, Batch& b, TimePoint now);
  void GiveUp(Run& run, Batch& b, const char* reason, const std::string& detail);
  void Abandon(Run& run);
  Ms PollTimeout(const Run& run, TimePoint now);
  void CountCall(const char* outcome);
  void PublishBreaker();

  const BureauConfig config;
  Clock& clock;
  metrics::Registry& registry;
  CURLM* const multi;
  const std::string endpoint;

  std::mutex fetch_mu;  // serialises Fetch(); guards everything below
  risk::Resilience resilience;
  risk::CircuitBreaker::State last_state = risk::CircuitBreaker::State::kClosed;

  metrics::Counter& retries;
  metrics::Gauge& circuit_open;
  metrics::Histogram& latency;
};

StatusOr<std::vector<BureauScore>> BureauClient::Impl::Fetch(const std::string& as_of,
                                                             const std::vector<std::string>& cpfs,
                                                             BureauFetchStats& stats) {
  const TimePoint start = clock.Now();
  stats = {};
  if (!IsIsoDate(as_of)) {
    return absl::InvalidArgumentError("bureau: as_of must be a date YYYY-MM-DD");
  }
  Run run;
  run.as_of = as_of;
  run.deadline = start + Ms(config.deadline_ms);
  run.stats = &stats;
  // Each distinct CPF is asked once; slot[i] is input i's place in run.distinct.
  std::vector<std::optional<size_t>> slot(cpfs.size());
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < cpfs.size(); ++i) {
    std::string digits = pii::CpfDigits(cpfs[i]);
    if (digits.empty()) continue;
    auto [it, inserted] = seen.emplace(std::move(digits), run.distinct.size());
    if (inserted) run.distinct.push_back(it->first);
    slot[i] = it->second;
  }
  run.answers.resize(run.distinct.size());
  const size_t size = static_cast<size_t>(config.batch_size);
  for (size_t first = 0; first < run.distinct.size(); first += size) {
    auto b = std::make_unique<Batch>();
    b->index = run.batches.size();
    b->first = first;
    b->count = std::min(size, run.distinct.size() - first);
    json asked = json::array();
    for (size_t i = first; i < first + b->count; ++i) asked.push_back(run.distinct[i]);
    b->body = json{{"as_of", as_of}, {"cpfs", std::move(asked)}}.dump();
    b->next_at = start;
    run.batches.push_back(std::move(b));
  }
  run.unfinished = run.batches.size();

  Status driven = Drive(run);
  stats.elapsed_s = std::chrono::duration<double>(clock.Now() - start).count();
  if (!driven.ok()) return driven;

  std::vector<BureauScore> out;
  out.reserve(cpfs.size());
  int64_t by_status[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < cpfs.size(); ++i) {
    BureauScore r = slot[i] ? run.answers[*slot[i]]
                            : BureauScore{"", std::nullopt, BureauStatus::kNotFound,
                                          "not a CPF (11 digits, optionally punctuated); not sent "
                                          "to the bureau"};
    r.cpf = cpfs[i];
    ++by_status[static_cast<int>(r.status)];
    out.push_back(std::move(r));
  }
  for (int s = 0; s < 4; ++s) {
    const std::string name(BureauStatusName(static_cast<BureauStatus>(s)));
    registry.GetCounter("lastro.bureau.results", "Bureau answers per CPF", {{"status", name}})
        .Add(by_status[s]);
  }
  log::Info("bureau fetch done", {{"as_of", as_of},
                                  {"cpfs", static_cast<int64_t>(cpfs.size())},
                                  {"batches", static_cast<int64_t>(run.batches.size())},
                                  {"calls", stats.calls},
                                  {"retries", stats.retries},
                                  {"failed_batches", stats.failed_batches},
                                  {"found", by_status[0]},
                                  {"not_found", by_status[1]},
                                  {"inconsistent", by_status[2]},
                                  {"unavailable", by_status[3]},
                                  {"elapsed_s", stats.elapsed_s}});
  return out;
}

Status BureauClient::Impl::Drive(Run& run) {
  PublishBreaker();
  while (run.unfinished > 0) {
    TimePoint now = clock.Now();
    bool admit = resilience.breaker.WouldAdmit();
    for (auto& b : run.batches) {
      if (b->in_call || b->finished) continue;
      const bool due = b->next_at <= now || (b->waiting_breaker && admit);
      if (!due) continue;
      // A full set of calls only holds back new calls, never a batch's deadline.
      if (run.in_flight >= config.max_in_flight && now < run.deadline) continue;
      Advance(run, *b, now);
      admit = resilience.breaker.WouldAdmit();
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto* b = static_cast<Batch*>(risk::HttpCall::TagOf(msg->easy_handle));
      Status s = OnCallDone(run, *b, msg->data.result);
      if (!s.ok()) {
        Abandon(run);
        PublishBreaker();
        return s;
      }
    }
    PublishBreaker();
    if (run.unfinished == 0) break;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(PollTimeout(run, clock.Now()).count()),
                    nullptr);
  }
  return absl::OkStatus();
}

Ms BureauClient::Impl::PollTimeout(const Run& run, TimePoint now) {
  Ms wait = kMaxPollWait;
  // With every call slot taken only curl's events (and its timers) matter.
  if (run.in_flight >= config.max_in_flight) return wait;
  const bool admit = resilience.breaker.WouldAdmit();
  for (const auto& b : run.batches) {
    if (b->in_call || b->finished) continue;
    if (b->waiting_breaker && admit) return Ms(0);
    wait = std::min(wait, std::max(std::chrono::ceil<Ms>(b->next_at - now), Ms(0)));
  }
  return wait;
}

void BureauClient::Impl::Advance(Run& run, Batch& b, TimePoint now) {
  if (now >= run.deadline) {
    std::string why = "bureau deadline of " + std::to_string(config.deadline_ms) +
                      " ms exceeded after " + std::to_string(b.attempts) + " attempts";
    if (b.waiting_breaker) why += " (circuit open)";
    if (!b.last_error.empty()) why += ": " + b.last_error;
    GiveUp(run, b, "deadline", why);
    return;
  }
  // Waiting on the breaker spends no attempt.
  const risk::Resilience::Admission admission = resilience.Admit(now, run.deadline);
  b.waiting_breaker = admission.waiting_breaker;
  if (!admission.send) {
    b.next_at = admission.next_at;
    return;
  }
  b.probe = admission.probe;
  StartCall(run, b, now);
}

void BureauClient::Impl::StartCall(Run& run, Batch& b, TimePoint now) {
  if (b.attempts == 0) resilience.budget.OnFirstAttempt();
  if (b.attempts > 0) {
    retries.Add();
    ++run.stats->retries;
  }
  ++b.attempts;
  ++run.stats->calls;
  if (b.call == nullptr) {
    std::vector<std::string> headers = {"Content-Type: application/json",
                                        "Accept: application/json"};
    if (!config.token.empty()) headers.push_back("Authorization: Bearer " + config.token);
    b.call = std::make_unique<risk::HttpCall>(endpoint, std::move(b.body), headers, &b);
    curl_easy_setopt(b.call->handle(), CURLOPT_USERAGENT, "lastro-bureau/0.1");
  }
  // A call never outlives the Fetch's deadline.
  b.call->Arm(std::min(Ms(config.timeout_ms), std::chrono::ceil<Ms>(run.deadline - now)));
  b.call_started = now;
  b.in_call = true;
  ++run.in_flight;
  curl_multi_add_handle(multi, b.call->handle());
}

void BureauClient::Impl::CountCall(const char* outcome) {
  registry.GetCounter("lastro.bureau.calls", "Bureau calls by outcome", {{"outcome", outcome}})
      .Add();
}

Status BureauClient::Impl::OnCallDone(Run& run, Batch& b, CURLcode code) {
  curl_multi_remove_handle(multi, b.call->handle());
  b.in_call = false;
  --run.in_flight;
  const TimePoint now = clock.Now();
  const double elapsed_ms = MillisBetween(b.call_started, now);
  latency.Observe(elapsed_ms);
  const risk::CallResult result = risk::ClassifyCall(*b.call, code, elapsed_ms);
  resilience.breaker.Record(result.breaker_success, b.probe);
  if (result.outcome == risk::CallOutcome::kOk) {
    std::span<const std::string> asked(run.distinct.data() + b.first, b.count);
    std::span<BureauScore> out(run.answers.data() + b.first, b.count);
    CountCall(ReadBureauAnswer(b.call->response(), run.as_of, asked, out) ? "ok"
                                                                          : "invalid_response");
    b.finished = true;
    b.call.reset();
    --run.unfinished;
    return absl::OkStatus();
  }
  CountCall(result.metric);
  b.last_error = result.error;
  if (result.retryable()) {
    RetryOrGiveUp(run, b, now);
    return absl::OkStatus();
  }
  // Any other status rejects the request itself: retrying would not help.
  const std::string http = std::to_string(result.http_status);
  if (result.unauthorized()) {
    // Our credentials are wrong: every batch would fail the same way.
    registry
        .GetCounter("lastro.bureau.giveups", "Bureau batches given up",
                    {{"reason", "unauthorized"}})
        .Add();
    std::string message = "bureau rejected our credentials with HTTP " + http + result.detail +
                          " (check bureau.token)";
    log::Error("bureau fetch stopped", {{"error", message}});
    return absl::FailedPreconditionError(message);
  }
  GiveUp(run, b, "rejected", "bureau rejected the batch with HTTP " + http + result.detail);
  return absl::OkStatus();
}

void BureauClient::Impl::RetryOrGiveUp(Run& run, Batch& b, TimePoint now) {
  const std::string attempts = std::to_string(b.attempts);
  if (b.attempts >= config.max_attempts) {
    GiveUp(run, b, "attempts",
           "bureau unavailable after " + attempts + " attempts: " + b.last_error);
    return;
  }
  Ms delay = resilience.backoff.Delay(b.attempts, b.call->retry_after());
  if (now + delay >= run.deadline) {
    GiveUp(run, b, "deadline",
           "bureau deadline of " + std::to_string(config.deadline_ms) +
               " ms leaves no time to retry after " + attempts + " attempts: " + b.last_error);
    return;
  }
  if (!resilience.budget.TryWithdraw()) {
    GiveUp(run, b, "retry_budget",
           "bureau unavailable after " + attempts +
               " attempts (retry budget exhausted): " + b.last_error);
    return;
  }
  b.next_at = now + delay;
}

void BureauClient::Impl::GiveUp(Run& run, Batch& b, const char* reason, const std::string& detail) {
  b.finished = true;
  b.call.reset();
  --run.unfinished;
  ++run.stats->failed_batches;
  for (size_t i = b.first; i < b.first + b.count; ++i) {
    run.answers[i] = {"", std::nullopt, BureauStatus::kUnavailable, detail};
  }
  registry.GetCounter("lastro.bureau.giveups", "Bureau batches given up", {{"reason", reason}})
      .Add();
  log::Warn("bureau batch gave up", {{"batch", static_cast<int64_t>(b.index)},
                                     {"cpfs", static_cast<int64_t>(b.count)},
                                     {"reason", reason},
                                     {"attempts", b.attempts},
                                     {"error", detail}});
}

void BureauClient::Impl::Abandon(Run& run) {
  for (auto& b : run.batches) {
    if (!b->in_call) continue;
    curl_multi_remove_handle(multi, b->call->handle());
    if (b->probe) resilience.breaker.ReleaseProbe();
    b->in_call = false;
  }
  run.in_flight = 0;
}

void BureauClient::Impl::PublishBreaker() {
  risk::CircuitBreaker::State s = resilience.breaker.state();
  circuit_open.Set(s == risk::CircuitBreaker::State::kOpen ? 1 : 0);
  if (s == last_state) return;
  if (s == risk::CircuitBreaker::State::kOpen) {
    registry.GetCounter("lastro.bureau.breaker_opened", "Times the bureau breaker opened").Add();
  }
  log::Warn("bureau circuit breaker changed state",
            {{"from", risk::CircuitBreaker::StateName(last_state)},
             {"to", risk::CircuitBreaker::StateName(s)},
             {"failure_ratio", resilience.breaker.failure_ratio()}});
  last_state = s;
}

StatusOr<std::unique_ptr<BureauClient>> BureauClient::Create(const BureauConfig& config,
                                                             Clock& clock,
                                                             metrics::Registry& registry) {
  LASTRO_RETURN_IF_ERROR(ValidateConfig(config));
  LASTRO_ASSIGN_OR_RETURN(CURLM * multi, risk::NewMulti(config.max_in_flight));
  return std::unique_ptr<BureauClient>(
      new BureauClient(std::make_unique<Impl>(config, clock, registry, multi)));
}

BureauClient::BureauClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BureauClient::~BureauClient() { curl_multi_cleanup(impl_->multi); }

StatusOr<std::vector<BureauScore>> BureauClient::Fetch(const std::string& as_of,
                                                       const std::vector<std::string>& cpfs,
                                                       BureauFetchStats* stats) {
  BureauFetchStats local;
  std::lock_guard lock(impl_->fetch_mu);
  return impl_->Fetch(as_of, cpfs, stats != nullptr ? *stats : local);
}

}  // namespace lastro::batch
