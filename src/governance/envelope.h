// Envelope encryption of personal data (docs/governance.md, "Encryption and keys";
// ADR 0023): every customer has a random 256-bit data key that encrypts their PII
// fields, and the data keys are stored only wrapped (encrypted) under one master key
// from the environment. Erasing a customer is destroying their data key
// (crypto-shredding, keystore.h); rotating the master key re-wraps the data keys and
// leaves the data untouched.
//
// One AEAD everywhere: XChaCha20-Poly1305 (libsodium crypto_aead_xchacha20poly1305_ietf),
// 192-bit random nonces (no counter to keep: random nonces never repeat in practice).
//
//   sealed field   = nonce (24) || ciphertext || tag (16)
//                    AD "lastro-pii-v1" 0x00 || customer id (int64 LE) || column name
//   wrapped key    = nonce (24) || encrypted data key (32) || tag (16)   (72 bytes)
//                    AD "lastro-dek-v1" 0x00 || customer id (int64 LE) || key version (uint32 LE)
//
// The associated data binds each ciphertext to its customer and column (a value copied
// onto another customer's row, or into another column, does not open) and each wrapped
// key to its customer and version (a wrapped key copied to another customer's record
// does not unwrap).
//
// Secrets are wiped (sodium_memzero) when the objects holding them die. Every class
// here is immutable after construction and safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::governance {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 24;  // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
inline constexpr size_t kTagBytes = 16;    // crypto_aead_xchacha20poly1305_ietf_ABYTES
inline constexpr size_t kWrappedKeyBytes = kNonceBytes + kKeyBytes + kTagBytes;  // 72
// The smallest sealed field (an empty plaintext).
inline constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;

// Initialises libsodium once per process. Errors: kInternal (no entropy source).
Status InitSodium();

// The master key (governance.master_key: LASTRO_MASTER_KEY or LASTRO_MASTER_KEY_FILE).
// Never used directly: three subkeys are derived from it with crypto_kdf (BLAKE2b),
// one to wrap data keys, one to authenticate the key store's files, one for its id.
class MasterKey {
 public:
  // `text` is either exactly 64 hex characters, taken as the 32 key bytes (what
  // `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'` prints; the recommended
  // form), or any other secret of at least 16 bytes, which is stretched with keyed
  // BLAKE2b-256 (crypto_generichash; the key "lastro master key v1" separates it from
  // the CPF token key derived from the same kind of secret). The secret must be
  // machine-generated: BLAKE2b is fast, so a guessable passphrase is guessable.
  // Errors: kFailedPrecondition when empty or shorter than 16 bytes (the message says
  // how to set it), kInternal when libsodium cannot start.
  static StatusOr<MasterKey> Parse(std::string_view text);

  MasterKey(const MasterKey& other);
  MasterKey& operator=(const MasterKey& other);
  ~MasterKey();

  // A public fingerprint of the key (16 hex characters; a derived value, useless to
  // recover the key): recorded in every key-store file so that the wrong key is named
  // as such instead of looking like corruption.
  const std::string& id() const { return id_; }

  // 72 bytes: `data_key` encrypted for `customer_id` at `version` (header comment).
  std::string Wrap(int64_t customer_id, uint32_t version,
                   const std::array<unsigned char, kKeyBytes>& data_key) const;
  // The inverse. Errors: kDataLoss when it does not open (another master key, another
  // customer or version, a flipped bit) or is not 72 bytes.
  StatusOr<std::array<unsigned char, kKeyBytes>> Unwrap(int64_t customer_id, uint32_t version,
                                                        std::string_view wrapped) const;

  // A keyed BLAKE2b-256 of `bytes` under the MAC subkey: authenticates a key-store file.
  std::array<unsigned char, 32> Mac(std::string_view bytes) const;

 private:
  MasterKey() = default;
  std::array<unsigned char, kKeyBytes> wrap_key_{};
  std::array<unsigned char, kKeyBytes> mac_key_{};
  std::string id_;
};

// One customer's data key: seals and opens their PII fields.
class DataKey {
 public:
  // A fresh random key (libsodium randombytes). Call InitSodium() first.
  static DataKey Generate();
  explicit DataKey(const std::array<unsigned char, kKeyBytes>& bytes) : key_(bytes) {}
  DataKey(const DataKey& other) = default;
  DataKey& operator=(const DataKey& other) = default;
  ~DataKey();

  const std::array<unsigned char, kKeyBytes>& bytes() const { return key_; }

  // nonce || ciphertext || tag of `plaintext`, bound to (customer_id, column); `column`
  // is the source column's name ("full_name", "email", "phone", "birth_date").
  std::string Seal(int64_t customer_id, std::string_view column, std::string_view plaintext) const;
  // The plaintext. Errors: kDataLoss when it does not open: tampered or truncated,
  // sealed for another customer or column, or under another key.
  StatusOr<std::string> Open(int64_t customer_id, std::string_view column,
                             std::string_view sealed) const;

 private:
  std::array<unsigned char, kKeyBytes> key_{};
};

}  // namespace lastro::governance
