#include "risk/risk_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "risk/assessment_json.h"
#include "risk/circuit_breaker.h"
#include "risk/http_call.h"
#include "risk/resilience.h"

namespace lastro::risk {
namespace {

using Ms = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

constexpr Ms kMaxPollWait{1000};

double MillisBetween(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One request from Submit() to its final answer. Owned by the loop thread.
struct Pending {
  ScoreRequest request;
  std::function<void(ScoreResult)> done;
  std::string body;  // encoded at Submit(), moved into the HttpCall
  TimePoint submitted, deadline, next_at;
  std::optional<TimePoint> first_sent;
  TimePoint call_started;
  int attempts = 0;
  bool in_call = false;
  bool probe = false;
  bool waiting_breaker = false;
  bool finished = false;
  std::string last_error;          // "HTTP 503", "timeout after 2000 ms", ...
  std::unique_ptr<HttpCall> call;  // created on the first attempt, reused by retries
};

Status ValidateConfig(const RiskConfig& c) {
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("risk.url must start with http:// or https://");
  }
  if (c.timeout_ms <= 0 || c.max_in_flight <= 0 || c.max_attempts <= 0 ||
      c.request_deadline_ms <= 0 || c.breaker_window <= 0 || c.breaker_open_ms < 0 ||
      c.backoff_base_ms <= 0 || c.backoff_max_ms < c.backoff_base_ms) {
    return absl::InvalidArgumentError(
        "risk: timeout_ms, max_in_flight, max_attempts, request_deadline_ms, breaker_window "
        "and backoff_base_ms must be positive, backoff_max_ms >= backoff_base_ms");
  }
  return absl::OkStatus();
}

}  // namespace

struct RiskClient::Impl {
  Impl(const RiskConfig& c, Clock& clk, metrics::Registry& reg, CURLM* m)
      : config(c),
        clock(clk),
        registry(reg),
        multi(m),
        endpoint(c.url.substr(0, c.url.find_last_not_of('/') + 1) + "/v1/risk/assessments"),
        resilience(ResilienceSettings::Of(c), clk),
        retries(reg.GetCounter("lastro.risk.retries", "Risk provider retries")),
        in_flight_gauge(reg.GetGauge("lastro.risk.in_flight", "Risk requests outstanding")),
        circuit_open(reg.GetGauge("lastro.risk.circuit_open", "1 while the breaker is open")),
        breaker_opened(
            reg.GetCounter("lastro.risk.breaker_opened", "Times the circuit breaker opened")),
        latency(reg.GetHistogram("lastro.risk.latency.ms", "Risk provider call latency (ms)")) {}

  void Loop();
  void TakeSubmissions();
  void Advance(Pending& p, TimePoint now);
  void StartCall(Pending& p, TimePoint now);
  void OnCallDone(Pending& p, CURLcode code);
  void RetryOrGiveUp(Pending& p, TimePoint now);
  void Finish(Pending& p, StatusOr<Assessment> outcome, const char* giveup_reason);
  void CountCall(const char* outcome, bool failure);
  void PublishHealth();
  Ms PollTimeout(TimePoint now);

  const RiskConfig config;
  Clock& clock;
  metrics::Registry& registry;
  CURLM* const multi;
  const std::string endpoint;

  // Loop-thread state (no lock: only the loop thread touches it).
  Resilience resilience;
  std::vector<std::unique_ptr<Pending>> active;
  CircuitBreaker::State last_state = CircuitBreaker::State::kClosed;

  metrics::Counter& retries;
  metrics::Gauge& in_flight_gauge;
  metrics::Gauge& circuit_open;
  metrics::Counter& breaker_opened;
  metrics::Histogram& latency;

  mutable std::mutex mu;  // guards queue, outstanding, stopped
  std::condition_variable slot_freed;
  std::deque<std::unique_ptr<Pending>> queue;
  int64_t outstanding = 0;
  bool stopped = false;

  mutable std::mutex health_mu;  // guards health_snapshot
  Health health_snapshot;

  std::mutex join_mu;  // serialises Shutdown()'s join
  std::thread thread;
};

void RiskClient::Impl::Loop() {
  for (;;) {
    TakeSubmissions();
    {
      std::lock_guard lock(mu);
      if (stopped) break;
    }
    TimePoint now = clock.Now();
    bool admit = resilience.breaker.WouldAdmit();
    for (auto& p : active) {
      if (p->in_call || p->finished) continue;
      if (p->next_at <= now || (p->waiting_breaker && admit)) {
        Advance(*p, now);
        admit = resilience.breaker.WouldAdmit();
      }
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto* p = static_cast<Pending*>(HttpCall::TagOf(msg->easy_handle));
      OnCallDone(*p, msg->data.result);
    }
    std::erase_if(active, [](const auto& p) { return p->finished; });
    PublishHealth();
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(PollTimeout(clock.Now()).count()), nullptr);
  }
  // Shutting down: everything outstanding completes with kCancelled.
  TakeSubmissions();
  for (auto& p : active) {
    if (p->in_call) curl_multi_remove_handle(multi, p->call->handle());
    p->in_call = false;
    Finish(*p, absl::CancelledError("risk client shut down"), nullptr);
  }
  active.clear();
  PublishHealth();
}

void RiskClient::Impl::TakeSubmissions() {
  std::lock_guard lock(mu);
  while (!queue.empty()) {
    active.push_back(std::move(queue.front()));
    queue.pop_front();
  }
}

Ms RiskClient::Impl::PollTimeout(TimePoint now) {
  Ms wait = kMaxPollWait;
  bool admit = resilience.breaker.WouldAdmit();
  for (const auto& p : active) {
    if (p->in_call || p->finished) continue;
    if (p->waiting_breaker && admit) return Ms(0);
    auto until = std::chrono::ceil<Ms>(p->next_at - now);
    wait = std::min(wait, std::max(until, Ms(0)));
  }
  return wait;
}

void RiskClient::Impl::Advance(Pending& p, TimePoint now) {
  if (now >= p.deadline) {
    std::string why = "risk provider deadline of " + std::to_string(config.request_deadline_ms) +
                      " ms exceeded after " + std::to_string(p.attempts) + " attempts";
    if (p.waiting_breaker) why += " (circuit open)";
    if (!p.last_error.empty()) why += ": " + p.last_error;
    Finish(p, absl::DeadlineExceededError(why), "deadline");
    return;
  }
  // Waiting on the breaker spends no attempt; such a request is re-checked whenever
  // the breaker admits (a close wakes it at once).
  const Resilience::Admission admission = resilience.Admit(now, p.deadline);
  p.waiting_breaker = admission.waiting_breaker;
  if (!admission.send) {
    p.next_at = admission.next_at;
    return;
  }
  p.probe = admission.probe;
  StartCall(p, now);
}

void RiskClient::Impl::StartCall(Pending& p, TimePoint now) {
  if (p.attempts == 0) {
    resilience.budget.OnFirstAttempt();
    p.first_sent = now;
  }
  ++p.attempts;
  if (p.call == nullptr) {
    std::vector<std::string> headers = {"Content-Type: application/json",
                                        "Accept: application/json",
                                        "Idempotency-Key: " + std::to_string(p.request.request_id)};
    if (!config.token.empty()) headers.push_back("Authorization: Bearer " + config.token);
    p.call = std::make_unique<HttpCall>(endpoint, std::move(p.body), headers, &p);
  }
  // A call never outlives the request's overall deadline.
  p.call->Arm(std::min(Ms(config.timeout_ms), std::chrono::ceil<Ms>(p.deadline - now)));
  p.call_started = now;
  p.in_call = true;
  curl_multi_add_handle(multi, p.call->handle());
}

void RiskClient::Impl::CountCall(const char* outcome, bool failure) {
  registry.GetCounter("lastro.risk.calls", "Risk provider calls by outcome", {{"outcome", outcome}})
      .Add();
  std::lock_guard lock(health_mu);
  ++health_snapshot.calls;
  if (failure) ++health_snapshot.failures;
}

void RiskClient::Impl::OnCallDone(Pending& p, CURLcode code) {
  curl_multi_remove_handle(multi, p.call->handle());
  p.in_call = false;
  TimePoint now = clock.Now();
  const double elapsed_ms = MillisBetween(p.call_started, now);
  latency.Observe(elapsed_ms);
  const CallResult result = ClassifyCall(*p.call, code, elapsed_ms);
  CountCall(result.metric, !result.breaker_success);
  resilience.breaker.Record(result.breaker_success, p.probe);
  if (result.outcome == CallOutcome::kOk) {
    auto decoded = DecodeAssessment(p.call->response(), p.request.request_id);
    const char* reason = decoded.ok() ? nullptr : "invalid_response";
    Finish(p, std::move(decoded), reason);
    return;
  }
  p.last_error = result.error;
  if (result.retryable()) {
    RetryOrGiveUp(p, now);
    return;
  }
  // Any other status is a permanent rejection of this request: do not retry.
  std::string message = "risk provider rejected request " + std::to_string(p.request.request_id) +
                        " with HTTP " + std::to_string(result.http_status) + result.detail;
  if (result.unauthorized()) {
    // Our credentials, not this request, are wrong: every request would fail the
    // same way, so tell the caller to stop and alert rather than dead-letter.
    Finish(p, absl::FailedPreconditionError(message + " (check risk.token)"), "unauthorized");
  } else {
    Finish(p, absl::InvalidArgumentError(message), "rejected");
  }
}

void RiskClient::Impl::RetryOrGiveUp(Pending& p, TimePoint now) {
  const std::string attempts = std::to_string(p.attempts);
  if (p.attempts >= config.max_attempts) {
    Finish(p,
           absl::UnavailableError("risk provider unavailable after " + attempts +
                                  " attempts: " + p.last_error),
           "attempts");
    return;
  }
  Ms delay = resilience.backoff.Delay(p.attempts, p.call->retry_after());
  if (now + delay >= p.deadline) {
    Finish(p,
           absl::DeadlineExceededError(
               "risk provider deadline of " + std::to_string(config.request_deadline_ms) +
               " ms leaves no time to retry after " + attempts + " attempts: " + p.last_error),
           "deadline");
    return;
  }
  if (!resilience.budget.TryWithdraw()) {
    Finish(p,
           absl::UnavailableError("risk provider unavailable after " + attempts +
                                  " attempts (retry budget exhausted): " + p.last_error),
           "retry_budget");
    return;
  }
  retries.Add();
  p.next_at = now + delay;
}

void RiskClient::Impl::Finish(Pending& p, StatusOr<Assessment> outcome, const char* giveup_reason) {
  p.finished = true;
  if (giveup_reason != nullptr) {
    log::ScopedCorrelation correlation(log::RequestCorrelationId(p.request.request_id));
    registry
        .GetCounter("lastro.risk.giveups", "Risk requests given up", {{"reason", giveup_reason}})
        .Add();
    log::Warn("risk request failed", {{"request_id", p.request.request_id},
                                      {"reason", giveup_reason},
                                      {"attempts", p.attempts},
                                      {"error", outcome.status().ToString()}});
  }
  p.call.reset();

  ScoreResult result;
  result.request_id = p.request.request_id;
  result.assessment = std::move(outcome);
  result.attempts = p.attempts;
  result.latency_ms = MillisBetween(p.first_sent.value_or(p.submitted), clock.Now());
  {
    std::lock_guard lock(mu);
    --outstanding;
    in_flight_gauge.Set(static_cast<double>(outstanding));
  }
  slot_freed.notify_one();
  auto done = std::move(p.done);
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    log::Error("risk: done callback threw", {{"error", e.what()}});
  } catch (...) {
    log::Error("risk: done callback threw a non-exception");
  }
}

void RiskClient::Impl::PublishHealth() {
  CircuitBreaker::State s = resilience.breaker.state();
  circuit_open.Set(s == CircuitBreaker::State::kOpen ? 1 : 0);
  if (s != last_state) {
    if (s == CircuitBreaker::State::kOpen) breaker_opened.Add();
    log::Warn("risk circuit breaker changed state",
              {{"from", CircuitBreaker::StateName(last_state)},
               {"to", CircuitBreaker::StateName(s)},
               {"failure_ratio", resilience.breaker.failure_ratio()}});
    last_state = s;
  }
  std::lock_guard lock(health_mu);
  health_snapshot.circuit = CircuitBreaker::StateName(s);
  health_snapshot.error_rate = resilience.breaker.failure_ratio();
}

StatusOr<std::unique_ptr<RiskClient>> RiskClient::Create(const RiskConfig& config, Clock& clock,
                                                         metrics::Registry& registry) {
  LASTRO_RETURN_IF_ERROR(ValidateConfig(config));
  LASTRO_ASSIGN_OR_RETURN(CURLM * multi, NewMulti(config.max_in_flight));
  auto impl = std::make_unique<Impl>(config, clock, registry, multi);
  impl->health_snapshot.circuit = "closed";
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<RiskClient>(new RiskClient(std::move(impl)));
}

RiskClient::RiskClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RiskClient::~RiskClient() {
  Shutdown();
  curl_multi_cleanup(impl_->multi);
}

Status RiskClient::Submit(ScoreRequest request, std::function<void(ScoreResult)> done,
                          std::chrono::milliseconds wait) {
  auto p = std::make_unique<Pending>();
  p->submitted = impl_->clock.Now();
  p->deadline = p->submitted + Ms(impl_->config.request_deadline_ms);
  p->next_at = p->submitted;
  p->body = EncodeScoreRequest(request);
  p->request = std::move(request);
  p->done = std::move(done);
  {
    std::unique_lock lock(impl_->mu);
    const int64_t max = impl_->config.max_in_flight;
    bool has_slot = impl_->slot_freed.wait_for(
        lock, wait, [&] { return impl_->stopped || impl_->outstanding < max; });
    if (impl_->stopped) return absl::FailedPreconditionError("risk client is shut down");
    if (!has_slot) {
      return absl::ResourceExhaustedError("risk client has " + std::to_string(max) +
                                          " requests in flight (risk.max_in_flight)");
    }
    ++impl_->outstanding;
    impl_->in_flight_gauge.Set(static_cast<double>(impl_->outstanding));
    impl_->queue.push_back(std::move(p));
  }
  curl_multi_wakeup(impl_->multi);
  return absl::OkStatus();
}

Health RiskClient::health() const {
  Health h;
  {
    std::lock_guard lock(impl_->health_mu);
    h = impl_->health_snapshot;
  }
  std::lock_guard lock(impl_->mu);
  h.in_flight = impl_->outstanding;
  return h;
}

void RiskClient::Shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
  }
  impl_->slot_freed.notify_all();
  curl_multi_wakeup(impl_->multi);
  std::lock_guard join_lock(impl_->join_mu);
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

}  // namespace lastro::risk
