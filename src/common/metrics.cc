#include "common/metrics.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lastro::metrics {
namespace {

enum Kind { kCounter = 0, kGauge = 1, kHistogram = 2 };

void AtomicAdd(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string PromName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == '.' || c == '-') c = '_';
  }
  return out;
}

std::string PromLabels(const Labels& labels, const std::string& extra = "") {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    std::string escaped;
    for (char c : v) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      if (c == '\n') {
        escaped += "\\n";
        continue;
      }
      escaped.push_back(c);
    }
    out += fmt::format("{}=\"{}\"", PromName(k), escaped);
  }
  if (!extra.empty()) {
    if (!first) out += ",";
    out += extra;
  }
  return out + "}";
}

std::string StatsdTags(const Labels& labels, const std::string& global) {
  std::string out = global;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out += k + ":" + v;
  }
  return out.empty() ? "" : "|#" + out;
}

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

double Histogram::UpperBound(int bucket) { return 0.1 * std::ldexp(1.0, bucket); }

void Histogram::Observe(double v) {
  int b = 0;
  while (b < kBuckets && v > UpperBound(b)) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  double cur = max_.load(std::memory_order_relaxed);
  while (v > cur && !max_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

uint64_t Histogram::BucketCount(int bucket) const {
  return buckets_[bucket].load(std::memory_order_relaxed);
}

double Histogram::Quantile(double q) const {
  uint64_t total = count();
  if (total == 0) return 0;
  double rank = q * double(total);
  uint64_t seen = 0;
  for (int b = 0; b <= kBuckets; ++b) {
    uint64_t n = BucketCount(b);
    if (n > 0 && double(seen + n) >= rank) {
      double lo = b == 0 ? 0 : UpperBound(b - 1);
      double hi = b == kBuckets ? max_.load() : UpperBound(b);
      double frac = (rank - double(seen)) / double(n);
      return std::min(lo + (hi - lo) * std::clamp(frac, 0.0, 1.0), max_.load());
    }
    seen += n;
  }
  return max_.load();
}

struct Registry::Entry {
  int kind;
  std::string name;
  std::string help;
  Labels labels;
  Counter counter;
  Gauge gauge;
  Histogram histogram;
  int64_t last_counter = 0;      // for statsd deltas; guarded by Registry::mu_
  uint64_t last_hist_count = 0;  // idem
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::Global() {
  static Registry* r = new Registry();  // never destroyed: instruments outlive threads
  return *r;
}

Registry::Entry& Registry::Get(int kind, const std::string& name, const std::string& help,
                               const Labels& labels) {
  std::string key = name + PromLabels(labels);
  std::lock_guard lock(mu_);
  auto& slot = entries_[key];
  if (!slot) {
    slot = std::make_unique<Entry>();
    slot->kind = kind;
    slot->name = name;
    slot->help = help;
    slot->labels = labels;
  }
  return *slot;
}

Counter& Registry::GetCounter(const std::string& n, const std::string& h, const Labels& l) {
  return Get(kCounter, n, h, l).counter;
}
Gauge& Registry::GetGauge(const std::string& n, const std::string& h, const Labels& l) {
  return Get(kGauge, n, h, l).gauge;
}
Histogram& Registry::GetHistogram(const std::string& n, const std::string& h, const Labels& l) {
  return Get(kHistogram, n, h, l).histogram;
}

std::string Registry::RenderOpenMetrics() const {
  std::lock_guard lock(mu_);
  // Group series by metric name so each family has one TYPE/HELP header.
  std::map<std::string, std::vector<const Entry*>> families;
  for (const auto& [key, e] : entries_) families[e->name].push_back(e.get());
  std::string out;
  for (const auto& [name, series] : families) {
    const Entry& first = *series.front();
    std::string pn = PromName(name);
    static const char* kTypes[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# TYPE {} {}\n# HELP {} {}\n", pn, kTypes[first.kind], pn, first.help);
    for (const Entry* e : series) {
      switch (e->kind) {
        case kCounter:
          out += fmt::format("{}_total{} {}\n", pn, PromLabels(e->labels), e->counter.value());
          break;
        case kGauge:
          out += fmt::format("{}{} {}\n", pn, PromLabels(e->labels), Num(e->gauge.value()));
          break;
        case kHistogram: {
          uint64_t cumulative = 0;
          for (int b = 0; b <= Histogram::kBuckets; ++b) {
            cumulative += e->histogram.BucketCount(b);
            std::string le = b == Histogram::kBuckets ? "+Inf" : Num(Histogram::UpperBound(b));
            out += fmt::format("{}_bucket{} {}\n", pn,
                               PromLabels(e->labels, fmt::format("le=\"{}\"", le)), cumulative);
          }
          out += fmt::format("{}_count{} {}\n", pn, PromLabels(e->labels), e->histogram.count());
          out += fmt::format("{}_sum{} {}\n", pn, PromLabels(e->labels), Num(e->histogram.sum()));
          break;
        }
      }
    }
  }
  out += "# EOF\n";
  return out;
}

std::vector<std::string> Registry::DrainStatsdLines(const std::string& global_tags) {
  std::lock_guard lock(mu_);
  std::vector<std::string> lines;
  for (auto& [key, e] : entries_) {
    std::string tags = StatsdTags(e->labels, global_tags);
    switch (e->kind) {
      case kCounter: {
        int64_t v = e->counter.value();
        lines.push_back(fmt::format("{}:{}|c{}", e->name, v - e->last_counter, tags));
        e->last_counter = v;
        break;
      }
      case kGauge:
        lines.push_back(fmt::format("{}:{}|g{}", e->name, Num(e->gauge.value()), tags));
        break;
      case kHistogram: {
        const Histogram& h = e->histogram;
        uint64_t c = h.count();
        lines.push_back(fmt::format("{}.count:{}|c{}", e->name, c - e->last_hist_count, tags));
        e->last_hist_count = c;
        for (auto [suffix, q] : {std::pair{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}}) {
          lines.push_back(fmt::format("{}.{}:{}|g{}", e->name, suffix, Num(h.Quantile(q)), tags));
        }
        break;
      }
    }
  }
  return lines;
}

StatusOr<std::unique_ptr<StatsdExporter>> StatsdExporter::Create(
    Registry& registry, const std::string& addr, const std::string& tags,
    std::chrono::milliseconds interval) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("statsd address needs host:port: ", addr));
  }
  std::string host = addr.substr(0, colon), port = addr.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve statsd address: ", addr));
  }
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    if (fd >= 0) close(fd);
    return absl::InvalidArgumentError(absl::StrCat("cannot open statsd socket to ", addr));
  }
  return std::unique_ptr<StatsdExporter>(new StatsdExporter(registry, fd, tags, interval));
}

StatsdExporter::StatsdExporter(Registry& registry, int fd, std::string tags,
                               std::chrono::milliseconds interval)
    : registry_(registry), fd_(fd), tags_(std::move(tags)), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      FlushNow();
      lock.lock();
    }
  });
}

StatsdExporter::~StatsdExporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  FlushNow();
  close(fd_);
}

void StatsdExporter::FlushNow() {
  // Pack lines into datagrams below the common 1432-byte safe UDP payload.
  std::string packet;
  auto send_packet = [&] {
    if (!packet.empty()) {
      // Best effort: a missing agent yields ECONNREFUSED, which we ignore by design.
      [[maybe_unused]] ssize_t n = send(fd_, packet.data(), packet.size(), MSG_DONTWAIT);
      packet.clear();
    }
  };
  for (const std::string& line : registry_.DrainStatsdLines(tags_)) {
    if (packet.size() + line.size() + 1 > 1432) send_packet();
    if (!packet.empty()) packet.push_back('\n');
    packet += line;
  }
  send_packet();
}

}  // namespace lastro::metrics
