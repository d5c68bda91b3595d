#include "ingest/openfinance_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "ingest/openfinance_records.h"
#include "risk/http_call.h"
#include "risk/resilience.h"

namespace lastro::ingest {
namespace {

using Ms = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Sleeps are cut into slices so a raised stop flag is seen within this long.
constexpr Ms kStopSlice{100};

Status Validate(const OpenFinanceConfig& c) {
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("openfinance.url must start with http:// or https://");
  }
  if (c.timeout_ms <= 0 || c.max_attempts <= 0 || c.deadline_ms <= 0 || c.breaker_window <= 0 ||
      c.breaker_min_calls <= 0 || c.breaker_open_ms < 0 || c.backoff_base_ms <= 0 ||
      c.backoff_max_ms < c.backoff_base_ms || c.breaker_failure_ratio <= 0 ||
      c.breaker_failure_ratio > 1 || c.retry_budget_ratio < 0 || c.retry_budget_min_per_s < 0 ||
      c.rate_limit_per_s < 0) {
    return absl::InvalidArgumentError(
        "openfinance: timeout_ms, max_attempts, deadline_ms, breaker_window, breaker_min_calls "
        "and backoff_base_ms must be positive, backoff_max_ms >= backoff_base_ms, "
        "breaker_failure_ratio in (0, 1], the other limits >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

struct OpenFinanceClient::Impl {
  Impl(const OpenFinanceConfig& c, Clock& clk, metrics::Registry& reg,
       const std::atomic<bool>* stop_flag)
      : config(c),
        clock(clk),
        registry(reg),
        stop(stop_flag),
        base(c.url.substr(0, c.url.find_last_not_of('/') + 1)),
        deadline(clk.Now() + Ms(c.deadline_ms)),
        resilience(risk::ResilienceSettings::Of(c), clk),
        retries(reg.GetCounter("lastro.openfinance.retries", "Open Finance call retries")),
        circuit_open(
            reg.GetGauge("lastro.openfinance.circuit_open", "1 while the breaker is open")),
        latency(reg.GetHistogram("lastro.openfinance.latency.ms", "Open Finance call latency")) {}

  StatusOr<std::string> Get(std::string_view path, std::string_view consent, OfCallStats& stats);
  // Sleeps until `until` (or the stop flag). False when stopped.
  bool SleepUntil(TimePoint until) const;
  Status GiveUp(const char* reason, Status status);
  void CountCall(const char* outcome) {
    registry
        .GetCounter("lastro.openfinance.calls", "Open Finance calls by outcome",
                    {{"outcome", outcome}})
        .Add();
  }
  void PublishBreaker();  // mu held

  const OpenFinanceConfig config;
  Clock& clock;
  metrics::Registry& registry;
  const std::atomic<bool>* const stop;
  const std::string base;
  const TimePoint deadline;

  std::mutex mu;  // guards resilience and last_state
  risk::Resilience resilience;
  risk::CircuitBreaker::State last_state = risk::CircuitBreaker::State::kClosed;

  metrics::Counter& retries;
  metrics::Gauge& circuit_open;
  metrics::Histogram& latency;
};

bool OpenFinanceClient::Impl::SleepUntil(TimePoint until) const {
  for (;;) {
    if (stop != nullptr && stop->load()) return false;
    const TimePoint now = clock.Now();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, kStopSlice));
  }
}

Status OpenFinanceClient::Impl::GiveUp(const char* reason, Status status) {
  registry
      .GetCounter("lastro.openfinance.giveups", "Open Finance requests given up",
                  {{"reason", reason}})
      .Add();
  return status;
}

void OpenFinanceClient::Impl::PublishBreaker() {
  const risk::CircuitBreaker::State s = resilience.breaker.state();
  circuit_open.Set(s == risk::CircuitBreaker::State::kOpen ? 1 : 0);
  if (s == last_state) return;
  log::Warn("open finance circuit breaker changed state",
            {{"from", risk::CircuitBreaker::StateName(last_state)},
             {"to", risk::CircuitBreaker::StateName(s)},
             {"failure_ratio", resilience.breaker.failure_ratio()}});
  last_state = s;
}

StatusOr<std::string> OpenFinanceClient::Impl::Get(std::string_view path, std::string_view consent,
                                                   OfCallStats& stats) {
  std::vector<std::string> headers = {"Accept: application/json",
                                      "x-consent-id: " + std::string(consent)};
  if (!config.token.empty()) headers.push_back("Authorization: Bearer " + config.token);
  risk::HttpCall call(base + std::string(path), "", headers, nullptr);
  curl_easy_setopt(call.handle(), CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(call.handle(), CURLOPT_USERAGENT, "lastro-openfinance/0.1");
  int attempts = 0;
  std::string last_error = "no call sent";
  for (;;) {
    if (stop != nullptr && stop->load()) return absl::CancelledError("the run was stopped");
    TimePoint now = clock.Now();
    if (now >= deadline) {
      return GiveUp("deadline", absl::DeadlineExceededError(absl::StrCat(
                                    "open finance deadline of ", config.deadline_ms,
                                    " ms passed after ", attempts, " attempts: ", last_error)));
    }
    risk::Resilience::Admission admission;
    {
      std::lock_guard lock(mu);
      admission = resilience.Admit(now, deadline);
      if (admission.send && attempts == 0) resilience.budget.OnFirstAttempt();
      PublishBreaker();
    }
    if (!admission.send) {
      if (admission.waiting_breaker) last_error = "circuit breaker open";
      if (!SleepUntil(admission.next_at)) return absl::CancelledError("the run was stopped");
      continue;
    }
    if (attempts > 0) {
      retries.Add();
      ++stats.retries;
    }
    ++attempts;
    ++stats.calls;
    call.Arm(std::min(Ms(config.timeout_ms), std::chrono::ceil<Ms>(deadline - now)));
    const CURLcode code = curl_easy_perform(call.handle());
    const TimePoint done = clock.Now();
    const double elapsed_ms = std::chrono::duration<double, std::milli>(done - now).count();
    latency.Observe(elapsed_ms);
    const risk::CallResult result = risk::ClassifyCall(call, code, elapsed_ms);
    {
      std::lock_guard lock(mu);
      resilience.breaker.Record(result.breaker_success, admission.probe);
      PublishBreaker();
    }
    CountCall(result.metric);
    if (result.outcome == risk::CallOutcome::kOk) return call.response();
    if (result.outcome == risk::CallOutcome::kRejected) {
      const std::string ofb = ErrorCode(call.response());
      const std::string what =
          absl::StrCat(ofb.empty() ? "" : ofb + ": ", "HTTP ", result.http_status, " for ",
                       std::string(path.substr(0, 60)));
      switch (result.http_status) {
        case 401:
          return absl::FailedPreconditionError(absl::StrCat("the bank refused our credentials (",
                                                            what, "): check openfinance.token"));
        case 403:
          return absl::PermissionDeniedError(what);
        case 404:
          return absl::NotFoundError(what);
        default:
          return absl::InvalidArgumentError(absl::StrCat("the bank rejected the request: ", what));
      }
    }
    last_error = result.error;
    now = clock.Now();
    if (attempts >= config.max_attempts) {
      return GiveUp("attempts",
                    absl::UnavailableError(absl::StrCat("open finance API unavailable after ",
                                                        attempts, " attempts: ", last_error)));
    }
    Ms delay;
    bool budget = false;
    {
      std::lock_guard lock(mu);
      delay = resilience.backoff.Delay(attempts, call.retry_after());
      budget = now + delay < deadline && resilience.budget.TryWithdraw();
    }
    if (now + delay >= deadline) {
      return GiveUp("deadline", absl::DeadlineExceededError(
                                    absl::StrCat("open finance deadline of ", config.deadline_ms,
                                                 " ms leaves no time to retry after ", attempts,
                                                 " attempts: ", last_error)));
    }
    if (!budget) {
      return GiveUp("retry_budget", absl::UnavailableError(absl::StrCat(
                                        "open finance API unavailable after ", attempts,
                                        " attempts (retry budget exhausted): ", last_error)));
    }
    if (!SleepUntil(now + delay)) return absl::CancelledError("the run was stopped");
  }
}

StatusOr<std::unique_ptr<OpenFinanceClient>> OpenFinanceClient::Create(
    const OpenFinanceConfig& config, Clock& clock, metrics::Registry& registry,
    const std::atomic<bool>* stop) {
  LASTRO_RETURN_IF_ERROR(Validate(config));
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  return std::unique_ptr<OpenFinanceClient>(
      new OpenFinanceClient(std::make_unique<Impl>(config, clock, registry, stop)));
}

OpenFinanceClient::OpenFinanceClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OpenFinanceClient::~OpenFinanceClient() = default;

StatusOr<std::string> OpenFinanceClient::Get(std::string_view path_and_query,
                                             std::string_view consent_id, OfCallStats* stats) {
  if (path_and_query.empty() || path_and_query[0] != '/') {
    return absl::InvalidArgumentError("the path must start with '/'");
  }
  OfCallStats local;
  return impl_->Get(path_and_query, consent_id, stats != nullptr ? *stats : local);
}

StatusOr<std::string> OpenFinanceClient::PathUnderBase(std::string_view absolute_url) const {
  const std::string& base = impl_->base;
  if (absolute_url.size() <= base.size() || absolute_url.substr(0, base.size()) != base ||
      absolute_url[base.size()] != '/') {
    return absl::InvalidArgumentError(
        "links.next points outside the configured openfinance.url; not followed");
  }
  return std::string(absolute_url.substr(base.size()));
}

}  // namespace lastro::ingest
