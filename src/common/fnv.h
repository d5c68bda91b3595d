// FNV-1a, 64 bit: cheap fingerprints where no adversary is involved (migration
// checksums, Open Finance record keys, the catalog's partition prints and model
// digest, the simulators' deterministic draws). Never for anything secret or
// adversarial: those use keyed HMAC or SHA-256 (common/pii.h, governance/).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace lastro {

// FNV-1a 64's offset basis.
inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
// The seed Lastro's stored fingerprints were first made with: FNV's basis with its
// last digit lost. It hashes as well as the basis does, and changing it would change
// every stored migration checksum and Open Finance record key, so those keep it.
inline constexpr uint64_t kLastroFnvSeed = 1469598103934665603ULL;

// FNV-1a 64 of `bytes`, continuing from `h`.
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnvOffsetBasis) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// 16 lowercase hex digits.
inline std::string Hex64(uint64_t h) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace lastro
