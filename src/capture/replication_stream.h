// The transport half of logical replication: a libpq connection in replication
// mode that owns one slot, streams pgoutput messages and reports progress.
//
// Protocol (PostgreSQL docs, "Streaming Replication Protocol"): after
// START_REPLICATION the server sends CopyData messages: 'w' (XLogData: WAL start,
// WAL end, send time, payload) and 'k' (keepalive: WAL end, send time, reply
// requested). The client sends 'r' (standby status update: write, flush, apply
// LSNs, time, reply requested). The flush LSN we report is what the slot keeps:
// the server resends every transaction that commits after it.
//
// Not thread-safe: one thread drives a ReplicationStream.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "pg/connection.h"

namespace lastro::capture {

struct ReplicationOptions {
  std::string dsn;
  std::string slot;
  std::string publication;
  std::string application_name = "lastro-capture";
  bool temporary_slot = false;  // dropped by the server when the connection ends
  // How often a status update is sent even when nothing changed (keeps the
  // server's wal_sender_timeout from firing and shows progress in pg_stat_replication).
  std::chrono::milliseconds status_interval{1000};
};

struct SlotInfo {
  bool created = false;         // this call created the slot
  std::string snapshot_name;    // exported snapshot (only when created with export)
  uint64_t consistent_lsn = 0;  // where decoding of the new slot starts
};

// One pgoutput message with its position.
struct WalMessage {
  uint64_t wal_start = 0;
  uint64_t wal_end = 0;
  int64_t server_time_us = 0;  // PostgreSQL epoch (2000-01-01) microseconds
  std::string payload;         // pgoutput message bytes
};

class ReplicationStream {
 public:
  // Connects with replication=database and identifies the system.
  // Errors: kUnavailable (server unreachable), kPermissionDenied.
  static StatusOr<std::unique_ptr<ReplicationStream>> Open(const ReplicationOptions& options);

  // Creates the slot when it does not exist. With `export_snapshot`, the returned
  // snapshot name can be used by another connection (SET TRANSACTION SNAPSHOT)
  // until this stream runs its next command (Start). kFailedPrecondition when the
  // slot exists with another plugin or was invalidated (lost WAL).
  StatusOr<SlotInfo> EnsureSlot(bool export_snapshot);

  // Drops the slot (operator action / tests). kNotFound when absent.
  Status DropSlot();

  // START_REPLICATION from the slot's confirmed position (pgoutput, proto 1).
  Status Start();

  // Returns the next pgoutput message, or nullopt when `timeout` passes without
  // one. Keepalives are handled here (answered when the server asks). Errors:
  // kUnavailable / kOutOfRange when the connection or the stream ended.
  StatusOr<std::optional<WalMessage>> Next(std::chrono::milliseconds timeout);

  // Sets the position that is safe to confirm (monotonic: lower values are
  // ignored). Reported on the next status update.
  void Confirm(uint64_t lsn);
  // Sends a status update now if one is due (or `force`).
  Status MaybeSendStatus(bool force = false);

  uint64_t confirmed() const { return confirmed_; }
  // Latest WAL end the server reported (keepalive or data): how far it has sent.
  uint64_t server_wal_end() const { return server_wal_end_; }
  // Server's time of its latest message, Unix microseconds (for lag in seconds).
  int64_t server_time_unix_us() const { return server_time_unix_us_; }
  // True when the last keepalive said the server has sent everything up to
  // server_wal_end() (there is no transaction still being streamed).
  bool idle_at_wal_end() const { return idle_at_wal_end_; }

 private:
  ReplicationStream(ReplicationOptions options, std::unique_ptr<pg::Connection> conn)
      : options_(std::move(options)), conn_(std::move(conn)) {}
  Status SendStatus(bool reply_requested);

  ReplicationOptions options_;
  std::unique_ptr<pg::Connection> conn_;
  uint64_t confirmed_ = 0;
  uint64_t reported_ = 0;
  uint64_t server_wal_end_ = 0;
  int64_t server_time_unix_us_ = 0;
  bool idle_at_wal_end_ = false;
  std::chrono::steady_clock::time_point last_status_{};
};

}  // namespace lastro::capture
