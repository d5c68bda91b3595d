// bench/dashboard_bench: the live dashboard under many viewers. Prints figures and a
// ratio to a baseline run in the same run; asserts nothing.
//
// On a fresh database of the private cluster ($LASTRO_TEST_PG_DSN), the real
// `lastro stream` and `lastro sim risk-api`, two phases with the same paced load
// (`lastro sim requests --rate R --count N`):
//   baseline  no SSE client;
//   viewers   --viewers SSE clients (default 500) on loopback, one epoll thread.
// Per phase: commit -> decision p50/p99 (from the database), server CPU (utime+stime
// of `lastro stream`) and RSS, and database statements per decision from
// pg_stat_statements (this database only, the app's and this program's statements
// left out). With viewers: decision commit -> `status` event received by the clients
// (p50/p99, from the event's `decided_at`), events delivered, clients dropped, and
// the statements the dashboard itself issued (the start-up aggregate; must be 0
// during the run). Usage: dashboard_bench [--viewers 500] [--rate 200] [--count 4000]
#include <absl/time/time.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pg/connection.h"
#include "stream_harness.h"
#include "testing/wait_for.h"

namespace lastro::bench {
namespace {

using testing::StreamHarness;

struct Options {
  int viewers = 500;
  double rate = 200;
  int64_t count = 4000;
};

// utime + stime (s) and VmRSS (MB) of a process.
struct ProcSample {
  double cpu_s = 0, rss_mb = 0;
};
ProcSample Sample(pid_t pid) {
  ProcSample s;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(stat)), {});
  size_t p = all.rfind(')');
  if (p != std::string::npos) {
    std::vector<std::string> f;
    size_t i = p + 2;
    while (i < all.size()) {
      size_t j = all.find(' ', i);
      f.push_back(all.substr(i, j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (f.size() > 13)
      s.cpu_s = double(std::stoll(f[11]) + std::stoll(f[12])) / sysconf(_SC_CLK_TCK);
  }
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = std::stod(line.substr(6)) / 1024.0;
  }
  return s;
}

// The pid of `lastro stream` started by the harness (its config lives in `dir`).
pid_t FindStream(const std::string& dir) {
  DIR* d = opendir("/proc");
  pid_t found = 0;
  while (dirent* e = d ? readdir(d) : nullptr) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(" stream ") != std::string::npos && cmd.find(dir) != std::string::npos)
      found = pid;
  }
  if (d) closedir(d);
  return found;
}

// N SSE clients on one epoll thread (HTTP/1.0: the body is the raw event stream).
class Viewers {
 public:
  Viewers(uint16_t port, int n) {
    ep_ = epoll_create1(0);
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        continue;
      }
      std::string req = "GET /api/events HTTP/1.1\r\nHost: bench\r\n\r\n";
      if (send(fd, req.data(), req.size(), 0) != ssize_t(req.size())) continue;
      clients_.push_back({fd, {}, 0});
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = uint32_t(clients_.size() - 1);
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~Viewers() {
    Stop();
    for (auto& c : clients_) close(c.fd);
    close(ep_);
  }
  // Stops and joins the reading thread. Idempotent.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t connected() const { return clients_.size(); }
  int64_t status_events() const { return status_events_; }
  int64_t closed() const { return closed_; }
  // Fewest and most `status` events received by one client.
  std::pair<int64_t, int64_t> MinMaxPerClient() const {
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& c : clients_) lo = std::min(lo, c.events), hi = std::max(hi, c.events);
    return {clients_.empty() ? 0 : lo, hi};
  }
  const std::vector<double>& latencies() const { return latencies_; }  // after Stop()

 private:
  struct Client {
    int fd;
    std::string buf;
    int64_t events = 0;  // `status` events received
  };
  void Loop() {
    std::vector<epoll_event> evs(256);
    std::vector<char> chunk(1 << 16);
    while (!stop_) {
      int n = epoll_wait(ep_, evs.data(), int(evs.size()), 100);
      for (int i = 0; i < n; ++i) {
        Client& c = clients_[evs[i].data.u32];
        ssize_t got = read(c.fd, chunk.data(), chunk.size());
        if (got <= 0) {
          epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
          ++closed_;
          continue;
        }
        c.buf.append(chunk.data(), size_t(got));
        Consume(c);
      }
    }
  }
  void Consume(Client& c) {
    int64_t now_us = absl::ToUnixMicros(absl::Now());
    size_t pos = 0, end;
    while ((end = c.buf.find("\n\n", pos)) != std::string::npos) {
      std::string_view frame(c.buf.data() + pos, end - pos);
      pos = end + 2;
      if (frame.find("event: status\n") == std::string_view::npos) continue;
      size_t k = frame.find("\"decided_at\":\"");
      if (k == std::string_view::npos) continue;
      absl::Time t;
      std::string err;
      if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", std::string(frame.substr(k + 14, 24)), &t,
                          &err)) {
        latencies_.push_back(double(now_us - absl::ToUnixMicros(t)) / 1000.0);
      }
      ++status_events_;
      ++c.events;
    }
    c.buf.erase(0, pos);
  }
  int ep_;
  std::vector<Client> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> status_events_{0};
  std::atomic<int64_t> closed_{0};
  std::vector<double> latencies_;  // owned by the thread until it stops
  std::thread thread_;
};

double Pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k];
}

struct Phase {
  std::string name;
  double p50 = 0, p99 = 0, cpu_s = 0, rss_mb = 0, statements_per_decision = 0;
  int64_t dashboard_statements = 0;
};

constexpr char kNotCounted[] =
    "toplevel AND query NOT LIKE '%/*bench*/%' AND query NOT LIKE 'INSERT INTO credit_requests "
    "(customer_id%' "
    "AND query NOT LIKE 'INSERT INTO customers%' "
    "AND query NOT LIKE 'SELECT id, monthly_income_cents FROM customers%'";

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--viewers")
      o.viewers = std::atoi(argv[i + 1]);
    else if (f == "--rate")
      o.rate = std::atof(argv[i + 1]);
    else if (f == "--count")
      o.count = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: dashboard_bench [--viewers N] [--rate R] [--count N]\n");
      return 2;
    }
  }
  auto h =
      StreamHarness::Create({.name = "dash_bench", .risk_latency_ms = 20, .risk_jitter_ms = 5});
  if (!h.ok()) return std::fprintf(stderr, "%s\n", std::string(h.status().message()).c_str()), 1;
  StreamHarness& s = **h;
  if (auto st = s.StartStream(); !st.ok()) {
    return std::fprintf(stderr, "%s\n", std::string(st.message()).c_str()), 1;
  }
  pid_t pid = FindStream(s.dir());
  auto admin = pg::Connection::Connect(std::getenv("LASTRO_TEST_PG_DSN"), {"lastro-bench"});
  if (!admin.ok() || pid == 0)
    return std::fprintf(stderr, "no admin connection or stream pid\n"), 1;
  std::string oid = std::to_string(
      s.Count("/*bench*/ SELECT oid::int8 FROM pg_database WHERE datname = current_database()"));
  auto scalar = [&](const std::string& sql) {
    auto r = (*admin)->Exec(sql, {oid});
    return r.ok() && r->rows() == 1 ? r->GetInt(0, 0) : int64_t(-1);
  };

  std::vector<Phase> phases;
  double event_p50 = 0, event_p99 = 0;
  int64_t delivered = 0, expected = 0, dropped = 0;
  size_t connected = 0;
  for (std::string name : {"baseline", "viewers"}) {
    Phase p;
    p.name = name;
    std::unique_ptr<Viewers> viewers;
    if (name == "viewers") {
      viewers = std::make_unique<Viewers>(
          uint16_t(std::stoi(s.stream_url().substr(s.stream_url().rfind(':') + 1))), o.viewers);
      connected = viewers->connected();
      // Start the load only once every viewer is subscribed: one that subscribes later
      // rightly gets a snapshot instead of the events before it came.
      testing::WaitFor(
          [&] {
            return nlohmann::json::parse(
                       testing::HttpGet(s.stream_url() + "/api/summary"))["subscribers"]
                       .get<size_t>() >= connected;
          },
          std::chrono::seconds(30));
    }
    int64_t first = s.Count("/*bench*/ SELECT coalesce(max(id), 0) FROM credit_requests") + 1;
    scalar("/*bench*/ SELECT count(*) FROM (SELECT pg_stat_statements_reset(0, $1::oid, 0)) r");
    ProcSample before = Sample(pid);
    auto gen = s.Generate({"--rate", std::to_string(o.rate), "--count", std::to_string(o.count),
                           "--customers", "2000"});
    if (!gen.ok())
      return std::fprintf(stderr, "%s\n", std::string(gen.status().message()).c_str()), 1;
    std::string decided =
        absl::StrCat("/*bench*/ SELECT count(*) FROM credit_requests WHERE id >= ", first,
                     " AND status <> 'PENDING'");
    testing::WaitFor([&] { return s.Count(decided) >= o.count; }, std::chrono::seconds(120));
    if (viewers) {
      int64_t want = int64_t(connected) * o.count;
      testing::WaitFor([&] { return viewers->status_events() >= want; }, std::chrono::seconds(60));
    }
    ProcSample after = Sample(pid);
    p.cpu_s = after.cpu_s - before.cpu_s;
    p.rss_mb = after.rss_mb;
    std::string range = absl::StrCat(
        " FROM credit_requests r JOIN credit_decisions d ON d.request_id = r.id WHERE r.id >= ",
        first);
    p.p50 = double(
        s.Count(absl::StrCat("/*bench*/ SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                             "extract(epoch from d.decided_at - r.created_at)) * 1000)::int8",
                             range)));
    p.p99 = double(
        s.Count(absl::StrCat("/*bench*/ SELECT (percentile_cont(0.99) WITHIN GROUP (ORDER BY "
                             "extract(epoch from d.decided_at - r.created_at)) * 1000)::int8",
                             range)));
    p.statements_per_decision =
        double(scalar(absl::StrCat("/*bench*/ SELECT coalesce(sum(calls), 0)::int8 FROM "
                                   "pg_stat_statements WHERE dbid = $1::oid AND ",
                                   kNotCounted))) /
        double(o.count);
    p.dashboard_statements = scalar(
        "/*bench*/ SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements WHERE dbid = "
        "$1::oid "
        "AND query LIKE 'SELECT status, count(*) FROM credit_requests%'");
    if (viewers) {
      delivered = viewers->status_events();
      expected = int64_t(connected) * o.count;
      dropped = viewers->closed();
      viewers->Stop();
      auto [lo, hi] = viewers->MinMaxPerClient();
      std::printf(
          "  per client: fewest %lld, most %lld status events; hub subscribers at the end %s\n",
          static_cast<long long>(lo), static_cast<long long>(hi),
          std::to_string(nlohmann::json::parse(
                             testing::HttpGet(s.stream_url() + "/api/summary"))["subscribers"]
                             .get<int>())
              .c_str());
      event_p50 = Pct(viewers->latencies(), 0.50);
      event_p99 = Pct(viewers->latencies(), 0.99);
    }
    phases.push_back(p);
  }
  std::printf(
      "dashboard_bench: %d viewers requested, %zu connected; %lld requests at %.0f/s per phase\n",
      o.viewers, connected, static_cast<long long>(o.count), o.rate);
  for (const Phase& p : phases) {
    std::printf(
        "  %-8s  commit->decision p50 %6.1f ms p99 %6.1f ms | stream CPU %5.2f s (%4.0f%% of one "
        "core over the load) "
        "RSS %6.1f MB | DB statements/decision %.3f | dashboard queries during run %lld\n",
        p.name.c_str(), p.p50, p.p99, p.cpu_s, 100.0 * p.cpu_s / (double(o.count) / o.rate),
        p.rss_mb, p.statements_per_decision, static_cast<long long>(p.dashboard_statements));
  }
  std::printf("  viewers: status events received %lld of %lld; connections closed by server %lld\n",
              static_cast<long long>(delivered), static_cast<long long>(expected),
              static_cast<long long>(dropped));
  std::printf("  decision commit -> event received by clients: p50 %.1f ms p99 %.1f ms\n",
              event_p50, event_p99);
  if (phases.size() == 2) {
    std::printf(
        "  ratio viewers/baseline: CPU %.2fx, RSS %.2fx, statements/decision %.3f vs %.3f\n",
        phases[1].cpu_s / std::max(phases[0].cpu_s, 1e-9),
        phases[1].rss_mb / std::max(phases[0].rss_mb, 1e-9), phases[1].statements_per_decision,
        phases[0].statements_per_decision);
  }
  return 0;
}

}  // namespace
}  // namespace lastro::bench

int main(int argc, char** argv) { return lastro::bench::Main(argc, argv); }
