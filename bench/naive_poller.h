// The naive baseline the stream is measured against: what a team would write
// first without logical replication. Every `poll_interval` it selects the PENDING
// requests (with the customer's CPF and first-time flag, as the stream's lookup
// does), sends each new one to the risk API through the same RiskClient and
// max_in_flight bound, decides it with the same policy, and writes each decision
// on its own: one write statement (the stream's write SQL with a single row) per
// request, from `writers` connections. Same decisions, different plumbing.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "common/status.h"

namespace lastro::bench {

struct NaivePollerOptions {
  std::string dsn;
  std::string risk_url;
  std::string policy_file;
  int max_in_flight = 256;
  int writers = 4;
  std::chrono::milliseconds poll_interval{100};
};

// Runs until `stop`; prints "naive poller started" on stderr once polling.
// Errors: as pg::Connection::Connect and Policy::LoadFile; write errors are
// retried (reconnecting), never dropped.
Status RunNaivePoller(const NaivePollerOptions& options, const std::atomic<bool>& stop);

}  // namespace lastro::bench
