// bench/audit_bench: what one audit entry costs a governed query. Prints figures and
// ratios to baselines measured in the same run; asserts nothing.
//
// In a fresh state folder on the file system under test (--dir, default
// $LASTRO_TEST_TMP or the temp folder), with a typical entry (a ~150-character SQL
// text, two tables, four columns):
//   append     AuditLog::Append: flock, read the last line, hash, write, fdatasync;
//   sync floor the same line written with write + fdatasync on a bare O_APPEND file
//              (what durability alone costs on this disk);
//   no sync    the same line written without fdatasync (what Append would cost if it
//              were not durable).
// Then --threads appenders on one log at once (the serve's query threads).
// Usage: audit_bench [--count 2000] [--threads 2] [--dir DIR]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "governance/audit_log.h"

namespace lastro::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Figures {
  double p50 = 0, p95 = 0, p99 = 0, max = 0, mean = 0;
};

Figures Summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
  double sum = 0;
  for (double v : ms) sum += v;
  return {at(0.50), at(0.95), at(0.99), ms.back(), sum / double(ms.size())};
}

void Print(const char* name, const Figures& f) {
  std::printf("  %-11s p50 %7.3f ms  p95 %7.3f ms  p99 %7.3f ms  max %7.3f ms  mean %7.3f ms\n",
              name, f.p50, f.p95, f.p99, f.max, f.mean);
}

double Since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

governance::AuditEntry TypicalEntry(int i) {
  return {.user = "ana.souza",
          .role = "finance",
          .action = "named",
          .sql =
              "SELECT month, channel, count(*) AS requests, sum(amount) AS amount FROM "
              "mart_finance_monthly WHERE month BETWEEN '2025-01' AND '2025-12' GROUP BY 1, 2",
          .tables = {"mart_finance_monthly", "dim_date"},
          .columns = {"mart_finance_monthly.month", "mart_finance_monthly.channel",
                      "mart_finance_monthly.amount", "dim_date.month"},
          .rows = 240 + i % 7,
          .duration_ms = 23.5 + (i % 13),
          .outcome = "allowed",
          .remote = "10.0.0.12:51234",
          .catalog_version = "20260301T020000Z"};
}

// write (+ fdatasync) of `line` `count` times on a bare O_APPEND file.
std::vector<double> BareWrites(const fs::path& file, const std::string& line, int count,
                               bool sync) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open");
    std::exit(1);
  }
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    auto t = Clock::now();
    if (::write(fd, line.data(), line.size()) != ssize_t(line.size()) ||
        (sync && ::fdatasync(fd) != 0)) {
      std::perror("write");
      std::exit(1);
    }
    ms.push_back(Since(t));
  }
  ::close(fd);
  return ms;
}

int Main(int argc, char** argv) {
  int count = 2000, threads = 2;
  const char* tmp = std::getenv("LASTRO_TEST_TMP");
  fs::path base = tmp ? fs::path(tmp) : fs::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--count") count = std::atoi(argv[i + 1]);
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    if (flag == "--dir") base = argv[i + 1];
  }
  log::Init("warn");  // the per-entry info line would measure stderr, not the log
  const fs::path dir = base / ("audit_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);

  auto log = governance::AuditLog::Open(dir);
  if (!log.ok()) {
    std::fprintf(stderr, "audit_bench: %s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  std::vector<double> append_ms;
  for (int i = 0; i < count; ++i) {
    auto t = Clock::now();
    auto seq = (*log)->Append(TypicalEntry(i));
    append_ms.push_back(Since(t));
    if (!seq.ok()) {
      std::fprintf(stderr, "audit_bench: %s\n", std::string(seq.status().message()).c_str());
      return 1;
    }
  }
  const uintmax_t bytes = fs::file_size((*log)->path());
  std::string line(static_cast<size_t>(bytes / uintmax_t(count)), 'x');
  line.back() = '\n';
  std::vector<double> floor_ms = BareWrites(dir / "floor.jsonl", line, count, true);
  std::vector<double> nosync_ms = BareWrites(dir / "nosync.jsonl", line, count, false);

  // Concurrent appenders on one log.
  auto t0 = Clock::now();
  std::vector<std::vector<double>> per_thread(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < count / threads; ++i) {
        auto t1 = Clock::now();
        if (!(*log)->Append(TypicalEntry(i)).ok()) std::exit(1);
        per_thread[t].push_back(Since(t1));
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall_s = Since(t0) / 1000.0;
  std::vector<double> concurrent_ms;
  for (auto& v : per_thread) concurrent_ms.insert(concurrent_ms.end(), v.begin(), v.end());

  auto verify_t = Clock::now();
  auto verified = governance::VerifyAuditLog(dir);
  const double verify_ms = Since(verify_t);

  const Figures append = Summarise(append_ms), floor = Summarise(floor_ms),
                nosync = Summarise(nosync_ms), conc = Summarise(concurrent_ms);
  std::printf("audit Append, %d entries of ~%ju bytes, in %s\n", count, bytes / uintmax_t(count),
              dir.c_str());
  Print("append", append);
  Print("sync floor", floor);
  Print("no sync", nosync);
  std::printf("  append / sync floor: p50 %.2fx  p95 %.2fx\n", append.p50 / floor.p50,
              append.p95 / floor.p95);
  std::printf("  append p95 as a share of a 20 ms / 40 ms query: %.1f%% / %.1f%%\n",
              100.0 * append.p95 / 20.0, 100.0 * append.p95 / 40.0);
  std::printf("%d threads appending at once (%zu entries):\n", threads, concurrent_ms.size());
  Print("append", conc);
  std::printf("  throughput %.0f entries/s\n", double(concurrent_ms.size()) / wall_s);
  std::printf("verify: %lld entries in %.1f ms (%s)\n",
              verified.ok() ? static_cast<long long>(verified->entries) : -1LL, verify_ms,
              verified.ok() && verified->ok ? "intact" : "NOT intact");
  fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace lastro::bench

int main(int argc, char** argv) { return lastro::bench::Main(argc, argv); }
