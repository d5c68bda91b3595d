#include "batch/extractor.h"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batch/copy_binary.h"
#include "batch/pg_copy_source.h"
#include "batch/source_snapshot.h"
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

// What every stream of one extract shares.
struct Shared {
  const ExtractOptions& options;
  RowThrottle& throttle;
  StreamAbort& abort;
  const ExtractProgress& progress;  // serialised: callable from any stream's thread
};

PgCopySourceOptions SourceOptions(const std::vector<Column>& columns, const Shared& shared,
                                  const std::string& phase) {
  PgCopySourceOptions o;
  for (const Column& c : columns) {
    o.wire.push_back(c.wire);
    o.columns.push_back({c.name, c.type});
  }
  o.throttle = &shared.throttle;
  o.stopped = [&abort = shared.abort] { return abort.stopped(); };
  if (shared.progress) {
    o.progress = [&progress = shared.progress, phase](int64_t rows) { progress(phase, rows); };
  }
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

// The status history of the requests in scope, streamed on `conn` (inside its
// snapshot transaction) straight into its bronze file by `engine`.
StatusOr<int64_t> StreamHistory(pg::Connection& conn, lake::Engine& engine, const Shared& shared) {
  const ExtractOptions& options = shared.options;
  PgCopySourceOptions ho = SourceOptions(HistoryColumns(), shared, "extract history");
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
  return StreamToBronze(conn, engine, HistoryColumns(),
                        "credit_request_status_history h JOIN credit_requests r "
                        "ON r.id = h.request_id WHERE " +
                            options.requests_predicate,
                        std::move(ho), options, options.history_parquet);
}

// The customers of the requests in scope, streamed on `conn` straight into their
// bronze file by `engine`. The CPF becomes a token and a validity flag as it streams
// past; it is kept (for the bureau) only when the run enriches.
StatusOr<int64_t> StreamCustomers(pg::Connection& conn, lake::Engine& engine,
                                  const CpfTokenizer& tokenizer, const Shared& shared,
                                  std::unordered_map<std::string, std::string>& cpf_by_token,
                                  int64_t* pii_sealed, int64_t* pii_erased) {
  const ExtractOptions& options = shared.options;
  // The CPF becomes a token and a validity flag as it streams past (kept, for the
  // bureau, only when the run enriches); the contact PII is sealed.
  std::vector<Column> columns = CustomerColumns(options.keys != nullptr);
  PgCopySourceOptions co = SourceOptions(columns, shared, "extract customers");
  co.columns = CustomerOutputColumns();
  CustomerRowMapper mapper(tokenizer, options.keys, options.keep_cpfs, cpf_by_token);
  co.map = [&](const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    mapper(in, sink, row);
  };
  LASTRO_ASSIGN_OR_RETURN(
      int64_t rows,
      StreamToBronze(conn, engine, columns,
                     absl::StrCat("customers c WHERE c.id IN (SELECT r.customer_id FROM "
                                  "credit_requests r WHERE ",
                                  options.requests_predicate, ")"),
                     std::move(co), options, options.customers_parquet));
  LASTRO_RETURN_IF_ERROR(mapper.error());
  *pii_sealed = mapper.sealed();
  *pii_erased = mapper.erased();
  return rows;
}

// The requests in scope with their decisions, streamed on `conn` straight into their
// bronze file by `engine` (never stored first).
Status StreamRequests(pg::Connection& conn, lake::Engine& engine, const Shared& shared,
                      ExtractResult& out) {
  const ExtractOptions& options = shared.options;
  PgCopySourceOptions ro = SourceOptions(RequestColumns(), shared, "extract requests");
  int64_t decisions = 0;
  ro.map = [&](const CopyBinaryDecoder& in, lake::ChunkWriter& sink, size_t row) {
    const std::vector<Column>& columns = RequestColumns();
    for (size_t i = 0; i < columns.size(); ++i) CopyField(in, i, columns[i].wire, sink, i, row);
    decisions += !in.IsNull(kDecisionColumn);
  };
  LASTRO_ASSIGN_OR_RETURN(
      out.requests,
      StreamToBronze(
          conn, engine, RequestColumns(),
          "credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id WHERE " +
              options.requests_predicate,
          std::move(ro), options, options.requests_parquet));
  out.decisions = decisions;
  return absl::OkStatus();
}

// The history, then the customers, on `conn` (the second connection), written by an
// in-memory engine of their own (one thread: each source is one stream) limited to
// `memory_limit`. Fills out.history, out.customers and out.cpf_by_token.
Status StreamOnSecondConnection(pg::Connection& conn, const std::string& memory_limit,
                                const CpfTokenizer& tokenizer, const Shared& shared,
                                ExtractResult& out) {
  // Its own spill folder: two DuckDB databases must not share temporary files.
  std::filesystem::path temp;
  if (!shared.options.temp_directory.empty()) {
    temp = shared.options.temp_directory / "second";
    std::error_code ec;
    std::filesystem::create_directories(temp, ec);
    if (ec) return absl::UnavailableError("cannot create " + temp.string() + ": " + ec.message());
  }
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<lake::Engine> engine,
      lake::Engine::Open({.memory_limit = memory_limit, .threads = 1, .temp_directory = temp}));
  LASTRO_RETURN_IF_ERROR(engine->Execute("SET TimeZone = 'UTC'"));
  LASTRO_ASSIGN_OR_RETURN(out.history, StreamHistory(conn, *engine, shared));
  LASTRO_ASSIGN_OR_RETURN(out.customers,
                          StreamCustomers(conn, *engine, tokenizer, shared, out.cpf_by_token,
                                          &out.pii_sealed, &out.pii_erased));
  return absl::OkStatus();
}

// One line per stream, so the overlap of the two shows in the log.
void LogStreamDone(const std::string& stream, int64_t rows,
                   std::chrono::steady_clock::time_point started) {
  log::Info("extract stream done",
            {{"stream", stream},
             {"rows", rows},
             {"seconds",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
}

// The share of the engine's memory_limit the second connection's engine gets while
// both run.
constexpr double kSecondMemoryShare = 0.25;

// Lowers the main engine's memory_limit while the second engine holds its share, and
// gives it back.
class MemorySplit {
 public:
  explicit MemorySplit(lake::Engine& engine) : engine_(engine) {}
  ~MemorySplit() { IgnoreError(Restore()); }
  // Returns the second engine's limit.
  StatusOr<std::string> Split(const std::string& limit) {
    LASTRO_ASSIGN_OR_RETURN(std::string second, lake::ScaleMemorySize(limit, kSecondMemoryShare));
    LASTRO_ASSIGN_OR_RETURN(std::string rest, lake::ScaleMemorySize(limit, 1 - kSecondMemoryShare));
    LASTRO_RETURN_IF_ERROR(
        engine_.Execute(absl::StrCat("SET memory_limit = ", lake::SqlString(rest))));
    limit_ = limit;
    return second;
  }
  Status Restore() {
    if (limit_.empty()) return absl::OkStatus();
    Status s = engine_.Execute(absl::StrCat("SET memory_limit = ", lake::SqlString(limit_)));
    limit_.clear();
    return s;
  }

 private:
  lake::Engine& engine_;
  std::string limit_;  // the engine's own limit, while it is lowered
};

}  // namespace

StatusOr<ExtractResult> Extract(const ExtractOptions& options, lake::Engine& engine,
                                const CpfTokenizer& tokenizer, const ExtractProgress& progress) {
  ExtractResult out;
  const SnapshotSettings settings{.dsn = options.dsn,
                                  .max_replica_lag_s = options.max_replica_lag_s,
                                  .statement_timeout_ms = options.statement_timeout_ms,
                                  .lock_timeout_ms = options.lock_timeout_ms};
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, ConnectToSource(settings));
  LASTRO_ASSIGN_OR_RETURN(SourceState source, CheckSource(*conn, settings));
  out.replica = source.replica;
  out.replica_lag_s = source.lag_s;
  if (options.replica && !out.replica) {
    log::Warn("batch.replica_dsn points to a server that is not in recovery (a primary)");
  }

  // One snapshot for all four tables, shared with the second connection; never wait
  // on a lock for long.
  LASTRO_ASSIGN_OR_RETURN(Snapshot snapshot, OpenSnapshot(*conn, settings, options.concurrent));
  out.snapshot = snapshot.current;
  out.snapshot_time = snapshot.time;
  if (!snapshot.exported.empty() && options.on_snapshot_exported) options.on_snapshot_exported();

  // Two streams on two threads; the caller's callback sees one call at a time.
  std::mutex progress_mu;
  ExtractProgress serial;
  if (progress) {
    serial = [&](const std::string& phase, int64_t rows) {
      std::lock_guard lock(progress_mu);
      progress(phase, rows);
    };
  }
  RowThrottle throttle(options.max_rows_per_s);
  StreamAbort abort(options.stop);
  const Shared shared{options, throttle, abort, serial};
  const auto started = std::chrono::steady_clock::now();

  // The history and the customers on a second connection in the same snapshot,
  // written by a second engine (an Engine is one DuckDB connection, used by one
  // thread at a time) with its share of the memory limit. `second` is the worker's
  // until it is joined.
  MemorySplit memory(engine);
  ExtractResult second;
  std::unique_ptr<SnapshotWorker> worker;
  if (!snapshot.exported.empty()) {
    LASTRO_ASSIGN_OR_RETURN(std::string second_memory, memory.Split(options.memory_limit));
    worker = std::make_unique<SnapshotWorker>(
        settings, snapshot.exported, out.snapshot, out.replica, abort,
        [&, second_memory](pg::Connection& conn2) -> StatusOr<int64_t> {
          LASTRO_RETURN_IF_ERROR(
              StreamOnSecondConnection(conn2, second_memory, tokenizer, shared, second));
          LogStreamDone("history, customers (second connection)", second.history + second.customers,
                        started);
          return second.history + second.customers;
        });
  }

  abort.Add(conn.get());
  Status status = StreamRequests(*conn, engine, shared, out);
  if (status.ok()) LogStreamDone("requests", out.requests, started);
  if (!status.ok()) abort.Fail(status);
  bool concurrent = false;
  if (status.ok() && worker != nullptr) {
    Status imported = worker->WaitImported();
    concurrent = imported.ok();
    if (!concurrent) {
      log::Warn(
          "a second connection could not share the snapshot: the history and the customers "
          "are read after the requests",
          {{"error", std::string(imported.message())}});
    }
  }
  if (status.ok() && !concurrent && !abort.stopped()) {
    // The same statements on the first connection, after the requests.
    status = memory.Restore();
    StatusOr<int64_t> history = status.ok() ? StreamHistory(*conn, engine, shared) : status;
    StatusOr<int64_t> customers =
        history.ok() ? StreamCustomers(*conn, engine, tokenizer, shared, out.cpf_by_token,
                                       &out.pii_sealed, &out.pii_erased)
                     : history.status();
    if (customers.ok()) {
      out.history = *history;
      out.customers = *customers;
      LogStreamDone("history, customers (first connection)", out.history + out.customers, started);
    } else {
      abort.Fail(customers.status());
    }
  }
  // The second transaction imported the snapshot (or never will): this one may end.
  if (!abort.stopped()) {
    Status committed = conn->Exec("COMMIT").status();
    if (!committed.ok()) abort.Fail(committed);
  }
  if (worker != nullptr) {
    // Pass a stop on to the second connection even while it waits on the server.
    while (!worker->WaitDone(std::chrono::milliseconds(50))) {
      if (options.stop != nullptr && options.stop->load()) {
        abort.Fail(absl::CancelledError("the run was stopped"));
      }
    }
    if (concurrent && worker->Result().ok()) {
      out.history = second.history;
      out.customers = second.customers;
      out.cpf_by_token = std::move(second.cpf_by_token);
    }
  }
  abort.Remove(conn.get());
  if (abort.stopped()) {
    Status first = abort.first();
    return first.ok() ? absl::CancelledError("the run was stopped") : first;
  }
  LASTRO_RETURN_IF_ERROR(memory.Restore());
  // The customers as the rest of the run reads them: the bronze file, run_id aside.
  LASTRO_RETURN_IF_ERROR(engine.Execute(
      absl::StrCat("CREATE OR REPLACE VIEW raw_customers AS SELECT * EXCLUDE (run_id) FROM "
                   "read_parquet(",
                   lake::SqlString(options.customers_parquet), ")")));
  out.concurrent = concurrent;
  return out;
}

}  // namespace lastro::batch
