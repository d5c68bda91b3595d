#include "mart_bench_data.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "batch/copy_binary.h"
#include "batch/lineage.h"
#include "batch/pg_copy_source.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::bench {
namespace {

namespace fs = std::filesystem;
using batch::WireType;

constexpr char kSchema[] = R"sql(
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE UNLOGGED TABLE bench.app_events (
  event_id uuid NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL, anonymous_id uuid NOT NULL, customer_id bigint,
  session_id uuid NOT NULL, device_os text, device_model text, app_version text,
  properties text)
)sql";

// Built after the load. The credit tables keep the product's own indexes (among them
// credit_requests (created_at) and (customer_id, created_at), credit_decisions' key),
// which serve the questions that take a period. The events get an index by time (a
// day is copied out by it) and no key: no question looks an event up by id, and at
// full size it would take ~1.5 GB of a disk the benchmark needs.
const std::vector<std::string>& BenchIndexDdl() {
  static const std::vector<std::string> kDdl = {
      "CREATE INDEX app_events_occurred_at_idx ON bench.app_events (occurred_at)"};
  return kDdl;
}

// A day of sessions [s0, s1): one row per session, then 8 events per session.
constexpr char kEventsSql[] = R"sql(
INSERT INTO bench.app_events (event_id, event_type, occurred_at, received_at, anonymous_id,
  customer_id, session_id, device_os, device_model, app_version, properties)
SELECT md5('e' || (x.s * 8 + p))::uuid, t.event_type, x.start + p * interval '40 s',
  x.start + p * interval '40 s' + interval '700 ms', x.anonymous_id,
  CASE WHEN x.logged AND p >= 3 THEN x.customer END, x.session_id,
  CASE WHEN x.who % 10 < 3 THEN 'ios' ELSE 'android' END,
  CASE WHEN x.who % 10 < 3 THEN (ARRAY['iPhone 13','iPhone 15','iPhone SE'])[1 + x.who % 3]
       ELSE (ARRAY['Galaxy A54','Moto G84','Redmi Note 13','Galaxy S23'])[1 + x.who % 4] END,
  (ARRAY['4.10.2','4.11.0','4.12.0','4.12.1'])[1 + (x.who + x.s / 100000) % 4],
  pr.properties
FROM (
  SELECT s, logged, simulates, submits, fails, customer, session_id, start,
         md5(CASE WHEN logged THEN 'a' || customer ELSE 'v' || (s / 4) % $VISITORS END)::uuid
           AS anonymous_id,
         CASE WHEN logged THEN customer ELSE (s / 4) % $VISITORS END AS who,
         (ARRAY['home','offers','simulator','profile','help','documents'])[1 + s % 6] AS screen,
         (10 + (s * 37) % 491) * 10000 AS amount, (ARRAY[6,12,18,24,36])[1 + s % 5] AS term
  FROM (
    SELECT s, s % 4 <> 0 AS logged, s % 5 < 2 AS simulates,
           s % 4 <> 0 AND s % 5 < 2 AND s % 3 = 0 AS submits, s % 4 <> 0 AND s % 11 = 0 AS fails,
           $FIRST_CUSTOMER + (s * 7919) % $APP_CUSTOMERS AS customer, md5('s' || s)::uuid AS session_id,
           $FIRST_DAY + floor(s * $DAYS::float8 / $SESSIONS) * interval '1 day'
             + (s * $DAYS::float8 / $SESSIONS - floor(s * $DAYS::float8 / $SESSIONS))
               * interval '86100 s' AS start
    FROM generate_series($FROM::bigint, $TO) s) a) x
CROSS JOIN generate_series(0, 7) p
CROSS JOIN LATERAL (SELECT CASE
    WHEN p = 0 THEN 'session_start' WHEN p = 7 THEN 'session_end'
    WHEN p = 2 AND x.fails THEN 'login_failure'
    WHEN p = 3 AND x.logged THEN 'login_success'
    WHEN p = 4 AND x.simulates THEN 'loan_simulation'
    WHEN p = 5 AND x.submits THEN 'request_submitted'
    WHEN p = 5 AND x.simulates THEN 'loan_simulation'
    WHEN p = 6 AND x.submits THEN 'document_upload'
    ELSE 'screen_view' END AS event_type) t
CROSS JOIN LATERAL (SELECT CASE t.event_type
    WHEN 'session_start' THEN '{"referrer":"' || (ARRAY['organic','push','deeplink'])[1 + x.s % 3]
      || '","network":"' || CASE WHEN x.s % 5 < 3 THEN 'wifi' ELSE '4g' END || '"}'
    WHEN 'session_end' THEN '{"duration_s":280,"screens":' || (3 + x.s % 3) || '}'
    WHEN 'login_failure' THEN '{"method":"password","reason":"wrong_password"}'
    WHEN 'login_success' THEN '{"method":"' || CASE WHEN x.s % 20 < 11 THEN 'biometric'
      ELSE 'password' END || '"}'
    WHEN 'loan_simulation' THEN '{"amount_cents":' || x.amount || ',"term_months":' || x.term
      || ',"product":"personal"}'
    WHEN 'request_submitted' THEN '{"amount_cents":' || x.amount || ',"term_months":' || x.term
      || ',"purpose":"personal"}'
    WHEN 'document_upload' THEN '{"document_type":"rg","size_bytes":' || (80 + x.s % 4000) * 1024
      || '}'
    ELSE '{"screen":"' || CASE WHEN p = 1 THEN 'home' ELSE x.screen END || '"}' END
  AS properties) pr
)sql";

// Transactions [$FROM, $TO]: round-robin over the accounts, each account cycling
// through the 20 kinds below (4 credits, 16 debits). Bank data is generated straight
// into the COPY that feeds the lake, not stored: no PostgreSQL question reads it, and
// at full size it would take ~6 GB.
constexpr char kTransactionsSql[] = R"sql(
SELECT 'tx-' || substr(md5('t' || t), 1, 24) AS transaction_id,
  'acc-' || substr(md5('a' || a), 1, 20) AS account_id,
  $FIRST_CUSTOMER + a % $BANK_CUSTOMERS AS customer_id,
  'urn:bench:consent:' || ($FIRST_CUSTOMER + a % $BANK_CUSTOMERS) AS consent_id,
  CASE WHEN k < 4 THEN 'CREDITO' ELSE 'DEBITO' END AS credit_debit_type,
  (ARRAY['FOLHA_PAGAMENTO','PIX','PIX','DEPOSITO','PIX','PIX','PIX','PIX','CARTAO','CARTAO',
         'CARTAO','CARTAO','CARTAO','CONVENIO_ARRECADACAO','BOLETO','BOLETO','SAQUE',
         'TRANSFERENCIA_MESMA_INSTITUICAO','CONVENIO_ARRECADACAO','PACOTE_TARIFA_SERVICOS'])[1 + k]
    AS type,
  'TRANSACAO_EFETIVADA' AS completed_authorised_payment_type,
  CASE WHEN k = 0 THEN 250000 + h % 800000 WHEN k < 4 THEN 2000 + h % 100000
       WHEN k = 19 THEN 2990 WHEN k IN (14, 15) THEN 5000 + h % 200000
       WHEN k = 16 THEN 2000 + (h % 50) * 1000 ELSE 500 + h % 50000 END AS amount_cents,
  'BRL' AS currency, $FIRST_DAY + (t::float8 / $TRANSACTIONS) * interval '$DAYS days' AS booked_at
FROM generate_series($FROM::bigint, $TO) t
CROSS JOIN LATERAL (SELECT t % $ACCOUNTS AS a, ((t / $ACCOUNTS) % 20)::int AS k,
                           (t * 2654435761) % 1000003 AS h) x
)sql";

// Balances of the days [$FROM, $TO]: every account, at 23:00 of the day (generated, as
// the transactions).
constexpr char kBalancesSql[] = R"sql(
SELECT 'acc-' || substr(md5('a' || a), 1, 20) AS account_id,
  $FIRST_CUSTOMER + a % $BANK_CUSTOMERS AS customer_id,
  'urn:bench:consent:' || ($FIRST_CUSTOMER + a % $BANK_CUSTOMERS) AS consent_id,
  20000 + (a * 7919 + d * 104729) % 1500000 AS available_cents,
  CASE WHEN a % 7 = 0 THEN 5000 ELSE 0 END AS blocked_cents,
  CASE WHEN a % 5 = 0 THEN 100000 + (a % 97) * 1000 ELSE 0 END AS automatically_invested_cents,
  'BRL' AS currency, $FIRST_DAY + d * interval '1 day' + interval '23 hours' AS updated_at
FROM generate_series($FROM, $TO) d CROSS JOIN generate_series(0::bigint, $ACCOUNTS - 1) a
)sql";

std::string Fill(const char* templ, const MartData& d, int64_t first_customer, int64_t from,
                 int64_t to_inclusive) {
  return absl::StrReplaceAll(templ, {{"$FIRST_CUSTOMER", absl::StrCat(first_customer)},
                                     {"$APP_CUSTOMERS", absl::StrCat(d.app_customers())},
                                     {"$VISITORS", absl::StrCat(d.credit.customers)},
                                     {"$BANK_CUSTOMERS", absl::StrCat(d.bank_customers())},
                                     {"$ACCOUNTS", absl::StrCat(d.accounts())},
                                     {"$SESSIONS", absl::StrCat(d.sessions())},
                                     {"$TRANSACTIONS", absl::StrCat(d.transactions)},
                                     {"$DAYS", absl::StrCat(d.credit.days)},
                                     {"$FIRST_DAY", d.DayStart(0)},
                                     {"$FROM", absl::StrCat(from)},
                                     {"$TO", absl::StrCat(to_inclusive)}});
}

StatusOr<int64_t> FirstCustomer(pg::Connection& conn) {
  LASTRO_ASSIGN_OR_RETURN(pg::Result r, conn.Exec("SELECT coalesce(min(id), 1) FROM customers"));
  return r.GetInt(0, 0);
}

Status Run(pg::Connection& conn, const std::string& sql) {
  Status s = conn.Exec(sql).status();
  if (!s.ok()) return Status(s.code(), absl::StrCat(s.message(), " in: ", sql.substr(0, 160)));
  return s;
}

}  // namespace

int64_t MartData::app_customers() const {
  return credit.customers * 7 / 10 > 0 ? credit.customers * 7 / 10 : 1;
}

std::string MartData::Marker() const {
  // "b4": the seed's layout (tables, columns, indexes; b4: with the status history);
  // bump it when they change.
  return absl::StrCat("b4/", credit.requests, "/", credit.customers, "/", credit.days, "/",
                      credit.first_day, "/", events, "/", transactions);
}

std::string MartData::Day(int index) const {
  absl::CivilDay first;
  if (!absl::ParseCivilTime(credit.first_day, &first)) return credit.first_day;
  return absl::FormatCivilTime(first + index);
}

std::string MartData::DayStart(int index) const {
  return absl::StrCat("timestamptz '", Day(index), " 00:00:00-03'");
}

Status SeedBenchTables(pg::Connection& conn, const MartData& d) {
  LASTRO_ASSIGN_OR_RETURN(int64_t first, FirstCustomer(conn));
  LASTRO_RETURN_IF_ERROR(Run(conn, kSchema));
  LASTRO_RETURN_IF_ERROR(Run(conn, "SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'"));
  auto t = Clock::now();
  LASTRO_RETURN_IF_ERROR(Run(conn, Fill(kEventsSql, d, first, 0, d.sessions() - 1)));
  std::printf("  bench.app_events loaded in %.1f s\n", Seconds(t));
  std::fflush(stdout);
  t = Clock::now();
  for (const std::string& ddl : BenchIndexDdl()) LASTRO_RETURN_IF_ERROR(Run(conn, ddl));
  LASTRO_RETURN_IF_ERROR(Run(conn, "VACUUM (FREEZE, ANALYZE) bench.app_events"));
  std::printf("  bench.app_events indexed and vacuumed (FREEZE, ANALYZE) in %.1f s\n", Seconds(t));
  return Run(conn, "RESET maintenance_work_mem; RESET work_mem");
}

std::vector<std::string> PostgresIndexes() {
  std::vector<std::string> out = {
      "credit_requests: PRIMARY KEY (id), (created_at), (customer_id, created_at), (updated_at), "
      "(created_at) WHERE PENDING  [the product's own]",
      "credit_decisions: PRIMARY KEY (request_id), (decided_at)  [the product's own]",
      "customers: PRIMARY KEY (id), UNIQUE (cpf), (updated_at)  [the product's own]"};
  for (const std::string& ddl : BenchIndexDdl()) out.push_back(ddl);
  return out;
}

Status AddExtraDay(pg::Connection& conn, const MartData& d) {
  LASTRO_ASSIGN_OR_RETURN(int64_t first, FirstCustomer(conn));
  const int days = d.credit.days;
  const int64_t requests = d.credit.requests / days, sessions = d.sessions() / days;
  std::vector<std::string> sql = {
      "BEGIN",
      InsertRequestsSql(d.credit, d.credit.requests, d.credit.requests + requests),
      InsertDecisionsSql(absl::StrCat("created_at >= ", d.DayStart(days))),
      InsertHistorySql(absl::StrCat("created_at >= ", d.DayStart(days))),
      Fill(kEventsSql, d, first, d.sessions(), d.sessions() + sessions - 1),
      "COMMIT"};
  for (const std::string& s : sql) {
    if (Status st = Run(conn, s); !st.ok()) {
      IgnoreError(conn.Exec("ROLLBACK").status());
      return st;
    }
  }
  return Run(conn, "ANALYZE customers, credit_requests, credit_decisions, bench.app_events");
}

Status RemoveExtraDay(pg::Connection& conn, const MartData& d) {
  const std::string end = d.DayStart(d.credit.days);
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result any,
      conn.Exec(absl::StrCat(
          "SELECT EXISTS (SELECT 1 FROM credit_requests WHERE created_at >= ", end,
          ") OR EXISTS (SELECT 1 FROM bench.app_events WHERE occurred_at >= ", end, ")")));
  if (any.Get(0, 0) != "t") return absl::OkStatus();
  std::vector<std::string> sql = {
      "BEGIN",
      absl::StrCat("DELETE FROM credit_decisions WHERE request_id IN (SELECT id FROM "
                   "credit_requests WHERE created_at >= ",
                   end, ")"),
      absl::StrCat("DELETE FROM credit_request_status_history WHERE request_id IN (SELECT id "
                   "FROM credit_requests WHERE created_at >= ",
                   end, ")"),
      absl::StrCat("DELETE FROM credit_requests WHERE created_at >= ", end),
      absl::StrCat("DELETE FROM bench.app_events WHERE occurred_at >= ", end),
      "COMMIT"};
  for (const std::string& s : sql) {
    if (Status st = Run(conn, s); !st.ok()) {
      IgnoreError(conn.Exec("ROLLBACK").status());
      return st;
    }
  }
  for (const char* t : {"credit_decisions", "credit_requests", "bench.app_events"}) {
    LASTRO_RETURN_IF_ERROR(Run(conn, absl::StrCat("VACUUM (ANALYZE) ", t)));
  }
  return absl::OkStatus();
}

// ---- into the lake ------------------------------------------------------------------

namespace {

// One column of a bench table's COPY: how it is selected (cast to a wire type) and
// what it becomes in DuckDB.
struct Column {
  std::string select;
  WireType wire;
  lake::SourceColumn out;
};

Column Text(const std::string& name, const std::string& expr = "") {
  return {
      (expr.empty() ? name : expr) + "::text", WireType::kText, {name, lake::ColumnType::kVarchar}};
}
Column Int8(const std::string& name) {
  return {name + "::int8", WireType::kInt8, {name, lake::ColumnType::kBigint}};
}
Column Instant(const std::string& name) {
  return {name, WireType::kTimestamptz, {name, lake::ColumnType::kTimestamp}};
}
// The São Paulo day of an instant column (the partition key).
Column LocalDay(const std::string& name, const std::string& instant) {
  return {absl::StrCat("(", instant, " AT TIME ZONE 'America/Sao_Paulo')::date"),
          WireType::kDate,
          {name, lake::ColumnType::kDate}};
}

struct Table {
  std::string zone, table;
  std::string source;  // PostgreSQL SELECT yielding the columns by name
  std::string partition;
  std::vector<Column> columns;
  std::string select;         // what DuckDB writes, before the partition column
  bool line_numbers = false;  // the source adds a column line_number (1, 2, ...)
};

// The index of the first transaction of day `day` (0 = the seed's first; `days` and
// later: the extra days, T / days transactions each).
int64_t FirstTransaction(const MartData& d, int day) {
  const int64_t t = d.transactions, days = d.credit.days;
  return day <= days ? (day * t + days - 1) / days : t + (day - days) * (t / days);
}

// The three tables' rows of the days [first_day, last_day]. `sha256` is the hex SHA-256
// of the run id (the notional events file's content hash).
std::vector<Table> Tables(const MartData& d, int64_t first_customer, int first_day, int last_day,
                          const std::string& run_id, const std::string& now_utc,
                          const std::string& sha256) {
  const std::string run = lake::SqlString(run_id), at = "TIMESTAMP " + lake::SqlString(now_utc);
  return {
      {"bronze",
       "app_events",
       absl::StrCat("SELECT * FROM bench.app_events WHERE occurred_at >= ", d.DayStart(first_day),
                    " AND occurred_at < ", d.DayStart(last_day + 1)),
       "event_date",
       {Text("event_id"), Text("event_type"), Instant("occurred_at"), Instant("received_at"),
        Text("anonymous_id"), Int8("customer_id"), Text("session_id"), Text("device_os"),
        Text("device_model"), Text("app_version"), Text("properties"),
        LocalDay("event_date", "occurred_at")},
       // The ingest's provenance columns: one notional file per load.
       absl::StrCat("event_id, event_type, occurred_at, received_at, anonymous_id, customer_id, "
                    "session_id, device_os, device_model, app_version, properties, ",
                    lake::SqlString("bench/app-events-" + run_id + ".jsonl"), " AS source_file, ",
                    lake::SqlString(sha256), " AS source_sha256, line_number, ", run,
                    " AS ingest_run_id"),
       /*line_numbers=*/true},
      {"bronze",
       "bank_transactions",
       Fill(kTransactionsSql, d, first_customer, FirstTransaction(d, first_day),
            FirstTransaction(d, last_day + 1) - 1),
       "booking_date",
       {Text("transaction_id"), Text("account_id"), Int8("customer_id"), Text("consent_id"),
        Text("credit_debit_type"), Text("type"), Text("completed_authorised_payment_type"),
        Int8("amount_cents"), Text("currency"), Instant("booked_at"),
        LocalDay("booking_date", "booked_at")},
       absl::StrCat("transaction_id, account_id, customer_id, consent_id, credit_debit_type, type, "
                    "completed_authorised_payment_type, amount_cents, currency, booked_at, ",
                    run, " AS run_id, ", at, " AS ingested_at"),
       false},
      {"bronze",
       "bank_balances",
       Fill(kBalancesSql, d, first_customer, first_day, last_day),
       "balance_date",
       {Text("account_id"), Int8("customer_id"), Text("consent_id"), Int8("available_cents"),
        Int8("blocked_cents"), Int8("automatically_invested_cents"), Text("currency"),
        Instant("updated_at"), LocalDay("balance_date", "updated_at")},
       absl::StrCat("account_id, customer_id, consent_id, available_cents, blocked_cents, "
                    "automatically_invested_cents, currency, updated_at, ",
                    run, " AS run_id, ", at, " AS ingested_at"),
       false},
  };
}

void CopyField(const batch::CopyBinaryDecoder& in, size_t i, WireType wire, lake::ChunkWriter& out,
               size_t row) {
  if (in.IsNull(i)) {
    out.SetNull(i, row);
    return;
  }
  switch (wire) {
    case WireType::kInt8:
    case WireType::kInt4:
      out.SetInt(i, row, in.Int(i));
      break;
    case WireType::kFloat8:
      out.SetDouble(i, row, in.Double(i));
      break;
    case WireType::kBool:
      out.SetBool(i, row, in.Bool(i));
      break;
    case WireType::kText:
      out.SetText(i, row, in.Text(i));
      break;
    case WireType::kTimestamptz:
      out.SetTimestampMicros(i, row, in.TimestampMicros(i));
      break;
    case WireType::kDate:
      out.SetDate(i, row, in.Date(i));
      break;
  }
}

}  // namespace

StatusOr<std::vector<LakeLoad>> LoadLakeTables(const MartData& data,
                                               const LakeLoadOptions& options) {
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore store, lake::TableStore::Open(options.lake_dir));
  LASTRO_ASSIGN_OR_RETURN(lake::LakeLock lock,
                          lake::LakeLock::Acquire(store.root(), "mart_bench lake load"));
  const fs::path temp = fs::path(options.lake_dir).parent_path() / "lake-load.tmp";
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = options.memory_limit,
                                                           .threads = options.threads,
                                                           .temp_directory = temp}));
  LASTRO_RETURN_IF_ERROR(
      engine->Execute(absl::StrCat("SET TimeZone = 'UTC'; SET preserve_insertion_order = false; "
                                   "SET partitioned_write_flush_threshold = ",
                                   options.row_group_rows)));
  LASTRO_ASSIGN_OR_RETURN(auto conn,
                          pg::Connection::Connect(options.dsn, {"lastro-bench-lake-load"}));
  const std::string run_id = batch::NewRunId();
  const std::string now = absl::FormatTime("%Y-%m-%d %H:%M:%E6S", absl::Now(), absl::UTCTimeZone());
  LASTRO_ASSIGN_OR_RETURN(int64_t first_customer, FirstCustomer(*conn));
  LASTRO_ASSIGN_OR_RETURN(lake::Value sha,
                          engine->QueryValue("SELECT sha256(" + lake::SqlString(run_id) + ")"));
  lake::TableTransaction tx(store, run_id);
  std::vector<LakeLoad> out;
  for (const Table& t : Tables(data, first_customer, options.first_day, options.last_day, run_id,
                               now, std::get<std::string>(sha))) {
    auto start = Clock::now();
    batch::PgCopySourceOptions o;
    std::vector<std::string> select;
    for (const Column& c : t.columns) {
      o.wire.push_back(c.wire);
      o.columns.push_back(c.out);
      select.push_back(c.select);
    }
    if (t.line_numbers) o.columns.push_back({"line_number", lake::ColumnType::kBigint});
    const std::vector<Column>& columns = t.columns;
    int64_t line = 0;
    o.map = [&columns, &line, numbered = t.line_numbers](const batch::CopyBinaryDecoder& in,
                                                         lake::ChunkWriter& sink, size_t row) {
      for (size_t i = 0; i < columns.size(); ++i) CopyField(in, i, columns[i].wire, sink, row);
      if (numbered) sink.SetInt(columns.size(), row, ++line);
    };
    LASTRO_ASSIGN_OR_RETURN(fs::path dir, tx.Stage(t.zone, t.table, lake::PublishMode::kAppend));
    batch::PgCopySource source(*conn,
                               absl::StrCat("COPY (SELECT ", absl::StrJoin(select, ", "), " FROM (",
                                            t.source, ") s) TO STDOUT (FORMAT binary)"),
                               std::move(o));
    Status run = engine->ExecuteWithSource(
        absl::StrCat("COPY (SELECT ", t.select, ", ", t.partition, " FROM lastro_source()) TO ",
                     lake::SqlString(dir.string()),
                     " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", options.row_group_rows,
                     ", PARTITION_BY (", t.partition, "), FILENAME_PATTERN ",
                     lake::SqlString("part-" + run_id + "-{i}"), ", OVERWRITE_OR_IGNORE)"),
        source);
    Status copy = source.Finish();
    LASTRO_RETURN_IF_ERROR(run);
    LASTRO_RETURN_IF_ERROR(copy);
    out.push_back({t.zone + "/" + t.table, source.rows(), Seconds(start)});
  }
  LASTRO_RETURN_IF_ERROR(tx.Publish(options.keep_versions));
  std::error_code ec;
  fs::remove_all(temp, ec);
  return out;
}

}  // namespace lastro::bench
