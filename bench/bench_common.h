// What the benchmarks that seed PostgreSQL and run `lastro` as a child process share
// (batch_bench, mart_bench): how busy the machine is, the credit seed (customers,
// requests, decisions in plain generate_series SQL), and a child run measured with
// wait4. Benchmark code only: nothing here is linked into the product.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace lastro::bench {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since);

// The 1, 5 and 15 minute load averages ("0.52 0.61 0.70").
std::string LoadAverage();

// The environment variable, or `fallback` when unset.
std::string Env(const char* name, const std::string& fallback);

// utime + stime of any process, seconds (0 when it is gone).
double ProcessCpu(int pid);

// Machine-wide CPU counters from /proc/stat: busy and total jiffies.
struct CpuCounters {
  int64_t busy = 0, total = 0;
  static CpuCounters Now();
  // Average number of busy cores since `start`.
  double CoresBusySince(const CpuCounters& start) const;
};

// Average busy cores over the next `window` (sleeps that long): how quiet the
// machine was before a benchmark began.
double CoresBusyOver(std::chrono::milliseconds window);

// "2026-11-29 16:05 UTC".
std::string UtcNow();

// "1.23x" (or "n/a" when b <= 0).
std::string Ratio(double a, double b);

// ---- the credit seed ----------------------------------------------------------------

// Customers, their requests and the decisions of the decided ones. Request i of
// [0, requests) is created at first_day 00:00 (-03:00, São Paulo) + i / requests * days
// days, so a range of i beyond `requests` continues the series into the next days.
struct CreditSeed {
  int64_t requests = 0;
  int64_t customers = 0;
  int days = 30;
  std::string first_day = "2026-11-01";  // YYYY-MM-DD
  // SQL over the customer's 1-based index `i`: its created_at (and updated_at).
  std::string customer_created_at = "timestamptz '2026-10-01 12:00:00-03'";
};

// INSERT of every customer of the seed.
std::string InsertCustomersSql(const CreditSeed& seed);
// INSERT of the requests with index in [from, to), on the seed's customers (the
// smallest customer id and up).
std::string InsertRequestsSql(const CreditSeed& seed, int64_t from, int64_t to);
// INSERT of a decision for every decided request matching `where` (SQL over
// credit_requests, unaliased).
std::string InsertDecisionsSql(const std::string& where);
// INSERT of the status-history row the stream writes (PENDING -> decision) for every
// decided request matching `where`.
std::string InsertHistorySql(const std::string& where);

// Inserts the whole seed with the four tables' keys, foreign keys and indexes
// dropped, rebuilds them, runs `also` (e.g. the seed's marker in lastro_state), all
// in one transaction (a failure leaves the database as it was); then VACUUM (FREEZE,
// ANALYZE) the four tables and CHECKPOINT, so neither hint-bit writes nor a
// checkpoint land inside the timings. `who` prefixes warnings.
Status SeedCredit(pg::Connection& conn, const CreditSeed& seed,
                  const std::vector<std::string>& also, const char* who);

// ---- child processes ----------------------------------------------------------------

struct ChildRun {
  int exit_code = -1;  // 128 + signal when killed
  double wall_s = 0, user_s = 0, sys_s = 0;
  int64_t max_rss_kb = 0;  // wait4 ru_maxrss
  std::string out, err;    // what it wrote
};

// Runs `args` (args[0] a path) to completion with the current environment minus the
// settings a run must decide (LASTRO_CONFIG, LASTRO_PG_DSN*, LASTRO_REPLICA_DSN*,
// LASTRO_LAKE_DIR*), plus `env`. Its stdout and stderr go to `<log_prefix>.out` and
// `.err`. `sample(pid)` is called about every 100 ms while it runs (RSS, CPU of its
// server backends ...). Errors: kInternal when it cannot be started or waited for.
StatusOr<ChildRun> RunChild(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::string& log_prefix,
                            const std::function<void(pid_t)>& sample = {});

// VmRSS of a process in KiB (0 when it is gone).
int64_t RssKb(int pid);

// The last line of a child's stderr (its error message), "" when empty.
std::string LastLine(const std::string& text);

}  // namespace lastro::bench
