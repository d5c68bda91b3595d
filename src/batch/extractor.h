// Extract: copies the credit requests in a run's scope, their decisions, their status
// history and their customers out of PostgreSQL into bronze Parquet files, from one
// consistent snapshot, on two connections at once.
//
// The first connection (application_name lastro-batch) opens a REPEATABLE READ READ
// ONLY transaction with statement_timeout and lock_timeout, so the tables are read at
// one instant and the batch never queues behind the app's DDL (it fails fast
// instead); reads take only ACCESS SHARE locks, which never block the app's inserts
// or updates. It exports its snapshot, and a second connection (same settings, same
// replica checks) imports it (source_snapshot.h), so both read the same instant.
//
// Three binary COPY statements (every column cast to a fixed wire type, copy_binary.h)
// stream through DuckDB without being stored first (pg_copy_source.h), each straight
// to its bronze Parquet file ("as extracted": the source's values and types, instants
// as UTC TIMESTAMP, numerics as DOUBLE, arrays as JSON text, plus run_id):
//   first connection, into `engine`:
//   - the requests in scope LEFT JOIN their decisions, to `requests_parquet`:
//       id, customer_id, amount_cents, term_months, purpose, channel,
//       declared_income_cents, status, version, created_at, updated_at, decided_at,
//       decision, score, risk_band, probability_of_default, reason_codes,
//       provider_reason_codes, first_time_customer, provider_ref,
//       provider_model_version, policy_version, attempts, provider_latency_ms,
//       decision_recorded_at (credit_decisions.decided_at), run_id
//   second connection, one after the other, into an in-memory engine of its own
//   (lake::Engine is single-threaded) holding a quarter of `memory_limit` while
//   `engine` holds the rest:
//   - the status-history rows of the same requests (credit_request_status_history
//     joined on the same predicate: a request in scope brings all its rows), to
//     `history_parquet`:
//       id, request_id, from_status, to_status, changed_at, changed_by, reason,
//       request_created_at (the request's created_at, so the request's business day
//       needs no join later), run_id
//     changed_by and reason are free text: CPF-, phone- and e-mail-shaped values in
//     them are redacted as they stream past (pii::Redact).
//   - their customers, to `customers_parquet`: id, customer_token, cpf_valid,
//     birth_year, state, acquisition_channel, marketing_consent, created_at,
//     updated_at, full_name_enc, email_enc, phone_enc, birth_date_enc, run_id;
//     readable afterwards in `engine` as the view raw_customers (the same columns but
//     run_id).
// When the snapshot cannot be shared (the server refuses to export it, or the second
// connection cannot connect, pass the checks or import it), the same statements run
// on the first connection after the requests (logged as a warning); the result is
// the same.
//
// Guarantees: one snapshot for every statement; max_rows_per_s bounds the rows of
// all the statements together; the first error of either connection is the
// extract's, and stops the other (its statement is cancelled on the server); `stop`
// cancels both. Nothing is published here: the files are written where the caller
// staged them.
//
// The raw CPF never enters DuckDB or the lake: it is tokenised as it streams past,
// and kept in memory only for the bureau (ExtractResult::cpf_by_token, keep_cpfs).
// Contact PII (full_name, email, phone, birth_date) is read only with a key store
// (`keys`, governance.master_key set) and sealed as it streams past with the
// customer's data key (governance/envelope.h) into the *_enc BLOB columns; the
// plaintext never enters DuckDB. An erased customer (tombstone) gets NULLs, and so
// does everyone when there is no key store. birth_year is computed in the same place.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "batch/cpf_token.h"
#include "common/status.h"
#include "governance/keystore.h"
#include "lake/engine.h"

namespace lastro::batch {

struct ExtractOptions {
  std::string dsn;
  bool replica = false;  // dsn is batch.replica_dsn: check and record its lag
  int max_replica_lag_s = 300;
  int statement_timeout_ms = 900000;
  int lock_timeout_ms = 2000;
  double max_rows_per_s = 0;  // 0 = unthrottled
  // Seals contact PII per customer (keys created as needed, saved by the caller
  // before it publishes); nullptr: contact PII is not extracted.
  governance::KeyStore* keys = nullptr;
  // Keep token -> CPF for the bureau (only when the run enriches: ~150 B a customer).
  bool keep_cpfs = true;
  // SQL predicate over credit_requests aliased `r` selecting the run's scope (built
  // by the caller from the window; only literals, never user text).
  std::string requests_predicate;
  std::string requests_parquet;   // the bronze file the requests are written to
  std::string history_parquet;    // the bronze file the status history is written to
  std::string customers_parquet;  // the bronze file the customers are written to
  std::string run_id;             // stamped on every bronze row
  int row_group_rows = 500000;
  // Set asynchronously to stop: the COPYs in progress are cancelled (kCancelled).
  const std::atomic<bool>* stop = nullptr;
  // The memory_limit `engine` was opened with ("600MB"). While the second connection
  // reads, its engine gets a quarter of it and `engine` the rest; `engine`'s limit is
  // restored before Extract() returns.
  std::string memory_limit = "1GB";
  // Where the second engine spills (in a subfolder "second"); empty: DuckDB's default.
  std::filesystem::path temp_directory;
  // false: no second connection; everything is read on the first, one after the other.
  bool concurrent = true;
  // Tests: called once the snapshot is exported, before the second connection imports it.
  std::function<void()> on_snapshot_exported;
};

struct ExtractResult {
  std::string snapshot;       // pg_current_snapshot() of the transaction
  std::string snapshot_time;  // the transaction's now(), "YYYY-MM-DD HH:MM:SS.ffffff" UTC
  bool replica = false;       // the server was in recovery
  std::optional<double> replica_lag_s;
  int64_t requests = 0, decisions = 0, customers = 0;  // decisions: requests with one
  int64_t history = 0;                                 // status-history rows of the requests
  int64_t pii_sealed = 0;                              // customers whose contact PII was sealed
  int64_t pii_erased = 0;  // erased customers: their PII was read and dropped (NULL)
  // The history and the customers were read on the second connection, alongside the
  // requests (false: after them, on the first).
  bool concurrent = false;
  // customer_token -> CPF, for the bureau call only. Never logged or written.
  std::unordered_map<std::string, std::string> cpf_by_token;
};

// Called every few thousand rows with (phase, rows so far in this phase).
using ExtractProgress = std::function<void(const std::string& phase, int64_t rows)>;

// Runs the extract. Errors: kUnavailable (server unreachable, the connection dropped,
// a lock not granted within lock_timeout: retry later), kFailedPrecondition (replica
// lagging beyond the limit, a schema without the expected columns),
// kDeadlineExceeded / kAborted from the server's timeouts, kInvalidArgument for a
// malformed COPY row, kDataLoss when a customer's wrapped data key does not open,
// kCancelled when stopped. On error the files may be partly
// written: the caller discards them (they are staged, never published).
StatusOr<ExtractResult> Extract(const ExtractOptions& options, lake::Engine& engine,
                                const CpfTokenizer& tokenizer, const ExtractProgress& progress);

}  // namespace lastro::batch
