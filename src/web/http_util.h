// Internal helpers of the HTTP server that need no networking: percent-decoding,
// query parsing, credential checks, address parsing, JSON escaping and routing.
// Not part of the public interface of lastro::web; kept separate so that they are
// small, pure and easy to test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "web/http_server.h"

namespace lastro::web::internal {

// Decodes %XX escapes; '+' becomes a space when `plus_is_space` (query strings).
// Returns nullopt on a truncated or non-hex escape. Thread-safe (pure).
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Parses "a=1&b=x%20y&flag" into decoded pairs ("flag" maps to ""). A later repeat
// of a name replaces the earlier value. Returns false on a bad escape.
bool ParseQuery(std::string_view query, std::map<std::string, std::string>* out);

// True when a decoded path contains a "." or ".." segment or a NUL byte, which a
// prefix route could otherwise be tricked by (e.g. "/static/../secret").
bool IsUnsafePath(std::string_view decoded_path);

// Standard base64 (RFC 4648, padding optional). nullopt on invalid input.
std::optional<std::string> Base64Decode(std::string_view in);

// Compares in time that depends only on the lengths, not on where bytes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// True when an `Authorization` header value carries `token`, either as
// "Bearer <token>" or as Basic credentials whose password is `token` (any user).
// Scheme names are case-insensitive. `token` must be non-empty.
bool AuthorizationMatches(std::string_view header_value, std::string_view token);

struct HostPort {
  std::string host;  // without IPv6 brackets; "" means any address
  uint16_t port = 0;
};
// Splits "host:port" or "[v6]:port". kInvalidArgument when malformed.
StatusOr<HostPort> ParseHostPort(std::string_view addr);

// Escapes a string for use inside a JSON string literal (no surrounding quotes).
std::string JsonEscape(std::string_view s);

// Route table: exact paths, or prefixes when the registered path ends with '*'.
// Lookup prefers exact routes, then the longest prefix. Not thread-safe for Add;
// Find is safe to call concurrently once no more routes are added.
class Router {
 public:
  void Add(std::string method, std::string path, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when no route has this method
    std::string allow;  // when handler is null: "GET, POST" of matching paths, or "" (404)
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string path;  // without the trailing '*'
    bool prefix = false;
    Handler handler;
  };
  std::vector<Route> routes_;  // sorted: exact first, then longer prefixes first
};

// Everything the server checks before calling a handler: decodes `req->target` into
// `req->path` and `req->query`, then applies auth and routing. Returns the refusal to
// send (400 bad target, 401 missing/invalid credentials, 404, 405 with Allow), or
// nullopt when a handler for `req` exists.
std::optional<Response> Screen(const ServerOptions& options, const Router& router, Request* req);

// True when `path` matches a pattern with the same syntax as routes
// (exact, or prefix when the pattern ends with '*').
bool PathMatchesPattern(std::string_view pattern, std::string_view path);

}  // namespace lastro::web::internal
