// Test-only: a self-signed certificate and keys as PEM files in a fresh temporary
// folder, made with OpenSSL's API at test time (no `openssl` tool needed).
#pragma once

#include <string>

namespace lastro::web::testing {

class TlsTestFiles {
 public:
  // Makes the folder and the files; ok() tells whether it worked (error() why not).
  TlsTestFiles();
  ~TlsTestFiles();  // removes the folder
  TlsTestFiles(const TlsTestFiles&) = delete;
  TlsTestFiles& operator=(const TlsTestFiles&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // A P-256 key and its self-signed certificate for 127.0.0.1, ::1 and localhost,
  // valid from an hour ago for a day. The certificate is also the CA to pin.
  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }
  // Another key: does not match the certificate.
  const std::string& other_key_file() const { return other_key_file_; }
  // The certificate's key, encrypted with a passphrase.
  const std::string& encrypted_key_file() const { return encrypted_key_file_; }
  // A file that is not PEM.
  const std::string& garbage_file() const { return garbage_file_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string cert_file_, key_file_, other_key_file_, encrypted_key_file_, garbage_file_;
  std::string error_;
};

}  // namespace lastro::web::testing
