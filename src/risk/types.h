// Value types exchanged with the risk-assessment provider.
//
// Plain structs, copyable and thread-compatible. The CPF is personal data: it is
// sent to the provider and nowhere else (never logged, never in metrics).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::risk {

// One credit request to assess. `request_id` doubles as the Idempotency-Key, so a
// retried or replayed call is never billed twice.
struct ScoreRequest {
  int64_t request_id = 0;
  std::string cpf;  // 11 digits, PII
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::string purpose;
  std::string channel;
  int64_t declared_income_cents = 0;
};

// The provider's answer.
struct Assessment {
  int32_t score = 0;                  // 0..1000, higher is safer
  std::string risk_band;              // "A".."E"
  double probability_of_default = 0;  // 0..1
  std::vector<std::string> reason_codes;
  std::string provider_ref;  // the provider's assessment id
  std::string model_version;
};

// The final outcome of one Submit().
//   assessment: the Assessment, or
//     kInvalidArgument  - the provider rejected the request (4xx other than 401,
//                         403 and 429) or
//                         answered 200 with a body we cannot use: do not retry,
//                         dead-letter / manual review;
//     kFailedPrecondition - HTTP 401/403: our token is wrong; stop and alert;
//     kUnavailable      - retries exhausted (attempts, retry budget): retry later;
//     kDeadlineExceeded - request_deadline_ms elapsed (e.g. waiting on an open breaker);
//     kCancelled        - the client was shut down first.
//   The message says why, e.g. "risk provider unavailable after 4 attempts: HTTP 503".
struct ScoreResult {
  int64_t request_id = 0;
  StatusOr<Assessment> assessment = absl::UnknownError("not set");
  int32_t attempts = 0;   // HTTP calls actually sent
  double latency_ms = 0;  // first send to final answer (submission if never sent)
};

// A snapshot of the client's state, for /readyz and dashboards.
struct Health {
  int64_t in_flight = 0;  // submitted and not yet completed
  std::string circuit;    // "closed" | "open" | "half_open"
  double error_rate = 0;  // failure ratio over the breaker's window
  int64_t calls = 0;      // HTTP calls since start
  int64_t failures = 0;   // of which failed (5xx, timeout, network)
};

}  // namespace lastro::risk
