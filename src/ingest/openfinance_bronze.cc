#include "ingest/openfinance_bronze.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;
using lake::SqlString;

constexpr const char* kWorkTables = R"sql(
CREATE OR REPLACE TABLE of_accounts (seq BIGINT, account_id VARCHAR, customer_id BIGINT,
  consent_id VARCHAR, brand_name VARCHAR, company_cnpj VARCHAR, type VARCHAR,
  subtype VARCHAR, compe_code VARCHAR, branch_code VARCHAR);
CREATE OR REPLACE TABLE of_balances (seq BIGINT, account_id VARCHAR, customer_id BIGINT,
  consent_id VARCHAR, available_cents BIGINT, blocked_cents BIGINT, invested_cents BIGINT,
  updated_us BIGINT, balance_date VARCHAR);
CREATE OR REPLACE TABLE of_tx (seq BIGINT, account_id VARCHAR, customer_id BIGINT,
  consent_id VARCHAR, transaction_id VARCHAR, credit_debit_type VARCHAR, type VARCHAR,
  completed_type VARCHAR, amount_cents BIGINT, booked_us BIGINT, booking_date VARCHAR);
CREATE OR REPLACE TABLE of_quarantine (seq BIGINT, account_id VARCHAR, customer_id BIGINT,
  consent_id VARCHAR, record_key VARCHAR, reason VARCHAR, raw VARCHAR);
)sql";

// The published bronze/bank_accounts columns, in file order.
constexpr const char* kAccountColumns =
    "account_id, customer_id, consent_id, brand_name, company_cnpj, type, subtype, compe_code, "
    "branch_code, first_seen_at, first_run_id, updated_at, run_id";

// Glob of a published table's Parquet files, or "" when it has none.
std::string Published(const lake::TableStore& store, const std::string& zone,
                      const std::string& table, bool partitioned) {
  if (!store.Exists(zone, table)) return "";
  auto files = store.Files(zone, table);
  if (!files.ok() || files->empty()) return "";
  return (store.TablePath(zone, table) / (partitioned ? "*/*.parquet" : "*.parquet")).string();
}

std::string ReadParquet(const std::string& glob, bool partitioned = true) {
  return absl::StrCat("read_parquet(", SqlString(glob),
                      ", hive_partitioning = ", partitioned ? "true" : "false", ")");
}

std::string Copy(const std::string& select, const std::string& to, const std::string& partition,
                 const std::string& run_id, int row_group_rows) {
  std::string options =
      absl::StrCat("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", row_group_rows);
  if (!partition.empty()) {
    absl::StrAppend(&options, ", PARTITION_BY (", partition, "), FILENAME_PATTERN ",
                    SqlString("part-" + run_id + "-{i}"), ", OVERWRITE_OR_IGNORE");
  }
  return absl::StrCat("COPY (", select, ") TO ", SqlString(to), " (", options, ")");
}

void Text(lake::Appender& a, const std::string& s) { a.AppendText(s); }

}  // namespace

struct OfBronzeWriter::Impl {
  lake::Engine& engine;
  absl::TimeZone zone;
  std::unique_ptr<lake::Appender> accounts, balances, txs, quarantine;
  int64_t seq = 0;

  std::string Day(int64_t micros) const {
    return absl::FormatCivilTime(absl::ToCivilDay(absl::FromUnixMicros(micros), zone));
  }
  StatusOr<int64_t> Count(const std::string& table) {
    LASTRO_ASSIGN_OR_RETURN(lake::Value v, engine.QueryValue("SELECT count(*) FROM " + table));
    return std::get<int64_t>(v);
  }
  Status CloseAppenders() {
    for (auto* a : {&accounts, &balances, &txs, &quarantine}) {
      if (*a == nullptr) continue;
      Status s = (*a)->Close();
      a->reset();
      LASTRO_RETURN_IF_ERROR(s);
    }
    return absl::OkStatus();
  }
};

StatusOr<std::unique_ptr<OfBronzeWriter>> OfBronzeWriter::Create(lake::Engine& engine,
                                                                 absl::TimeZone zone) {
  LASTRO_RETURN_IF_ERROR(engine.Execute(kWorkTables));
  auto impl = std::unique_ptr<Impl>(new Impl{engine, zone, nullptr, nullptr, nullptr, nullptr});
  LASTRO_ASSIGN_OR_RETURN(impl->accounts, engine.NewAppender("of_accounts"));
  LASTRO_ASSIGN_OR_RETURN(impl->balances, engine.NewAppender("of_balances"));
  LASTRO_ASSIGN_OR_RETURN(impl->txs, engine.NewAppender("of_tx"));
  LASTRO_ASSIGN_OR_RETURN(impl->quarantine, engine.NewAppender("of_quarantine"));
  return std::unique_ptr<OfBronzeWriter>(new OfBronzeWriter(std::move(impl)));
}

OfBronzeWriter::OfBronzeWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OfBronzeWriter::~OfBronzeWriter() { (void)impl_->CloseAppenders(); }  // errors seen by Stage()

Status OfBronzeWriter::Add(const ConsentPull& pull) {
  Impl& m = *impl_;
  if (m.txs == nullptr) return absl::FailedPreconditionError("Add() after Stage()");
  const int64_t customer = pull.consent.customer_id;
  const std::string& consent = pull.consent.consent_id;
  for (const PulledAccount& pa : pull.accounts) {
    const BankAccount& a = pa.account;
    lake::Appender& acc = *m.accounts;
    acc.AppendInt(++m.seq);
    Text(acc, a.account_id);
    acc.AppendInt(customer);
    for (const std::string* s : {&consent, &a.brand_name, &a.company_cnpj, &a.type, &a.subtype,
                                 &a.compe_code, &a.branch_code}) {
      Text(acc, *s);
    }
    LASTRO_RETURN_IF_ERROR(acc.EndRow());
    if (pa.balance) {
      lake::Appender& b = *m.balances;
      b.AppendInt(++m.seq);
      Text(b, a.account_id);
      b.AppendInt(customer);
      Text(b, consent);
      b.AppendInt(pa.balance->available_cents);
      b.AppendInt(pa.balance->blocked_cents);
      b.AppendInt(pa.balance->invested_cents);
      b.AppendInt(pa.balance->updated_micros);
      Text(b, m.Day(pa.balance->updated_micros));
      LASTRO_RETURN_IF_ERROR(b.EndRow());
    }
    for (const BankTransaction& t : pa.transactions) {
      lake::Appender& x = *m.txs;
      x.AppendInt(++m.seq);
      Text(x, a.account_id);
      x.AppendInt(customer);
      for (const std::string* s :
           {&consent, &t.transaction_id, &t.credit_debit_type, &t.type, &t.completed_type}) {
        Text(x, *s);
      }
      x.AppendInt(t.amount_cents);
      x.AppendInt(t.booked_micros);
      Text(x, m.Day(t.booked_micros));
      LASTRO_RETURN_IF_ERROR(x.EndRow());
    }
    for (const QuarantinedRecord& q : pa.quarantined) {
      lake::Appender& r = *m.quarantine;
      r.AppendInt(++m.seq);
      Text(r, a.account_id);
      r.AppendInt(customer);
      for (const std::string* s : {&consent, &q.record_key, &q.reason, &q.raw}) Text(r, *s);
      LASTRO_RETURN_IF_ERROR(r.EndRow());
    }
  }
  return absl::OkStatus();
}

StatusOr<OfBronzeCounts> OfBronzeWriter::Stage(const lake::TableStore& store,
                                               lake::TableTransaction& tx,
                                               const std::string& run_id,
                                               int64_t ingested_at_micros,
                                               const std::string& ingest_date, int row_group_rows) {
  Impl& m = *impl_;
  LASTRO_RETURN_IF_ERROR(m.CloseAppenders());
  lake::Engine& e = m.engine;
  OfBronzeCounts c;
  const std::string run = SqlString(run_id);
  const std::string at = absl::StrCat("make_timestamp(", ingested_at_micros, "::BIGINT)");

  // ---- transactions: one row per (account, id) in the run, minus what the lake has.
  LASTRO_ASSIGN_OR_RETURN(c.transactions, m.Count("of_tx"));
  LASTRO_RETURN_IF_ERROR(e.Execute(
      "CREATE OR REPLACE TABLE tx_run AS SELECT * FROM of_tx "
      "QUALIFY row_number() OVER (PARTITION BY account_id, transaction_id ORDER BY seq) = 1"));
  std::string known = "SELECT NULL::VARCHAR AS account_id, NULL::VARCHAR AS k WHERE false";
  if (std::string glob = Published(store, "bronze", "bank_transactions", true); !glob.empty()) {
    // Only the partitions around this run's days: a re-pull books on the same day.
    known =
        absl::StrCat("SELECT account_id, transaction_id AS k FROM ", ReadParquet(glob),
                     " WHERE booking_date BETWEEN (SELECT min(booking_date)::DATE - 7 FROM tx_run) "
                     "AND (SELECT max(booking_date)::DATE + 7 FROM tx_run)");
  }
  LASTRO_RETURN_IF_ERROR(e.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE tx_new AS SELECT t.* FROM tx_run t LEFT JOIN (", known,
      ") p ON p.account_id = t.account_id AND p.k = t.transaction_id WHERE p.k IS NULL")));
  LASTRO_ASSIGN_OR_RETURN(c.transactions_new, m.Count("tx_new"));
  c.transactions_duplicate = c.transactions - c.transactions_new;
  if (c.transactions_new > 0) {
    LASTRO_ASSIGN_OR_RETURN(fs::path dir,
                            tx.Stage("bronze", "bank_transactions", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(e.Execute(
        Copy(absl::StrCat(
                 "SELECT transaction_id, account_id, customer_id, consent_id, "
                 "credit_debit_type, type, completed_type AS completed_authorised_payment_type, "
                 "amount_cents, 'BRL' AS currency, make_timestamp(booked_us) AS booked_at, ",
                 run, " AS run_id, ", at,
                 " AS ingested_at, booking_date::DATE AS booking_date "
                 "FROM tx_new ORDER BY booking_date, account_id, booked_us, transaction_id"),
             dir.string(), "booking_date", run_id, row_group_rows)));
  }

  // ---- balances: one row per (account, updated_at).
  LASTRO_ASSIGN_OR_RETURN(c.balances, m.Count("of_balances"));
  std::string known_balances =
      "SELECT NULL::VARCHAR AS account_id, NULL::TIMESTAMP AS updated_at WHERE false";
  if (std::string glob = Published(store, "bronze", "bank_balances", true); !glob.empty()) {
    known_balances = absl::StrCat(
        "SELECT account_id, updated_at FROM ", ReadParquet(glob),
        " WHERE balance_date BETWEEN (SELECT min(balance_date)::DATE - 1 FROM of_balances) "
        "AND (SELECT max(balance_date)::DATE + 1 FROM of_balances)");
  }
  LASTRO_RETURN_IF_ERROR(e.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE bal_new AS SELECT b.* FROM of_balances b LEFT JOIN (",
      known_balances,
      ") p ON p.account_id = b.account_id AND p.updated_at = make_timestamp(b.updated_us) "
      "WHERE p.account_id IS NULL "
      "QUALIFY row_number() OVER (PARTITION BY b.account_id, b.updated_us ORDER BY b.seq) = 1")));
  LASTRO_ASSIGN_OR_RETURN(c.balances_new, m.Count("bal_new"));
  if (c.balances_new > 0) {
    LASTRO_ASSIGN_OR_RETURN(fs::path dir,
                            tx.Stage("bronze", "bank_balances", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(e.Execute(Copy(
        absl::StrCat("SELECT account_id, customer_id, consent_id, available_cents, blocked_cents, "
                     "invested_cents AS automatically_invested_cents, 'BRL' AS currency, "
                     "make_timestamp(updated_us) AS updated_at, ",
                     run, " AS run_id, ", at,
                     " AS ingested_at, balance_date::DATE AS balance_date "
                     "FROM bal_new ORDER BY balance_date, account_id, updated_us"),
        dir.string(), "balance_date", run_id, row_group_rows)));
  }

  // ---- accounts: the published table plus what is new or changed.
  LASTRO_RETURN_IF_ERROR(
      e.Execute("CREATE OR REPLACE TABLE acc_run AS SELECT * FROM of_accounts "
                "QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY seq) = 1"));
  LASTRO_ASSIGN_OR_RETURN(c.accounts, m.Count("acc_run"));
  if (std::string glob = Published(store, "bronze", "bank_accounts", false); !glob.empty()) {
    LASTRO_RETURN_IF_ERROR(
        e.Execute(absl::StrCat("CREATE OR REPLACE TABLE acc_pub AS SELECT ", kAccountColumns,
                               " FROM ", ReadParquet(glob, false))));
  } else {
    LASTRO_RETURN_IF_ERROR(e.Execute(
        "CREATE OR REPLACE TABLE acc_pub (account_id VARCHAR, customer_id BIGINT, "
        "consent_id VARCHAR, brand_name VARCHAR, company_cnpj VARCHAR, type VARCHAR, "
        "subtype VARCHAR, compe_code VARCHAR, branch_code VARCHAR, first_seen_at TIMESTAMP, "
        "first_run_id VARCHAR, updated_at TIMESTAMP, run_id VARCHAR)"));
  }
  std::string differs = "p.account_id IS NULL";
  for (const char* col : {"customer_id", "consent_id", "brand_name", "company_cnpj", "type",
                          "subtype", "compe_code", "branch_code"}) {
    absl::StrAppend(&differs, " OR r.", col, " IS DISTINCT FROM p.", col);
  }
  LASTRO_RETURN_IF_ERROR(e.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE acc_changed AS SELECT r.account_id, r.customer_id, r.consent_id, "
      "r.brand_name, r.company_cnpj, r.type, r.subtype, r.compe_code, r.branch_code, "
      "coalesce(p.first_seen_at, ",
      at, ") AS first_seen_at, coalesce(p.first_run_id, ", run, ") AS first_run_id, ", at,
      " AS updated_at, ", run,
      " AS run_id FROM acc_run r LEFT JOIN acc_pub p USING (account_id) WHERE ", differs)));
  LASTRO_ASSIGN_OR_RETURN(c.accounts_changed, m.Count("acc_changed"));
  if (c.accounts_changed > 0) {
    LASTRO_ASSIGN_OR_RETURN(fs::path dir,
                            tx.Stage("bronze", "bank_accounts", lake::PublishMode::kReplaceTable));
    LASTRO_RETURN_IF_ERROR(e.Execute(
        Copy(absl::StrCat("SELECT ", kAccountColumns,
                          " FROM acc_pub WHERE account_id NOT IN "
                          "(SELECT account_id FROM acc_changed) UNION ALL SELECT ",
                          kAccountColumns, " FROM acc_changed ORDER BY account_id"),
             (dir / ("part-" + run_id + "-0.parquet")).string(), "", run_id, row_group_rows)));
  }

  // ---- quarantine: one row per (account, record) ever.
  LASTRO_ASSIGN_OR_RETURN(c.quarantined, m.Count("of_quarantine"));
  std::string known_bad = "SELECT NULL::VARCHAR AS account_id, NULL::VARCHAR AS k WHERE false";
  if (std::string glob = Published(store, "quarantine", "bank_transactions", true); !glob.empty()) {
    known_bad = absl::StrCat("SELECT account_id, record_key AS k FROM ", ReadParquet(glob));
  }
  LASTRO_RETURN_IF_ERROR(e.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE q_new AS SELECT q.* FROM of_quarantine q LEFT JOIN (", known_bad,
      ") p ON p.account_id = q.account_id AND p.k = q.record_key WHERE p.k IS NULL "
      "QUALIFY row_number() OVER (PARTITION BY q.account_id, q.record_key ORDER BY q.seq) = 1")));
  LASTRO_ASSIGN_OR_RETURN(c.quarantined_new, m.Count("q_new"));
  if (c.quarantined_new > 0) {
    LASTRO_ASSIGN_OR_RETURN(
        fs::path dir, tx.Stage("quarantine", "bank_transactions", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(e.Execute(
        Copy(absl::StrCat("SELECT record_key, account_id, customer_id, consent_id, reason, raw, ",
                          run, " AS run_id, ", at, " AS ingested_at, ", SqlString(ingest_date),
                          "::DATE AS ingest_date FROM q_new ORDER BY account_id, record_key"),
             dir.string(), "ingest_date", run_id, row_group_rows)));
  }
  return c;
}

}  // namespace lastro::ingest
