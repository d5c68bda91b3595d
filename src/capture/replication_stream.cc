#include "capture/replication_stream.h"

#include <fmt/format.h>

#include "absl/strings/str_cat.h"
#include "capture/lsn.h"
#include "capture/pgoutput.h"

namespace lastro::capture {
namespace {

uint64_t ReadU64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

int64_t NowPgMicros() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - kPgEpochUnixMicros;
}

}  // namespace

StatusOr<std::unique_ptr<ReplicationStream>> ReplicationStream::Open(
    const ReplicationOptions& options) {
  pg::ConnectOptions co;
  co.application_name = options.application_name;
  co.replication = true;
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(options.dsn, co));
  LASTRO_ASSIGN_OR_RETURN(pg::Result id, conn->Exec("IDENTIFY_SYSTEM"));
  if (id.rows() != 1) return absl::UnavailableError("IDENTIFY_SYSTEM returned no row");
  return std::unique_ptr<ReplicationStream>(new ReplicationStream(options, std::move(conn)));
}

StatusOr<SlotInfo> ReplicationStream::EnsureSlot(bool export_snapshot) {
  SlotInfo info;
  if (!options_.temporary_slot) {
    // Replication connections accept plain SELECTs (replication=database).
    LASTRO_ASSIGN_OR_RETURN(
        pg::Result r, conn_->Exec(fmt::format("SELECT plugin, wal_status, confirmed_flush_lsn FROM "
                                              "pg_replication_slots WHERE slot_name = {}",
                                              conn_->QuoteLiteral(options_.slot))));
    if (r.rows() == 1) {
      if (r.Get(0, 0) != "pgoutput") {
        return absl::FailedPreconditionError(absl::StrCat(
            "slot ", options_.slot, " uses plugin ", std::string(r.Get(0, 0)), ", not pgoutput"));
      }
      if (r.Get(0, 1) == "lost") {
        return absl::FailedPreconditionError(absl::StrCat(
            "slot ", options_.slot, " was invalidated (WAL removed); drop it to re-create"));
      }
      if (!r.IsNull(0, 2)) {
        LASTRO_ASSIGN_OR_RETURN(Lsn confirmed, Lsn::Parse(r.Get(0, 2)));
        info.consistent_lsn = confirmed.value();
      }
      confirmed_ = reported_ = info.consistent_lsn;
      return info;
    }
  }
  std::string sql = fmt::format("CREATE_REPLICATION_SLOT {} {}LOGICAL pgoutput {}",
                                conn_->QuoteIdentifier(options_.slot),
                                options_.temporary_slot ? "TEMPORARY " : "",
                                export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  auto created = conn_->Exec(sql);
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status()) || absl::IsInternal(created.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create slot ", options_.slot, ": ", created.status().message()));
    }
    return created.status();
  }
  info.created = true;
  LASTRO_ASSIGN_OR_RETURN(Lsn consistent,
                          Lsn::Parse(created->Get(0, created->Column("consistent_point"))));
  info.consistent_lsn = consistent.value();
  int snap = created->Column("snapshot_name");
  if (snap >= 0 && !created->IsNull(0, snap))
    info.snapshot_name = std::string(created->Get(0, snap));
  confirmed_ = reported_ = info.consistent_lsn;
  return info;
}

Status ReplicationStream::DropSlot() {
  auto r =
      conn_->Exec(fmt::format("DROP_REPLICATION_SLOT {}", conn_->QuoteIdentifier(options_.slot)));
  if (!r.ok() && r.status().message().find("does not exist") != std::string::npos) {
    return absl::NotFoundError(absl::StrCat("slot ", options_.slot, " does not exist"));
  }
  return r.status();
}

Status ReplicationStream::Start() {
  std::string sql =
      fmt::format("START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {})",
                  conn_->QuoteIdentifier(options_.slot), Lsn(confirmed_).ToString(),
                  conn_->QuoteLiteral(conn_->QuoteIdentifier(options_.publication)));
  LASTRO_RETURN_IF_ERROR(conn_->Exec(sql).status());
  last_status_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

StatusOr<std::optional<WalMessage>> ReplicationStream::Next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    LASTRO_RETURN_IF_ERROR(MaybeSendStatus());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    // Wake at least at each status interval to keep reporting progress.
    LASTRO_ASSIGN_OR_RETURN(auto data,
                            conn_->ReadCopyData(std::min(left, options_.status_interval)));
    if (!data) {
      if (std::chrono::steady_clock::now() >= deadline) return std::optional<WalMessage>();
      continue;
    }
    const std::string& msg = *data;
    if (msg.empty()) return absl::DataLossError("empty CopyData message");
    if (msg[0] == 'k') {
      if (msg.size() < 18) return absl::DataLossError("truncated keepalive message");
      server_wal_end_ = std::max(server_wal_end_, ReadU64(msg, 1));
      server_time_unix_us_ = int64_t(ReadU64(msg, 9)) + kPgEpochUnixMicros;
      idle_at_wal_end_ = true;
      if (msg[17]) LASTRO_RETURN_IF_ERROR(SendStatus(false));
      continue;
    }
    if (msg[0] == 'w') {
      if (msg.size() < 25) return absl::DataLossError("truncated XLogData message");
      WalMessage out;
      out.wal_start = ReadU64(msg, 1);
      out.wal_end = ReadU64(msg, 9);
      out.server_time_us = int64_t(ReadU64(msg, 17));
      out.payload = msg.substr(25);
      server_wal_end_ = std::max(server_wal_end_, out.wal_end);
      server_time_unix_us_ = out.server_time_us + kPgEpochUnixMicros;
      idle_at_wal_end_ = false;
      return std::optional<WalMessage>(std::move(out));
    }
    return absl::DataLossError(fmt::format("unknown replication message type 0x{:02x}",
                                           static_cast<unsigned char>(msg[0])));
  }
}

void ReplicationStream::Confirm(uint64_t lsn) { confirmed_ = std::max(confirmed_, lsn); }

Status ReplicationStream::MaybeSendStatus(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (force || confirmed_ != reported_ || now - last_status_ >= options_.status_interval) {
    // Sending on every change would be one packet per transaction at load; rate
    // limit to a tenth of the interval unless forced.
    if (!force && confirmed_ != reported_ && now - last_status_ < options_.status_interval / 10) {
      return absl::OkStatus();
    }
    return SendStatus(false);
  }
  return absl::OkStatus();
}

Status ReplicationStream::SendStatus(bool reply_requested) {
  std::string msg;
  msg.reserve(34);
  msg.push_back('r');
  PutU64(msg, confirmed_);  // written
  PutU64(msg, confirmed_);  // flushed: what the slot may forget
  PutU64(msg, confirmed_);  // applied
  PutU64(msg, uint64_t(NowPgMicros()));
  msg.push_back(reply_requested ? 1 : 0);
  LASTRO_RETURN_IF_ERROR(conn_->WriteCopyData(msg));
  reported_ = confirmed_;
  last_status_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

}  // namespace lastro::capture
