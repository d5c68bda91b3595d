#include "web/tls_context.h"

#include <openssl/ssl.h>

#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lastro::web::internal {
namespace {

namespace ssl = boost::asio::ssl;

// Read here rather than by OpenSSL so that a missing file and a malformed one get
// different messages.
StatusOr<std::string> ReadPemFile(const char* option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(std::string("cannot read ") + option + " '" + path +
                                      "': " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(std::string("cannot read ") + option + " '" + path + "'");
  }
  return out.str();
}

}  // namespace

StatusOr<std::shared_ptr<ssl::context>> MakeServerTlsContext(const std::string& cert_file,
                                                             const std::string& key_file) {
  LASTRO_ASSIGN_OR_RETURN(std::string cert_pem, ReadPemFile("tls_cert_file", cert_file));
  LASTRO_ASSIGN_OR_RETURN(std::string key_pem, ReadPemFile("tls_key_file", key_file));
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const boost::system::system_error& e) {
    return absl::InternalError(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  // Compression invites CRIME-style attacks; renegotiation (TLS 1.2) is a CPU lever
  // for clients and something no client of ours needs.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return absl::InternalError("cannot set the minimum TLS version to 1.2");
  }
  // The default callback would prompt on the terminal for a passphrase; an empty one
  // makes an encrypted key fail to load instead.
  boost::system::error_code ec;
  ctx->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); }, ec);
  ctx->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) {
    return absl::InvalidArgumentError("tls_cert_file '" + cert_file +
                                      "' holds no usable PEM certificate: " + ec.message());
  }
  ctx->use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError("tls_key_file '" + key_file +
                                      "' holds no usable PEM private key (an encrypted key, or "
                                      "not the certificate's?): " +
                                      ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError("tls_key_file '" + key_file +
                                      "' does not match the certificate in '" + cert_file + "'");
  }
  return ctx;
}

}  // namespace lastro::web::internal
