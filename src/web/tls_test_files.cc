#include "web/tls_test_files.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace lastro::web::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using File = std::unique_ptr<FILE, FileClose>;

bool AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    return false;
  }
  bool added = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return added;
}

// Like `openssl req -x509 -addext subjectAltName=...`: a CA that is also the leaf.
Cert SelfSign(EVP_PKEY* key) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("lastro test"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      !AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExtension(cert.get(), NID_subject_key_identifier, "hash") ||
      !AddExtension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost") ||
      X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return nullptr;
  }
  return cert;
}

bool WriteKey(const std::string& path, EVP_PKEY* key, const char* passphrase) {
  File f(std::fopen(path.c_str(), "w"));
  if (!f) {
    return false;
  }
  if (passphrase == nullptr) {
    return PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }
  return PEM_write_PrivateKey(f.get(), key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                              const_cast<char*>(passphrase)) == 1;
}

bool WriteCert(const std::string& path, X509* cert) {
  File f(std::fopen(path.c_str(), "w"));
  return f && PEM_write_X509(f.get(), cert) == 1;
}

}  // namespace

TlsTestFiles::TlsTestFiles() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lastro-tls-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    error_ = "cannot make a temporary folder";
    return;
  }
  dir_ = pattern;
  cert_file_ = dir_ + "/server.crt";
  key_file_ = dir_ + "/server.key";
  other_key_file_ = dir_ + "/other.key";
  encrypted_key_file_ = dir_ + "/encrypted.key";
  garbage_file_ = dir_ + "/garbage.pem";

  Pkey key(EVP_EC_gen("P-256"));
  Pkey other(EVP_EC_gen("P-256"));
  if (!key || !other) {
    error_ = "cannot generate keys";
    return;
  }
  Cert cert = SelfSign(key.get());
  if (!cert) {
    error_ = "cannot make the certificate";
    return;
  }
  if (!WriteCert(cert_file_, cert.get()) || !WriteKey(key_file_, key.get(), nullptr) ||
      !WriteKey(other_key_file_, other.get(), nullptr) ||
      !WriteKey(encrypted_key_file_, key.get(), "passphrase")) {
    error_ = "cannot write the PEM files in " + dir_;
    return;
  }
  std::ofstream(garbage_file_) << "this is not a PEM file\n";
}

TlsTestFiles::~TlsTestFiles() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);  // best effort: a leftover temp folder is harmless
  }
}

}  // namespace lastro::web::testing
