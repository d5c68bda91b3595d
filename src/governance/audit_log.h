// The audit log of governed access (docs/governance.md, "Audit log"): one JSON object
// per line in <state_dir>/audit/audit.jsonl, appended for every query, allowed or
// refused, and for every privacy, explain, authentication and token action.
//
// Append-only and tamper-evident: each entry carries its sequence number `seq`
// (1, 2, ...), the hash of the previous entry `prev` and its own `hash`, a SHA-256 over
// its canonical serialisation (the JSON object without `hash`, keys sorted, no spaces).
// VerifyAuditLog() recomputes the chain and finds an edited field, a removed, inserted
// or reordered line and a truncated tail line. What the chain cannot see alone is a
// rewrite of the whole file with a recomputed chain, or lines cut off the end: each
// entry's seq and hash also go to the logs (Datadog), and VerifyAuditLog() with an
// expected head (kept outside the machine) detects those.
//
// Several processes (`lastro serve`, the CLI) append to the same file: appends are
// serialised by flock(2) on the file, and the previous seq and hash are read from the
// file's last line under the lock, never from memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace lastro::governance {

// One audited action, as the caller fills it. Append() adds seq, at, prev and hash.
struct AuditEntry {
  std::string user;  // authenticated user, or "cli:<unix user>"
  std::string role;  // the role the query ran as ("" when authentication failed)
  // "query", "named", "privacy.erase", "privacy.export", "decision.explain", "auth",
  // "token.create", "token.revoke" ("audit.recover" is written by Append itself)
  std::string action;
  std::string sql;                   // the SQL text as received (named: "name(p=v, ...)")
  std::vector<std::string> tables;   // tables touched, as the guard resolved them
  std::vector<std::string> columns;  // "table.column" touched
  int64_t rows = 0;                  // rows returned
  double duration_ms = 0;            // stored rounded to the microsecond
  std::string outcome;               // "allowed" | "denied" | "error" | "cancelled" | "timeout"
  std::string reason;                // why denied / the error, "" when allowed
  std::string remote;                // peer "ip:port", or "cli"
  std::string catalog_version;       // the serving catalog version queried, "" if none
  std::string subject;  // privacy/explain: the customer or request id; token.*: the token id
};

// The hash `prev` of the first entry: 64 zero hex digits.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

class AuditLog {
 public:
  // Opens (creating when missing) <state_dir>/audit/audit.jsonl, 0600, in a folder
  // created 0700. `clock` gives the entries' `at` and must outlive the log.
  // Errors: kUnavailable (the folder or the file cannot be created or opened).
  //
  // `group_sync` 0: every Append() is fdatasync'ed before it returns (4-8 ms on this
  // machine's disk). Above 0: Append() returns once the line is written (a crash of the
  // process keeps it), and one background fdatasync per window makes every line
  // written in it durable: a power loss or kernel crash can lose the entries of the
  // last window, nothing else (governance.audit_sync_ms, docs/governance.md#cost).
  static StatusOr<std::unique_ptr<AuditLog>> Open(
      const std::filesystem::path& state_dir, const Clock& clock = RealClock::Instance(),
      std::chrono::milliseconds group_sync = std::chrono::milliseconds(0));
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `entry` with the next seq, `at` (the clock's UTC time, RFC 3339 with
  // microseconds, "2025-03-01T12:00:00.123456Z"), `prev` and `hash`, and returns its
  // seq. When it returns OK the line is written and fdatasync'ed; otherwise the file is
  // cut back to where it was (best effort after a failed sync) and the caller must not
  // answer the query (fail closed).
  // The entry is also shipped to the logs (one JSON line, logger "audit", the SQL text
  // redacted of personal data) and counted (lastro.audit.entries): before Append()
  // returns when group_sync is 0, else by the group sync's thread within the window
  // (and at the latest when the log is closed), in seq order.
  // A last line left incomplete by a crash (never acknowledged: its append did not
  // return) is cut off first and the cut is itself recorded as an "audit.recover"
  // entry, so the chain stays verifiable and the event stays visible.
  // Thread-safe; safe across processes.
  // Errors: kInvalidArgument (empty action, unknown outcome); kFailedPrecondition (the
  // last line of the file is not a valid entry: stop and alert, run `lastro audit
  // verify`); kUnavailable (I/O error, disk full: retry, or refuse the query).
  StatusOr<int64_t> Append(const AuditEntry& entry);

  // The JSONL file.
  std::filesystem::path path() const { return path_; }

 private:
  AuditLog(int fd, std::filesystem::path path, const Clock& clock)
      : fd_(fd), path_(std::move(path)), clock_(clock) {}
  void SyncLoop();  // the group sync's thread
  const int fd_;    // O_RDWR | O_APPEND; flock'ed around each append
  const std::filesystem::path path_;
  const Clock& clock_;
  std::mutex mu_;  // serialises this process's appends (flock is per open file, not thread)
  // The chain's head after this process's last append, and the file's size then
  // (guarded by mu_): while the size under the lock is still that, no other process
  // appended, and the head need not be read back from the file.
  int64_t head_size_ = -1;
  int64_t head_seq_ = 0;
  std::string head_hash_;
  std::chrono::milliseconds group_sync_{0};
  std::atomic<bool> dirty_{false};  // written since the last group sync
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool stopping_ = false;  // guarded by sync_mu_
  // Entries written and not yet shipped to the logs (with a group sync; guarded by
  // sync_mu_): the log line leaves the answer's path like the sync does.
  struct Unshipped {
    AuditEntry entry;
    int64_t seq;
    std::string hash;
  };
  std::vector<Unshipped> unshipped_;
  std::thread syncer_;
};

// The audit file of a state folder: <state_dir>/audit/audit.jsonl.
std::filesystem::path AuditLogFile(const std::filesystem::path& state_dir);

struct AuditVerification {
  // Entries whose seq, prev and hash all hold, from the first one on (all of them when ok).
  int64_t entries = 0;
  bool ok = true;
  // The seq the first failing line should have had (its position in the file, from 1);
  // 0 when ok, or when the only problem is an expected head that is not in the log.
  int64_t first_bad_seq = 0;
  std::string problem;   // what is wrong, "" when ok
  int64_t head_seq = 0;  // the last entry checked intact, and its hash ("" when none)
  std::string head_hash;
};

// Re-computes the chain of the log under `state_dir`: detects an edited field, a
// removed, inserted or reordered line, a forged line, a truncated tail line. With
// `expect_head` (a hash shipped to the logs earlier, kept outside this machine), also
// that this hash is still in the chain: a log rewritten with a recomputed chain, or
// cut short by whole lines, no longer holds it. Reads the entries present when it
// starts (under a brief shared lock) while appends go on. A tampered log is a result
// (ok = false), not an error.
// Errors: kNotFound (no audit log in `state_dir`); kInvalidArgument (`expect_head` is
// not 64 hex digits); kUnavailable (the file cannot be read).
StatusOr<AuditVerification> VerifyAuditLog(const std::filesystem::path& state_dir,
                                           std::string_view expect_head = "");

// SQL creating (or replacing) the view `audit_log` over `log_file` for DuckDB: every
// entry one row, typed columns seq BIGINT, "at" TIMESTAMP (UTC; `at` is a keyword in
// DuckDB, hence the quotes), user, role, action, outcome, reason, sql VARCHAR, tables,
// columns VARCHAR[], rows BIGINT, duration_ms DOUBLE, remote, catalog_version, subject,
// prev, hash VARCHAR. For the auditor role's engine, which gets `log_file` as its one
// allowed path. A line being appended while the view is read can make that query fail
// (malformed JSON): run it again.
std::string AuditViewSql(const std::filesystem::path& log_file);

}  // namespace lastro::governance
