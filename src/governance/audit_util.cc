#include "governance/audit_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace lastro::governance::internal {

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Sha256Digest Sha256(std::string_view data) {
  static_assert(crypto_hash_sha256_BYTES == sizeof(Sha256Digest));
  Sha256Digest out{};
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::string ToHex(const Sha256Digest& digest) {
  std::string hex(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  hex.pop_back();
  return hex;
}

std::string Sha256Hex(std::string_view data) { return ToHex(Sha256(data)); }

bool FromHex(std::string_view hex, Sha256Digest* out) {
  if (hex.size() != out->size() * 2) return false;
  size_t len = 0;
  const char* end = nullptr;
  return sodium_hex2bin(out->data(), out->size(), hex.data(), hex.size(), nullptr, &len, &end) ==
             0 &&
         len == out->size() && end == hex.data() + hex.size();
}

std::string Rfc3339(int64_t unix_micros, bool with_micros) {
  int64_t seconds = unix_micros / 1000000;
  int64_t micros = unix_micros % 1000000;
  if (micros < 0) {  // before 1970: floor, not truncation
    micros += 1000000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (with_micros) out += fmt::format(".{:06}", micros);
  out += 'Z';
  return out;
}

Status MakePrivateDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", dir.parent_path().string(), ": ", ec.message()));
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", dir.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Status WriteFileAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  auto fail = [&](std::string_view what, const std::filesystem::path& p) {
    return absl::UnavailableError(
        absl::StrCat("cannot ", std::string(what), " ", p.string(), ": ", std::strerror(errno)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("write", tmp);
  if (!WriteAll(fd, text)) {
    Status s = fail("write", tmp);
    ::close(fd);
    return s;
  }
  if (::fsync(fd) != 0) {
    Status s = fail("fsync", tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename", tmp);
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return fail("open", path.parent_path());
  const bool synced = ::fsync(dir) == 0;
  ::close(dir);
  if (!synced) return fail("fsync", path.parent_path());
  return absl::OkStatus();
}

}  // namespace lastro::governance::internal
