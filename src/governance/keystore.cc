#include "governance/keystore.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lastro::governance {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "LASTROKS";
constexpr uint32_t kFormat = 1;
constexpr size_t kIdBytes = 16;                                        // the master key id, hex
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + kIdBytes;              // 40
constexpr size_t kRecordBytes = 8 + 1 + 3 + 4 + 8 + kWrappedKeyBytes;  // 96
constexpr size_t kMacBytes = 32;
constexpr uint8_t kActive = 1, kErased = 2;
constexpr uint32_t kFirstKeyVersion = 1;

struct Record {
  uint8_t state = kActive;
  uint32_t version = kFirstKeyVersion;
  int64_t at_micros = 0;
  std::string wrapped;  // kWrappedKeyBytes when active, empty when erased
};

struct Shard {
  std::map<int64_t, Record> records;  // by customer id: files stay sorted
  std::string master_key_id;          // of the file as read; "" when there was none
};

std::string ShardName(int shard) { return absl::StrFormat("shard-%02x.bin", shard); }

int64_t NowMicros(const KeyStoreOptions& o) {
  if (o.now_micros) return o.now_micros();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

Status Errno(const std::string& what, const fs::path& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path.string(), ": ", std::strerror(errno)));
}

// The file's bytes; nullopt when it does not exist.
StatusOr<std::optional<std::string>> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) return std::optional<std::string>();
    return absl::UnavailableError("cannot read " + path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::UnavailableError("cannot read " + path.string());
  return std::optional<std::string>(ss.str());
}

// The master key id a shard file names (checked for shape only; the MAC is checked by
// Parse). Errors: kDataLoss.
StatusOr<std::string> HeaderKeyId(std::string_view bytes, const std::string& name) {
  if (bytes.size() < kHeaderBytes + kMacBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(absl::StrCat("key store file ", name, " is not a key store shard"));
  }
  return std::string(bytes.substr(24, kIdBytes));
}

StatusOr<Shard> Parse(std::string_view bytes, int shard, const MasterKey& master,
                      const std::string& name) {
  LASTRO_ASSIGN_OR_RETURN(std::string id, HeaderKeyId(bytes, name));
  if (id != master.id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key store file ", name, " was written under master key ", id,
                     ", not under this master key (", master.id(), ")"));
  }
  uint32_t format = static_cast<uint32_t>(GetLe(bytes, 8, 4));
  uint32_t index = static_cast<uint32_t>(GetLe(bytes, 12, 4));
  uint64_t count = GetLe(bytes, 16, 8);
  if (format != kFormat || index != static_cast<uint32_t>(shard) ||
      count > (bytes.size() - kHeaderBytes - kMacBytes) / kRecordBytes ||
      bytes.size() != kHeaderBytes + count * kRecordBytes + kMacBytes) {
    return absl::DataLossError(
        absl::StrCat("key store file ", name, " is corrupt (format, shard or length)"));
  }
  std::array<unsigned char, 32> mac = master.Mac(bytes.substr(0, bytes.size() - kMacBytes));
  if (sodium_memcmp(mac.data(), bytes.data() + bytes.size() - kMacBytes, kMacBytes) != 0) {
    return absl::DataLossError(absl::StrCat(
        "key store file ", name, " fails its authentication: it was altered or corrupted"));
  }
  Shard out;
  out.master_key_id = id;
  for (uint64_t i = 0; i < count; ++i) {
    size_t at = kHeaderBytes + i * kRecordBytes;
    int64_t customer = static_cast<int64_t>(GetLe(bytes, at, 8));
    Record r;
    r.state = static_cast<uint8_t>(bytes[at + 8]);
    r.version = static_cast<uint32_t>(GetLe(bytes, at + 12, 4));
    r.at_micros = static_cast<int64_t>(GetLe(bytes, at + 16, 8));
    if (r.state == kActive) {
      r.wrapped = std::string(bytes.substr(at + 24, kWrappedKeyBytes));
    } else if (r.state != kErased) {
      return absl::DataLossError(absl::StrCat("key store file ", name, " has an unknown state"));
    }
    out.records[customer] = std::move(r);
  }
  return out;
}

std::string Serialize(const Shard& s, int shard, const MasterKey& master) {
  std::string out(kMagic);
  out.reserve(kHeaderBytes + s.records.size() * kRecordBytes + kMacBytes);
  PutLe(out, kFormat, 4);
  PutLe(out, static_cast<uint32_t>(shard), 4);
  PutLe(out, s.records.size(), 8);
  out += master.id();
  for (const auto& [customer, r] : s.records) {
    PutLe(out, static_cast<uint64_t>(customer), 8);
    out.push_back(static_cast<char>(r.state));
    out.append(3, '\0');
    PutLe(out, r.version, 4);
    PutLe(out, static_cast<uint64_t>(r.at_micros), 8);
    if (r.state == kActive) {
      out += r.wrapped;
    } else {
      out.append(kWrappedKeyBytes, '\0');
    }
  }
  std::array<unsigned char, 32> mac = master.Mac(out);
  out.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return out;
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

Status SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", dir);
  return absl::OkStatus();
}

// Writes `bytes` beside dir/name and fsyncs it; returns the temporary path.
StatusOr<fs::path> WriteAside(const fs::path& dir, const std::string& name,
                              std::string_view bytes) {
  fs::path tmp = dir / absl::StrCat(name, ".tmp.", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  Status written = WriteAll(fd, bytes, tmp);
  if (written.ok() && ::fsync(fd) != 0) written = Errno("cannot fsync", tmp);
  ::close(fd);
  if (!written.ok()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return written;
  }
  return tmp;
}

// Renames `tmp` over dir/name (the caller fsyncs the folder afterwards). With
// `scrub`, the replaced file's bytes are then overwritten with zeros through a
// descriptor opened before the rename (its inode is unlinked by then): on a file
// system that overwrites in place (ext4, XFS) the old wrapped keys leave the disk; on
// copy-on-write ones, SSDs and backups they may not (docs/governance.md).
Status Commit(const fs::path& tmp, const fs::path& dir, const std::string& name, bool scrub) {
  fs::path target = dir / name;
  int old_fd = scrub ? ::open(target.c_str(), O_WRONLY | O_CLOEXEC) : -1;
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    Status s = Errno("cannot rename onto", target);
    if (old_fd >= 0) ::close(old_fd);
    std::error_code ec;
    fs::remove(tmp, ec);
    return s;
  }
  if (old_fd >= 0) {
    struct stat st {};
    if (::fstat(old_fd, &st) == 0 && st.st_size > 0) {
      // Best effort by nature (see above): the new file is already in place, so a
      // failure here loses nothing and is deliberately not an error.
      std::string zeros(static_cast<size_t>(st.st_size), '\0');
      ssize_t scrubbed = ::pwrite(old_fd, zeros.data(), zeros.size(), 0);
      if (scrubbed > 0) ::fdatasync(old_fd);
    }
    ::close(old_fd);
  }
  return absl::OkStatus();
}

// Replaces dir/name with `bytes` atomically: aside, fsync, rename, fsync the folder.
Status ReplaceFile(const fs::path& dir, const std::string& name, std::string_view bytes,
                   bool scrub) {
  LASTRO_ASSIGN_OR_RETURN(fs::path tmp, WriteAside(dir, name, bytes));
  LASTRO_RETURN_IF_ERROR(Commit(tmp, dir, name, scrub));
  return SyncDir(dir);
}

// keys/LOCK, held exclusively by writers (flock: released by the kernel when the
// process dies, so a killed writer never wedges the store).
class WriterLock {
 public:
  static StatusOr<std::unique_ptr<WriterLock>> Acquire(const fs::path& dir,
                                                       std::chrono::milliseconds timeout) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::UnavailableError("cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    fs::path path = dir / "LOCK";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("cannot open", path);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        Status s = Errno("cannot lock", path);
        ::close(fd);
        return s;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::close(fd);
        return absl::UnavailableError(absl::StrCat(
            "the key store ", dir.string(),
            " is locked by another writer (a batch saving keys, an erasure or a rotation); "
            "retry when it is done"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::unique_ptr<WriterLock>(new WriterLock(fd));
  }
  ~WriterLock() { ::close(fd_); }

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

// Reads and checks shard `i` (empty when the file does not exist).
StatusOr<Shard> LoadShard(const fs::path& dir, int i, const MasterKey& master) {
  std::string name = ShardName(i);
  LASTRO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFile(dir / name));
  if (!bytes) return Shard{};
  return Parse(*bytes, i, master, name);
}

}  // namespace

int ShardOf(int64_t customer_id) {
  uint64_t z = static_cast<uint64_t>(customer_id) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<int>(z & 0xff);
}

fs::path KeysDir(const fs::path& state_dir) { return state_dir / "keys"; }

struct KeyStore::Impl {
  Impl(fs::path d, const MasterKey& m, KeyStoreOptions o)
      : dir(std::move(d)), master(m), options(std::move(o)), shards(kShards) {}
  fs::path dir;
  MasterKey master;
  KeyStoreOptions options;
  std::vector<Shard> shards;
  std::vector<bool> dirty = std::vector<bool>(kShards, false);
  std::unordered_map<int64_t, DataKey> unwrapped;  // keys opened or created so far
  std::unordered_set<int64_t> fresh;               // created here, not saved yet
};

KeyStore::KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStore::~KeyStore() = default;

StatusOr<std::unique_ptr<KeyStore>> KeyStore::Open(const fs::path& dir, const MasterKey& master,
                                                   KeyStoreOptions options) {
  LASTRO_RETURN_IF_ERROR(InitSodium());
  auto impl = std::make_unique<Impl>(dir, master, std::move(options));
  int foreign = 0;
  std::string first_error;
  for (int i = 0; i < kShards; ++i) {
    StatusOr<Shard> shard = LoadShard(dir, i, master);
    if (absl::IsFailedPrecondition(shard.status())) {
      // Count them: one foreign shard among good ones is a rotation cut short.
      ++foreign;
      if (first_error.empty()) first_error = std::string(shard.status().message());
      continue;
    }
    if (!shard.ok()) return shard.status();
    impl->shards[i] = std::move(*shard);
  }
  if (foreign > 0) {
    int own = 0;
    for (const Shard& s : impl->shards) own += !s.master_key_id.empty();
    if (own > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key store ", dir.string(), " is half-rotated: ", own,
          " shard files are under this master key and ", foreign, " under another (", first_error,
          "); finish the rotation with `lastro keys rotate-master --new-key-file <new key>` "
          "and the old key as LASTRO_MASTER_KEY"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(first_error, ": LASTRO_MASTER_KEY is not the key this store (", dir.string(),
                     ") was written with"));
  }
  return std::unique_ptr<KeyStore>(new KeyStore(std::move(impl)));
}

KeyState KeyStore::State(int64_t customer_id) const {
  const Shard& s = impl_->shards[ShardOf(customer_id)];
  auto it = s.records.find(customer_id);
  if (it == s.records.end()) return KeyState::kNone;
  return it->second.state == kErased ? KeyState::kErased : KeyState::kActive;
}

int64_t KeyStore::RecordedAtMicros(int64_t customer_id) const {
  const Shard& s = impl_->shards[ShardOf(customer_id)];
  auto it = s.records.find(customer_id);
  return it == s.records.end() ? 0 : it->second.at_micros;
}

StatusOr<const DataKey*> KeyStore::KeyFor(int64_t customer_id, bool create) {
  int i = ShardOf(customer_id);
  Shard& s = impl_->shards[i];
  auto it = s.records.find(customer_id);
  if (it != s.records.end()) {
    if (it->second.state == kErased) return nullptr;
    if (auto k = impl_->unwrapped.find(customer_id); k != impl_->unwrapped.end()) {
      return &k->second;
    }
    LASTRO_ASSIGN_OR_RETURN(
        auto bytes, impl_->master.Unwrap(customer_id, it->second.version, it->second.wrapped));
    auto [pos, _] = impl_->unwrapped.emplace(customer_id, DataKey(bytes));
    sodium_memzero(bytes.data(), bytes.size());
    return &pos->second;
  }
  if (!create) return nullptr;
  DataKey key = DataKey::Generate();
  s.records[customer_id] = {
      .state = kActive,
      .version = kFirstKeyVersion,
      .at_micros = NowMicros(impl_->options),
      .wrapped = impl_->master.Wrap(customer_id, kFirstKeyVersion, key.bytes())};
  impl_->dirty[i] = true;
  impl_->fresh.insert(customer_id);
  auto [pos, _] = impl_->unwrapped.emplace(customer_id, std::move(key));
  return &pos->second;
}

int64_t KeyStore::pending() const { return static_cast<int64_t>(impl_->fresh.size()); }

StatusOr<SaveResult> KeyStore::Save() {
  SaveResult out;
  if (impl_->fresh.empty()) return out;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<WriterLock> lock,
                          WriterLock::Acquire(impl_->dir, impl_->options.lock_timeout));
  // Merge every touched shard with the disk, write them all aside (one fsync each),
  // then rename them and fsync the folder once: a first load touches all 256.
  std::vector<std::pair<int, Shard>> merged;
  for (int i = 0; i < kShards; ++i) {
    if (!impl_->dirty[i]) continue;
    StatusOr<Shard> disk = LoadShard(impl_->dir, i, impl_->master);
    if (absl::IsFailedPrecondition(disk.status())) {
      return absl::AbortedError(absl::StrCat(
          "the master key was rotated while this run held new keys (", disk.status().message(),
          "): nothing sealed by this run may be published; run it again"));
    }
    if (!disk.ok()) return disk.status();
    for (auto& [customer, record] : impl_->shards[i].records) {
      if (!impl_->fresh.count(customer)) continue;
      auto theirs = disk->records.find(customer);
      if (theirs == disk->records.end()) {
        disk->records[customer] = record;
        ++out.keys_written;
      } else if (theirs->second.state == kErased) {
        ++out.erased_meanwhile;  // KeyFor() returns nullptr for them once merged below
      } else {
        return absl::AbortedError(absl::StrCat(
            "another process created data keys for the same customers meanwhile (a second "
            "batch on the same governance state_dir): nothing sealed by this run may be "
            "published; run it again"));
      }
    }
    disk->master_key_id = impl_->master.id();
    merged.emplace_back(i, std::move(*disk));
  }
  std::vector<fs::path> aside;
  for (const auto& [i, shard] : merged) {
    StatusOr<fs::path> tmp =
        WriteAside(impl_->dir, ShardName(i), Serialize(shard, i, impl_->master));
    if (!tmp.ok()) {
      std::error_code ec;
      for (const fs::path& p : aside) fs::remove(p, ec);
      return tmp.status();
    }
    aside.push_back(*tmp);
  }
  for (size_t k = 0; k < merged.size(); ++k) {
    LASTRO_RETURN_IF_ERROR(Commit(aside[k], impl_->dir, ShardName(merged[k].first), false));
  }
  LASTRO_RETURN_IF_ERROR(SyncDir(impl_->dir));
  for (auto& [i, shard] : merged) {
    impl_->shards[i] = std::move(shard);
    impl_->dirty[i] = false;
    ++out.shards_written;
  }
  impl_->fresh.clear();
  return out;
}

StatusOr<EraseOutcome> EraseKey(const fs::path& dir, const MasterKey& master, int64_t customer_id,
                                const KeyStoreOptions& options) {
  LASTRO_RETURN_IF_ERROR(InitSodium());
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<WriterLock> lock,
                          WriterLock::Acquire(dir, options.lock_timeout));
  int i = ShardOf(customer_id);
  LASTRO_ASSIGN_OR_RETURN(Shard shard, LoadShard(dir, i, master));
  EraseOutcome out;
  auto it = shard.records.find(customer_id);
  if (it != shard.records.end() && it->second.state == kErased) {
    out.already_erased = true;
    out.erased_at_micros = it->second.at_micros;
    return out;
  }
  out.had_key = it != shard.records.end();
  out.erased_at_micros = NowMicros(options);
  Record& r = shard.records[customer_id];
  sodium_memzero(r.wrapped.data(), r.wrapped.size());
  r = {.state = kErased,
       .version = out.had_key ? r.version : kFirstKeyVersion,
       .at_micros = out.erased_at_micros,
       .wrapped = {}};
  LASTRO_RETURN_IF_ERROR(ReplaceFile(dir, ShardName(i), Serialize(shard, i, master), true));
  return out;
}

StatusOr<int> RotateMasterKey(const fs::path& dir, const MasterKey& current, const MasterKey& next,
                              const KeyStoreOptions& options) {
  if (current.id() == next.id()) {
    return absl::InvalidArgumentError("the new master key is the current one");
  }
  LASTRO_RETURN_IF_ERROR(InitSodium());
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<WriterLock> lock,
                          WriterLock::Acquire(dir, options.lock_timeout));
  int rewritten = 0;
  for (int i = 0; i < kShards; ++i) {
    std::string name = ShardName(i);
    LASTRO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFile(dir / name));
    if (!bytes) continue;
    LASTRO_ASSIGN_OR_RETURN(std::string id, HeaderKeyId(*bytes, name));
    if (id == next.id()) continue;  // done by an earlier, interrupted rotation
    if (id != current.id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("key store file ", name, " is under master key ", id, ", neither the ",
                       "current (", current.id(), ") nor the new one (", next.id(), ")"));
    }
    LASTRO_ASSIGN_OR_RETURN(Shard shard, Parse(*bytes, i, current, name));
    for (auto& [customer, r] : shard.records) {
      if (r.state != kActive) continue;
      LASTRO_ASSIGN_OR_RETURN(auto key, current.Unwrap(customer, r.version, r.wrapped));
      r.wrapped = next.Wrap(customer, r.version, key);
      sodium_memzero(key.data(), key.size());
    }
    LASTRO_RETURN_IF_ERROR(ReplaceFile(dir, name, Serialize(shard, i, next), true));
    ++rewritten;
  }
  return rewritten;
}

StoreSummary KeyStore::Summary() const {
  StoreSummary out;
  for (const Shard& s : impl_->shards) {
    if (s.master_key_id.empty() && s.records.empty()) continue;
    out.shard_files += !s.master_key_id.empty();
    if (!s.master_key_id.empty()) out.master_key_id = s.master_key_id;
    for (const auto& [_, r] : s.records) (r.state == kErased ? out.erased : out.active) += 1;
  }
  return out;
}

}  // namespace lastro::governance
