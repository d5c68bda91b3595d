// Pulling one consent's bank data (docs/openfinance.md, "One consent"): check the
// consent with the bank, list its accounts, then per account the balance and the
// transactions booked since the account's watermark (minus the overlap), following
// pagination to the end. All or nothing per consent: a consent that cannot be pulled
// completely brings nothing, so its watermarks stay where they were.
//
// Thread-safe: PullConsent may run on several threads at once (one consent each).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "ingest/openfinance_client.h"
#include "ingest/openfinance_records.h"

namespace lastro::ingest {

struct ConsentToPull {
  std::string consent_id;
  int64_t customer_id = 0;
};

struct QuarantinedRecord {
  std::string record_key;  // RecordKey(raw)
  std::string reason;
  std::string raw;  // SanitizedRaw(record)
};

struct PulledAccount {
  BankAccount account;
  std::optional<BankBalance> balance;  // nullopt when the bank's balance failed its checks
  std::vector<BankTransaction> transactions;
  std::vector<QuarantinedRecord> quarantined;
  absl::CivilDay from, to;  // the booking period pulled; `to` is the new watermark
};

enum class PullOutcome {
  kPulled,   // every account of the consent, completely
  kSkipped,  // the bank says the consent may not be used (revoked, expired, unknown)
  kFailed,   // the bank could not be read completely (unavailable, deadline, bad answers)
};

struct ConsentPull {
  ConsentToPull consent;
  PullOutcome outcome = PullOutcome::kFailed;
  std::string reason;  // kSkipped/kFailed: why, e.g. "REJECTED (CUSTOMER_MANUALLY_REVOKED)"
  std::vector<PulledAccount> accounts;  // kPulled only
  // Accounts or balances that failed their checks ("account: missing accountId"); the
  // rest of the consent is still pulled.
  std::vector<std::string> invalid;
  OfCallStats calls;
  int64_t pages = 0;
};

struct PullOptions {
  int page_size = 500;
  int history_days = 365;  // first pull of an account
  int overlap_days = 2;    // later pulls start this many days before the watermark
  absl::TimeZone zone;     // the zone of booking dates (the bank's business day)
};

// An account's watermark: the last booking day it was completely pulled to.
using WatermarkLookup = std::function<std::optional<absl::CivilDay>(const std::string& account_id)>;

// The booking period of an account's next pull, ending on the bank's `today`:
// watermark - overlap_days .. today, or today - history_days + 1 .. today without a
// watermark; never longer than 366 days (the API's limit) and never after today.
std::pair<absl::CivilDay, absl::CivilDay> PullPeriod(std::optional<absl::CivilDay> watermark,
                                                     absl::CivilDay today,
                                                     const PullOptions& options);

// Pulls one consent. Problems of this consent are in the result (kSkipped/kFailed
// with a reason), never an error. Errors stop the whole run:
//   kFailedPrecondition - the bank refuses our token (every consent would fail);
//   kCancelled          - the stop flag was raised.
StatusOr<ConsentPull> PullConsent(OpenFinanceClient& client, const ConsentToPull& consent,
                                  const PullOptions& options, const WatermarkLookup& watermark);

// "%3A"-style escaping of everything but unreserved characters and ':' (consent ids
// are URNs), for a path segment.
std::string EscapePathSegment(std::string_view segment);

}  // namespace lastro::ingest
