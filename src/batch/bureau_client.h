// Client for the credit bureau's batch score API (docs/bureau-api.md), used by the
// daily batch to enrich credit requests with bureau scores.
//
// Blocking: Fetch() scores a list of CPFs for one as_of date and returns when every
// CPF has an answer. Inside, it splits the distinct CPFs into batches of
// `batch_size` and drives up to `max_in_flight` calls at once with libcurl's multi
// interface on the calling thread (keep-alive connections reused across calls and
// across Fetch()es). Each call is POST <url>/v1/scores:batch with
// `Authorization: Bearer <token>` when configured and a per-call timeout
// (min(timeout_ms, time left before the deadline)).
//
// Resilience is the risk client's (src/risk/README.md), per batch instead of per
// request: timeouts, connection errors, 5xx and 429 are retried with capped
// exponential backoff and full jitter (Retry-After honoured), at most max_attempts
// calls per batch, within a client-wide retry budget; a circuit breaker (kept
// across Fetch()es) stops calls while the bureau is failing, and batches then wait
// without spending attempts; rate_limit_per_s spaces out the calls; deadline_ms
// bounds the whole Fetch(). A batch that gives up does not fail the Fetch(): its
// CPFs come back kUnavailable, so the batch job can store what it got and retry the
// rest on its next run.
//
// Every 200 answer is checked before it is believed (kInconsistent otherwise):
// scores must be integers in 0..1000, a CPF listed twice must have the same answer
// both times, every CPF asked must be answered, and `as_of` must be the one asked.
//
// Metrics (in the given registry):
//   lastro.bureau.calls{outcome=ok|invalid_response|http_5xx|http_429|http_4xx|
//                       timeout|network}                              counter
//   lastro.bureau.retries                                             counter
//   lastro.bureau.giveups{reason=attempts|retry_budget|deadline|rejected|unauthorized}
//   lastro.bureau.results{status=FOUND|NOT_FOUND|INCONSISTENT|UNAVAILABLE}  counter
//   lastro.bureau.circuit_open (gauge 0/1), lastro.bureau.breaker_opened (counter),
//   lastro.bureau.latency.ms (histogram, per HTTP call).
// CPFs are personal data: they are sent to the bureau and returned to the caller,
// never logged and never in metrics, errors or `detail`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"

namespace lastro::batch {

// What the bureau said about one CPF, after validation.
enum class BureauStatus {
  kFound,         // `score` holds the bureau's score, 0..1000
  kNotFound,      // the bureau has no record (or the input is not a CPF; see detail)
  kInconsistent,  // the answer failed validation; `detail` says how. Do not use it.
  kUnavailable,   // no answer: the batch gave up (attempts, budget, breaker, deadline)
};

// "FOUND", "NOT_FOUND", "INCONSISTENT", "UNAVAILABLE" (the names the lake stores).
std::string_view BureauStatusName(BureauStatus status);

struct BureauScore {
  std::string cpf;               // the input, exactly as given
  std::optional<int32_t> score;  // set only for kFound
  BureauStatus status = BureauStatus::kUnavailable;
  // Empty for kFound and for a bureau NOT_FOUND; otherwise why, e.g. "score 1200
  // outside 0..1000" or "bureau unavailable after 4 attempts: HTTP 503". Never
  // contains a CPF.
  std::string detail;
  // The bureau's scoring model, as its answer named it ("model"); "" when the CPF was
  // not asked (not a CPF) or the answer named none. At most 64 printable characters.
  std::string model;
};

struct BureauFetchStats {
  int64_t calls = 0;           // HTTP calls sent
  int64_t retries = 0;         // of which retries
  int64_t failed_batches = 0;  // batches that gave up (their CPFs are kUnavailable)
  double elapsed_s = 0;        // wall time of the Fetch()
};

class BureauClient {
 public:
  // Validates the config. `clock` and `registry` must outlive the client. `clock`
  // times the deadline, backoff, breaker and rate limit; curl's per-call timeouts
  // run on real time, so pass RealClock outside unit tests.
  // Errors: kInvalidArgument (url not http(s)://, batch_size outside 1..1000, a
  //         non-positive timeout, limit, window or deadline, backoff_max_ms <
  //         backoff_base_ms), kInternal (libcurl could not be initialised).
  static StatusOr<std::unique_ptr<BureauClient>> Create(const BureauConfig& config, Clock& clock,
                                                        metrics::Registry& registry);
  ~BureauClient();
  BureauClient(const BureauClient&) = delete;
  BureauClient& operator=(const BureauClient&) = delete;

  // Scores `cpfs` as of `as_of` ("YYYY-MM-DD"). Blocks until every CPF has an
  // answer or deadline_ms has passed (then the CPFs still without one are
  // kUnavailable).
  //
  // Returns exactly one BureauScore per input CPF, in input order; `cpf` is the
  // input string. CPFs may be written with punctuation ("529.982.247-25"); a
  // repeated CPF is asked once and its answer repeated. An input that is not a CPF
  // in shape (11 digits, optionally punctuated) is not sent: kNotFound with a
  // detail. Empty input: empty output, no call. `stats`, when given, is
  // overwritten with this Fetch()'s figures, also on error.
  //
  // Errors (then there are no results; stop and alert, or fix the input):
  //   kInvalidArgument   - `as_of` is not a calendar date YYYY-MM-DD; nothing sent;
  //   kFailedPrecondition - HTTP 401/403: our token is wrong (check bureau.token).
  //                        Not retried; the calls still in flight are abandoned.
  // A 5xx, 429, timeout, network error or other 4xx never fails the Fetch(); it
  // ends in kUnavailable for that batch's CPFs when retries do not help (other 4xx
  // mean the bureau rejects the request itself and are not retried).
  //
  // Thread-safe: concurrent calls on one client run one after the other.
  StatusOr<std::vector<BureauScore>> Fetch(const std::string& as_of,
                                           const std::vector<std::string>& cpfs,
                                           BureauFetchStats* stats = nullptr);

 private:
  struct Impl;
  explicit BureauClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastro::batch
