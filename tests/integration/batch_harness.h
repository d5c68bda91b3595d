// Runs the real pieces of a batch integration test: a fresh database on the private
// cluster seeded with history, `lastro sim bureau` as a child process, a private lake
// folder, and `lastro batch ...` as the command under test. The lake is read back
// with DuckDB (lake::Engine) exactly as an analyst would.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"
#include "testing/subprocess.h"
#include "testing/test_database.h"

namespace lastro::testing {

struct BatchHarnessOptions {
  std::string name;
  std::string extra_toml;      // appended to the generated config
  std::string pg_dsn;          // reuse this database instead of a fresh one
  std::string quality_rules;   // rules file; default: the repository's config/quality.toml
  std::string batch_settings;  // extra "key = value" lines for the [batch] section
  bool statsd = false;         // metrics.statsd_enabled (the address comes from LASTRO_STATSD_ADDR)
};

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

class BatchHarness {
 public:
  static StatusOr<std::unique_ptr<BatchHarness>> Create(const BatchHarnessOptions& options);
  ~BatchHarness();

  // Inserts `customers` customers and `requests` requests spread evenly over
  // `days` business days from 2026-11-01 (America/Sao_Paulo), with decisions for
  // the decided ones, and the stream's PENDING -> decision history row for the
  // decided ones whose id is not a multiple of 4 (the others have no history, as
  // data older than the history table). Plain SQL (generate_series): seconds for
  // 100k rows.
  Status Seed(int64_t requests, int64_t customers, int days = 7);

  // Seed() a week, `lastro batch run` over it (2026-11-01..07), then `lastro refresh`:
  // the first published catalog. Errors: kInternal naming the failed step, its output.
  Status SeedBatchRefresh(int64_t requests, int64_t customers);
  // The published catalog's version (the <lake>/catalog pointer's target); "" if none.
  std::string CurrentCatalog() const;

  // Writes a variant of the harness's config with extra [batch] lines (e.g. a
  // throttle) to <dir>/<file> and returns its path.
  std::string WriteConfig(const std::string& file, const std::string& batch_settings);

  // Runs `lastro <args> --config <cfg>` to completion (5 min deadline), with Env()
  // and `env` on top.
  CommandResult Lastro(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {});
  // Starts it without waiting.
  StatusOr<std::unique_ptr<Subprocess>> StartLastro(const std::vector<std::string>& args,
                                                    const std::string& log_name);

  // Rows per request_date in the published silver table / in PostgreSQL.
  std::map<std::string, int64_t> SilverCountsByDay();
  std::map<std::string, int64_t> PgCountsByDay(const std::string& where = "true");
  // A digest of the silver table's content, run ids excluded (equal = same rows).
  std::string SilverDigest();
  // The same for silver/credit_request_status_history.
  std::string SilverHistoryDigest();

  // A query over the lake through DuckDB; views silver_requests, silver_customers,
  // quarantine, quality, bronze_requests, bureau_scores, silver_history and
  // bronze_history (credit_request_status_history) exist when their tables do.
  StatusOr<lake::QueryResult> Lake(const std::string& sql);

  int64_t PgCount(const std::string& sql);
  // The first value of a query's first row, as text ("" on error or no row).
  std::string PgText(const std::string& sql);
  Status PgExec(const std::string& sql);

  const std::string& dsn() const { return dsn_; }
  const std::string& dir() const { return dir_; }
  const std::string& lake_dir() const { return lake_dir_; }
  const std::string& config() const { return config_; }
  // The governance state (key store, privacy requests): <dir>/governance.
  std::string governance_dir() const { return dir_ + "/governance"; }
  // BatchEnv() plus LASTRO_GOVERNANCE_DIR.
  std::map<std::string, std::string> Env() const;

 private:
  BatchHarness() = default;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<pg::Connection> conn_;
  std::unique_ptr<Subprocess> bureau_;
  std::unique_ptr<lake::Engine> engine_;
  std::string dsn_, dir_, lake_dir_, config_;
  std::string rules_, bureau_addr_, extra_toml_;
  bool statsd_ = false;
};

// The master key of the harnesses' key stores (64 hex characters).
inline constexpr const char* kTestMasterKey =
    "6c617374726f2d746573742d6d61737465722d6b65792d303132333435363738";

// The environment every `lastro batch` child gets: the tokenisation key and the master
// key, so contact PII reaches the lake sealed (BatchHarness adds its governance dir).
std::map<std::string, std::string> BatchEnv();

}  // namespace lastro::testing
