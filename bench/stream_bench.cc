// bench/stream_bench: end-to-end throughput, latency, DB statements per decision
// and peak RSS of `lastro stream`, against a naive poller (naive_poller.h) run on
// the same load in the same run. Prints figures and ratios; asserts nothing.
//
// Per system, on a fresh database of the private cluster ($LASTRO_TEST_PG_DSN,
// set by scripts/run-bench), with one shared `lastro sim risk-api` (20 ms ± 5):
//   paced  the app inserts --paced-count requests at --rate/s while the system runs:
//          commit->decision latency at a steady load;
//   burst  the app inserts --count requests as fast as it can (--clients
//          connections) while the system runs: end-to-end decisions/s;
//   drain  the system is stopped, --count requests are inserted, the system is
//          started: how fast it clears a backlog (pipeline capacity, no app
//          competing for the CPU).
// Figures come from the database (created_at, decided_at, provider_latency_ms) and
// pg_stat_statements (filtered by the database's oid, the app's own statements
// excluded), so both systems are measured the same way.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "naive_poller.h"
#include "pg/connection.h"
#include "testing/subprocess.h"
#include "testing/test_database.h"
#include "testing/wait_for.h"

namespace lastro::bench {
namespace {

using testing::Subprocess;
using testing::TestDatabase;
using testing::WaitFor;

struct Options {
  int64_t count = 50000;        // burst and drain size
  int64_t paced_count = 30000;  // paced phase size
  double rate = 5000;           // paced phase, requests/s
  int clients = 8;              // the app's connections
  int customers = 5000;
  int max_in_flight = 256;  // [risk] max_in_flight, also the naive poller's bound
  int batch_max = 500;      // [stream] batch_max
  int batch_max_ms = 10;    // [stream] batch_max_ms
  int naive_writers = 8;
  double latency_ms = 20, jitter_ms = 5;
  std::string systems = "stream,naive";
};

struct Phase {
  std::string name;
  int64_t requests = 0;
  double app_per_s = 0;  // the app's insert rate during the phase
  double decisions_per_s = 0;
  double p50_ms = 0, p99_ms = 0;            // commit -> decision committed
  double prov_p50_ms = 0, prov_p99_ms = 0;  // provider latency as seen by the client
  double added_p99_ms = 0;                  // p99 of (end to end - provider) per request
  double statements_per_decision = 0;
  int64_t late = 0;  // stream, not draining: decided >= 10 s after commit (by the sweep)
  std::string top_statements;
};

struct SystemRun {
  std::string name;
  std::vector<Phase> phases;
  double peak_rss_mb = 0;
};

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

double PeakRssMb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Statements the app (`lastro sim requests`) and this program send are not counted,
// nor statements run inside others (foreign-key checks): round trips only.
constexpr char kNotCounted[] =
    "toplevel AND query NOT LIKE '%/*bench*/%' AND query NOT LIKE 'INSERT INTO credit_requests "
    "(customer_id%' "
    "AND query NOT LIKE 'INSERT INTO customers%' "
    "AND query NOT LIKE 'SELECT id, monthly_income_cents FROM customers%'";

class Scenario {
 public:
  Scenario(const Options& o, std::string risk_url) : o_(o), risk_url_(std::move(risk_url)) {}

  StatusOr<SystemRun> Run(const std::string& system) {
    system_ = system;
    SystemRun run;
    run.name = system;
    LASTRO_ASSIGN_OR_RETURN(db_, TestDatabase::Create("bench_" + system));
    dir_ = testing::TestDir("bench-" + system);
    LASTRO_ASSIGN_OR_RETURN(
        admin_, pg::Connection::Connect(Env("LASTRO_TEST_PG_DSN", ""), {"lastro-bench"}));
    oid_ = db_->Scalar("/*bench*/ SELECT oid FROM pg_database WHERE datname = current_database()");
    LASTRO_RETURN_IF_ERROR(StartSystem());

    LASTRO_ASSIGN_OR_RETURN(Phase paced, RunPhase(absl::StrCat("paced ", o_.rate, "/s"),
                                                  o_.paced_count, o_.rate, /*drain=*/false));
    run.phases.push_back(paced);
    LASTRO_ASSIGN_OR_RETURN(Phase burst, RunPhase("burst", o_.count, 0, false));
    run.phases.push_back(burst);
    run.peak_rss_mb = PeakRssMb(proc_->pid());
    LASTRO_ASSIGN_OR_RETURN(Phase drain, RunPhase("drain", o_.count, 0, true));
    run.phases.push_back(drain);
    run.peak_rss_mb = std::max(run.peak_rss_mb, PeakRssMb(proc_->pid()));
    StopSystem();
    return run;
  }

  ~Scenario() { StopSystem(); }

 private:
  Status StartSystem() {
    ++starts_;
    std::string prefix = absl::StrCat(dir_, "/", system_, starts_);
    if (system_ == "stream") {
      std::string config = dir_ + "/lastro.toml";
      std::ofstream(config) << "[pg]\nslot = \"" << db_->name() << "\"\n"
                            << "[stream]\npolicy_file = \"" << PolicyFile() << "\"\n"
                            << "batch_max = " << o_.batch_max << "\n"
                            << "batch_max_ms = " << o_.batch_max_ms
                            << "\n"
                            // A request the stream misses is recovered by the sweep:
                            // soon, so the run does not wait 2+ minutes for it.
                            << "sweep_interval_s = 5\nsweep_threshold_s = 10\n"
                            << "[risk]\nmax_in_flight = " << o_.max_in_flight << "\n"
                            << "[metrics]\nstatsd_enabled = false\n"
                            << "[http]\naddr = \"127.0.0.1:0\"\n";
      LASTRO_ASSIGN_OR_RETURN(
          proc_, Subprocess::Start({testing::LastroBin(), "stream", "--config", config},
                                   {{"LASTRO_PG_DSN", db_->dsn()}, {"LASTRO_RISK_URL", risk_url_}},
                                   prefix));
      if (!proc_->WaitForOutput("replication stream attached", std::chrono::seconds(60))) {
        return absl::UnavailableError("stream did not attach: " + proc_->Stderr());
      }
    } else {
      LASTRO_ASSIGN_OR_RETURN(
          proc_,
          Subprocess::Start({SelfExe(), "naive-poller", db_->dsn(), risk_url_, PolicyFile(),
                             std::to_string(o_.max_in_flight), std::to_string(o_.naive_writers)},
                            {}, prefix));
      if (!proc_->WaitForOutput("naive poller started", std::chrono::seconds(30))) {
        return absl::UnavailableError("naive poller did not start: " + proc_->Stderr());
      }
    }
    return absl::OkStatus();
  }

  void StopSystem() {
    if (!proc_) return;
    proc_->Signal(SIGTERM);
    if (!proc_->Wait(std::chrono::seconds(30))) proc_->Signal(SIGKILL);
    proc_.reset();
  }

  static std::string PolicyFile() { return Env("LASTRO_SOURCE_DIR", ".") + "/config/policy.toml"; }
  static std::string SelfExe() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, size_t(n)) : "stream_bench";
  }

  int64_t Int(const std::string& sql) {
    std::string v = db_->Scalar(sql);
    return v.empty() ? -1 : std::stoll(v);
  }

  // Runs the app to insert `n` requests (rate 0 = as fast as it can) and waits.
  Status Generate(int64_t n, double rate) {
    std::vector<std::string> argv = {testing::LastroBin(),
                                     "sim",
                                     "requests",
                                     "--count",
                                     std::to_string(n),
                                     "--customers",
                                     std::to_string(o_.customers),
                                     "--clients",
                                     std::to_string(o_.clients)};
    if (rate > 0) {
      argv.push_back("--rate");
      argv.push_back(std::to_string(rate));
    }
    LASTRO_ASSIGN_OR_RETURN(auto gen, Subprocess::Start(argv, {{"LASTRO_PG_DSN", db_->dsn()}},
                                                        absl::StrCat(dir_, "/gen", ++gens_)));
    auto code = gen->Wait(std::chrono::seconds(600));
    if (!code || *code != 0) return absl::InternalError("generator failed: " + gen->Stderr());
    std::smatch m;
    std::string out = gen->Stdout();
    if (!std::regex_search(out, m, std::regex(R"re("inserted":([0-9]+))re")) ||
        std::stoll(m[1].str()) != n) {
      return absl::InternalError("generator inserted fewer rows than asked: " + out);
    }
    return absl::OkStatus();  // the insert rate is measured from created_at
  }

  StatusOr<Phase> RunPhase(const std::string& name, int64_t n, double rate, bool drain) {
    Phase p;
    p.name = name;
    p.requests = n;
    int64_t first_id = Int("/*bench*/ SELECT coalesce(max(id), 0) FROM credit_requests") + 1;
    if (drain) StopSystem();
    LASTRO_RETURN_IF_ERROR(
        admin_->Exec("/*bench*/ SELECT pg_stat_statements_reset(0, $1::oid, 0)", {oid_}).status());
    if (drain) {
      LASTRO_RETURN_IF_ERROR(Generate(n, 0));
      start_ts_ = db_->Scalar("/*bench*/ SELECT now()");
      LASTRO_RETURN_IF_ERROR(StartSystem());
    } else {
      LASTRO_RETURN_IF_ERROR(Generate(n, rate));
    }
    std::string range = absl::StrCat(" r.id >= ", first_id, " ");
    std::string decided_sql = absl::StrCat(
        "/*bench*/ SELECT count(*) FROM credit_decisions d JOIN credit_requests r ON "
        "r.id = d.request_id WHERE r.status <> 'PENDING' AND",
        range);
    // Deadline: generous against a 500/s floor, so a stuck system ends the run.
    auto timeout = std::chrono::seconds(60 + n / 500);
    if (!WaitFor([&] { return Int(decided_sql) >= n || !proc_->running(); }, timeout,
                 std::chrono::milliseconds(50))) {
      return absl::DeadlineExceededError(absl::StrCat(system_, " ", name, ": only ",
                                                      Int(decided_sql), " of ", n,
                                                      " decided before the deadline"));
    }
    if (!proc_->running()) return absl::InternalError(system_ + " exited: " + proc_->Stderr());

    auto row = [&](const std::string& sql) -> std::vector<double> {
      auto conn = db_->Connect();
      std::vector<double> out;
      if (!conn.ok()) return out;
      auto r = (*conn)->Exec(sql);
      if (!r.ok() || r->rows() == 0) return out;
      for (int c = 0; c < r->columns(); ++c) out.push_back(std::stod(std::string(r->Get(0, c))));
      return out;
    };
    std::string from = absl::StrCat(
        " FROM credit_requests r JOIN credit_decisions d ON d.request_id = r.id WHERE", range);
    std::string origin =
        drain ? absl::StrCat("'", start_ts_, "'::timestamptz") : "min(r.created_at)";
    // Requests decided only by the reconciliation sweep are counted apart, and
    // left out of the span (they would measure the sweep's period, not throughput).
    std::string on_time =
        drain || system_ != "stream" ? "true" : "d.decided_at - r.created_at < interval '10 s'";
    auto t = row(
        absl::StrCat("/*bench*/ SELECT extract(epoch from max(r.created_at) - min(r.created_at)), "
                     "extract(epoch from max(d.decided_at) FILTER (WHERE ",
                     on_time, ") - ", origin,
                     "), "
                     "count(*) FILTER (WHERE NOT ",
                     on_time, ")", from));
    auto pct =
        row(absl::StrCat("/*bench*/ WITH s AS (SELECT extract(epoch from d.decided_at - "
                         "r.created_at) * 1000 AS e2e, "
                         "coalesce(d.provider_latency_ms, 0)::float8 AS prov",
                         from,
                         ") SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e2e), "
                         "percentile_cont(0.99) WITHIN GROUP (ORDER BY e2e), "
                         "percentile_cont(0.5) WITHIN GROUP (ORDER BY prov), "
                         "percentile_cont(0.99) WITHIN GROUP (ORDER BY prov), "
                         "percentile_cont(0.99) WITHIN GROUP (ORDER BY e2e - prov) FROM s"));
    if (t.size() == 3 && t[0] > 0) p.app_per_s = double(n) / t[0];
    if (t.size() == 3 && t[1] > 0) p.decisions_per_s = double(n - int64_t(t[2])) / t[1];
    if (t.size() == 3) p.late = int64_t(t[2]);
    if (pct.size() == 5) {
      p.p50_ms = pct[0];
      p.p99_ms = pct[1];
      p.prov_p50_ms = pct[2];
      p.prov_p99_ms = pct[3];
      p.added_p99_ms = pct[4];
    }
    auto stmts = admin_->Exec(absl::StrCat("/*bench*/ SELECT coalesce(sum(calls), 0) FROM "
                                           "pg_stat_statements WHERE dbid = $1::oid AND ",
                                           kNotCounted),
                              {oid_});
    if (stmts.ok() && stmts->rows() == 1) {
      p.statements_per_decision = double(stmts->GetInt(0, 0)) / double(n);
    }
    auto top = admin_->Exec(
        absl::StrCat("/*bench*/ SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
                     "FROM pg_stat_statements WHERE dbid = $1::oid AND ",
                     kNotCounted, " ORDER BY calls DESC LIMIT 4"),
        {oid_});
    if (top.ok()) {
      for (int i = 0; i < top->rows(); ++i) {
        p.top_statements += absl::StrCat("      ", std::string(top->Get(i, 0)), "  ",
                                         std::string(top->Get(i, 1)), "\n");
      }
    }
    return p;
  }

  const Options& o_;
  std::string risk_url_;
  std::string system_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<pg::Connection> admin_;
  std::unique_ptr<Subprocess> proc_;
  std::string dir_, oid_, start_ts_;
  int starts_ = 0, gens_ = 0;
};

std::string Ratio(double a, double b) {
  if (b <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", a / b);
  return buf;
}

const Phase* Find(const SystemRun& r, const std::string& prefix) {
  for (const Phase& p : r.phases) {
    if (p.name.rfind(prefix, 0) == 0) return &p;
  }
  return nullptr;
}

void Print(const Options& o, const std::vector<SystemRun>& runs) {
  std::printf("\n%-14s %-7s %8s %10s %12s %8s %8s %9s %9s %10s %6s\n", "phase", "system",
              "requests", "app ins/s", "decisions/s", "p50 ms", "p99 ms", "prov p99", "added p99",
              "stmts/dec", "late");
  for (const SystemRun& r : runs) {
    for (const Phase& p : r.phases) {
      std::printf("%-14s %-7s %8lld %10.0f %12.0f %8.1f %8.1f %9.1f %9.1f %10.4f %6lld\n",
                  p.name.c_str(), r.name.c_str(), (long long)p.requests, p.app_per_s,
                  p.decisions_per_s, p.p50_ms, p.p99_ms, p.prov_p99_ms, p.added_p99_ms,
                  p.statements_per_decision, (long long)p.late);
    }
  }
  std::printf(
      "(drain: latency includes the backlog's queueing; decisions/s counts from the "
      "system's start. late (stream): decided >= 10 s after commit, i.e. missed and "
      "recovered by the reconciliation sweep; left out of decisions/s)\n\n"
      "statements counted (most frequent, per phase):\n");
  for (const SystemRun& r : runs) {
    for (const Phase& p : r.phases) {
      std::printf("  %s / %s\n%s", r.name.c_str(), p.name.c_str(), p.top_statements.c_str());
    }
  }
  std::printf("\npeak RSS (VmHWM):");
  for (const SystemRun& r : runs) std::printf("  %s %.1f MB", r.name.c_str(), r.peak_rss_mb);
  std::printf("\n");
  if (runs.size() != 2) return;
  const SystemRun& s = runs[0];
  const SystemRun& b = runs[1];
  std::printf("\nratios %s/%s:\n", s.name.c_str(), b.name.c_str());
  for (const char* ph : {"paced", "burst", "drain"}) {
    const Phase* ps = Find(s, ph);
    const Phase* pb = Find(b, ph);
    if (!ps || !pb) continue;
    std::printf("  %-6s decisions/s %s   statements/decision %s   p50 %s   p99 %s\n", ph,
                Ratio(ps->decisions_per_s, pb->decisions_per_s).c_str(),
                Ratio(ps->statements_per_decision, pb->statements_per_decision).c_str(),
                Ratio(ps->p50_ms, pb->p50_ms).c_str(), Ratio(ps->p99_ms, pb->p99_ms).c_str());
  }
  const Phase* burst = Find(s, "burst");
  const Phase* drain = Find(s, "drain");
  const Phase* paced = Find(s, "paced");
  if (!burst || !drain || !paced) return;
  auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  std::printf("\ntargets (%s):\n", s.name.c_str());
  double best = std::max(burst->decisions_per_s, drain->decisions_per_s);
  std::printf("  >= 5000 decisions/s          burst %.0f, drain %.0f   %s\n",
              burst->decisions_per_s, drain->decisions_per_s, verdict(best >= 5000));
  double spd = std::max(paced->statements_per_decision, burst->statements_per_decision);
  std::printf("  <= 0.05 statements/decision  paced %.4f, burst %.4f   %s\n",
              paced->statements_per_decision, burst->statements_per_decision, verdict(spd <= 0.05));
  std::printf("  p99 added <= 100 ms          paced %.1f ms (at %.0f/s)   %s\n",
              paced->added_p99_ms, o.rate, verdict(paced->added_p99_ms <= 100));
  std::printf("  RSS <= 150 MB                %.1f MB   %s\n", s.peak_rss_mb,
              verdict(s.peak_rss_mb <= 150));
}

int Usage() {
  std::fprintf(stderr,
               "usage: stream_bench [--quick] [--count N] [--paced-count N] [--rate R]\n"
               "  [--clients K] [--customers C] [--max-in-flight M] [--batch-max B]\n"
               "  [--batch-max-ms MS] [--naive-writers W] [--systems stream,naive]\n"
               "env: LASTRO_TEST_PG_DSN (the private cluster), LASTRO_BIN, LASTRO_SOURCE_DIR\n");
  return 2;
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int Main(int argc, char** argv) {
  if (argc >= 7 && std::string(argv[1]) == "naive-poller") {
    std::signal(SIGTERM, OnSignal);
    std::signal(SIGINT, OnSignal);
    NaivePollerOptions po;
    po.dsn = argv[2];
    po.risk_url = argv[3];
    po.policy_file = argv[4];
    po.max_in_flight = std::atoi(argv[5]);
    po.writers = std::atoi(argv[6]);
    Status s = RunNaivePoller(po, g_stop);
    if (!s.ok()) std::fprintf(stderr, "naive poller: %s\n", std::string(s.message()).c_str());
    return s.ok() ? 0 : 1;
  }
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "--quick") {
      o.count = 10000;
      o.paced_count = 10000;
    } else if (a == "--count")
      o.count = std::stoll(next());
    else if (a == "--paced-count")
      o.paced_count = std::stoll(next());
    else if (a == "--rate")
      o.rate = std::stod(next());
    else if (a == "--clients")
      o.clients = std::stoi(next());
    else if (a == "--customers")
      o.customers = std::stoi(next());
    else if (a == "--max-in-flight")
      o.max_in_flight = std::stoi(next());
    else if (a == "--batch-max")
      o.batch_max = std::stoi(next());
    else if (a == "--batch-max-ms")
      o.batch_max_ms = std::stoi(next());
    else if (a == "--naive-writers")
      o.naive_writers = std::stoi(next());
    else if (a == "--systems")
      o.systems = next();
    else
      return Usage();
  }
  if (std::getenv("LASTRO_TEST_PG_DSN") == nullptr) return Usage();

  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("stream_bench %s, %ld cores\n", date, sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("load: paced %lld at %.0f/s, burst %lld, drain %lld; app %d clients, %d customers\n",
              (long long)o.paced_count, o.rate, (long long)o.count, (long long)o.count, o.clients,
              o.customers);
  std::printf(
      "risk sim: %.0f ms +- %.0f; stream: [risk] max_in_flight=%d [stream] batch_max=%d "
      "batch_max_ms=%d (rest default); naive: poll 100 ms, max_in_flight=%d, %d writers\n",
      o.latency_ms, o.jitter_ms, o.max_in_flight, o.batch_max, o.batch_max_ms, o.max_in_flight,
      o.naive_writers);
  std::fflush(stdout);

  std::string dir = testing::TestDir("bench-risk");
  auto risk =
      Subprocess::Start({testing::LastroBin(), "sim", "risk-api", "--port", "0", "--latency-ms",
                         std::to_string(o.latency_ms), "--jitter-ms", std::to_string(o.jitter_ms)},
                        {}, dir + "/risk");
  if (!risk.ok() || !(*risk)->WaitForOutput("\"listening\"", std::chrono::seconds(10))) {
    std::fprintf(stderr, "risk simulator did not start\n");
    return 1;
  }
  std::smatch m;
  std::string out = (*risk)->Stdout();
  if (!std::regex_search(out, m, std::regex(R"re("listening":"([0-9.]+:[0-9]+)")re"))) {
    std::fprintf(stderr, "cannot read the simulator's port\n");
    return 1;
  }
  std::string risk_url = "http://" + m[1].str();

  std::vector<SystemRun> runs;
  for (const std::string system : {"stream", "naive"}) {
    if (o.systems.find(system) == std::string::npos) continue;
    std::fprintf(stderr, "running %s...\n", system.c_str());
    Scenario scenario(o, risk_url);
    auto run = scenario.Run(system);
    if (!run.ok()) {
      std::fprintf(stderr, "%s: %s\n", system.c_str(), std::string(run.status().message()).c_str());
      return 1;
    }
    runs.push_back(*run);
  }
  (*risk)->Signal(SIGTERM);
  Print(o, runs);
  return 0;
}

}  // namespace
}  // namespace lastro::bench

int main(int argc, char** argv) { return lastro::bench::Main(argc, argv); }
