#include "capture/cdc_tail.h"

#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "capture/change_envelope.h"
#include "capture/pgoutput.h"
#include "capture/replication_stream.h"
#include "common/log.h"
#include "pg/connection.h"

namespace lastro::capture {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status RunCdcTail(const CdcTailOptions& options, std::FILE* out, const std::atomic<bool>& stop) {
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(options.dsn, {"lastro-cdc-tail"}));
  LASTRO_ASSIGN_OR_RETURN(pg::Result db, conn->Exec("SELECT current_database()"));
  std::string dbname(db.Get(0, 0));
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result pub,
      conn->Exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {options.publication}));
  if (pub.rows() == 0) {
    if (!options.create_publication_for_all_tables) {
      return absl::NotFoundError(absl::StrCat("publication ", options.publication,
                                              " does not exist (create it, or pass "
                                              "--create-publication)"));
    }
    LASTRO_RETURN_IF_ERROR(
        conn->Exec(absl::StrCat("CREATE PUBLICATION ", conn->QuoteIdentifier(options.publication),
                                " FOR ALL TABLES"))
            .status());
  }

  ReplicationOptions ro;
  ro.dsn = options.dsn;
  ro.publication = options.publication;
  ro.application_name = "lastro-cdc-tail";
  ro.temporary_slot = options.slot.empty();
  ro.slot = options.slot.empty() ? absl::StrCat("lastro_tail_", getpid()) : options.slot;
  LASTRO_ASSIGN_OR_RETURN(auto stream, ReplicationStream::Open(ro));
  LASTRO_RETURN_IF_ERROR(stream->EnsureSlot(false).status());
  LASTRO_RETURN_IF_ERROR(stream->Start());
  if (options.on_started) options.on_started();

  RelationCache relations;
  Begin begin;
  int64_t emitted = 0;
  auto last_change = std::chrono::steady_clock::now();
  auto emit = [&](const Json& envelope) {
    std::string line = envelope.dump(-1, ' ', false, Json::error_handler_t::replace);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
    ++emitted;
    last_change = std::chrono::steady_clock::now();
  };
  auto report = [](const WalMessage& m, const Status& s) {
    log::Error("cannot decode change",
               {{"lsn", Lsn(m.wal_start).ToString()}, {"error", std::string(s.message())}});
  };
  while (!stop) {
    if (options.max_changes > 0 && emitted >= options.max_changes) break;
    if (options.idle_exit_s > 0 && std::chrono::steady_clock::now() - last_change >
                                       std::chrono::duration<double>(options.idle_exit_s)) {
      break;
    }
    LASTRO_ASSIGN_OR_RETURN(auto msg, stream->Next(std::chrono::milliseconds(100)));
    if (!msg) {
      std::fflush(out);
      if (stream->idle_at_wal_end()) stream->Confirm(stream->server_wal_end());
      continue;
    }
    auto decoded = DecodeMessage(msg->payload);
    if (!decoded.ok()) {
      report(*msg, decoded.status());
      continue;
    }
    relations.Observe(*decoded);
    if (auto* b = std::get_if<Begin>(&*decoded)) {
      begin = *b;
      continue;
    }
    if (auto* c = std::get_if<Commit>(&*decoded)) {
      stream->Confirm(c->end_lsn.value());
      continue;
    }
    EnvelopeContext ctx{dbname, begin, Lsn(msg->wal_start), NowMs(), false};
    if (auto* t = std::get_if<Truncate>(&*decoded)) {
      auto envs = BuildTruncateEnvelopes(*t, relations, ctx);
      if (!envs.ok()) {
        report(*msg, envs.status());
        continue;
      }
      for (const Json& e : *envs) emit(e);
      continue;
    }
    uint32_t relid = 0;
    if (auto* i = std::get_if<Insert>(&*decoded)) relid = i->relid;
    if (auto* u = std::get_if<Update>(&*decoded)) relid = u->relid;
    if (auto* d = std::get_if<Delete>(&*decoded)) relid = d->relid;
    if (relid == 0) continue;  // Relation, Type, Origin, logical messages
    auto rel = relations.Get(relid);
    if (!rel.ok()) {
      report(*msg, rel.status());
      continue;
    }
    auto env = BuildChangeEnvelope(*decoded, **rel, ctx);
    if (!env.ok()) {
      report(*msg, env.status());
      continue;
    }
    emit(*env);
  }
  std::fflush(out);
  IgnoreError(stream->MaybeSendStatus(true));
  return absl::OkStatus();
}

}  // namespace lastro::capture
