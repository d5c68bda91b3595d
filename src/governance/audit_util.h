// Helpers shared by the audit log and the API tokens (internal to lastro_audit):
// SHA-256 through libsodium, RFC 3339 times, private folders and atomic file writes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::governance::internal {

using Sha256Digest = std::array<unsigned char, 32>;

// Initialises libsodium once (idempotent, thread-safe); false when it cannot
// (no entropy source), in which case no random bytes may be drawn.
bool SodiumReady();

Sha256Digest Sha256(std::string_view data);
// Lower-case hex of the digest (64 characters).
std::string Sha256Hex(std::string_view data);
std::string ToHex(const Sha256Digest& digest);
// Parses 64 hex digits (either case); false otherwise.
bool FromHex(std::string_view hex, Sha256Digest* out);

// RFC 3339 UTC of a Unix time in microseconds: "2025-03-01T12:00:00.123456Z", or
// with `with_micros` false "2025-03-01T12:00:00Z".
std::string Rfc3339(int64_t unix_micros, bool with_micros);

// Creates `dir` (mode 0700) and its missing parents; an existing folder keeps its mode.
// Errors: kUnavailable.
Status MakePrivateDir(const std::filesystem::path& dir);

// Writes all of `data` to `fd` (retrying short writes and EINTR); false with errno
// set otherwise.
bool WriteAll(int fd, std::string_view data);

// Replaces `path` with `text` atomically: a 0600 temp file beside it, fsync, rename,
// fsync of the folder. Errors: kUnavailable.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& text);

}  // namespace lastro::governance::internal
