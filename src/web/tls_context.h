// Internal: the server side of TLS. Builds the OpenSSL context that every HTTPS
// connection of one server shares. Not part of the public interface.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/status.h"

namespace lastro::web::internal {

// Reads the PEM certificate chain (leaf first) and private key and returns a server
// context: TLS 1.2 and later, OpenSSL's default ciphers, no compression, no
// renegotiation, no client certificates. Never prompts for a passphrase: an
// encrypted key is refused.
// Errors: kInvalidArgument (a file unreadable, not PEM, or the key not the
// certificate's), kInternal (OpenSSL could not make a context).
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace lastro::web::internal
