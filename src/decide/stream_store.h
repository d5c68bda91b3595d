// The stream's access to the operational database: every statement `lastro
// stream` runs, each designed as one round trip for a whole batch.
//
// Not thread-safe: one StreamStore (one connection) per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "decide/types.h"
#include "pg/connection.h"

namespace lastro::decide {

struct WriteResult {
  std::vector<int64_t> decided;       // decision row inserted by this call
  std::vector<int64_t> transitioned;  // status moved PENDING -> decision by this call
  int64_t commit_time_us = 0;         // server time of the commit
  // Requests whose row this transaction could not see: deleted, or committed so
  // recently that their commit is not visible yet (the walsender may send a commit
  // a moment before it becomes visible to other sessions). Nothing was written
  // for them.
  std::vector<int64_t> missing;
};

class StreamStore {
 public:
  // Errors: as pg::Connection::Connect.
  static StatusOr<std::unique_ptr<StreamStore>> Connect(const std::string& dsn,
                                                        const std::string& application_name,
                                                        int statement_timeout_ms,
                                                        int lock_timeout_ms = 5000);

  // Current status, CPF and history for each request, by (request id, customer
  // id). One query. A request whose row is not visible yet gets status "" — the
  // walsender can send a commit a moment before the transaction is visible to
  // other sessions — so callers treat "" as still PENDING. Requests whose customer
  // does not exist are absent from the map.
  StatusOr<std::map<int64_t, RequestContext>> Lookup(const std::vector<CapturedRequest>& requests);

  // Writes a batch of decisions in one statement (one transaction):
  // decision rows keyed by request id (ON CONFLICT DO NOTHING), status moved only
  // from PENDING (the state machine guard), history appended only for rows whose
  // status actually moved. Replaying a batch changes nothing. Requests deleted
  // meanwhile are skipped. Errors: kInvalidArgument when a value violates a
  // constraint (the caller retries rows one by one to isolate it); retryable codes
  // when the DB is unavailable.
  StatusOr<WriteResult> Write(const std::vector<Decision>& decisions);

  // Records an event that could not be processed. `payload` is stored as bytea.
  Status DeadLetter(const std::string& source, uint64_t lsn, std::optional<int64_t> request_id,
                    const std::string& error, const std::string& payload);

  // PENDING requests created more than `older_than` ago, oldest first (uses the
  // partial index on PENDING rows).
  StatusOr<std::vector<CapturedRequest>> StalePending(std::chrono::seconds older_than, int limit);

  // All PENDING requests as seen by an exported snapshot (slot creation hand-off).
  StatusOr<std::vector<CapturedRequest>> PendingAtSnapshot(const std::string& snapshot_name);

  // Ensures the publication exists for credit_requests.
  Status EnsurePublication(const std::string& publication);

  // Today's counts per status (America/Sao_Paulo day), for restoring counters.
  StatusOr<std::map<std::string, int64_t>> TodayCounts();

  pg::Connection& connection() { return *conn_; }

 private:
  explicit StreamStore(std::unique_ptr<pg::Connection> conn) : conn_(std::move(conn)) {}
  StatusOr<std::vector<CapturedRequest>> ReadRequests(pg::Result& r);
  std::unique_ptr<pg::Connection> conn_;
};

// "X/XXXXXXXX" text of a WAL position (capture::Lsn::ToString for a raw value).
std::string FormatLsn(uint64_t lsn);

}  // namespace lastro::decide
