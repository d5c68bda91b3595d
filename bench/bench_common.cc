#include "bench_common.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace lastro::bench {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

double ProcessCpu(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(in)), {});
  size_t p = all.rfind(')');  // the command name may hold spaces
  if (p == std::string::npos) return 0;
  std::istringstream fields(all.substr(p + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
  int64_t utime = 0, stime = 0;
  fields >> utime >> stime;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

CpuCounters CpuCounters::Now() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  int64_t v[8] = {};
  in >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7];
  CpuCounters c;
  for (int64_t x : v) c.total += x;
  c.busy = c.total - v[3] - v[4];  // minus idle and iowait
  return c;
}

double CpuCounters::CoresBusySince(const CpuCounters& start) const {
  if (total <= start.total) return 0;
  return double(busy - start.busy) / double(total - start.total) *
         double(sysconf(_SC_NPROCESSORS_ONLN));
}

double CoresBusyOver(std::chrono::milliseconds window) {
  CpuCounters start = CpuCounters::Now();
  std::this_thread::sleep_for(window);
  return CpuCounters::Now().CoresBusySince(start);
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return date;
}

std::string Ratio(double a, double b) {
  if (b <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", a / b);
  return buf;
}

// ---- the credit seed ----------------------------------------------------------------

namespace {

constexpr char kTables[] =
    "'customers'::regclass, 'credit_requests'::regclass, "
    "'credit_decisions'::regclass, 'credit_request_status_history'::regclass";

// The two check digits d1, d2 of the nine digits in column `b`, so that b || d1 || d2 is
// a valid CPF (the rule of lastro_cpf_is_valid), in set-based SQL: no function call
// per row.
std::string CpfSql() {
  std::vector<std::string> s1, s2;
  for (int k = 1; k <= 9; ++k) {
    s1.push_back(absl::StrCat("substr(b, ", k, ", 1)::int * ", 11 - k));
    s2.push_back(absl::StrCat("substr(b, ", k, ", 1)::int * ", 12 - k));
  }
  return absl::StrCat("CROSS JOIN LATERAL (SELECT ((", absl::StrJoin(s1, " + "),
                      ") * 10 % 11) % 10 AS d1) x1 CROSS JOIN LATERAL (SELECT ((",
                      absl::StrJoin(s2, " + "), " + d1 * 2) * 10 % 11) % 10 AS d2) x2");
}

}  // namespace

std::string InsertCustomersSql(const CreditSeed& seed) {
  return absl::StrCat(
      "INSERT INTO customers (cpf, full_name, email, birth_date, monthly_income_cents, state, "
      "acquisition_channel, created_at, updated_at) "
      "SELECT b || d1 || d2, 'Cliente ' || i, 'c' || i || '@example.com', "
      "date '1960-01-01' + (i % 15000)::int, 300000 + (i % 50) * 10000, "
      "(ARRAY['SP','RJ','MG','RS','PR'])[1 + i % 5], "
      "(ARRAY['organic','paid_search','social','referral','partner','tv'])[1 + i % 6], ",
      seed.customer_created_at, ", ", seed.customer_created_at, " FROM generate_series(1::bigint, ",
      seed.customers,
      ") i CROSS JOIN LATERAL (SELECT lpad(((100000000 + i * 7919) % 1000000000)::text, 9, "
      "'0') AS b) x0 ",
      CpfSql());
}

std::string InsertRequestsSql(const CreditSeed& seed, int64_t from, int64_t to) {
  return absl::StrCat(
      "INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, channel, "
      "declared_income_cents, status, version, created_at, updated_at, decided_at) "
      "SELECT f.first + i % ",
      seed.customers,
      ", 100000 + (i * 37) % 5000000, 6 + i % 48, "
      "(ARRAY['personal','debt_consolidation','vehicle','home_improvement','education',"
      "'business','medical','other'])[1 + i % 8], "
      "(ARRAY['app_ios','app_android','web','partner','call_center'])[1 + i % 5], "
      "CASE WHEN i % 10 = 0 THEN NULL ELSE 500000 + (i % 100) * 1000 END, s.status, "
      "CASE WHEN s.status = 'PENDING' THEN 1 ELSE 2 END, t.ts, "
      "t.ts + CASE WHEN s.status = 'PENDING' THEN interval '0' ELSE interval '2 s' END, "
      "CASE WHEN s.status <> 'PENDING' THEN t.ts + interval '2 s' END "
      "FROM (SELECT min(id) AS first FROM customers) f, generate_series(",
      from, "::bigint, ", to - 1, ") i CROSS JOIN LATERAL (SELECT timestamptz '", seed.first_day,
      " 00:00:00-03' + (i::float8 / ", seed.requests, ") * interval '", seed.days,
      " days' AS ts) t CROSS JOIN LATERAL (SELECT (ARRAY['APPROVED','APPROVED','REJECTED',"
      "'MANUAL_REVIEW','APPROVED','PENDING','APPROVED','REJECTED','APPROVED','FAILED'])"
      "[1 + i % 10] AS status) s");
}

std::string InsertDecisionsSql(const std::string& where) {
  return absl::StrCat(
      "INSERT INTO credit_decisions (request_id, decision, score, risk_band, "
      "probability_of_default, reason_codes, provider_reason_codes, first_time_customer, "
      "provider_ref, provider_model_version, policy_version, attempts, provider_latency_ms, "
      "decided_at) "
      "SELECT id, status, (id * 7) % 1001, 'B', 0.05, ARRAY['DEFAULT_APPROVED'], "
      "ARRAY['STABLE_INCOME'], false, 'ref-' || id, 'sim-1', 'seed', 1, 12.5, decided_at "
      "FROM credit_requests WHERE status <> 'PENDING'",
      where.empty() ? "" : absl::StrCat(" AND (", where, ")"));
}

std::string InsertHistorySql(const std::string& where) {
  return absl::StrCat(
      "INSERT INTO credit_request_status_history (request_id, from_status, to_status, "
      "changed_by, reason, changed_at) "
      "SELECT id, 'PENDING', status, 'lastro-stream', 'policy seed', decided_at "
      "FROM credit_requests WHERE status <> 'PENDING'",
      where.empty() ? "" : absl::StrCat(" AND (", where, ")"));
}

Status SeedCredit(pg::Connection& conn, const CreditSeed& seed,
                  const std::vector<std::string>& also, const char* who) {
  std::vector<std::string> drop, create;
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result cons,
      conn.Exec(absl::StrCat(
          "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
          "FROM pg_constraint WHERE contype IN ('p', 'u', 'f') AND (conrelid IN (",
          kTables, ") OR confrelid IN (", kTables,
          ")) ORDER BY CASE contype WHEN 'f' THEN 0 ELSE 1 END, conname")));
  for (int i = 0; i < cons.rows(); ++i) {
    std::string rel(cons.Get(i, 0)), name(cons.Get(i, 1)), def(cons.Get(i, 2));
    drop.push_back(absl::StrCat("ALTER TABLE ", rel, " DROP CONSTRAINT ", name));
    create.insert(create.begin(),
                  absl::StrCat("ALTER TABLE ", rel, " ADD CONSTRAINT ", name, " ", def));
  }
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result idx,
      conn.Exec(absl::StrCat("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) "
                             "FROM pg_index i WHERE indrelid IN (",
                             kTables,
                             ") AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE "
                             "c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))")));
  for (int i = 0; i < idx.rows(); ++i) {
    drop.push_back(absl::StrCat("DROP INDEX ", std::string(idx.Get(i, 0))));
    create.push_back(std::string(idx.Get(i, 1)));
  }

  std::vector<std::string> sql = {"BEGIN", "SET LOCAL maintenance_work_mem = '512MB'",
                                  "SET LOCAL work_mem = '256MB'"};
  sql.insert(sql.end(), drop.begin(), drop.end());
  sql.push_back(InsertCustomersSql(seed));
  sql.push_back(InsertRequestsSql(seed, 0, seed.requests));
  sql.push_back(InsertDecisionsSql(""));
  sql.push_back(InsertHistorySql(""));
  sql.insert(sql.end(), create.begin(), create.end());
  sql.insert(sql.end(), also.begin(), also.end());
  sql.push_back("COMMIT");
  for (const std::string& s : sql) {
    Status st = conn.Exec(s).status();
    if (!st.ok()) {
      IgnoreError(conn.Exec("ROLLBACK").status());
      return absl::InternalError(absl::StrCat(st.message(), " in: ", s.substr(0, 120)));
    }
  }
  for (const char* t :
       {"customers", "credit_requests", "credit_decisions", "credit_request_status_history"}) {
    LASTRO_RETURN_IF_ERROR(conn.Exec(absl::StrCat("VACUUM (FREEZE, ANALYZE) ", t)).status());
  }
  // Needs superuser or pg_checkpoint (PostgreSQL 15); without it the timings may only
  // include a checkpoint's writes.
  if (Status s = conn.Exec("CHECKPOINT").status(); !s.ok()) {
    std::fprintf(stderr, "%s: no CHECKPOINT after the seed: %s\n", who,
                 std::string(s.message()).c_str());
  }
  return absl::OkStatus();
}

// ---- child processes ----------------------------------------------------------------

int64_t RssKb(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

std::string LastLine(const std::string& text) {
  std::string t = text.substr(0, text.find_last_not_of('\n') + 1);
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

StatusOr<ChildRun> RunChild(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::string& log_prefix,
                            const std::function<void(pid_t)>& sample) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    // Settings this run decides; an operator's LASTRO_CONFIG or replica must not leak in.
    if (env.count(key) || key == "LASTRO_CONFIG" || key.rfind("LASTRO_REPLICA_DSN", 0) == 0 ||
        key.rfind("LASTRO_PG_DSN", 0) == 0 || key.rfind("LASTRO_LAKE_DIR", 0) == 0) {
      continue;
    }
    envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string out = log_prefix + ".out", err = log_prefix + ".err";
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);

  ChildRun run;
  auto start = Clock::now();
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return absl::InternalError(absl::StrCat("cannot start ", args[0], ": ", rc));

  int status = 0;
  rusage ru{};
  for (;;) {
    pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) break;
    if (r < 0) return absl::InternalError("wait4 failed");
    if (sample) sample(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  run.wall_s = Seconds(start);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.user_s = double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6;
  run.sys_s = double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6;
  run.max_rss_kb = ru.ru_maxrss;
  std::ifstream o(out), e(err);
  run.out = std::string((std::istreambuf_iterator<char>(o)), {});
  run.err = std::string((std::istreambuf_iterator<char>(e)), {});
  return run;
}

}  // namespace lastro::bench
