// Lastro's configuration: one TOML file plus environment overrides.
//
// Every setting has a default (documented in lastro.example.toml), so an empty or
// missing file is valid. Precedence: built-in default < TOML file < environment.
// Secrets (DSNs, tokens) should come from the environment, or from a file named by
// the `<VAR>_FILE` variant of the variable (e.g. LASTRO_PG_DSN_FILE).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace lastro {

struct PgConfig {
  std::string dsn = "host=127.0.0.1 port=5432 dbname=lastro";  // LASTRO_PG_DSN
  std::string slot = "lastro_decisions";
  std::string publication = "lastro_requests";
  std::string application_name = "lastro";
  int statement_timeout_ms = 30000;
  int lock_timeout_ms = 5000;
};

struct RiskConfig {
  std::string url = "http://127.0.0.1:8091";  // LASTRO_RISK_URL
  std::string token;                          // LASTRO_RISK_TOKEN
  int timeout_ms = 2000;                      // per call
  int max_in_flight = 256;                    // backpressure bound
  int max_attempts = 4;                       // first call + retries
  int backoff_base_ms = 50;
  int backoff_max_ms = 2000;
  double retry_budget_ratio = 0.2;  // retries per first attempt, long run
  int retry_budget_min_per_s = 10;
  double rate_limit_per_s = 0;  // 0 = unlimited
  int breaker_window = 50;      // calls observed
  double breaker_failure_ratio = 0.5;
  int breaker_min_calls = 20;
  int breaker_open_ms = 5000;
  int request_deadline_ms = 30000;  // overall, incl. waiting on an open breaker
};

struct StreamConfig {
  std::string policy_file = "config/policy.toml";
  int batch_max = 500;            // decisions per write transaction
  int batch_max_ms = 10;          // max wait for a partial batch (lookup and write)
  int status_interval_ms = 1000;  // standby status updates to the server
  int sweep_interval_s = 30;      // reconciliation sweep period
  int sweep_threshold_s = 120;    // PENDING older than this is re-queued
  int sweep_limit = 1000;         // rows per sweep
  int reconnect_max_backoff_ms = 10000;
  std::string on_provider_failure = "MANUAL_REVIEW";  // or FAILED
};

struct HttpConfig {
  std::string addr = "127.0.0.1:8080";  // LASTRO_HTTP_ADDR
  std::string auth_token;               // LASTRO_HTTP_TOKEN
};

struct MetricsConfig {
  bool statsd_enabled = true;
  std::string statsd_addr = "127.0.0.1:8125";  // LASTRO_STATSD_ADDR
  std::string tags = "service:lastro";         // comma-separated k:v
  int flush_interval_ms = 10000;
};

struct LogConfig {
  std::string level = "info";  // LASTRO_LOG_LEVEL: debug|info|warn|error
};

struct LakeConfig {
  std::string dir = "build/var/lake";  // LASTRO_LAKE_DIR
  std::string memory_limit = "1GB";  // the batch's memory budget (DuckDB gets 60%); spills past it
  int threads = 0;                   // DuckDB threads; 0 = one per core
  int keep_versions = 3;             // published versions kept per table
  int row_group_rows = 122880;       // Parquet row group size (100K..1M)
};

// The daily batch (docs/batch.md).
struct BatchConfig {
  std::string replica_dsn;            // LASTRO_REPLICA_DSN; empty = read pg.dsn
  int statement_timeout_ms = 900000;  // per extract statement
  int lock_timeout_ms = 2000;         // never queue behind the app's DDL
  double max_rows_per_s = 0;          // extract throttle; 0 = unthrottled
  int overlap_minutes = 60;           // re-read window before the watermark
  int max_replica_lag_s = 300;        // a lagging replica fails the run
  std::string quality_rules = "config/quality.toml";
  std::string token_key;                       // LASTRO_TOKEN_KEY: CPF tokenisation key (secret)
  std::string timezone = "America/Sao_Paulo";  // business day of request_date
};

// The credit-bureau batch API (docs/batch.md), with the risk client's resilience.
struct BureauConfig {
  std::string url = "http://127.0.0.1:8092";  // LASTRO_BUREAU_URL
  std::string token;                          // LASTRO_BUREAU_TOKEN
  int batch_size = 500;                       // CPFs per call
  int timeout_ms = 10000;                     // per call
  int max_in_flight = 4;                      // concurrent calls
  int max_attempts = 4;
  int backoff_base_ms = 100;
  int backoff_max_ms = 5000;
  double retry_budget_ratio = 0.2;
  int retry_budget_min_per_s = 2;
  double rate_limit_per_s = 0;  // calls per second; 0 = unlimited
  int breaker_window = 20;
  double breaker_failure_ratio = 0.5;
  int breaker_min_calls = 5;
  int breaker_open_ms = 5000;
  int deadline_ms = 300000;  // each Fetch (one per request_date asked), not the phase
};

// OpenLineage events (docs/batch.md#lineage).
struct LineageConfig {
  std::string endpoint;  // LASTRO_LINEAGE_URL: POST events here too; empty = files only
  std::string job_namespace = "lastro";
  int timeout_ms = 5000;
};

// `lastro ingest events` (docs/ingest-events.md). event_date uses batch.timezone, the
// lake's one business-day zone, so it agrees with request_date.
struct EventsConfig {
  int max_line_bytes = 1048576;  // a longer line is quarantined unread
  int raw_line_bytes = 4096;     // raw text kept for a quarantined line
  int max_late_days = 30;        // occurred_at earlier than received_at by more: quarantined
  int max_clock_skew_s = 3600;   // occurred_at later than received_at by more: quarantined
};

// `lastro ingest openfinance` (docs/openfinance.md): the Open Finance API client, with
// the risk client's resilience, and the incremental pull. booking_date uses
// batch.timezone, like request_date.
struct OpenFinanceConfig {
  std::string url = "http://127.0.0.1:8093";  // LASTRO_OPENFINANCE_URL
  std::string token;                          // LASTRO_OPENFINANCE_TOKEN
  int timeout_ms = 10000;                     // per call
  int max_in_flight = 4;                      // consents pulled at once (one call each)
  int max_attempts = 4;
  int backoff_base_ms = 100;
  int backoff_max_ms = 5000;
  double retry_budget_ratio = 0.2;
  int retry_budget_min_per_s = 2;
  double rate_limit_per_s = 0;  // calls per second; 0 = unlimited
  int breaker_window = 20;
  double breaker_failure_ratio = 0.5;
  int breaker_min_calls = 5;
  int breaker_open_ms = 5000;
  int deadline_ms = 1800000;         // the whole pull of one run
  int page_size = 500;               // records per page, 1..1000
  int history_days = 365;            // first pull of an account, 1..366
  int overlap_days = 2;              // re-read before each account's watermark
  int statement_timeout_ms = 30000;  // the consent read in PostgreSQL
};

// `lastro refresh` and `lastro query` (docs/model.md): the serving catalog.
struct MartConfig {
  int keep_versions = 3;  // catalog versions kept for readers and --rollback (>= 2)
  // Every n-th refresh is a full one even when an incremental one would do: it writes
  // the catalog file compact again (>= 1; 1 = always full).
  int full_refresh_every = 30;
};

// Governed access, audit, keys and LGPD requests (docs/governance.md).
struct GovernanceConfig {
  std::string policies = "config/policies.toml";  // roles, classifications, masking
  // Outside the lake, never copied with it: the audit log, the API token hashes, the
  // per-customer key store and the erasure log. LASTRO_GOVERNANCE_DIR.
  std::string state_dir = "build/var/governance";
  // LASTRO_MASTER_KEY(_FILE): wraps the per-customer data keys that seal contact PII
  // (secret; 64 hex chars, or >= 16 bytes stretched with BLAKE2b). Empty: the batch
  // does not extract contact PII.
  std::string master_key;
  std::string serve_addr = "127.0.0.1:8095";  // LASTRO_SERVE_ADDR: `lastro serve`
  int serve_threads = 2;                      // query threads of `lastro serve`
  int query_timeout_ms = 30000;               // a query running longer is cancelled
  int max_rows = 100000;                      // rows returned by one query, at most
  // 0: each audit entry is fdatasync'ed before its answer leaves; N: written before,
  // synced by one background fdatasync per N ms (a power loss loses at most N ms).
  int audit_sync_ms = 20;
  std::string tls_cert_file;  // both set: `lastro serve` speaks HTTPS only
  std::string tls_key_file;
};

struct Config {
  PgConfig pg;
  RiskConfig risk;
  StreamConfig stream;
  HttpConfig http;
  MetricsConfig metrics;
  LogConfig log;
  LakeConfig lake;
  BatchConfig batch;
  BureauConfig bureau;
  LineageConfig lineage;
  EventsConfig events;
  OpenFinanceConfig openfinance;
  MartConfig mart;
  GovernanceConfig governance;
};

// Reads a variable; returns nullopt when unset. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Loads `path` (empty = defaults only) and applies environment overrides.
// Errors: kNotFound (file named but absent), kInvalidArgument (syntax error, unknown
// key, wrong type, out-of-range value; the message names the file, line and key).
StatusOr<Config> LoadConfig(const std::string& path, const EnvLookup& env);

// Path from `--config` when given, else $LASTRO_CONFIG, else "" (defaults).
std::string ConfigPathFrom(const std::string& flag_value, const EnvLookup& env);

}  // namespace lastro
