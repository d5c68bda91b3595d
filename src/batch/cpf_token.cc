#include "batch/cpf_token.h"

#include <sodium.h>

#include "common/pii.h"

namespace lastro::batch {

StatusOr<CpfTokenizer> CpfTokenizer::Create(std::string_view key) {
  if (key.size() < 16) {
    return absl::FailedPreconditionError(
        "the CPF tokenisation key is missing or shorter than 16 bytes: set LASTRO_TOKEN_KEY "
        "(or LASTRO_TOKEN_KEY_FILE) to a secret of at least 16 characters");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium could not be initialised");
  CpfTokenizer t;
  crypto_generichash(t.key_.data(), t.key_.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return t;
}

std::string CpfTokenizer::Token(std::string_view cpf) const {
  std::string digits = pii::CpfDigits(cpf);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(digits.data()), digits.size(),
                         key_.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 15];
  }
  return out;
}

}  // namespace lastro::batch
