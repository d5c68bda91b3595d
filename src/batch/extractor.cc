#include "batch/extractor.h"

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batch/copy_text.h"
#include "common/log.h"
#include "common/pii.h"
#include "pg/connection.h"

namespace lastro::batch {
namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kRequestColumns = {"id",
                                                  "customer_id",
                                                  "amount_cents",
                                                  "term_months",
                                                  "purpose",
                                                  "channel",
                                                  "declared_income_cents",
                                                  "status",
                                                  "version",
                                                  "created_at",
                                                  "updated_at",
                                                  "decided_at"};

const std::vector<std::string> kDecisionColumns = {"request_id",
                                                   "decision",
                                                   "score",
                                                   "risk_band",
                                                   "probability_of_default",
                                                   "reason_codes",
                                                   "provider_reason_codes",
                                                   "first_time_customer",
                                                   "provider_ref",
                                                   "provider_model_version",
                                                   "policy_version",
                                                   "attempts",
                                                   "provider_latency_ms",
                                                   "decided_at"};

// Decision columns as selected: arrays as JSON so DuckDB parses them without guessing.
std::string DecisionSelect() {
  std::vector<std::string> cols;
  for (const std::string& c : kDecisionColumns) {
    if (c == "reason_codes" || c == "provider_reason_codes") {
      cols.push_back(absl::StrCat("array_to_json(d.", c, ")"));
    } else {
      cols.push_back("d." + c);
    }
  }
  return absl::StrJoin(cols, ", ");
}

std::string CreateTextTable(const std::string& name, const std::vector<std::string>& cols) {
  std::vector<std::string> defs;
  for (const std::string& c : cols) defs.push_back(c + " VARCHAR");
  return absl::StrCat("CREATE OR REPLACE TABLE ", name, " (", absl::StrJoin(defs, ", "), ")");
}

// Sleeps just enough to keep the extract at or under `rate` rows/s overall.
class Throttle {
 public:
  explicit Throttle(double rate) : rate_(rate), start_(Clock::now()) {}
  void Row() {
    if (rate_ <= 0 || ++rows_ % 1000 != 0) return;
    auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(rows_ / rate_));
    if (due > Clock::now()) std::this_thread::sleep_until(due);
  }

 private:
  double rate_;
  Clock::time_point start_;
  int64_t rows_ = 0;
};

// Streams one COPY into an appender; `row_fn` appends one parsed row.
Status CopyInto(pg::Connection& conn, const std::string& sql, lake::Engine& engine,
                const std::string& table, size_t fields, Throttle& throttle,
                const std::string& phase, const ExtractProgress& progress,
                const std::atomic<bool>* stop, int64_t* rows,
                const std::function<void(const CopyTextParser&, lake::Appender&)>& row_fn) {
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<lake::Appender> appender, engine.NewAppender(table));
  CopyTextParser parser;
  Status copy = conn.CopyOut(sql, [&](std::string_view chunk) -> Status {
    LASTRO_RETURN_IF_ERROR(parser.Parse(chunk, fields));
    row_fn(parser, *appender);
    LASTRO_RETURN_IF_ERROR(appender->EndRow());
    ++*rows;
    if ((*rows & 1023) == 0 && stop != nullptr && stop->load()) {
      return absl::CancelledError("the run was stopped");
    }
    if (progress && *rows % 50000 == 0) progress(phase, *rows);
    throttle.Row();
    return absl::OkStatus();
  });
  Status closed = appender->Close();
  LASTRO_RETURN_IF_ERROR(copy);
  LASTRO_RETURN_IF_ERROR(closed);
  if (progress) progress(phase, *rows);
  return absl::OkStatus();
}

void AppendFields(const CopyTextParser& parser, lake::Appender& a) {
  for (const auto& f : parser.fields()) {
    if (f) {
      a.AppendText(*f);
    } else {
      a.AppendNull();
    }
  }
}

}  // namespace

StatusOr<ExtractResult> Extract(const ExtractOptions& options, lake::Engine& engine,
                                const CpfTokenizer& tokenizer, const ExtractProgress& progress) {
  ExtractResult out;
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<pg::Connection> conn,
      pg::Connection::Connect(options.dsn, {.application_name = "lastro-batch"}));

  // Where we read from, and how far behind the primary it is.
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result info,
      conn->Exec("SELECT pg_is_in_recovery(), "
                 "CASE WHEN NOT pg_is_in_recovery() THEN NULL "
                 "     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                 "     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"));
  out.replica = info.Get(0, 0) == "t";
  if (!info.IsNull(0, 1)) out.replica_lag_s = std::stod(std::string(info.Get(0, 1)));
  if (options.replica && !out.replica) {
    log::Warn("batch.replica_dsn points to a server that is not in recovery (a primary)");
  }
  if (out.replica_lag_s && *out.replica_lag_s > options.max_replica_lag_s) {
    return absl::FailedPreconditionError(
        absl::StrCat("the replica is ", static_cast<int64_t>(*out.replica_lag_s),
                     " s behind the primary (batch.max_replica_lag_s = ", options.max_replica_lag_s,
                     "): its data would be stale; retry when it catches up"));
  }

  // One snapshot for all three tables; never wait on a lock for long.
  LASTRO_RETURN_IF_ERROR(
      conn->Exec(absl::StrCat("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                              "SET LOCAL statement_timeout = ",
                              options.statement_timeout_ms, "; SET LOCAL lock_timeout = ",
                              options.lock_timeout_ms, "; SET LOCAL TimeZone = 'UTC'"))
          .status());
  LASTRO_ASSIGN_OR_RETURN(pg::Result snap,
                          conn->Exec("SELECT pg_current_snapshot()::text, to_char(now(), "
                                     "'YYYY-MM-DD HH24:MI:SS.US')"));
  out.snapshot = std::string(snap.Get(0, 0));
  out.snapshot_time = std::string(snap.Get(0, 1));

  const std::string& pred = options.requests_predicate;
  Throttle throttle(options.max_rows_per_s);

  LASTRO_RETURN_IF_ERROR(engine.Execute(CreateTextTable("raw_requests", kRequestColumns)));
  std::vector<std::string> rcols;
  for (const std::string& c : kRequestColumns) rcols.push_back("r." + c);
  LASTRO_RETURN_IF_ERROR(
      CopyInto(*conn,
               absl::StrCat("COPY (SELECT ", absl::StrJoin(rcols, ", "),
                            " FROM credit_requests r WHERE ", pred, ") TO STDOUT"),
               engine, "raw_requests", kRequestColumns.size(), throttle, "extract requests",
               progress, options.stop, &out.requests, AppendFields));

  LASTRO_RETURN_IF_ERROR(engine.Execute(CreateTextTable("raw_decisions", kDecisionColumns)));
  LASTRO_RETURN_IF_ERROR(CopyInto(
      *conn,
      absl::StrCat("COPY (SELECT ", DecisionSelect(),
                   " FROM credit_decisions d JOIN credit_requests r ON r.id = d.request_id WHERE ",
                   pred, ") TO STDOUT"),
      engine, "raw_decisions", kDecisionColumns.size(), throttle, "extract decisions", progress,
      options.stop, &out.decisions, AppendFields));

  // Customers: the CPF becomes a token and a validity flag as it streams past.
  std::string contact = options.include_contact_pii ? ", c.full_name, c.email" : "";
  LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE raw_customers (id VARCHAR, customer_token VARCHAR, "
      "cpf_valid BOOLEAN, birth_date VARCHAR, state VARCHAR, acquisition_channel VARCHAR, "
      "created_at VARCHAR, updated_at VARCHAR",
      options.include_contact_pii ? ", full_name VARCHAR, email VARCHAR" : "", ")")));
  size_t customer_fields = options.include_contact_pii ? 9 : 7;  // as selected (cpf is one field)
  LASTRO_RETURN_IF_ERROR(CopyInto(
      *conn,
      absl::StrCat("COPY (SELECT c.id, c.cpf, c.birth_date, c.state, c.acquisition_channel, "
                   "c.created_at, c.updated_at",
                   contact,
                   " FROM customers c WHERE c.id IN (SELECT r.customer_id FROM credit_requests r "
                   "WHERE ",
                   pred, ")) TO STDOUT"),
      engine, "raw_customers", customer_fields, throttle, "extract customers", progress,
      options.stop, &out.customers, [&](const CopyTextParser& p, lake::Appender& a) {
        const auto& f = p.fields();
        f[0] ? a.AppendText(*f[0]) : a.AppendNull();
        if (f[1]) {
          std::string token = tokenizer.Token(*f[1]);
          a.AppendText(token);
          a.AppendBool(pii::IsValidCpf(*f[1]));
          out.cpf_by_token.emplace(std::move(token), pii::CpfDigits(*f[1]));
        } else {
          a.AppendNull();
          a.AppendBool(false);
        }
        for (size_t i = 2; i < f.size(); ++i) f[i] ? a.AppendText(*f[i]) : a.AppendNull();
      }));

  LASTRO_RETURN_IF_ERROR(conn->Exec("COMMIT").status());
  return out;
}

}  // namespace lastro::batch
