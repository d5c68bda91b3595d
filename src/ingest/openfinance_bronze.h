// Writing pulled Open Finance data into the lake (docs/openfinance.md, "Bronze"):
// rows are appended to DuckDB tables as consents finish, then deduplicated against
// what the lake already has and staged into a TableTransaction:
//
//   bronze/bank_transactions  booking_date=…/   one row per (account_id, transaction_id)
//   bronze/bank_balances      balance_date=…/   one row per (account_id, updated_at)
//   bronze/bank_accounts      (one file)        one row per account, rewritten when an
//                                               account is new or changed
//   quarantine/bank_transactions ingest_date=…/ one row per (account_id, record_key)
//
// New rows go into new files (kAppend) in their partitions; a re-pull of rows the lake
// has stages nothing, so it changes nothing. Amounts are BIGINT cents, instants UTC
// TIMESTAMPs, dates the business day in the configured zone; no CPF, no name, no
// account number, no free text.
//
// Not thread-safe: one thread appends and stages (DuckDB's appenders).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/status.h"
#include "ingest/openfinance_pull.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::ingest {

struct OfBronzeCounts {
  int64_t accounts = 0, accounts_changed = 0;  // seen / new or changed
  int64_t balances = 0, balances_new = 0;
  int64_t transactions = 0;            // fetched, valid
  int64_t transactions_new = 0;        // not in the lake before
  int64_t transactions_duplicate = 0;  // already in the lake or repeated in the run
  int64_t quarantined = 0;             // records fetched that failed their checks
  int64_t quarantined_new = 0;         // of which not quarantined before
};

class OfBronzeWriter {
 public:
  // Creates the run's work tables in `engine` (which must outlive the writer).
  // `zone` gives booking_date and balance_date. Errors: engine errors.
  static StatusOr<std::unique_ptr<OfBronzeWriter>> Create(lake::Engine& engine,
                                                          absl::TimeZone zone);
  ~OfBronzeWriter();

  // Appends a kPulled consent's rows. Errors: engine errors (a value DuckDB refuses).
  Status Add(const ConsentPull& pull);

  // Deduplicates and stages the new rows of every table into `tx` (a table with
  // nothing new is not staged). `run_id` names the files and fills run_id;
  // `ingested_at_micros` fills ingested_at; `ingest_date` is the quarantine's
  // partition. Call once, after the last Add().
  StatusOr<OfBronzeCounts> Stage(const lake::TableStore& store, lake::TableTransaction& tx,
                                 const std::string& run_id, int64_t ingested_at_micros,
                                 const std::string& ingest_date, int row_group_rows);

 private:
  struct Impl;
  explicit OfBronzeWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastro::ingest
