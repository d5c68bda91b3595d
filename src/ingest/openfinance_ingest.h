// `lastro ingest openfinance` (docs/openfinance.md): pulls bank data incrementally for
// consented customers only, into the lake's bronze zone.
//
//   1. lock the lake (LakeLock, holder "ingest openfinance <run id>");
//   2. read the live consents (AUTHORISED, not revoked, not expired; one per customer,
//      the latest to expire) from PostgreSQL in one READ ONLY transaction with
//      statement_timeout, as application_name lastro-ingest-openfinance;
//   3. pull them, max_in_flight at a time (openfinance_pull.h): the bank re-checks
//      each consent; a consent it reports revoked, expired or unknown is skipped and
//      recorded, not a failure;
//   4. deduplicate and publish bronze/bank_{accounts,balances,transactions} and
//      quarantine/bank_transactions (openfinance_bronze.h), one atomic swap per table;
//   5. move the watermarks of the accounts pulled completely (openfinance_state.h) and
//      write the run report.
//
// Idempotent: a rerun publishes nothing new unless the bank has something new. A run
// killed at any point leaves every table at its previous or new version and the
// watermarks behind the data, so the next run repeats work, never data.
// No personal data reaches a log, the report or the lake (customer ids, consent and
// account ids only).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace lastro::ingest {

struct OpenFinanceIngestOptions {
  std::vector<int64_t> customers;           // only these customers (empty = every consented one)
  const std::atomic<bool>* stop = nullptr;  // raised: stop pulling, publish nothing
};

struct ConsentNote {
  std::string consent_id;
  int64_t customer_id = 0;
  std::string reason;
};

struct OpenFinanceIngestReport {
  std::string run_id;
  int64_t consents_read = 0;      // live consents read from PostgreSQL
  int64_t consents_inactive = 0;  // rows not read: not AUTHORISED, revoked or expired
  int64_t consents_pulled = 0, consents_skipped = 0, consents_failed = 0;
  int64_t accounts = 0, accounts_changed = 0;
  int64_t balances = 0, balances_new = 0;
  int64_t transactions = 0, transactions_new = 0, transactions_duplicate = 0;
  int64_t quarantined = 0, quarantined_new = 0;
  int64_t invalid_records = 0;  // accounts or balances that failed their checks
  int64_t calls = 0, retries = 0, pages = 0;
  double elapsed_s = 0;
  std::vector<ConsentNote> skipped, failed;
  std::string report_path;  // <lake>/_ingest/openfinance/runs/<run_id>.json
};

// Runs one ingest. A consent that fails (the bank unavailable past the retries, the
// deadline, a bad answer) is reported in `failed` and retried by the next run; the
// others are published. Errors (then nothing is published):
//   kAborted            - another process holds the lake's lock;
//   kFailedPrecondition - the bank refuses our token, the schema lacks
//                         open_finance_consents (run `lastro db migrate`), or the
//                         state file is malformed;
//   kInvalidArgument    - an unknown batch.timezone, a bad config;
//   kUnavailable        - PostgreSQL or the lake's file system;
//   kCancelled          - `stop` was raised.
StatusOr<OpenFinanceIngestReport> RunOpenFinanceIngest(const Config& config,
                                                       const OpenFinanceIngestOptions& options);

// The report as the JSON the CLI prints and the run report stores.
std::string OpenFinanceReportJson(const OpenFinanceIngestReport& report);

}  // namespace lastro::ingest
