#include "governance/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/pii.h"
#include "governance/audit_util.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<std::string_view, 5> kOutcomes = {"allowed", "denied", "error", "cancelled",
                                                       "timeout"};

Status Errno(std::string_view what, const fs::path& path) {
  return absl::UnavailableError(absl::StrCat("audit log: cannot ", std::string(what), " ",
                                             path.string(), ": ", std::strerror(errno)));
}

// The one serialisation used for both the stored line and the hash: nlohmann's
// object keeps its keys sorted, no whitespace, invalid UTF-8 replaced by U+FFFD.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The canonical form of an entry: the object without its `hash`. Independent of the
// order of the keys in the file, since parsing sorts them again.
std::string Canonical(json j) {
  j.erase("hash");
  return Dump(j);
}

// Holds flock(2) on `fd` while in scope (retrying on EINTR).
class FileLock {
 public:
  FileLock(int fd, int operation) : fd_(fd) {
    while ((ok_ = ::flock(fd_, operation) == 0) == false && errno == EINTR) {
    }
  }
  ~FileLock() {
    if (ok_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

Status PreadAll(int fd, int64_t offset, int64_t n, std::string* out, const fs::path& path) {
  out->assign(static_cast<size_t>(n), '\0');
  int64_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, static_cast<size_t>(n - done), offset + done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("read", path);
    if (r == 0) break;  // shorter than fstat said: cut meanwhile
    done += r;
  }
  out->resize(static_cast<size_t>(done));
  return absl::OkStatus();
}

// What an append needs from the end of the file, read under the lock.
struct Tail {
  int64_t size = 0;          // the file's size
  int64_t complete_end = 0;  // bytes up to and including the last '\n'
  std::string last_line;     // the last complete line (without '\n'), "" when none
};

// Reads the file's end backwards, 16 KiB at a time (entries are short: one read
// usually does), until it holds the last complete line whole: the '\n' that ends it
// and the '\n' before it, or the file's start.
StatusOr<Tail> ReadTail(int fd, int64_t size, const fs::path& path) {
  constexpr int64_t kChunk = 16 * 1024;
  Tail tail;
  tail.size = size;
  std::string end;  // the file's bytes [from, size)
  for (int64_t from = size;;) {
    const size_t last = end.rfind('\n');
    const size_t prev =
        last == std::string::npos || last == 0 ? std::string::npos : end.rfind('\n', last - 1);
    if (last != std::string::npos && (prev != std::string::npos || from == 0)) {
      const size_t begin = prev == std::string::npos ? 0 : prev + 1;
      tail.complete_end = from + static_cast<int64_t>(last) + 1;
      tail.last_line = end.substr(begin, last - begin);
      return tail;
    }
    if (from == 0) return tail;  // no complete line at all
    const int64_t start = std::max<int64_t>(0, from - kChunk);
    std::string chunk;
    LASTRO_RETURN_IF_ERROR(PreadAll(fd, start, from - start, &chunk, path));
    end.insert(0, chunk);
    from = start;
  }
}

bool IsHex64(const json& v) {
  internal::Sha256Digest d;
  return v.is_string() && internal::FromHex(v.get<std::string>(), &d);
}

json EntryJson(const AuditEntry& e) {
  // Rounded to the microsecond so that the text in the file is short and re-parses to
  // the same double; a non-finite duration (a caller's bug) is not worth a refusal.
  const double duration =
      std::isfinite(e.duration_ms) ? std::round(e.duration_ms * 1000.0) / 1000.0 : 0.0;
  return json{
      {"user", e.user},      {"role", e.role},          {"action", e.action},
      {"sql", e.sql},        {"tables", e.tables},      {"columns", e.columns},
      {"rows", e.rows},      {"duration_ms", duration}, {"outcome", e.outcome},
      {"reason", e.reason},  {"remote", e.remote},      {"catalog_version", e.catalog_version},
      {"subject", e.subject}};
}

// Writes `line` at the end of the file and syncs it; on failure cuts the file back to
// `size` so that nothing of an unacknowledged entry stays (best effort).
// With `sync` false the line is only written (the page cache has it; a process crash
// keeps it) and the caller's group sync makes it durable shortly.
Status WriteDurably(int fd, int64_t size, const std::string& line, const fs::path& path,
                    bool sync) {
  if (!internal::WriteAll(fd, line)) {
    Status s = Errno("write", path);
    IgnoreError(::ftruncate(fd, size) == 0 ? absl::OkStatus() : Errno("truncate", path));
    return s;
  }
  if (sync && ::fdatasync(fd) != 0) {
    Status s = Errno("fdatasync", path);
    IgnoreError(::ftruncate(fd, size) == 0 ? absl::OkStatus() : Errno("truncate", path));
    return s;
  }
  return absl::OkStatus();
}

void ShipToLogs(const AuditEntry& e, int64_t seq, const std::string& hash) {
  // The log's own scrubbing also redacts every string value; the SQL and the reason
  // are redacted here as well so that this line never depends on it.
  constexpr size_t kLoggedSqlBytes = 2048;
  log::Info("audit entry",
            {{"logger", "audit"},
             {"seq", seq},
             {"hash", hash},
             {"user", e.user},
             {"role", e.role},
             {"action", e.action},
             {"outcome", e.outcome},
             {"tables", e.tables},
             {"rows", e.rows},
             {"duration_ms", e.duration_ms},
             {"catalog_version", e.catalog_version},
             // A log line stays small: the whole text is in the file.
             {"sql", pii::Redact(e.sql.size() <= kLoggedSqlBytes
                                     ? e.sql
                                     : absl::StrCat(e.sql.substr(0, kLoggedSqlBytes), "... (",
                                                    e.sql.size(), " bytes)"))},
             {"reason", pii::Redact(e.reason)}});
  metrics::Registry::Global()
      .GetCounter("lastro.audit.entries", "Audit log entries appended, by action and outcome",
                  {{"action", e.action}, {"outcome", e.outcome}})
      .Add();
}

// The chain's head: the seq and hash of the last complete line (`tail`), or 0 and
// the genesis hash for an empty file.
struct Head {
  int64_t seq = 0;
  std::string hash = std::string(kAuditGenesisHash);
};

StatusOr<Head> HeadOf(const Tail& tail, const fs::path& path) {
  if (tail.last_line.empty() && tail.complete_end == 0) return Head{};
  const json last = json::parse(tail.last_line, nullptr, false);
  if (last.is_discarded() || !last.is_object() || !last.contains("seq") ||
      !last["seq"].is_number_integer() || !last.contains("hash") || !IsHex64(last["hash"])) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", path.string(),
                     ": its last line is not a valid entry; nothing appended (stop and alert: "
                     "run `lastro audit verify`)"));
  }
  return Head{last["seq"].get<int64_t>(), last["hash"].get<std::string>()};
}

// Writes `entry` at `size`, the end of the file, after `head` (read under the lock),
// at from `clock`. Returns the new head; `*size` becomes the file's new size.
StatusOr<Head> WriteEntry(int fd, const fs::path& path, const Clock& clock, const AuditEntry& entry,
                          const Head& head, int64_t* size, bool sync = true) {
  const int64_t seq = head.seq + 1;
  const std::string& prev = head.hash;
  json j = EntryJson(entry);
  j["seq"] = seq;
  j["at"] = internal::Rfc3339(clock.WallMicros(), /*with_micros=*/true);
  j["prev"] = prev;
  // The canonical text (no `hash` key yet). Verification re-parses the line and dumps
  // it again; nlohmann's dump round-trips (sorted keys, shortest doubles, invalid UTF-8
  // replaced on the first dump), so that gives these bytes back without a re-parse here.
  Head out{seq, internal::Sha256Hex(Dump(j))};
  j["hash"] = out.hash;
  const std::string line = Dump(j) + "\n";
  LASTRO_RETURN_IF_ERROR(WriteDurably(fd, *size, line, path, sync));
  *size += static_cast<int64_t>(line.size());
  return out;
}

// Under the lock: the head from the file's last line, after cutting off an
// incomplete one (an append that crashed between write and sync, so never
// acknowledged) and recording the cut in the chain itself. `*size` follows the file.
StatusOr<Head> ReadHead(int fd, const fs::path& path, const Clock& clock, int64_t* size) {
  LASTRO_ASSIGN_OR_RETURN(Tail tail, ReadTail(fd, *size, path));
  if (tail.complete_end == tail.size) return HeadOf(tail, path);
  std::string fragment;
  LASTRO_RETURN_IF_ERROR(
      PreadAll(fd, tail.complete_end, tail.size - tail.complete_end, &fragment, path));
  if (::ftruncate(fd, tail.complete_end) != 0) return Errno("truncate", path);
  *size = tail.complete_end;
  const std::string why =
      absl::StrCat("cut off an incomplete last line of ", fragment.size(), " bytes (sha256 ",
                   internal::Sha256Hex(fragment), ") left by an interrupted append");
  log::Warn("audit log: " + why, {{"logger", "audit"}, {"file", path.string()}});
  const AuditEntry recover{.user = "lastro",
                           .action = "audit.recover",
                           .outcome = "error",
                           .reason = why,
                           .remote = "local"};
  tail.size = tail.complete_end;
  LASTRO_ASSIGN_OR_RETURN(Head before, HeadOf(tail, path));
  LASTRO_ASSIGN_OR_RETURN(Head recovered, WriteEntry(fd, path, clock, recover, before, size));
  ShipToLogs(recover, recovered.seq, recovered.hash);
  return recovered;
}

std::string SqlQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

fs::path AuditLogFile(const fs::path& state_dir) { return state_dir / "audit" / "audit.jsonl"; }

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const fs::path& state_dir, const Clock& clock,
                                                   std::chrono::milliseconds group_sync) {
  const fs::path path = AuditLogFile(state_dir);
  LASTRO_RETURN_IF_ERROR(internal::MakePrivateDir(state_dir));
  LASTRO_RETURN_IF_ERROR(internal::MakePrivateDir(path.parent_path()));
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  // The file's name must be durable before its first entry is acknowledged.
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_synced = dir >= 0 && ::fsync(dir) == 0;
  if (dir >= 0) ::close(dir);
  if (!dir_synced) {
    Status s = Errno("sync the folder of", path);
    ::close(fd);
    return s;
  }
  if (!internal::SodiumReady()) {
    ::close(fd);
    return absl::InternalError("audit log: libsodium cannot be initialised");
  }
  auto log = std::unique_ptr<AuditLog>(new AuditLog(fd, path, clock));
  if (group_sync.count() > 0) {
    log->group_sync_ = group_sync;
    log->syncer_ = std::thread([raw = log.get()] { raw->SyncLoop(); });
  }
  return log;
}

void AuditLog::SyncLoop() {
  std::unique_lock lock(sync_mu_);
  std::vector<Unshipped> shipping;
  while (!stopping_) {
    sync_cv_.wait_for(lock, group_sync_, [this] { return stopping_; });
    shipping.swap(unshipped_);
    lock.unlock();
    for (const Unshipped& u : shipping) ShipToLogs(u.entry, u.seq, u.hash);
    shipping.clear();
    lock.lock();
    if (!dirty_.exchange(false)) continue;
    lock.unlock();
    if (::fdatasync(fd_) != 0) {
      // Nothing to refuse any more (the answers left): say it loudly, and count it.
      log::Error("audit log: group fdatasync failed",
                 {{"logger", "audit"}, {"file", path_.string()}, {"error", std::strerror(errno)}});
      metrics::Registry::Global()
          .GetCounter("lastro.audit.sync_failures", "Failed group syncs of the audit log", {})
          .Add();
    }
    lock.lock();
  }
}

AuditLog::~AuditLog() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(sync_mu_);
      stopping_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
    if (dirty_.load()) ::fdatasync(fd_);
    for (const Unshipped& u : unshipped_) ShipToLogs(u.entry, u.seq, u.hash);
  }
  ::close(fd_);
}

StatusOr<int64_t> AuditLog::Append(const AuditEntry& entry) {
  if (entry.action.empty()) return absl::InvalidArgumentError("audit entry without an action");
  if (std::find(kOutcomes.begin(), kOutcomes.end(), entry.outcome) == kOutcomes.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit entry with an unknown outcome '", entry.outcome, "'"));
  }
  const auto started = std::chrono::steady_clock::now();
  Head head;
  {
    std::lock_guard lock(mu_);
    FileLock flock(fd_, LOCK_EX);
    if (!flock.ok()) return Errno("lock", path_);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Errno("stat", path_);
    int64_t size = st.st_size;
    if (size == head_size_) {
      head = {head_seq_, head_hash_};
    } else {
      head_size_ = -1;  // until this append succeeds
      LASTRO_ASSIGN_OR_RETURN(head, ReadHead(fd_, path_, clock_, &size));
    }
    const bool sync_now = group_sync_.count() == 0;
    LASTRO_ASSIGN_OR_RETURN(head, WriteEntry(fd_, path_, clock_, entry, head, &size, sync_now));
    if (!sync_now) {
      dirty_ = true;
      std::lock_guard ship(sync_mu_);  // under mu_: queued in seq order
      unshipped_.push_back({entry, head.seq, head.hash});
    }
    head_size_ = size;
    head_seq_ = head.seq;
    head_hash_ = head.hash;
  }
  metrics::Registry::Global()
      .GetHistogram("lastro.audit.append.ms", "Time to append and sync one audit entry (ms)")
      .Observe(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                   .count());
  if (group_sync_.count() == 0) ShipToLogs(entry, head.seq, head.hash);
  return head.seq;
}

namespace {

// Checks one line at position `seq` after an entry whose hash is `prev`. Returns the
// problem ("" when the line is intact) and sets `hash` to the line's hash.
std::string CheckLine(std::string_view line, int64_t seq, const std::string& prev,
                      std::string* hash) {
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "not a JSON object";
  if (!j.contains("seq") || !j["seq"].is_number_integer()) return "no integer seq";
  const int64_t found = j["seq"].get<int64_t>();
  if (found != seq) {
    return absl::StrCat("seq ", found, " where ", seq,
                        " was expected (a line removed, inserted or reordered)");
  }
  if (!j.contains("prev") || !j["prev"].is_string() || j["prev"].get<std::string>() != prev) {
    return seq == 1 ? std::string("prev of the first entry is not 64 zeros")
                    : absl::StrCat("prev is not the hash of entry ", seq - 1,
                                   " (a line removed, inserted or reordered, or a forged entry)");
  }
  if (!j.contains("hash") || !IsHex64(j["hash"])) return "no hash";
  *hash = j["hash"].get<std::string>();
  if (internal::Sha256Hex(Canonical(j)) != *hash) {
    return "the hash does not match the entry's content (a field was edited)";
  }
  return "";
}

}  // namespace

StatusOr<AuditVerification> VerifyAuditLog(const fs::path& state_dir,
                                           std::string_view expect_head) {
  std::string expected;
  if (!expect_head.empty()) {
    internal::Sha256Digest d;
    if (!internal::FromHex(expect_head, &d)) {
      return absl::InvalidArgumentError("the expected head must be 64 hex digits (a SHA-256)");
    }
    expected = internal::ToHex(d);
  }
  const fs::path path = AuditLogFile(state_dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no audit log at ", path.string()));
  }
  if (fd < 0) return Errno("open", path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // The entries present now: appends hold the lock for their whole write, so the
  // size seen under a shared lock ends at a complete line. Later appends only add
  // bytes after it, so the rest is read without blocking them.
  int64_t size = 0;
  {
    FileLock lock(fd, LOCK_SH);
    if (!lock.ok()) return Errno("lock", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Errno("stat", path);
    size = st.st_size;
  }
  AuditVerification v;
  std::string prev(kAuditGenesisHash);
  bool head_found = false;
  std::string pending;
  std::string chunk;
  auto fail = [&](int64_t seq, std::string problem) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.problem = absl::StrCat("entry ", seq, ": ", problem);
  };
  constexpr int64_t kChunk = 1 << 20;
  for (int64_t offset = 0; offset < size && v.ok; offset += kChunk) {
    LASTRO_RETURN_IF_ERROR(PreadAll(fd, offset, std::min(kChunk, size - offset), &chunk, path));
    if (chunk.empty()) break;
    pending += chunk;
    size_t start = 0;
    for (size_t nl; v.ok && (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      const int64_t seq = v.entries + 1;
      std::string hash;
      std::string problem =
          CheckLine(std::string_view(pending).substr(start, nl - start), seq, prev, &hash);
      if (!problem.empty()) {
        fail(seq, std::move(problem));
        break;
      }
      v.entries = seq;
      v.head_seq = seq;
      v.head_hash = hash;
      head_found = head_found || hash == expected;
      prev = std::move(hash);
    }
    pending.erase(0, start);
  }
  if (v.ok && !pending.empty()) {
    fail(v.entries + 1,
         "the last line is incomplete (no newline at its end): the file was truncated");
  }
  if (v.ok && !expected.empty() && !head_found) {
    v.ok = false;
    v.problem = absl::StrCat("the expected head ", expected,
                             " is not in the log: entries were cut off its end, or the whole "
                             "chain was rewritten");
  }
  return v;
}

std::string AuditViewSql(const fs::path& log_file) {
  return absl::StrCat(
      "CREATE OR REPLACE TEMP VIEW audit_log AS SELECT seq, \"at\", \"user\", role, action, "
      "outcome, reason, sql, \"tables\", \"columns\", \"rows\", duration_ms, remote, "
      "catalog_version, subject, prev, hash FROM read_json(",
      SqlQuote(log_file.string()),
      ", format = 'newline_delimited', records = true, maximum_object_size = 67108864, "
      "timestampformat = '%Y-%m-%dT%H:%M:%S.%fZ', columns = {'seq': 'BIGINT', 'at': "
      "'TIMESTAMP', 'user': 'VARCHAR', 'role': 'VARCHAR', 'action': 'VARCHAR', 'outcome': "
      "'VARCHAR', 'reason': 'VARCHAR', 'sql': 'VARCHAR', 'tables': 'VARCHAR[]', 'columns': "
      "'VARCHAR[]', 'rows': 'BIGINT', 'duration_ms': 'DOUBLE', 'remote': 'VARCHAR', "
      "'catalog_version': 'VARCHAR', 'subject': 'VARCHAR', 'prev': 'VARCHAR', 'hash': "
      "'VARCHAR'})");
}

}  // namespace lastro::governance
