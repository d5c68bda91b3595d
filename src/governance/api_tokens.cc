#include "governance/api_tokens.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "governance/audit_util.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kFileVersion = 1;
constexpr std::string_view kTokenPrefix = "lst_";

struct TokenRecord {
  ApiTokenInfo info;
  internal::Sha256Digest hash;
};

Status Malformed(const fs::path& path, std::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("API token file ", path.string(), " is malformed (", std::string(why),
                   "); restore it from a backup, or move it away and issue the tokens again"));
}

bool ValidName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
           c == '-';
  });
}

StatusOr<std::vector<TokenRecord>> ReadRecords(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec) && !ec) return std::vector<TokenRecord>{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  const json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Malformed(path, "not a JSON object");
  if (j.value("version", 0) != kFileVersion) return Malformed(path, "unknown version");
  if (!j.contains("tokens") || !j["tokens"].is_array()) return Malformed(path, "no tokens array");
  std::vector<TokenRecord> records;
  for (const json& t : j["tokens"]) {
    auto text = [&](const char* key) -> std::optional<std::string> {
      if (!t.is_object() || !t.contains(key)) return std::nullopt;
      if (t[key].is_null()) return std::string();
      if (!t[key].is_string()) return std::nullopt;
      return t[key].get<std::string>();
    };
    TokenRecord r;
    auto id = text("id"), user = text("user"), role = text("role"), created = text("created_at"),
         revoked = text("revoked_at"), hash = text("sha256");
    if (!id || !user || !role || !created || !revoked || !hash) {
      return Malformed(path, "a token without id, user, role, created_at, revoked_at or sha256");
    }
    if (!internal::FromHex(*hash, &r.hash)) return Malformed(path, "a sha256 that is not hex");
    r.info = {*id, *user, *role, *created, *revoked};
    records.push_back(std::move(r));
  }
  return records;
}

std::string Serialise(const std::vector<TokenRecord>& records) {
  json tokens = json::array();
  for (const TokenRecord& r : records) {
    tokens.push_back(
        {{"id", r.info.id},
         {"user", r.info.user},
         {"role", r.info.role},
         {"created_at", r.info.created_at},
         {"revoked_at", r.info.revoked_at.empty() ? json(nullptr) : json(r.info.revoked_at)},
         {"sha256", internal::ToHex(r.hash)}});
  }
  return json{{"version", kFileVersion}, {"tokens", tokens}}.dump(2) + "\n";
}

// An exclusive flock on <state_dir>/api_tokens.lock: the token file itself is replaced
// by rename, so a lock on it would lock the old file.
class TokenFileLock {
 public:
  static StatusOr<std::unique_ptr<TokenFileLock>> Acquire(const fs::path& state_dir) {
    LASTRO_RETURN_IF_ERROR(internal::MakePrivateDir(state_dir));
    const fs::path path = state_dir / "api_tokens.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
    }
    int rc;
    while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      Status s = absl::UnavailableError(
          absl::StrCat("cannot lock ", path.string(), ": ", std::strerror(errno)));
      ::close(fd);
      return s;
    }
    return std::unique_ptr<TokenFileLock>(new TokenFileLock(fd));
  }
  ~TokenFileLock() { ::close(fd_); }  // releases the flock

 private:
  explicit TokenFileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::string NowRfc3339() {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return internal::Rfc3339(micros, /*with_micros=*/false);
}

}  // namespace

fs::path ApiTokenFile(const fs::path& state_dir) { return state_dir / "api_tokens.json"; }

ApiTokens::FileId ApiTokens::IdOf(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, st.st_size, int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

StatusOr<ApiTokens> ApiTokens::Load(const fs::path& state_dir) {
  ApiTokens tokens;
  tokens.path_ = ApiTokenFile(state_dir);
  // Identified before reading: a file replaced in between reads as changed later.
  tokens.file_id_ = IdOf(tokens.path_);
  LASTRO_ASSIGN_OR_RETURN(std::vector<TokenRecord> records, ReadRecords(tokens.path_));
  for (TokenRecord& r : records) {
    tokens.infos_.push_back(std::move(r.info));
    tokens.hashes_.push_back(r.hash);
  }
  return tokens;
}

std::optional<ApiIdentity> ApiTokens::Authenticate(std::string_view presented_token) const {
  const internal::Sha256Digest presented = internal::Sha256(presented_token);
  std::optional<size_t> match;
  for (size_t i = 0; i < hashes_.size(); ++i) {
    // Every stored hash is compared, in constant time, whatever matched before.
    if (sodium_memcmp(presented.data(), hashes_[i].data(), presented.size()) == 0) match = i;
  }
  if (!match || !presented_token.starts_with(kTokenPrefix)) return std::nullopt;
  const ApiTokenInfo& info = infos_[*match];
  if (!info.revoked_at.empty()) return std::nullopt;
  return ApiIdentity{info.user, info.role, info.id};
}

std::vector<ApiTokenInfo> ApiTokens::List() const { return infos_; }

bool ApiTokens::IsCurrent() const { return IdOf(path_) == file_id_; }

StatusOr<std::unique_ptr<ApiTokenCache>> ApiTokenCache::Create(const fs::path& state_dir) {
  LASTRO_ASSIGN_OR_RETURN(ApiTokens tokens, ApiTokens::Load(state_dir));
  return std::unique_ptr<ApiTokenCache>(new ApiTokenCache(state_dir, std::move(tokens)));
}

std::optional<ApiIdentity> ApiTokenCache::Authenticate(std::string_view presented_token) {
  std::lock_guard lock(mu_);
  if (!tokens_.IsCurrent() || !valid_) {
    StatusOr<ApiTokens> reloaded = ApiTokens::Load(state_dir_);
    valid_ = reloaded.ok();
    if (!valid_) {
      log::Error("API tokens cannot be reloaded; refusing every token until they can",
                 {{"error", std::string(reloaded.status().message())}});
      return std::nullopt;
    }
    tokens_ = std::move(*reloaded);
  }
  return tokens_.Authenticate(presented_token);
}

StatusOr<std::string> IssueApiToken(const fs::path& state_dir, const std::string& user,
                                    const std::string& role, std::string* token_id) {
  if (!ValidName(user)) {
    return absl::InvalidArgumentError(
        absl::StrCat("user '", user, "' must be 1 to 64 of [a-z0-9_.@-]"));
  }
  if (!ValidName(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat("role '", role, "' must be 1 to 64 of [a-z0-9_.@-]"));
  }
  if (!internal::SodiumReady()) return absl::InternalError("libsodium cannot be initialised");
  LASTRO_ASSIGN_OR_RETURN(auto lock, TokenFileLock::Acquire(state_dir));
  const fs::path path = ApiTokenFile(state_dir);
  LASTRO_ASSIGN_OR_RETURN(std::vector<TokenRecord> records, ReadRecords(path));

  unsigned char secret[32];
  randombytes_buf(secret, sizeof secret);
  char encoded[sodium_base64_ENCODED_LEN(sizeof secret, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(secret, sizeof secret);
  std::string token = std::string(kTokenPrefix) + encoded;
  sodium_memzero(encoded, sizeof encoded);

  std::string id;
  do {
    unsigned char raw[6];
    randombytes_buf(raw, sizeof raw);
    char hex[sizeof raw * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    id = absl::StrCat("tok_", hex);
  } while (std::any_of(records.begin(), records.end(),
                       [&](const TokenRecord& r) { return r.info.id == id; }));

  records.push_back({{id, user, role, NowRfc3339(), ""}, internal::Sha256(token)});
  LASTRO_RETURN_IF_ERROR(internal::WriteFileAtomically(path, Serialise(records)));
  if (token_id != nullptr) *token_id = id;
  return token;
}

Status RevokeApiToken(const fs::path& state_dir, const std::string& token_id) {
  LASTRO_ASSIGN_OR_RETURN(auto lock, TokenFileLock::Acquire(state_dir));
  const fs::path path = ApiTokenFile(state_dir);
  LASTRO_ASSIGN_OR_RETURN(std::vector<TokenRecord> records, ReadRecords(path));
  auto it = std::find_if(records.begin(), records.end(),
                         [&](const TokenRecord& r) { return r.info.id == token_id; });
  if (it == records.end()) {
    return absl::NotFoundError(absl::StrCat("no API token with id '", token_id, "'"));
  }
  if (!it->info.revoked_at.empty()) return absl::OkStatus();
  it->info.revoked_at = NowRfc3339();
  return internal::WriteFileAtomically(path, Serialise(records));
}

StatusOr<std::vector<ApiTokenInfo>> ListApiTokens(const fs::path& state_dir) {
  LASTRO_ASSIGN_OR_RETURN(ApiTokens tokens, ApiTokens::Load(state_dir));
  return tokens.List();
}

}  // namespace lastro::governance
