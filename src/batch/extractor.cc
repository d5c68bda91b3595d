#include "batch/extractor.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batch/copy_binary.h"
#include "batch/pg_copy_source.h"
#include "common/log.h"
#include "common/pii.h"
#include "pg/connection.h"

namespace lastro::batch {
namespace {

// One extracted column: how it is selected (cast to a fixed wire type, so the
// decoder never depends on how the table declares it) and its type in DuckDB.
struct Column {
  std::string name;
  std::string select;  // SQL over the statement's aliases
  WireType wire;
  lake::ColumnType type;
};

Column Int8(const std::string& name, const std::string& expr) {
  return {name, expr + "::int8", WireType::kInt8, lake::ColumnType::kBigint};
}
Column Int4(const std::string& name, const std::string& expr) {
  return {name, expr + "::int4", WireType::kInt4, lake::ColumnType::kInteger};
}
Column Text(const std::string& name, const std::string& expr) {
  return {name, expr + "::text", WireType::kText, lake::ColumnType::kVarchar};
}
Column Instant(const std::string& name, const std::string& expr) {
  return {name, expr + "::timestamptz", WireType::kTimestamptz, lake::ColumnType::kTimestamp};
}
Column Float8(const std::string& name, const std::string& expr) {
  return {name, expr + "::float8", WireType::kFloat8, lake::ColumnType::kDouble};
}

// A request and its decision (NULLs when undecided), read in one statement: the
// server joins them once instead of the batch reading and joining both tables.
// Arrays travel as JSON text, which DuckDB parses without guessing.
const std::vector<Column>& RequestColumns() {
  static const std::vector<Column> kColumns = {
      Int8("id", "r.id"),
      Int8("customer_id", "r.customer_id"),
      Int8("amount_cents", "r.amount_cents"),
      Int4("term_months", "r.term_months"),
      Text("purpose", "r.purpose"),
      Text("channel", "r.channel"),
      Int8("declared_income_cents", "r.declared_income_cents"),
      Text("status", "r.status"),
      Int4("version", "r.version"),
      Instant("created_at", "r.created_at"),
      Instant("updated_at", "r.updated_at"),
      Instant("decided_at", "r.decided_at"),
      Text("decision", "d.decision"),
      Int4("score", "d.score"),
      Text("risk_band", "d.risk_band"),
      Float8("probability_of_default", "d.probability_of_default"),
      Text("reason_codes", "array_to_json(d.reason_codes)"),
      Text("provider_reason_codes", "array_to_json(d.provider_reason_codes)"),
      {"first_time_customer", "d.first_time_customer::bool", WireType::kBool,
       lake::ColumnType::kBoolean},
      Text("provider_ref", "d.provider_ref"),
      Text("provider_model_version", "d.provider_model_version"),
      Text("policy_version", "d.policy_version"),
      Int4("attempts", "d.attempts"),
      Float8("provider_latency_ms", "d.provider_latency_ms"),
      Instant("decision_recorded_at", "d.decided_at")};
  return kColumns;
}
constexpr size_t kDecisionColumn = 12;  // "decision": NOT NULL in a decision row

// A request's status transitions, joined to the request for the run's predicate and
// for its created_at (the partition day of silver, computed later without a join).
const std::vector<Column>& HistoryColumns() {
  static const std::vector<Column> kColumns = {Int8("id", "h.id"),
                                               Int8("request_id", "h.request_id"),
                                               Text("from_status", "h.from_status"),
                                               Text("to_status", "h.to_status"),
                                               Instant("changed_at", "h.changed_at"),
                                               Text("changed_by", "h.changed_by"),
                                               Text("reason", "h.reason"),
                                               Instant("request_created_at", "r.created_at")};
  return kColumns;
}
// changed_by and reason: written by people as well as services, so redacted.
constexpr size_t kChangedByColumn = 5, kReasonColumn = 6;

// The customers' COPY. The CPF (1) becomes customer_token and cpf_valid, birth_date
// (2) becomes birth_year, and the contact PII (8..11, NULL unless `contact_pii`) is
// sealed into BLOBs, all as the rows stream past (CustomerRowMapper).
std::vector<Column> CustomerColumns(bool contact_pii) {
  auto contact = [&](const std::string& name) {
    return Text(name, contact_pii ? "c." + name : "NULL");
  };
  return {Int8("id", "c.id"),
          Text("cpf", "c.cpf"),
          {"birth_date", "c.birth_date::date", WireType::kDate, lake::ColumnType::kDate},
          Text("state", "c.state"),
          Text("acquisition_channel", "c.acquisition_channel"),
          {"marketing_consent", "c.marketing_consent::bool", WireType::kBool,
           lake::ColumnType::kBoolean},
          Instant("created_at", "c.created_at"),
          Instant("updated_at", "c.updated_at"),
          contact("full_name"),
          contact("email"),
          contact("phone"),
          // birth_date again, as text, for its sealed copy.
          Text("birth_date_text", contact_pii ? "to_char(c.birth_date, 'YYYY-MM-DD')" : "NULL")};
}

// What raw_customers holds (the COPY's columns, transformed).
std::vector<lake::SourceColumn> CustomerOutputColumns() {
  using T = lake::ColumnType;
  return {{"id", T::kBigint},
          {"customer_token", T::kVarchar},
          {"cpf_valid", T::kBoolean},
          {"birth_year", T::kInteger},
          {"state", T::kVarchar},
          {"acquisition_channel", T::kVarchar},
          {"marketing_consent", T::kBoolean},
          {"created_at", T::kTimestamp},
          {"updated_at", T::kTimestamp},
          {"full_name_enc", T::kBlob},
          {"email_enc", T::kBlob},
          {"phone_enc", T::kBlob},
          {"birth_date_enc", T::kBlob}};
}
// The sealed columns: the COPY's column, raw_customers' column, the AD's column name.
struct SealedColumn {
  size_t in, out;
  const char* name;
};
constexpr SealedColumn kSealedColumns[] = {
    {8, 9, "full_name"}, {9, 10, "email"}, {10, 11, "phone"}, {11, 12, "birth_date"}};

void CopyField(const CopyBinaryDecoder& in, size_t i, WireType wire, lake::ChunkWriter& out,
               size_t c, size_t row);

// Writes one customer row: tokenises the CPF (keeping token -> CPF in `cpf_by_token`
// when `keep_cpfs`), reduces the birth date to its year and seals the contact PII with
// the customer's data key. Self-contained, so it goes wherever the customers' COPY
// runs (one thread). A key-store error cannot stop the COPY from here: the row gets
// NULLs and the first error is kept for error().
class CustomerRowMapper {
 public:
  CustomerRowMapper(const CpfTokenizer& tokenizer, governance::KeyStore* keys, bool keep_cpfs,
                    std::unordered_map<std::string, std::string>& cpf_by_token)
      : tokenizer_(tokenizer), keys_(keys), keep_cpfs_(keep_cpfs), cpf_by_token_(cpf_by_token) {}

  void operator()(const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    CopyField(in, 0, WireType::kInt8, sink, 0, row);
    if (in.IsNull(1)) {
      sink.SetNull(1, row);
      sink.SetBool(2, row, false);
    } else {
      std::string_view cpf = in.Text(1);
      std::string token = tokenizer_.Token(cpf);
      sink.SetText(1, row, token);
      sink.SetBool(2, row, pii::IsValidCpf(cpf));
      if (keep_cpfs_) cpf_by_token_.emplace(std::move(token), pii::CpfDigits(cpf));
    }
    if (in.IsNull(2)) {
      sink.SetNull(3, row);
    } else {
      using std::chrono::days, std::chrono::sys_days, std::chrono::year_month_day;
      sink.SetInt(3, row, static_cast<int>(year_month_day(sys_days(days(in.Date(2)))).year()));
    }
    CopyField(in, 3, WireType::kText, sink, 4, row);
    CopyField(in, 4, WireType::kText, sink, 5, row);
    CopyField(in, 5, WireType::kBool, sink, 6, row);
    CopyField(in, 6, WireType::kTimestamptz, sink, 7, row);
    CopyField(in, 7, WireType::kTimestamptz, sink, 8, row);
    const governance::DataKey* key = KeyFor(in);
    for (const SealedColumn& c : kSealedColumns) {
      if (key == nullptr || in.IsNull(c.in)) {
        sink.SetNull(c.out, row);
      } else {
        sink.SetText(c.out, row, key->Seal(in.Int(0), c.name, in.Text(c.in)));
      }
    }
  }

  const Status& error() const { return error_; }
  int64_t sealed() const { return sealed_; }  // customers whose PII was sealed
  int64_t erased() const { return erased_; }  // erased customers: PII dropped

 private:
  // The row's data key; nullptr when there is no PII to seal, or the customer is
  // erased (their PII is dropped here: the tombstone says never again).
  const governance::DataKey* KeyFor(const CopyBinaryDecoder& in) {
    if (keys_ == nullptr || in.IsNull(0)) return nullptr;
    bool has_pii = false;
    for (const SealedColumn& c : kSealedColumns) has_pii |= !in.IsNull(c.in);
    if (!has_pii) return nullptr;
    StatusOr<const governance::DataKey*> key = keys_->KeyFor(in.Int(0), /*create=*/true);
    if (!key.ok()) {
      if (error_.ok()) error_ = key.status();
      return nullptr;
    }
    ++(*key == nullptr ? erased_ : sealed_);
    return *key;
  }

  const CpfTokenizer& tokenizer_;
  governance::KeyStore* keys_;
  bool keep_cpfs_;
  std::unordered_map<std::string, std::string>& cpf_by_token_;
  Status error_;
  int64_t sealed_ = 0, erased_ = 0;
};

std::string CopyStatement(const std::vector<Column>& columns, const std::string& from) {
  std::vector<std::string> select;
  for (const Column& c : columns) select.push_back(c.select);
  return absl::StrCat("COPY (SELECT ", absl::StrJoin(select, ", "), " FROM ", from,
                      ") TO STDOUT (FORMAT binary)");
}

// Writes column `i` of the decoder's current tuple into `out` column `c`.
void CopyField(const CopyBinaryDecoder& in, size_t i, WireType wire, lake::ChunkWriter& out,
               size_t c, size_t row) {
  if (in.IsNull(i)) {
    out.SetNull(c, row);
    return;
  }
  switch (wire) {
    case WireType::kInt8:
    case WireType::kInt4:
      out.SetInt(c, row, in.Int(i));
      break;
    case WireType::kFloat8:
      out.SetDouble(c, row, in.Double(i));
      break;
    case WireType::kBool:
      out.SetBool(c, row, in.Bool(i));
      break;
    case WireType::kText:
      out.SetText(c, row, in.Text(i));
      break;
    case WireType::kTimestamptz:
      out.SetTimestampMicros(c, row, in.TimestampMicros(i));
      break;
    case WireType::kDate:
      out.SetDate(c, row, in.Date(i));
      break;
  }
}

PgCopySourceOptions SourceOptions(const std::vector<Column>& columns, const ExtractOptions& options,
                                  const std::string& phase, const ExtractProgress& progress) {
  PgCopySourceOptions o;
  for (const Column& c : columns) {
    o.wire.push_back(c.wire);
    o.columns.push_back({c.name, c.type});
  }
  o.max_rows_per_s = options.max_rows_per_s;
  o.stop = options.stop;
  if (progress) o.progress = [progress, phase](int64_t rows) { progress(phase, rows); };
  return o;
}

// The statement that streams a source into a bronze Parquet file, stamping run_id.
std::string ToBronze(const ExtractOptions& options, const std::string& parquet) {
  return absl::StrCat("COPY (SELECT *, ", lake::SqlString(options.run_id),
                      " AS run_id FROM lastro_source()) TO ", lake::SqlString(parquet),
                      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", options.row_group_rows,
                      ")");
}

// Runs `sql` reading `source`, and settles the COPY behind it either way.
Status RunWithSource(lake::Engine& engine, const std::string& sql, PgCopySource& source) {
  Status run = engine.ExecuteWithSource(sql, source);
  Status copy = source.Finish();
  LASTRO_RETURN_IF_ERROR(run);  // the statement's error explains a cancelled COPY
  return copy;
}

// Streams the COPY of `columns` FROM `from` into the bronze file `parquet` (never
// stored on the way) and returns how many rows it had.
StatusOr<int64_t> StreamToBronze(pg::Connection& conn, lake::Engine& engine,
                                 const std::vector<Column>& columns, const std::string& from,
                                 PgCopySourceOptions source_options, const ExtractOptions& options,
                                 const std::string& parquet) {
  PgCopySource source(conn, CopyStatement(columns, from), std::move(source_options));
  LASTRO_RETURN_IF_ERROR(RunWithSource(engine, ToBronze(options, parquet), source));
  return source.rows();
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

  // One snapshot for all four tables; never wait on a lock for long.
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

  // Customers: the CPF becomes a token and a validity flag as it streams past (kept,
  // for the bureau, only when the run enriches), the contact PII is sealed.
  std::vector<Column> customer_columns = CustomerColumns(options.keys != nullptr);
  PgCopySourceOptions co = SourceOptions(customer_columns, options, "extract customers", progress);
  co.columns = CustomerOutputColumns();
  CustomerRowMapper customer_row(tokenizer, options.keys, options.keep_cpfs, out.cpf_by_token);
  co.map = [&](const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    customer_row(in, sink, row);
  };
  {
    PgCopySource source(
        *conn,
        CopyStatement(customer_columns,
                      absl::StrCat("customers c WHERE c.id IN (SELECT r.customer_id FROM "
                                   "credit_requests r WHERE ",
                                   pred, ")")),
        std::move(co));
    LASTRO_RETURN_IF_ERROR(RunWithSource(
        engine, "CREATE OR REPLACE TABLE raw_customers AS SELECT * FROM lastro_source()", source));
    out.customers = source.rows();
  }
  LASTRO_RETURN_IF_ERROR(customer_row.error());
  out.pii_sealed = customer_row.sealed();
  out.pii_erased = customer_row.erased();

  // Requests with their decisions, straight into the bronze file: never stored first.
  PgCopySourceOptions ro = SourceOptions(RequestColumns(), options, "extract requests", progress);
  int64_t decisions = 0;
  ro.map = [&](const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    const std::vector<Column>& columns = RequestColumns();
    for (size_t i = 0; i < columns.size(); ++i) CopyField(in, i, columns[i].wire, sink, i, row);
    decisions += !in.IsNull(kDecisionColumn);
  };
  LASTRO_ASSIGN_OR_RETURN(
      out.requests,
      StreamToBronze(
          *conn, engine, RequestColumns(),
          "credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id WHERE " + pred,
          std::move(ro), options, options.requests_parquet));
  out.decisions = decisions;

  // The status history of the same requests, straight into its bronze file: one more
  // statement joined on the same predicate, so a request in scope brings all its rows.
  PgCopySourceOptions ho = SourceOptions(HistoryColumns(), options, "extract history", progress);
  ho.map = [](const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    const std::vector<Column>& columns = HistoryColumns();
    for (size_t i = 0; i < columns.size(); ++i) {
      if ((i == kChangedByColumn || i == kReasonColumn) && !in.IsNull(i)) {
        // Only a digit or an '@' can start what Redact() replaces: most rows
        // ("lastro-stream") are copied as they are.
        std::string_view text = in.Text(i);
        if (text.find_first_of("0123456789@") == std::string_view::npos) {
          sink.SetText(i, row, text);
        } else {
          sink.SetText(i, row, pii::Redact(text));
        }
      } else {
        CopyField(in, i, columns[i].wire, sink, i, row);
      }
    }
  };
  LASTRO_ASSIGN_OR_RETURN(out.history,
                          StreamToBronze(*conn, engine, HistoryColumns(),
                                         "credit_request_status_history h JOIN credit_requests r "
                                         "ON r.id = h.request_id WHERE " +
                                             pred,
                                         std::move(ho), options, options.history_parquet));

  LASTRO_RETURN_IF_ERROR(conn->Exec("COMMIT").status());
  return out;
}

}  // namespace lastro::batch
