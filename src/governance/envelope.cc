#include "governance/envelope.h"

#include <sodium.h>

#include <cstring>

namespace lastro::governance {
namespace {

// crypto_kdf context (8 bytes) and subkey ids of the master key's subkeys.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "lastromk";
constexpr uint64_t kWrapSubkey = 1, kMacSubkey = 2, kIdSubkey = 3;
constexpr std::string_view kPassphraseKey = "lastro master key v1";
constexpr std::string_view kFieldDomain{"lastro-pii-v1\0", 14};
constexpr std::string_view kKeyDomain{"lastro-dek-v1\0", 14};

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kKeyBytes == crypto_kdf_KEYBYTES);

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void AppendLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string FieldAd(int64_t customer_id, std::string_view column) {
  std::string ad(kFieldDomain);
  AppendLe(ad, static_cast<uint64_t>(customer_id), 8);
  ad.append(column);
  return ad;
}

std::string KeyAd(int64_t customer_id, uint32_t version) {
  std::string ad(kKeyDomain);
  AppendLe(ad, static_cast<uint64_t>(customer_id), 8);
  AppendLe(ad, version, 4);
  return ad;
}

// nonce || ciphertext || tag of `plaintext` under `key` with `ad`.
std::string Encrypt(const unsigned char* key, std::string_view ad, std::string_view plaintext) {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(o, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + kNonceBytes, &written, Bytes(plaintext),
                                             plaintext.size(), Bytes(ad), ad.size(), nullptr, o,
                                             key);
  out.resize(kNonceBytes + written);
  return out;
}

// Decrypts into `out` (at least sealed.size() - kSealOverhead bytes). False when the
// ciphertext does not authenticate.
bool Decrypt(const unsigned char* key, std::string_view ad, std::string_view sealed,
             unsigned char* out) {
  if (sealed.size() < kSealOverhead) return false;
  unsigned long long written = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, &written, nullptr, Bytes(sealed) + kNonceBytes, sealed.size() - kNonceBytes,
             Bytes(ad), ad.size(), Bytes(sealed), key) == 0;
}

bool IsHexKey(std::string_view text) {
  if (text.size() != 2 * kKeyBytes) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status InitSodium() {
  if (sodium_init() < 0) return absl::InternalError("libsodium could not be initialised");
  return absl::OkStatus();
}

StatusOr<MasterKey> MasterKey::Parse(std::string_view text) {
  if (text.size() < 16) {
    return absl::FailedPreconditionError(
        "the master key is missing or shorter than 16 bytes: set LASTRO_MASTER_KEY (or "
        "LASTRO_MASTER_KEY_FILE) to 64 hex characters, e.g. the output of "
        "`head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`");
  }
  LASTRO_RETURN_IF_ERROR(InitSodium());
  std::array<unsigned char, kKeyBytes> root{};
  if (IsHexKey(text)) {
    size_t len = 0;
    sodium_hex2bin(root.data(), root.size(), text.data(), text.size(), nullptr, &len, nullptr);
  } else {
    crypto_generichash(root.data(), root.size(), Bytes(text), text.size(), Bytes(kPassphraseKey),
                       kPassphraseKey.size());
  }
  MasterKey k;
  crypto_kdf_derive_from_key(k.wrap_key_.data(), k.wrap_key_.size(), kWrapSubkey, kKdfContext,
                             root.data());
  crypto_kdf_derive_from_key(k.mac_key_.data(), k.mac_key_.size(), kMacSubkey, kKdfContext,
                             root.data());
  unsigned char id[16];
  crypto_kdf_derive_from_key(id, sizeof id, kIdSubkey, kKdfContext, root.data());
  char hex[2 * 8 + 1];
  sodium_bin2hex(hex, sizeof hex, id, 8);
  k.id_ = hex;
  sodium_memzero(root.data(), root.size());
  return k;
}

MasterKey::MasterKey(const MasterKey& other) = default;
MasterKey& MasterKey::operator=(const MasterKey& other) = default;

MasterKey::~MasterKey() {
  sodium_memzero(wrap_key_.data(), wrap_key_.size());
  sodium_memzero(mac_key_.data(), mac_key_.size());
}

std::string MasterKey::Wrap(int64_t customer_id, uint32_t version,
                            const std::array<unsigned char, kKeyBytes>& data_key) const {
  return Encrypt(wrap_key_.data(), KeyAd(customer_id, version),
                 std::string_view(reinterpret_cast<const char*>(data_key.data()), data_key.size()));
}

StatusOr<std::array<unsigned char, kKeyBytes>> MasterKey::Unwrap(int64_t customer_id,
                                                                 uint32_t version,
                                                                 std::string_view wrapped) const {
  std::array<unsigned char, kKeyBytes> out{};
  if (wrapped.size() != kWrappedKeyBytes ||
      !Decrypt(wrap_key_.data(), KeyAd(customer_id, version), wrapped, out.data())) {
    return absl::DataLossError(
        "a wrapped data key does not open under this master key (another key, or the "
        "key store was altered)");
  }
  return out;
}

std::array<unsigned char, 32> MasterKey::Mac(std::string_view bytes) const {
  std::array<unsigned char, 32> out{};
  crypto_generichash(out.data(), out.size(), Bytes(bytes), bytes.size(), mac_key_.data(),
                     mac_key_.size());
  return out;
}

DataKey DataKey::Generate() {
  std::array<unsigned char, kKeyBytes> bytes{};
  crypto_aead_xchacha20poly1305_ietf_keygen(bytes.data());
  DataKey k(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return k;
}

DataKey::~DataKey() { sodium_memzero(key_.data(), key_.size()); }

std::string DataKey::Seal(int64_t customer_id, std::string_view column,
                          std::string_view plaintext) const {
  return Encrypt(key_.data(), FieldAd(customer_id, column), plaintext);
}

StatusOr<std::string> DataKey::Open(int64_t customer_id, std::string_view column,
                                    std::string_view sealed) const {
  std::string out(sealed.size() < kSealOverhead ? 0 : sealed.size() - kSealOverhead, '\0');
  if (!Decrypt(key_.data(), FieldAd(customer_id, column), sealed,
               reinterpret_cast<unsigned char*>(out.data()))) {
    return absl::DataLossError(
        "an encrypted field does not open: altered, sealed for another customer or column, "
        "or under another data key");
  }
  return out;
}

}  // namespace lastro::governance
