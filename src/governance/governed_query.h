// Governed queries: the one path by which a role reads the data product, shared by
// `lastro serve` (HTTP) and `lastro query --role` (CLI).
//
// For each query: the caller's role must exist in the policies; its role catalog
// (role_catalog.h) is opened READ_ONLY in a locked sandbox (no files, no ATTACH, no
// SET); the SQL guard (sql_guard.h) refuses what is not one SELECT over the role's
// tables; the query runs with a row limit and a timeout and can be cancelled by its
// id; and every outcome - allowed, denied, error, timeout, cancelled - is written to
// the audit log before the answer leaves (a query that cannot be audited is not
// answered).
//
// Thread-safe: Run() may be called from many threads at once; each query gets its
// own engine from a per-role pool (engines are reused, reopened when a refresh
// publishes a new catalog version or the policies change).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "governance/audit_log.h"
#include "governance/policies.h"
#include "lake/engine.h"

namespace lastro::governance {

struct Caller {
  std::string user;  // authenticated user, or "cli:<unix user>"
  std::string role;
  std::string remote;  // "ip:port" or "cli"
};

struct GovernedRequest {
  std::string sql;    // ad-hoc SQL, or
  std::string named;  // a named query the role may run
  std::map<std::string, std::string> params;
  std::string format = "json";  // json | csv | parquet | table (text, for the CLI)
  int64_t max_rows = 0;         // 0 or more than governance.max_rows: governance.max_rows
  int timeout_ms = 0;           // 0 or more than governance.query_timeout_ms: the config's
  std::string query_id;         // for Cancel(); "" = none
};

struct GovernedResult {
  // application/json | text/csv | application/vnd.apache.parquet | text/plain (table)
  std::string content_type;
  std::string body;
  int64_t rows = 0;
  bool truncated = false;            // more rows than the limit: the first max_rows are returned
  std::vector<std::string> columns;  // result column names
  std::vector<std::string> tables;   // tables read (for the answer's headers)
  std::string catalog_version;
  int64_t audit_seq = 0;
};

class GovernedQueries {
 public:
  // Loads the policies file and opens the audit log. `mask_secret` keys the hash mask
  // (batch.token_key). Errors: the policies' and the audit log's.
  static StatusOr<std::unique_ptr<GovernedQueries>> Create(const Config& config);
  ~GovernedQueries();

  // Runs one query for `caller`. Errors (each audited): kNotFound (unknown role or
  // named query, nothing published), kPermissionDenied (the guard's refusal, a named
  // query of another team), kInvalidArgument (syntax, parameters, format),
  // kDeadlineExceeded (timeout), kCancelled, kResourceExhausted, kUnavailable (the
  // audit log cannot be written: nothing is answered).
  StatusOr<GovernedResult> Run(const Caller& caller, const GovernedRequest& request);

  // Interrupts the caller's running query `query_id`. Errors: kNotFound when the caller
  // has no such query running.
  Status Cancel(const Caller& caller, const std::string& query_id);

  // The role's tables and columns as it sees them (JSON), and its named queries.
  StatusOr<std::string> DescribeRole(const Caller& caller);

  const Policies& policies() const { return policies_; }
  AuditLog& audit() { return *audit_; }

 private:
  struct Pool;
  struct Running;
  GovernedQueries(const Config& config, Policies policies, std::unique_ptr<AuditLog> audit);
  StatusOr<GovernedResult> Execute(const Caller& caller, const RolePolicy& role,
                                   const GovernedRequest& request, AuditEntry& entry);
  StatusOr<std::shared_ptr<Pool>> PoolFor(const RolePolicy& role);
  // An engine on the pool's role catalog, in the sandbox; `output` is the one file it
  // may write ("" = none).
  StatusOr<std::unique_ptr<lake::Engine>> OpenEngine(const Pool& pool, const RolePolicy& role,
                                                     const std::string& output);

  Config config_;
  Policies policies_;
  std::unique_ptr<AuditLog> audit_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Pool>> pools_;  // by role
  std::map<std::string, Running*> running_;             // by user + "\n" + query id
  class Watchdog;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace lastro::governance
