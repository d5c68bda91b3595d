// `lastro sim requests`: the app's traffic. Inserts realistic customers (valid
// CPFs, names, contacts, incomes) and credit requests exactly as the app would:
// one single-row INSERT per request in its own transaction, from several
// connections, at a target rate or as fast as it can.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace lastro::sim {

struct RequestGeneratorOptions {
  std::string dsn;
  double rate = 50;       // requests per second (ignored when count > 0 and rate <= 0)
  double duration_s = 0;  // 0 = until stopped (or until count)
  int64_t count = 0;      // stop after this many requests (0 = no limit)
  int customers = 2000;   // size of the customer pool
  int clients = 4;        // concurrent connections
  uint64_t seed = 7;
  // When > 0, created_at is spread over the last `days` days in São Paulo business
  // hours instead of now() (history for the batch and the demo).
  int days = 0;
};

struct RequestGeneratorReport {
  int64_t inserted = 0;
  int64_t customers = 0;
  int64_t errors = 0;
  double elapsed_s = 0;
};

// Errors: kUnavailable when the DB cannot be reached; per-insert errors are
// counted (and logged without PII) and the run goes on.
StatusOr<RequestGeneratorReport> RunRequestGenerator(const RequestGeneratorOptions& options,
                                                     const std::atomic<bool>& stop);

// A deterministic valid CPF for index `i` under `seed` (tests use it too).
std::string SyntheticCpf(uint64_t seed, uint64_t i);

}  // namespace lastro::sim
