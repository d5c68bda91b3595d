// API tokens of governed access (docs/governance.md, "API tokens"): a bearer token
// maps to a user and a role. Only the SHA-256 of each token is stored, in
// <state_dir>/api_tokens.json (0600); the token itself is shown once, when issued.
//
// A token is "lst_" + 43 base64url characters (32 random bytes from libsodium), so its
// hash needs no salt or slow hashing: nobody can guess a 256-bit secret from its hash.
// The role is not checked against the policies here: `lastro serve` refuses a token
// whose role its policies do not define.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::governance {

struct ApiIdentity {
  std::string user;
  std::string role;
  std::string token_id;
};

// A token as listed: never its hash.
struct ApiTokenInfo {
  std::string id;  // "tok_" + 12 hex digits, what `lastro token revoke --id` takes
  std::string user;
  std::string role;
  std::string created_at;  // RFC 3339 UTC
  std::string revoked_at;  // "" while the token is valid
};

// The token file of a state folder: <state_dir>/api_tokens.json.
std::filesystem::path ApiTokenFile(const std::filesystem::path& state_dir);

// An immutable snapshot of the token file. Copyable; const methods are thread-safe.
class ApiTokens {
 public:
  // Reads <state_dir>/api_tokens.json; a missing file is no tokens.
  // Errors: kFailedPrecondition (the file is malformed: stop and alert),
  // kUnavailable (it cannot be read).
  static StatusOr<ApiTokens> Load(const std::filesystem::path& state_dir);

  // The identity of a valid token; nullopt for an unknown or revoked one, or anything
  // that is not a token. The presented token's hash is compared with every stored
  // hash in constant time (no early exit), so timing tells nothing about them.
  std::optional<ApiIdentity> Authenticate(std::string_view presented_token) const;

  // Every token, revoked ones included, in the order issued.
  std::vector<ApiTokenInfo> List() const;

  // True while the file on disk is still the one this snapshot was read from (same
  // inode, size and modification time): one stat(2), cheap enough per request.
  bool IsCurrent() const;

 private:
  struct FileId {
    ino_t inode = 0;
    off_t size = -1;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  static FileId IdOf(const std::filesystem::path& path);

  std::filesystem::path path_;
  FileId file_id_;
  std::vector<ApiTokenInfo> infos_;
  std::vector<std::array<unsigned char, 32>> hashes_;  // SHA-256 of each token, as infos_
};

// The current tokens for a long-running server: reloads the file when it changed
// (a token issued or revoked by `lastro token`), so a revocation takes effect on the
// next request. Thread-safe.
class ApiTokenCache {
 public:
  // Errors: as ApiTokens::Load.
  static StatusOr<std::unique_ptr<ApiTokenCache>> Create(const std::filesystem::path& state_dir);

  // As ApiTokens::Authenticate, on the file as it is now. When the changed file cannot
  // be read, every token is refused (fail closed) and the error is logged.
  std::optional<ApiIdentity> Authenticate(std::string_view presented_token);

 private:
  explicit ApiTokenCache(std::filesystem::path state_dir, ApiTokens tokens)
      : state_dir_(std::move(state_dir)), tokens_(std::move(tokens)) {}
  const std::filesystem::path state_dir_;
  std::mutex mu_;      // guards tokens_ and valid_
  ApiTokens tokens_;   // the last snapshot read
  bool valid_ = true;  // false when the last reload failed
};

// Creates a token for `user` with `role` and returns it: the only time it is seen.
// Stores its id, user, role, creation time and SHA-256, rewriting the file atomically
// (a temp file, fsync, rename) under an exclusive flock on <state_dir>/api_tokens.lock.
// `token_id`, when not null, receives the new token's id.
// Errors: kInvalidArgument (user or role not [a-z0-9_.@-]{1,64}); kFailedPrecondition
// (the file is malformed); kUnavailable (I/O); kInternal (no randomness).
StatusOr<std::string> IssueApiToken(const std::filesystem::path& state_dir, const std::string& user,
                                    const std::string& role, std::string* token_id = nullptr);

// Marks the token revoked (kept in the file with revoked_at, for the record).
// Revoking a revoked token again is OK and changes nothing.
// Errors: kNotFound (no such id); otherwise as IssueApiToken.
Status RevokeApiToken(const std::filesystem::path& state_dir, const std::string& token_id);

// Every token, revoked ones included. Errors: as ApiTokens::Load.
StatusOr<std::vector<ApiTokenInfo>> ListApiTokens(const std::filesystem::path& state_dir);

}  // namespace lastro::governance
