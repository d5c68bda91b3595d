#include "batch/source_snapshot.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace lastro::batch {

StatusOr<std::unique_ptr<pg::Connection>> ConnectToSource(const SnapshotSettings& settings) {
  return pg::Connection::Connect(settings.dsn, {.application_name = "lastro-batch"});
}

StatusOr<SourceState> CheckSource(pg::Connection& conn, const SnapshotSettings& settings) {
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result info,
      conn.Exec("SELECT pg_is_in_recovery(), "
                "CASE WHEN NOT pg_is_in_recovery() THEN NULL "
                "     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"));
  SourceState out;
  out.replica = info.Get(0, 0) == "t";
  if (!info.IsNull(0, 1)) out.lag_s = std::stod(std::string(info.Get(0, 1)));
  if (out.lag_s && *out.lag_s > settings.max_replica_lag_s) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the replica is ", static_cast<int64_t>(*out.lag_s),
        " s behind the primary (batch.max_replica_lag_s = ", settings.max_replica_lag_s,
        "): its data would be stale; retry when it catches up"));
  }
  return out;
}

Status BeginSnapshot(pg::Connection& conn, const SnapshotSettings& settings,
                     const std::string& snapshot_id) {
  // SET TRANSACTION SNAPSHOT must precede every query of the transaction.
  return conn
      .Exec(absl::StrCat(
          "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ",
          snapshot_id.empty()
              ? ""
              : absl::StrCat("SET TRANSACTION SNAPSHOT ", conn.QuoteLiteral(snapshot_id), "; "),
          "SET LOCAL statement_timeout = ", settings.statement_timeout_ms,
          "; SET LOCAL lock_timeout = ", settings.lock_timeout_ms, "; SET LOCAL TimeZone = 'UTC'"))
      .status();
}

StatusOr<Snapshot> OpenSnapshot(pg::Connection& conn, const SnapshotSettings& settings,
                                bool share) {
  constexpr char kIdentity[] =
      "SELECT pg_current_snapshot()::text, to_char(now(), 'YYYY-MM-DD HH24:MI:SS.US')";
  LASTRO_RETURN_IF_ERROR(BeginSnapshot(conn, settings));
  if (share) {
    // The transaction's first query fixes its snapshot, so the export is of it.
    auto exported = conn.Exec(absl::StrCat(kIdentity, ", pg_export_snapshot()"));
    if (exported.ok()) {
      return Snapshot{.current = std::string(exported->Get(0, 0)),
                      .time = std::string(exported->Get(0, 1)),
                      .exported = std::string(exported->Get(0, 2))};
    }
    // The failed statement aborted the transaction (a savepoint would not help: a
    // subtransaction cannot export).
    log::Warn("the source cannot export its snapshot",
              {{"error", std::string(exported.status().message())}});
    LASTRO_RETURN_IF_ERROR(conn.Exec("ROLLBACK").status());
    LASTRO_RETURN_IF_ERROR(BeginSnapshot(conn, settings));
  }
  LASTRO_ASSIGN_OR_RETURN(pg::Result identity, conn.Exec(kIdentity));
  return Snapshot{.current = std::string(identity.Get(0, 0)),
                  .time = std::string(identity.Get(0, 1))};
}

void StreamAbort::Fail(const Status& status) {
  std::lock_guard lock(mu_);
  if (first_.ok()) first_ = status;
  failed_.store(true);
  for (const pg::Connection* c : conns_) c->CancelStatement();
}

Status StreamAbort::first() const {
  std::lock_guard lock(mu_);
  return first_;
}

void StreamAbort::Add(const pg::Connection* conn) {
  std::lock_guard lock(mu_);
  conns_.push_back(conn);
  if (failed_.load()) conn->CancelStatement();
}

void StreamAbort::Remove(const pg::Connection* conn) {
  std::lock_guard lock(mu_);
  std::erase(conns_, conn);
}

SnapshotWorker::SnapshotWorker(SnapshotSettings settings, std::string snapshot_id,
                               std::string snapshot, bool replica, StreamAbort& abort, Work work)
    : settings_(std::move(settings)),
      snapshot_id_(std::move(snapshot_id)),
      snapshot_(std::move(snapshot)),
      replica_(replica),
      abort_(abort),
      work_(std::move(work)),
      imported_(imported_promise_.get_future()),
      done_(done_promise_.get_future()) {
  thread_ = std::thread([this] { Run(); });
}

SnapshotWorker::~SnapshotWorker() {
  if (thread_.joinable()) thread_.join();
}

Status SnapshotWorker::WaitImported() { return imported_.get(); }

bool SnapshotWorker::WaitDone(std::chrono::milliseconds timeout) {
  return done_.wait_for(timeout) == std::future_status::ready;
}

StatusOr<int64_t> SnapshotWorker::Result() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

Status SnapshotWorker::Setup() {
  LASTRO_ASSIGN_OR_RETURN(conn_, ConnectToSource(settings_));
  LASTRO_ASSIGN_OR_RETURN(SourceState source, CheckSource(*conn_, settings_));
  if (source.replica != replica_) {
    return absl::FailedPreconditionError(
        "the second connection reached another server than the first");
  }
  LASTRO_RETURN_IF_ERROR(BeginSnapshot(*conn_, settings_, snapshot_id_));
  LASTRO_ASSIGN_OR_RETURN(pg::Result snap, conn_->Exec("SELECT pg_current_snapshot()::text"));
  const std::string imported(snap.Get(0, 0));
  if (imported != snapshot_) {
    return absl::InternalError(
        absl::StrCat("the imported snapshot ", imported, " is not the exported one ", snapshot_));
  }
  return absl::OkStatus();
}

void SnapshotWorker::Run() {
  Status setup = Setup();
  imported_promise_.set_value(setup);
  if (!setup.ok()) {
    result_ = setup;
  } else {
    abort_.Add(conn_.get());
    result_ = abort_.stopped() ? StatusOr<int64_t>(absl::CancelledError("the run was stopped"))
                               : work_(*conn_);
    if (result_.ok()) {
      Status committed = conn_->Exec("COMMIT").status();
      if (!committed.ok()) result_ = committed;
    }
    if (!result_.ok()) abort_.Fail(result_.status());
    abort_.Remove(conn_.get());
  }
  conn_.reset();
  done_promise_.set_value();
}

}  // namespace lastro::batch
