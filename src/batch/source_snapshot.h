// The extract's transactions on the source database (extractor.h): where it reads
// from, one REPEATABLE READ READ ONLY snapshot, and that very snapshot shared with a
// second connection working on a thread of its own, so that two COPY statements of
// one extract run at once and still read the database at one instant.
//
// Sharing: the first transaction exports its snapshot (pg_export_snapshot(); a hot
// standby can export too, since PostgreSQL 10); the second connection runs the same
// checks, imports it with SET TRANSACTION SNAPSHOT as its transaction's first
// statement, and verifies that its pg_current_snapshot() is the first one's. An
// export is valid only while the exporting transaction is open: end it only after
// SnapshotWorker::WaitImported() returned.
//
// Every connection is `application_name = lastro-batch`, every transaction READ ONLY
// with statement_timeout, lock_timeout and TimeZone UTC.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace lastro::batch {

struct SnapshotSettings {
  std::string dsn;
  int max_replica_lag_s = 300;
  int statement_timeout_ms = 900000;
  int lock_timeout_ms = 2000;
};

// A connection as the extract opens it. Errors: as pg::Connection::Connect().
StatusOr<std::unique_ptr<pg::Connection>> ConnectToSource(const SnapshotSettings& settings);

struct SourceState {
  bool replica = false;  // the server is in recovery
  std::optional<double> lag_s;
};

// Where `conn` reads from, and how far behind its primary it is (0 when replay has
// caught up with what it received). Errors: kFailedPrecondition when the lag exceeds
// settings.max_replica_lag_s; the server's otherwise.
StatusOr<SourceState> CheckSource(pg::Connection& conn, const SnapshotSettings& settings);

// Opens the read-only snapshot transaction on `conn`; with `snapshot_id`, it adopts
// that exported snapshot instead of taking its own. Errors: the server's (an
// unknown or expired snapshot id is kInvalidArgument).
Status BeginSnapshot(pg::Connection& conn, const SnapshotSettings& settings,
                     const std::string& snapshot_id = "");

struct Snapshot {
  std::string current;   // pg_current_snapshot() of the transaction
  std::string time;      // its now(), "YYYY-MM-DD HH:MM:SS.ffffff" UTC
  std::string exported;  // the id a second connection imports; "" when not exported
};

// BeginSnapshot() on `conn` and the snapshot's identity; with `share`, the snapshot
// is exported too. A server that refuses to export is logged as a warning and the
// transaction reopened without it (nothing was read yet): `exported` is then "".
// Errors: the server's.
StatusOr<Snapshot> OpenSnapshot(pg::Connection& conn, const SnapshotSettings& settings, bool share);

// The first failure among concurrent streams; it stops the others. Streams poll
// stopped() (between chunks), and the statements of registered connections are
// cancelled on the server at once, so a stream waiting for its first row stops too.
// Thread-safe.
class StreamAbort {
 public:
  // `stop`: the caller's stop flag (may be null), which stopped() reports too.
  explicit StreamAbort(const std::atomic<bool>* stop) : stop_(stop) {}

  bool stopped() const { return failed_.load() || (stop_ != nullptr && stop_->load()); }

  // Records `status` (an error) if it is the first failure, and cancels every
  // registered connection's statement. Later failures (a stream cancelled because of
  // the first) are dropped: first() is the cause.
  void Fail(const Status& status);
  // The first failure; OK when none.
  Status first() const;

  // A connection whose statement Fail() cancels (at once, if it already failed).
  // Remove() it before it is destroyed.
  void Add(const pg::Connection* conn);
  void Remove(const pg::Connection* conn);

 private:
  const std::atomic<bool>* stop_;
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  Status first_;                              // guarded by mu_
  std::vector<const pg::Connection*> conns_;  // guarded by mu_
};

// Runs `work` on a thread of its own, on a second connection inside the snapshot
// `snapshot_id` exported by the first transaction (whose pg_current_snapshot() is
// `snapshot` and which was read on a server in recovery or not: `replica`), then
// commits. The connection is registered with `abort` while `work` runs, and a
// failure of `work` or of the commit is given to abort.Fail().
//
// Setting up (connect, CheckSource(), the import, the check of the snapshot) reads
// nothing: when it fails, WaitImported() says why and `work` never runs, so the
// caller can do the work on the first connection instead.
class SnapshotWorker {
 public:
  // Returns what `work` produced (e.g. a row count).
  using Work = std::function<StatusOr<int64_t>(pg::Connection& conn)>;

  SnapshotWorker(SnapshotSettings settings, std::string snapshot_id, std::string snapshot,
                 bool replica, StreamAbort& abort, Work work);
  // Joins the thread (the caller should have made it stop: abort.Fail()).
  ~SnapshotWorker();
  SnapshotWorker(const SnapshotWorker&) = delete;
  SnapshotWorker& operator=(const SnapshotWorker&) = delete;

  // Blocks until the second transaction holds the snapshot (OK) or could not get it
  // (the reason). Call once.
  Status WaitImported();
  // True once the thread has finished, either way; waits up to `timeout`.
  bool WaitDone(std::chrono::milliseconds timeout);
  // Joins the thread and returns what `work` returned, or the error (set-up's, the
  // work's, or the commit's).
  StatusOr<int64_t> Result();

 private:
  Status Setup();
  void Run();

  const SnapshotSettings settings_;
  const std::string snapshot_id_, snapshot_;
  const bool replica_;
  StreamAbort& abort_;
  const Work work_;
  std::unique_ptr<pg::Connection> conn_;  // the thread's
  StatusOr<int64_t> result_;              // written by the thread before done_ is ready
  std::promise<Status> imported_promise_;
  std::future<Status> imported_;
  std::promise<void> done_promise_;
  std::future<void> done_;
  std::thread thread_;
};

}  // namespace lastro::batch
