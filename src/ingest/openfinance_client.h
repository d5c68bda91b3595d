// Client of an Open Finance Brasil bank's API (docs/openfinance-api.md) for
// `lastro ingest openfinance`: blocking GETs under a consent, with the resilience of
// the other outside-API clients (src/risk/README.md): a per-call timeout, capped
// exponential backoff with full jitter (Retry-After honoured), at most max_attempts
// calls per request, a retry budget, a circuit breaker and a rate limit shared by all
// calls of the client, and one deadline for the whole run.
//
// Every request carries `x-consent-id: <consent>` (the consent the data is read
// under) and, when configured, `Authorization: Bearer <openfinance.token>` (our
// client's credential). Pagination links are followed only when they point under the
// configured base URL.
//
// Thread-safe: any number of threads may call Get() at once (each call has its own
// connection; the resilience state is shared under a mutex). Waiting for the breaker,
// the rate limit or a backoff sleeps the calling thread only.
//
// Metrics (in the given registry):
//   lastro.openfinance.calls{outcome=ok|http_5xx|http_429|http_4xx|timeout|network}
//   lastro.openfinance.retries, lastro.openfinance.giveups{reason=attempts|
//   retry_budget|deadline}, lastro.openfinance.circuit_open (0/1),
//   lastro.openfinance.latency.ms (histogram, per HTTP call).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"

namespace lastro::ingest {

struct OfCallStats {
  int64_t calls = 0;    // HTTP calls sent
  int64_t retries = 0;  // of which retries
};

class OpenFinanceClient {
 public:
  // Validates the config (as LoadConfig does, for callers that build one by hand).
  // `clock`, `registry` and `stop` (may be null) must outlive the client. The run's
  // deadline (deadline_ms) starts now. Errors: kInvalidArgument, kInternal (libcurl).
  static StatusOr<std::unique_ptr<OpenFinanceClient>> Create(const OpenFinanceConfig& config,
                                                             Clock& clock,
                                                             metrics::Registry& registry,
                                                             const std::atomic<bool>* stop);
  ~OpenFinanceClient();
  OpenFinanceClient(const OpenFinanceClient&) = delete;
  OpenFinanceClient& operator=(const OpenFinanceClient&) = delete;

  // GET <url>/<path_and_query> (path starting with '/') under `consent_id`; returns
  // the body of a 2xx answer. `stats` (may be null) is incremented.
  // Errors, each meaning one thing for the caller:
  //   kPermissionDenied   - 403: the bank refuses the consent (revoked, expired,
  //                         unknown, a permission missing); the message starts with
  //                         the OFB error code, e.g. "CONSENT_REJECTED: ...";
  //   kNotFound           - 404 (an unknown consent or account);
  //   kFailedPrecondition - 401: the bank refuses our token; stop the run;
  //   kInvalidArgument    - another 4xx: the bank rejects the request itself;
  //   kUnavailable        - 5xx, 429, timeouts or network errors past max_attempts
  //                         or the retry budget;
  //   kDeadlineExceeded   - the run's deadline passed (also while the breaker was open);
  //   kCancelled          - `stop` was raised.
  StatusOr<std::string> Get(std::string_view path_and_query, std::string_view consent_id,
                            OfCallStats* stats = nullptr);

  // The path and query of an absolute URL under the base URL (for links.next).
  // Errors: kInvalidArgument when it points anywhere else.
  StatusOr<std::string> PathUnderBase(std::string_view absolute_url) const;

 private:
  struct Impl;
  explicit OpenFinanceClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastro::ingest
