#include "governance/requests_log.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace lastro::governance::internal {

namespace fs = std::filesystem;

fs::path RequestsLogPath(const fs::path& state_dir) {
  return state_dir / "privacy" / "requests.jsonl";
}

Status AppendRequestLine(const fs::path& state_dir, const nlohmann::json& line) {
  fs::path path = RequestsLogPath(state_dir);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path.parent_path().string(), ": ", ec.message()));
  }
  fs::permissions(path.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
  std::string text = line.dump() + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int saved = errno;
  bool synced = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    return absl::UnavailableError(absl::StrCat("cannot append to ", path.string(), ": ",
                                               std::strerror(n < 0 ? saved : errno)));
  }
  return absl::OkStatus();
}

std::string NewRequestId() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));  // RFC 9562 variant
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, b, sizeof b);
  std::string h(hex);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

std::string MicrosRfc3339(int64_t micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

std::string NowRfc3339() {
  return MicrosRfc3339(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

}  // namespace lastro::governance::internal
