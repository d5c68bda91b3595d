// `lastro cdc tail`: prints every captured change as one JSON line in a
// Debezium-compatible envelope — an operator's tool like pg_recvlogical, and a
// debugging aid. Uses a temporary slot unless a slot name is given.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "common/status.h"

namespace lastro::capture {

struct CdcTailOptions {
  std::string dsn;
  std::string slot;  // empty: a temporary slot named lastro_tail_<pid>
  std::string publication = "lastro_requests";
  bool create_publication_for_all_tables = false;  // when the publication is missing
  int64_t max_changes = 0;  // stop after this many envelopes (0 = until stopped)
  double idle_exit_s = 0;   // stop after this long without changes (0 = never)
  // Called once streaming has started (tests wait for it before writing).
  std::function<void()> on_started;
};

// Writes one envelope per line to `out`. Undecodable messages are reported on
// stderr as JSON with the error and the stream goes on. Returns OK when stopped.
Status RunCdcTail(const CdcTailOptions& options, std::FILE* out, const std::atomic<bool>& stop);

}  // namespace lastro::capture
