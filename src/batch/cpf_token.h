// Pseudonymous customer tokens: a keyed HMAC-SHA-256 of the CPF's 11 digits, so the
// lake can join and count customers without ever holding a CPF, and a token cannot be
// reversed or recomputed without the key (a plain hash of a CPF can: there are only
// 10^9 of them).
//
// Thread-safe after Create() (immutable).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::batch {

class CpfTokenizer {
 public:
  // `key` is the secret (batch.token_key / LASTRO_TOKEN_KEY), at least 16 bytes; it is
  // stretched to the HMAC key with BLAKE2b. Errors: kFailedPrecondition when it is
  // missing or too short (the batch must not run without it).
  static StatusOr<CpfTokenizer> Create(std::string_view key);

  // 32 lowercase hex characters (128 bits of the HMAC) for the CPF's digits, after
  // removing punctuation ("123.456.789-09" and "12345678909" give the same token).
  std::string Token(std::string_view cpf) const;

 private:
  CpfTokenizer() = default;
  std::array<unsigned char, 32> key_{};
};

}  // namespace lastro::batch
