#include "batch/lineage.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lastro::batch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// libsodium must be initialised once before randombytes/crypto_hash; sodium_init()
// is itself thread-safe and idempotent.
bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

const char kHex[] = "0123456789abcdef";

std::string Hex(const unsigned char* data, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0x0F];
  }
  return out;
}

Status ErrnoStatus(int err, std::string_view what, const fs::path& path) {
  std::string message =
      absl::StrCat(std::string(what), " ", path.string(), ": ", std::strerror(err));
  return err == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
}

}  // namespace

// ---- Ids, times, checksums -------------------------------------------------------

std::string NewRunId() {
  if (!SodiumReady()) std::abort();  // no entropy source: a run id must never repeat
  unsigned char random[10];
  randombytes_buf(random, sizeof random);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int64_t ms;
  unsigned counter;
  {
    // The 12-bit rand_a field is a counter (RFC 9562 6.2, method 1) seeded with 11
    // random bits, so ids of one millisecond still increase; a clock step back keeps
    // the last millisecond rather than going backwards.
    static std::mutex mu;
    static int64_t last_ms = -1;
    static unsigned last_counter = 0;
    std::lock_guard<std::mutex> lock(mu);
    const unsigned seed = ((random[0] << 8) | random[1]) & 0x7FF;
    if (now_ms > last_ms) {
      last_ms = now_ms;
      last_counter = seed;
    } else if (++last_counter > 0xFFF) {
      ++last_ms;  // counter exhausted: borrow the next millisecond
      last_counter = seed;
    }
    ms = last_ms;
    counter = last_counter;
  }
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(counter & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | (random[2] & 0x3F));
  std::memcpy(b + 9, random + 3, 7);
  std::string hex = Hex(b, sizeof b);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

bool IsCanonicalUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b';
}

std::string Rfc3339Utc(std::chrono::system_clock::time_point t, bool millis) {
  const auto ms_total = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs =
      static_cast<std::time_t>(ms_total >= 0 ? ms_total / 1000 : (ms_total - 999) / 1000);
  const int ms = static_cast<int>(ms_total - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (millis) n += std::snprintf(buf + n, sizeof buf - n, ".%03d", ms);
  return std::string(buf, n) + "Z";
}

StatusOr<std::string> Sha256File(const fs::path& path) {
  if (!SodiumReady()) return absl::InternalError("sodium_init failed");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoStatus(errno, "open", path);
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<unsigned char> buf(1 << 16);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    crypto_hash_sha256_update(&state, buf.data(), n);
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return ErrnoStatus(err, "read", path);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return Hex(digest, sizeof digest);
}

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

void ApplyDsnKey(PgEndpoint& ep, std::string_view key, const std::string& value,
                 std::string& hostaddr) {
  if (key == "host") {
    ep.host = value.substr(0, value.find(','));  // first of a multi-host list
  } else if (key == "hostaddr") {
    hostaddr = value.substr(0, value.find(','));
  } else if (key == "port") {
    const int port = std::atoi(value.substr(0, value.find(',')).c_str());
    if (port > 0 && port < 65536) ep.port = port;
  } else if (key == "dbname") {
    ep.dbname = value;
  }
}

}  // namespace

PgEndpoint PgEndpoint::FromDsn(std::string_view dsn) {
  PgEndpoint ep;
  std::string hostaddr;
  bool host_set = false;
  auto apply = [&](std::string_view key, const std::string& value) {
    if (key == "host" && !value.empty()) host_set = true;
    ApplyDsnKey(ep, key, value, hostaddr);
  };
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (dsn.substr(0, scheme.size()) != scheme) continue;
    std::string_view rest = dsn.substr(scheme.size());
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    std::string_view authority = rest.substr(0, rest.find('/'));
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      ep.dbname = PercentDecode(rest.substr(slash + 1));
    }
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority = authority.substr(at + 1);  // drop user:password
    }
    authority = authority.substr(0, authority.find(','));
    std::string_view host = authority, port;
    if (!authority.empty() && authority[0] == '[') {
      const size_t close = authority.find(']');
      host = authority.substr(1, close == std::string_view::npos ? close : close - 1);
      if (close != std::string_view::npos && close + 1 < authority.size() &&
          authority[close + 1] == ':') {
        port = authority.substr(close + 2);
      }
    } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!host.empty()) apply("host", PercentDecode(host));
    if (!port.empty()) apply("port", std::string(port));
    while (!query.empty()) {
      std::string_view pair = query.substr(0, query.find('&'));
      query = pair.size() < query.size() ? query.substr(pair.size() + 1) : std::string_view();
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos) {
        apply(pair.substr(0, eq), PercentDecode(pair.substr(eq + 1)));
      }
    }
    if (!host_set && !hostaddr.empty()) ep.host = hostaddr;
    return ep;
  }
  // libpq key=value: values may be 'single quoted' with \' and \\ escapes.
  size_t i = 0;
  auto skip_space = [&] {
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= dsn.size()) break;
    const size_t key_start = i;
    while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
      ++i;
    }
    const std::string_view key = dsn.substr(key_start, i - key_start);
    skip_space();
    if (i >= dsn.size() || dsn[i] != '=') break;  // malformed: keep what we have
    ++i;
    skip_space();
    std::string value;
    if (i < dsn.size() && dsn[i] == '\'') {
      ++i;
      while (i < dsn.size() && dsn[i] != '\'') {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value.push_back(dsn[i++]);
      }
      ++i;  // closing quote
    } else {
      while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value.push_back(dsn[i++]);
      }
    }
    apply(key, value);
  }
  if (!host_set && !hostaddr.empty()) ep.host = hostaddr;
  return ep;
}

std::string PgEndpoint::ToString() const {
  return absl::StrCat("host=", host, " port=", port, " dbname=", dbname);
}

std::string PgEndpoint::Namespace() const { return absl::StrCat("postgres://", host, ":", port); }

// ---- The run manifest ------------------------------------------------------------

std::string_view RunModeName(RunMode mode) {
  return mode == RunMode::kBackfill ? "backfill" : "incremental";
}

std::string_view RunStateName(RunState state) {
  return state == RunState::kFailed ? "FAILED" : "SUCCEEDED";
}

json RunManifest::ToJson() const {
  json j;
  j["run_id"] = run_id;
  j["job"] = job;
  j["code_version"] = code_version;
  j["batch_dates"] = {{"from", batch_date_from}, {"to", batch_date_to}};
  j["mode"] = RunModeName(mode);
  j["state"] = RunStateName(state);
  j["error"] = error;
  j["started_at"] = started_at;
  j["finished_at"] = finished_at;
  j["source"] = {{"dsn_host", source.dsn_host},
                 {"is_replica", source.is_replica},
                 {"replica_lag_s", source.replica_lag_s ? json(*source.replica_lag_s) : json()},
                 {"snapshot", source.snapshot},
                 {"snapshot_time", source.snapshot_time},
                 {"watermark_from", source.watermark_from},
                 {"watermark_to", source.watermark_to}};
  j["inputs"] = json::array();
  for (const auto& in : inputs) j["inputs"].push_back({{"name", in.name}, {"rows", in.rows}});
  j["outputs"] = json::array();
  for (const auto& out : outputs) {
    json files = json::array();
    for (const auto& f : out.files) {
      files.push_back(
          {{"path", f.path}, {"bytes", f.bytes}, {"rows", f.rows}, {"sha256", f.sha256}});
    }
    j["outputs"].push_back({{"zone", out.zone},
                            {"table", out.table},
                            {"version", out.version},
                            {"files", std::move(files)},
                            {"rows", out.rows}});
  }
  j["rules"] = json::array();
  for (const auto& r : rules) {
    j["rules"].push_back({{"id", r.id},
                          {"type", r.type},
                          {"severity", r.severity},
                          {"table", r.table},
                          {"column", r.column},
                          {"checked", r.checked},
                          {"failed", r.failed},
                          {"ratio", r.ratio},
                          {"threshold", r.threshold},
                          {"passed", r.passed},
                          {"breached", r.breached},
                          {"message", r.message}});
  }
  j["phases"] = json::array();
  for (const auto& p : phases) {
    j["phases"].push_back({{"name", p.name}, {"seconds", p.seconds}, {"rows", p.rows}});
  }
  j["counts"] = {{"extracted", counts.extracted},
                 {"published", counts.published},
                 {"quarantined", counts.quarantined}};
  return j;
}

namespace {

// Strict reading with the path of the first problem ("outputs[0].files[1].rows").
class Reader {
 public:
  Status status() const { return status_; }

  const json* Field(const json& obj, const std::string& path, const char* key) {
    if (!status_.ok()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) return Fail(Join(path, key), "missing");
    return &*it;
  }
  void Get(const json& obj, const std::string& path, const char* key, std::string& out) {
    if (const json* v = Field(obj, path, key)) {
      if (!v->is_string()) return (void)Fail(Join(path, key), "not a string");
      out = v->get<std::string>();
    }
  }
  void Get(const json& obj, const std::string& path, const char* key, int64_t& out) {
    if (const json* v = Field(obj, path, key)) {
      if (!v->is_number_integer()) return (void)Fail(Join(path, key), "not an integer");
      out = v->get<int64_t>();
    }
  }
  void Get(const json& obj, const std::string& path, const char* key, double& out) {
    if (const json* v = Field(obj, path, key)) {
      if (!v->is_number()) return (void)Fail(Join(path, key), "not a number");
      out = v->get<double>();
    }
  }
  void Get(const json& obj, const std::string& path, const char* key, bool& out) {
    if (const json* v = Field(obj, path, key)) {
      if (!v->is_boolean()) return (void)Fail(Join(path, key), "not a boolean");
      out = v->get<bool>();
    }
  }
  // Optional number: absent or null -> nullopt.
  void Get(const json& obj, const std::string& path, const char* key, std::optional<double>& out) {
    if (!status_.ok()) return;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out.reset();
    if (!it->is_number()) return (void)Fail(Join(path, key), "not a number");
    out = it->get<double>();
  }
  const json* Object(const json& obj, const std::string& path, const char* key) {
    const json* v = Field(obj, path, key);
    if (v != nullptr && !v->is_object()) return Fail(Join(path, key), "not an object");
    return v;
  }
  template <typename T, typename Fn>
  void List(const json& obj, const std::string& path, const char* key, std::vector<T>& out,
            Fn each) {
    const json* v = Field(obj, path, key);
    if (v == nullptr) return;
    if (!v->is_array()) return (void)Fail(Join(path, key), "not an array");
    out.clear();
    for (size_t i = 0; i < v->size() && status_.ok(); ++i) {
      const std::string item_path = absl::StrCat(Join(path, key), "[", i, "]");
      if (!(*v)[i].is_object()) return (void)Fail(item_path, "not an object");
      each((*v)[i], item_path, out.emplace_back());
    }
  }
  const json* Fail(const std::string& path, std::string_view what) {
    if (status_.ok())
      status_ =
          absl::InvalidArgumentError(absl::StrCat("manifest: ", path, ": ", std::string(what)));
    return nullptr;
  }

 private:
  static std::string Join(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
  }
  Status status_;
};

}  // namespace

StatusOr<RunManifest> RunManifest::FromJson(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("manifest: not a JSON object");
  RunManifest m;
  Reader r;
  r.Get(j, "", "run_id", m.run_id);
  r.Get(j, "", "job", m.job);
  r.Get(j, "", "code_version", m.code_version);
  if (const json* d = r.Object(j, "", "batch_dates")) {
    r.Get(*d, "batch_dates", "from", m.batch_date_from);
    r.Get(*d, "batch_dates", "to", m.batch_date_to);
  }
  std::string mode, state;
  r.Get(j, "", "mode", mode);
  r.Get(j, "", "state", state);
  if (r.status().ok()) {
    if (mode == "incremental" || mode == "backfill") {
      m.mode = mode == "backfill" ? RunMode::kBackfill : RunMode::kIncremental;
    } else {
      r.Fail("mode", absl::StrCat("'", mode, "' is not incremental|backfill"));
    }
    if (state == "SUCCEEDED" || state == "FAILED") {
      m.state = state == "FAILED" ? RunState::kFailed : RunState::kSucceeded;
    } else {
      r.Fail("state", absl::StrCat("'", state, "' is not SUCCEEDED|FAILED"));
    }
  }
  r.Get(j, "", "error", m.error);
  r.Get(j, "", "started_at", m.started_at);
  r.Get(j, "", "finished_at", m.finished_at);
  if (const json* s = r.Object(j, "", "source")) {
    r.Get(*s, "source", "dsn_host", m.source.dsn_host);
    r.Get(*s, "source", "is_replica", m.source.is_replica);
    r.Get(*s, "source", "replica_lag_s", m.source.replica_lag_s);
    r.Get(*s, "source", "snapshot", m.source.snapshot);
    r.Get(*s, "source", "snapshot_time", m.source.snapshot_time);
    r.Get(*s, "source", "watermark_from", m.source.watermark_from);
    r.Get(*s, "source", "watermark_to", m.source.watermark_to);
  }
  r.List(j, "", "inputs", m.inputs, [&](const json& e, const std::string& p, ManifestInput& in) {
    r.Get(e, p, "name", in.name);
    r.Get(e, p, "rows", in.rows);
  });
  r.List(j, "", "outputs", m.outputs,
         [&](const json& e, const std::string& p, ManifestOutput& out) {
           r.Get(e, p, "zone", out.zone);
           r.Get(e, p, "table", out.table);
           r.Get(e, p, "version", out.version);
           r.List(e, p, "files", out.files,
                  [&](const json& fe, const std::string& fp, ManifestFile& f) {
                    r.Get(fe, fp, "path", f.path);
                    r.Get(fe, fp, "bytes", f.bytes);
                    r.Get(fe, fp, "rows", f.rows);
                    r.Get(fe, fp, "sha256", f.sha256);
                  });
           r.Get(e, p, "rows", out.rows);
         });
  r.List(j, "", "rules", m.rules, [&](const json& e, const std::string& p, ManifestRule& rule) {
    r.Get(e, p, "id", rule.id);
    r.Get(e, p, "type", rule.type);
    r.Get(e, p, "severity", rule.severity);
    r.Get(e, p, "table", rule.table);
    r.Get(e, p, "column", rule.column);
    r.Get(e, p, "checked", rule.checked);
    r.Get(e, p, "failed", rule.failed);
    r.Get(e, p, "ratio", rule.ratio);
    r.Get(e, p, "threshold", rule.threshold);
    r.Get(e, p, "passed", rule.passed);
    r.Get(e, p, "breached", rule.breached);
    r.Get(e, p, "message", rule.message);
  });
  r.List(j, "", "phases", m.phases, [&](const json& e, const std::string& p, ManifestPhase& ph) {
    r.Get(e, p, "name", ph.name);
    r.Get(e, p, "seconds", ph.seconds);
    r.Get(e, p, "rows", ph.rows);
  });
  if (const json* c = r.Object(j, "", "counts")) {
    r.Get(*c, "counts", "extracted", m.counts.extracted);
    r.Get(*c, "counts", "published", m.counts.published);
    r.Get(*c, "counts", "quarantined", m.counts.quarantined);
  }
  if (!r.status().ok()) return r.status();
  return m;
}

Status WriteJsonFileAtomic(const fs::path& path, const json& j) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("mkdir ", path.parent_path().string(), ": ", ec.message()));
  const std::string body = j.dump(2) + "\n";
  // Unique per process and call, so concurrent writers never share a temporary file.
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = absl::StrCat(path.string(), ".tmp.", ::getpid(), ".", counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create", tmp);
  size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  // fsync before rename: after a crash the name points at the whole file or the old one.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "fsync", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "rename", path);
  }
  if (const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);  // best effort: makes the rename itself durable
    ::close(dir);
  }
  return absl::OkStatus();
}

StatusOr<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "open", path);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrCat("read ", path.string()));
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not JSON"));
  return j;
}

}  // namespace lastro::batch
