// `lastro sim openfinance-consents`: the app's side of Open Finance consents, for the
// demo and the tests. For a share of the customers in PostgreSQL (chosen by a hash of
// the customer id and the seed, so the same customers every time) that have no live
// consent yet, it creates a consent at the bank simulator exactly as the app would
// (POST /open-banking/consents/v3/consents with the customer's CPF, the permissions
// the ingest needs and an expiry) and stores the bank's answer in
// open_finance_consents: so the database and the bank agree by construction.
//
// The CPF is read from customers and sent to the bank, never logged or printed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::sim {

struct ConsentSeederOptions {
  std::string dsn;
  std::string url;          // the bank's base URL (openfinance.url)
  std::string token;        // its bearer token (openfinance.token), may be empty
  double share = 0.5;       // of the customers, 0..1
  int validity_days = 365;  // expiry of the consents created, 1..366 days from the bank's now
  uint64_t seed = 42;
  std::vector<int64_t> customers;  // only these customer ids (empty = all)
  int timeout_ms = 10000;          // per call; 5xx/429/timeouts are retried up to 5 times
};

struct ConsentSeederReport {
  int64_t customers = 0;  // candidates looked at (no live consent)
  int64_t created = 0;    // consents created and stored
  int64_t authorised = 0;
  int64_t rejected = 0;  // the customer rejected it (reject_rate); stored as REJECTED
};

// Errors: kInvalidArgument (share or validity out of range, url not http(s)),
// kUnavailable (database or bank unreachable, or a call still failing after its
// retries), kFailedPrecondition (the bank refused our token, or the schema lacks
// open_finance_consents: run `lastro db migrate`). Consents stored before an error
// stay stored; a rerun skips those customers.
StatusOr<ConsentSeederReport> SeedOpenFinanceConsents(const ConsentSeederOptions& options);

}  // namespace lastro::sim
