// bench/batch_bench: Stage 2, extract -> silver. Throughput (requests/s) and peak RSS
// of `lastro batch run`, against the physical reference measured in the same run:
// the data the batch extracts read the plain way, one `COPY (SELECT ...) TO STDOUT`
// (text) per source table, with libpq in one REPEATABLE READ transaction, discarded. Prints figures
// and ratios; asserts nothing.
//
//   seed       a fresh database on the private cluster ($LASTRO_TEST_PG_DSN), or the
//              empty one --dsn names, migrated; --requests requests (default 5M) from
//              --customers customers (default requests / 5), decisions for the
//              decided ones and their status-history row (PENDING -> decision, as the
//              stream writes it), spread evenly over --days business days from
//              2026-11-01 (America/Sao_Paulo). Plain generate_series SQL in one
//              transaction, with the four tables' keys and indexes dropped around the
//              load and rebuilt after; then VACUUM (FREEZE, ANALYZE) and CHECKPOINT so neither
//              hint-bit writes nor a checkpoint land inside the timings. A --dsn database that
//              already holds this seed (recorded in lastro_state) is reused as is.
//   reference  four text COPY statements - the requests in scope, their decisions,
//              their customers, their status history (daily_batch.cc's backfill
//              predicate) - before and after the batch; the faster of the two is the baseline. The
//              extractor itself reads the same rows differently (binary, requests joined with their
//              decisions: ADR 0018); the reference is the plain reading of the data.
//   batch      `lastro batch run --from D1 --to Dn --no-enrich` as a child process, on a
//              fresh lake, with [lake] memory_limit = --memory-limit (default 1GB, the
//              product's default): wall time, requests published / s, CPU, peak RSS
//              (wait4 ru_maxrss) and peak VmRSS per phase (sampled every 100 ms), the
//              server backend's CPU, and the manifest's phases and outputs.
// Exit code 0 whatever the figures; 1 when something could not be measured (the
// database, the seed, or a batch run that failed: its figures are printed first).
// The bureau is skipped (--no-enrich): a bureau call for every customer would measure
// the bureau simulator, not the pipeline.
//
// Usage: batch_bench [--requests N] [--quick] [--customers C] [--days D]
//                    [--memory-limit 1GB] [--threads T] [--dsn DSN] [--keep]
// env: LASTRO_TEST_PG_DSN, LASTRO_BIN, LASTRO_SOURCE_DIR, LASTRO_TEST_TMP (scripts/run-bench)
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "bench_common.h"
#include "pg/connection.h"
#include "pg/migrations.h"
#include "testing/subprocess.h"
#include "testing/test_database.h"

namespace lastro::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kFirstDay[] = "2026-11-01";
constexpr char kZone[] = "America/Sao_Paulo";
// Recorded with the seed, so a database seeded before the history was part of it is
// not taken for this seed.
constexpr char kSeedVersion[] = "history";

struct Options {
  int64_t requests = 5'000'000;
  int64_t customers = 0;  // 0 = requests / 5
  int days = 30;
  std::string memory_limit = "1GB";
  int threads = 0;  // [lake] threads; 0 = the default (one per core)
  std::string dsn;  // use this database instead of a fresh one
  bool keep = false;
};

// ---- seed --------------------------------------------------------------------------

// The seed of bench_common.h, spread over --days days from kFirstDay, with its marker
// in lastro_state written in the same transaction.
Status Seed(pg::Connection& conn, const Options& o, int64_t customers) {
  CreditSeed seed{
      .requests = o.requests, .customers = customers, .days = o.days, .first_day = kFirstDay};
  return SeedCredit(conn, seed,
                    {absl::StrCat("INSERT INTO lastro_state (key, value) VALUES "
                                  "('bench.batch_seed', '",
                                  o.requests, "/", customers, "/", o.days, "/", kSeedVersion,
                                  "') ON CONFLICT (key) DO UPDATE SET value = excluded.value")},
                    "batch_bench");
}

// ---- the physical reference --------------------------------------------------------

// The backfill scope predicate of daily_batch.cc (ScopePredicate) for [first, last].
std::string ScopePredicate(const std::string& first_day, int days) {
  absl::TimeZone zone;
  absl::LoadTimeZone(kZone, &zone);
  absl::CivilDay first;
  absl::ParseCivilTime(first_day, &first);
  auto instant = [&](absl::CivilDay d) {
    return absl::StrCat(
        "'",
        absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromCivil(d, zone), absl::UTCTimeZone()),
        "'");
  };
  std::string start = instant(first), end = instant(first + days);
  return absl::StrCat("((r.created_at >= ", start, " AND r.created_at < ", end,
                      ") OR (r.created_at IS NULL AND r.updated_at >= ", start,
                      " AND r.updated_at < ", end, "))");
}

// The batch's data, one plain text COPY per source table (contact PII off).
std::vector<std::string> ExtractStatements(const std::string& pred) {
  return {
      absl::StrCat("COPY (SELECT r.id, r.customer_id, r.amount_cents, r.term_months, r.purpose, "
                   "r.channel, r.declared_income_cents, r.status, r.version, r.created_at, "
                   "r.updated_at, r.decided_at FROM credit_requests r WHERE ",
                   pred, ") TO STDOUT"),
      absl::StrCat("COPY (SELECT d.request_id, d.decision, d.score, d.risk_band, "
                   "d.probability_of_default, array_to_json(d.reason_codes), "
                   "array_to_json(d.provider_reason_codes), d.first_time_customer, "
                   "d.provider_ref, d.provider_model_version, d.policy_version, d.attempts, "
                   "d.provider_latency_ms, d.decided_at FROM credit_decisions d JOIN "
                   "credit_requests r ON r.id = d.request_id WHERE ",
                   pred, ") TO STDOUT"),
      absl::StrCat("COPY (SELECT c.id, c.cpf, c.birth_date, c.state, c.acquisition_channel, "
                   "c.created_at, c.updated_at FROM customers c WHERE c.id IN (SELECT "
                   "r.customer_id FROM credit_requests r WHERE ",
                   pred, ")) TO STDOUT"),
      absl::StrCat("COPY (SELECT h.id, h.request_id, h.from_status, h.to_status, h.changed_at, "
                   "h.changed_by, h.reason, r.created_at FROM credit_request_status_history h "
                   "JOIN credit_requests r ON r.id = h.request_id WHERE ",
                   pred, ") TO STDOUT")};
}

struct Reference {
  int64_t rows[4] = {0, 0, 0, 0};  // requests, decisions, customers, status history
  double seconds[4] = {0, 0, 0, 0};
  int64_t bytes = 0;
  double total_s = 0, server_cpu_s = 0, cores_busy = 0;
  double requests_per_s() const { return total_s > 0 ? double(rows[0]) / total_s : 0; }
};

StatusOr<Reference> RawCopy(const std::string& dsn, const std::string& pred) {
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(dsn, {"lastro-bench-copy"}));
  LASTRO_ASSIGN_OR_RETURN(pg::Result pid, conn->Exec("SELECT pg_backend_pid()"));
  int backend = int(pid.GetInt(0, 0));
  Reference ref;
  CpuCounters cpu0 = CpuCounters::Now();
  double server0 = ProcessCpu(backend);
  auto start = Clock::now();
  LASTRO_RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                                    "SET LOCAL TimeZone = 'UTC'")
                             .status());
  std::vector<std::string> statements = ExtractStatements(pred);
  for (size_t i = 0; i < statements.size(); ++i) {
    auto t = Clock::now();
    LASTRO_RETURN_IF_ERROR(conn->CopyOut(statements[i], [&](std::string_view chunk) -> Status {
      ref.bytes += int64_t(chunk.size());
      for (char ch : chunk) ref.rows[i] += ch == '\n';
      return absl::OkStatus();
    }));
    ref.seconds[i] = Seconds(t);
  }
  LASTRO_RETURN_IF_ERROR(conn->Exec("COMMIT").status());
  ref.total_s = Seconds(start);
  ref.server_cpu_s = ProcessCpu(backend) - server0;
  ref.cores_busy = CpuCounters::Now().CoresBusySince(cpu0);
  return ref;
}

// ---- the batch ---------------------------------------------------------------------

struct BatchRun {
  int exit_code = -1;
  double wall_s = 0, user_s = 0, sys_s = 0, cores_busy = 0, server_cpu_s = 0;
  int64_t max_rss_kb = 0;
  // Per stretch of the run, in order: "extract", "after extract" (between two
  // phases), ... as the run's log names them; sampled every 100 ms.
  struct Stretch {
    std::string name;
    double wall_s = 0;
    double lastro_cpu_s = 0;  // user + sys of the lastro process
    double server_cpu_s = 0;  // of its server backends (both extract connections)
    int64_t peak_rss_kb = 0;  // VmRSS
  };
  std::vector<Stretch> stretches;
  nlohmann::json manifest;
  std::string err;
};

// Follows the run's JSON log ("batch phase started"/"batch phase done" lines) to name
// the stretch of the run a sample belongs to.
class PhaseFollower {
 public:
  explicit PhaseFollower(const std::string& path) : in_(path) {}
  const std::string& Current() {
    std::string line;
    while (true) {
      std::streampos at = in_.tellg();
      if (!std::getline(in_, line) || in_.eof()) {  // a partial last line: reread later
        in_.clear();
        in_.seekg(at);
        break;
      }
      bool started = line.find("\"batch phase started\"") != std::string::npos;
      bool done = line.find("\"batch phase done\"") != std::string::npos;
      size_t p = line.find("\"phase\":\"");
      if ((!started && !done) || p == std::string::npos) continue;
      std::string name = line.substr(p + 9, line.find('"', p + 9) - p - 9);
      current_ = started ? name : "after " + name;
    }
    return current_;
  }

 private:
  std::ifstream in_;
  std::string current_ = "start";
};

// Runs `lastro batch run` to completion, sampling the CPU of its server backend
// (application_name lastro-batch) and its own RSS until the child exits.
StatusOr<BatchRun> RunBatch(const std::string& dsn, const std::string& dir, const std::string& lake,
                            const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env) {
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(dsn, {"lastro-bench-watch"}));
  BatchRun run;
  std::map<int, double> backend_cpu;   // last CPU seen per backend pid
  std::optional<PhaseFollower> phase;  // opened once the child created its stderr
  CpuCounters cpu0 = CpuCounters::Now();
  double lastro_cpu = 0;
  auto last_sample = Clock::now();
  LASTRO_ASSIGN_OR_RETURN(
      ChildRun child, RunChild(args, env, dir + "/batch", [&](pid_t pid) {
        if (!phase) phase.emplace(dir + "/batch.err");
        const std::string& now = phase->Current();
        if (run.stretches.empty() || run.stretches.back().name != now) {
          run.stretches.push_back({.name = now});
        }
        BatchRun::Stretch& stretch = run.stretches.back();
        // What happened since the previous sample is filed under the current stretch.
        const auto t = Clock::now();
        stretch.wall_s += std::chrono::duration<double>(t - last_sample).count();
        last_sample = t;
        stretch.peak_rss_kb = std::max(stretch.peak_rss_kb, RssKb(pid));
        if (double c = ProcessCpu(pid); c > 0) {
          stretch.lastro_cpu_s += c - lastro_cpu;
          lastro_cpu = c;
        }
        auto pids = conn->Exec(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'lastro-batch' "
            "AND datname = current_database()");
        if (pids.ok()) {
          for (int i = 0; i < pids->rows(); ++i) {
            int p = int(pids->GetInt(i, 0));
            double c = ProcessCpu(p);
            if (c <= 0) continue;
            stretch.server_cpu_s += c - backend_cpu[p];
            backend_cpu[p] = c;
          }
        }
      }));
  run.cores_busy = CpuCounters::Now().CoresBusySince(cpu0);
  for (const auto& [p, c] : backend_cpu) run.server_cpu_s += c;
  run.exit_code = child.exit_code;
  run.wall_s = child.wall_s;
  run.user_s = child.user_s;
  run.sys_s = child.sys_s;
  run.max_rss_kb = child.max_rss_kb;
  run.err = child.err;
  // The lake is fresh: its one run folder holds the manifest, written on failure too.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(lake) / "_runs", ec)) {
    std::ifstream m(entry.path() / "manifest.json");
    if (m) run.manifest = nlohmann::json::parse(m, nullptr, /*allow_exceptions=*/false);
  }
  if (!run.manifest.is_object() && run.exit_code == 0) {
    return absl::InternalError("no readable manifest under " + lake + "/_runs");
  }
  return run;
}

// DuckDB's reading of a memory limit, in bytes ("1GB" = 10^9, "1GiB" = 2^30); 0 when
// unreadable.
double MemoryLimitBytes(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end);
  unit.erase(0, unit.find_first_not_of(' '));
  for (char& ch : unit) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  const std::vector<std::string> units = {"b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib"};
  for (size_t i = 0; i < units.size(); ++i) {
    if (unit == units[i]) return v * (i < 5 ? std::pow(1000.0, i) : std::pow(1024.0, i - 4));
  }
  return 0;
}

void PrintReference(const char* label, const Reference& r) {
  std::printf("  %-7s %9.2f %9.2f %9.2f %9.2f %9.2f %8.0f %11.0f %11.0f %9.1f %6.2f\n", label,
              r.seconds[0], r.seconds[1], r.seconds[2], r.seconds[3], r.total_s,
              double(r.bytes) / 1e6, r.requests_per_s(),
              double(r.rows[0] + r.rows[1] + r.rows[2] + r.rows[3]) / r.total_s, r.server_cpu_s,
              r.cores_busy);
}

void PrintOutputs(const nlohmann::json& manifest) {
  std::printf("\noutputs (manifest):\n  %-38s %10s %9s %6s %6s %10s\n", "zone/table", "rows", "MB",
              "files", "parts", "files/part");
  for (const auto& out : manifest["outputs"]) {
    std::set<std::string> parts;
    int64_t bytes = 0;
    for (const auto& f : out["files"]) {
      std::string path = f["path"].get<std::string>();
      size_t slash = path.rfind('/');
      parts.insert(slash == std::string::npos ? "" : path.substr(0, slash));
      bytes += f["bytes"].get<int64_t>();
    }
    size_t files = out["files"].size();
    std::printf("  %-38s %10lld %9.1f %6zu %6zu %10.1f\n",
                (out["zone"].get<std::string>() + "/" + out["table"].get<std::string>()).c_str(),
                (long long)out["rows"].get<int64_t>(), double(bytes) / 1e6, files, parts.size(),
                parts.empty() ? 0.0 : double(files) / double(parts.size()));
  }
}

void Report(const Options& o, const Reference& before, const Reference& after,
            const BatchRun& batch) {
  const Reference& best = before.requests_per_s() >= after.requests_per_s() ? before : after;
  const nlohmann::json& m = batch.manifest;
  auto count = [&](const char* key) -> int64_t {
    return m.is_object() ? m["counts"].value(key, int64_t{0}) : 0;
  };
  double phases_total = 0, extract_s = 0;
  if (m.is_object()) {
    for (const auto& p : m["phases"]) {
      phases_total += p["seconds"].get<double>();
      if (p["name"] == "extract") extract_s = p["seconds"].get<double>();
    }
  }

  std::printf(
      "\nphysical reference: the batch's rows as 4 text COPY ... TO STDOUT, one REPEATABLE READ "
      "transaction, libpq, discarded\n");
  std::printf("  %-7s %9s %9s %9s %9s %9s %8s %11s %11s %9s %6s\n", "run", "req s", "dec s",
              "cust s", "hist s", "total s", "MB", "requests/s", "rows/s", "srv CPU s", "cores");
  PrintReference("before", before);
  PrintReference("after", after);
  std::printf("  rows: %lld requests, %lld decisions, %lld customers, %lld history rows",
              (long long)best.rows[0], (long long)best.rows[1], (long long)best.rows[2],
              (long long)best.rows[3]);
  if (m.is_object()) {
    std::printf(" (batch extracted:");
    for (const auto& in : m["inputs"]) {
      std::printf(" %s %lld", in["name"].get<std::string>().c_str(),
                  (long long)in["rows"].get<int64_t>());
    }
    std::printf(")");
  }
  std::printf("\n");

  double batch_rps = double(count("published")) / batch.wall_s;
  double rss_mb = double(batch.max_rss_kb) * 1024 / 1e6;
  double limit_mb = MemoryLimitBytes(o.memory_limit) / 1e6;
  std::printf("\nlastro batch run (run %s, %s):\n",
              m.is_object() ? m.value("run_id", "?").c_str() : "?",
              batch.exit_code == 0 ? "SUCCEEDED" : "FAILED");
  if (batch.exit_code != 0) {
    std::printf("  exit code %d: %s\n", batch.exit_code, LastLine(batch.err).c_str());
  }
  std::printf("  wall %.1f s; published %lld, quarantined %lld; %.0f requests/s\n", batch.wall_s,
              (long long)count("published"), (long long)count("quarantined"), batch_rps);
  std::printf(
      "  CPU: lastro user %.1f s + sys %.1f s; server backend %.1f s; machine %.2f of "
      "%ld cores busy on average\n",
      batch.user_s, batch.sys_s, batch.server_cpu_s, batch.cores_busy,
      sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("  peak RSS (ru_maxrss) %.0f MB; memory_limit %s = %.0f MB; RSS / limit %.2f\n",
              rss_mb, o.memory_limit.c_str(), limit_mb, limit_mb > 0 ? rss_mb / limit_mb : 0);
  std::printf("  peak RSS (VmRSS every 100 ms) by stretch of the run, MB:");
  for (const BatchRun::Stretch& st : batch.stretches) {
    std::printf(" %s %.0f;", st.name.c_str(), double(st.peak_rss_kb) * 1024 / 1e6);
  }
  // CPU seconds move less than wall seconds when other work shares the machine.
  std::printf(
      "\n  by stretch (sampled every 100 ms; CPU of a backend that ended between two "
      "samples is missed):\n  %-22s %8s %11s %11s\n",
      "stretch", "wall s", "lastro CPU", "server CPU");
  for (const BatchRun::Stretch& st : batch.stretches) {
    std::printf("  %-22s %8.2f %11.2f %11.2f\n", st.name.c_str(), st.wall_s, st.lastro_cpu_s,
                st.server_cpu_s);
  }
  std::printf("\n\nphases (manifest seconds, as recorded; a phase that fails is not):\n ");
  if (m.is_object()) {
    for (const auto& p : m["phases"]) {
      std::printf(" %s %.2f;", p["name"].get<std::string>().c_str(), p["seconds"].get<double>());
    }
  }
  std::printf(" outside them %.2f (start-up, between phases, lineage, manifest)\n",
              batch.wall_s - phases_total);
  if (m.is_object()) PrintOutputs(m);

  double extract_rps = extract_s > 0 ? double(best.rows[0]) / extract_s : 0;
  std::printf("\nratios (requests/s; reference = the faster COPY run, %.0f/s):\n",
              best.requests_per_s());
  std::printf("  batch run end to end / raw COPY   %s   (target >= 0.5x: %s)\n",
              batch.exit_code == 0 ? Ratio(batch_rps, best.requests_per_s()).c_str() : "n/a",
              batch.exit_code != 0                       ? "run FAILED"
              : batch_rps >= 0.5 * best.requests_per_s() ? "met"
                                                         : "MISSED");
  std::printf("  extract phase alone / raw COPY    %s\n",
              Ratio(extract_rps, best.requests_per_s()).c_str());
  std::printf("  peak RSS / memory_limit           %.2f  (bounded by the limit: %s)\n",
              limit_mb > 0 ? rss_mb / limit_mb : 0, rss_mb <= limit_mb ? "yes" : "NO");
  std::printf(
      "(bureau skipped: --no-enrich; a bureau call per customer would measure the "
      "simulator)\n");
}

int Usage() {
  std::fprintf(stderr,
               "usage: batch_bench [--requests N] [--quick] [--customers C] [--days D]\n"
               "  [--memory-limit 1GB] [--threads T] [--dsn DSN] [--keep]\n"
               "env: LASTRO_TEST_PG_DSN (the private cluster), LASTRO_BIN, LASTRO_SOURCE_DIR\n");
  return 2;
}

int Main(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "--quick")
      o.requests = 500'000;
    else if (a == "--requests")
      o.requests = std::stoll(next());
    else if (a == "--customers")
      o.customers = std::stoll(next());
    else if (a == "--days")
      o.days = std::stoi(next());
    else if (a == "--memory-limit")
      o.memory_limit = next();
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--dsn")
      o.dsn = next();
    else if (a == "--keep")
      o.keep = true;
    else
      return Usage();
  }
  if (o.requests < 1 || o.days < 1 || (o.dsn.empty() && !std::getenv("LASTRO_TEST_PG_DSN"))) {
    return Usage();
  }
  const int64_t customers = o.customers > 0 ? o.customers : std::max<int64_t>(1, o.requests / 5);
  auto fail = [](const std::string& what, const Status& s) {
    std::fprintf(stderr, "batch_bench: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
    return 1;
  };

  // Other work on the machine skews every figure: say how busy it was before we began.
  const std::string date = UtcNow();
  const double busy = CoresBusyOver(std::chrono::seconds(2));
  const std::string load = LoadAverage();
  std::printf("batch_bench %s, %ld cores, load average %s, %.2f cores busy before start\n",
              date.c_str(), sysconf(_SC_NPROCESSORS_ONLN), load.c_str(), busy);

  // ---- database and seed
  std::unique_ptr<testing::TestDatabase> db;
  std::string dsn = o.dsn;
  if (dsn.empty()) {
    auto created = testing::TestDatabase::Create("batch_bench");
    if (!created.ok()) return fail("create database", created.status());
    db = std::move(*created);
    dsn = db->dsn();
  }
  auto conn = pg::Connection::Connect(dsn, {"lastro-bench"});
  if (!conn.ok()) return fail("connect", conn.status());
  if (auto m = pg::Migrate(**conn, pg::EmbeddedMigrations()); !m.ok()) {
    return fail("migrate", m.status());
  }
  std::string want = absl::StrCat(o.requests, "/", customers, "/", o.days, "/", kSeedVersion);
  auto seeded = (*conn)->Exec(
      "SELECT (SELECT value FROM lastro_state WHERE key = 'bench.batch_seed'), "
      "EXISTS (SELECT 1 FROM credit_requests), current_database()");
  if (!seeded.ok()) return fail("inspect database", seeded.status());
  std::string dbname(seeded->Get(0, 2));
  if (seeded->Get(0, 0) == want) {
    std::printf("data: reusing database %s, already seeded with %s (requests/customers/days)\n",
                dbname.c_str(), want.c_str());
  } else if (seeded->Get(0, 1) == "t") {
    std::fprintf(stderr, "batch_bench: database %s holds other data; give an empty one\n",
                 dbname.c_str());
    return 1;
  } else {
    std::printf("seeding database %s: %lld requests, %lld customers, %d days...\n", dbname.c_str(),
                (long long)o.requests, (long long)customers, o.days);
    std::fflush(stdout);
    auto t = Clock::now();
    if (Status s = Seed(**conn, o, customers); !s.ok()) return fail("seed", s);
    std::printf("  seeded in %.1f s (load, index rebuild, VACUUM (FREEZE, ANALYZE), CHECKPOINT)\n",
                Seconds(t));
  }
  auto sizes = (*conn)->Exec(
      "SELECT (SELECT count(*) FROM credit_decisions), "
      "pg_total_relation_size('credit_requests') + pg_total_relation_size('credit_decisions') + "
      "pg_total_relation_size('customers') + "
      "pg_total_relation_size('credit_request_status_history'), "
      "(SELECT count(*) FROM credit_request_status_history)");
  if (sizes.ok()) {
    std::printf(
        "data: %lld requests, %lld decisions, %lld history rows, %lld customers over %d days "
        "from %s; tables + indexes %.0f MB\n",
        (long long)o.requests, (long long)sizes->GetInt(0, 0), (long long)sizes->GetInt(0, 2),
        (long long)customers, o.days, kFirstDay, double(sizes->GetInt(0, 1)) / 1e6);
  }
  conn->reset();

  absl::CivilDay first;
  absl::ParseCivilTime(kFirstDay, &first);
  std::string last_day = absl::FormatCivilTime(first + (o.days - 1));
  std::string pred = ScopePredicate(kFirstDay, o.days);

  // ---- reference before, batch, reference after
  std::fprintf(stderr, "reference COPY (1 of 2)...\n");
  auto before = RawCopy(dsn, pred);
  if (!before.ok()) return fail("reference COPY", before.status());

  std::string dir = testing::TestDir("batch-bench");
  std::string lake = dir + "/lake";
  std::string config = dir + "/lastro.toml";
  {
    std::ofstream cfg(config);
    cfg << "[lake]\nmemory_limit = \"" << o.memory_limit << "\"\n";
    if (o.threads > 0) cfg << "threads = " << o.threads << "\n";
    cfg << "[batch]\nquality_rules = \"" << Env("LASTRO_SOURCE_DIR", ".")
        << "/config/quality.toml\"\n[metrics]\nstatsd_enabled = false\n";
  }
  std::vector<std::string> cmd = {
      testing::LastroBin(), "batch",    "run", "--from", kFirstDay, "--to", last_day,
      "--no-enrich",        "--config", config};
  std::printf(
      "batch: %s\n  [lake] memory_limit = \"%s\", threads = %d (0 = one per core); "
      "rest default\n",
      absl::StrJoin(cmd, " ").c_str(), o.memory_limit.c_str(), o.threads);
  std::fflush(stdout);
  std::fprintf(stderr, "lastro batch run...\n");
  auto batch = RunBatch(dsn, dir, lake, cmd,
                        {{"LASTRO_PG_DSN", dsn},
                         {"LASTRO_LAKE_DIR", lake},
                         {"LASTRO_TOKEN_KEY", "bench-token-key-0123456789abcdef"},
                         {"LASTRO_LOG_LEVEL", "info"}});
  if (!batch.ok()) return fail("lastro batch run", batch.status());
  std::fprintf(stderr, "reference COPY (2 of 2)...\n");
  auto after = RawCopy(dsn, pred);
  if (!after.ok()) return fail("reference COPY", after.status());
  Report(o, *before, *after, *batch);

  std::printf("load average at end: %s\n", LoadAverage().c_str());
  if (!o.keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    std::printf("kept: %s (lake, config, logs)%s%s\n", dir.c_str(), db ? ", database " : "",
                db ? dbname.c_str() : "");
    // --keep: the fresh database stays for inspection (never dropped, never freed).
    if (db) static_cast<void>(db.release());
  }
  // A figure never fails the benchmark; a batch run that fails is not a figure.
  return batch->exit_code == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lastro::bench

int main(int argc, char** argv) {
  try {
    return lastro::bench::Main(argc, argv);
  } catch (const std::exception& e) {  // a malformed number in a flag (std::stoll)
    std::fprintf(stderr, "batch_bench: %s\n", e.what());
    return lastro::bench::Usage();
  }
}
