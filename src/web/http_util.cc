#include "web/http_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace lastro::web::internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool ParseQuery(std::string_view query, std::map<std::string, std::string>* out) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) {
      return false;
    }
    (*out)[std::move(*name)] = std::move(*value);
  }
  return true;
}

bool IsUnsafePath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) {
    return true;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment == "." || segment == "..") {
      return true;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return false;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) {
    return std::nullopt;  // a lone trailing character
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Walks the longer input fully so the time reveals only the lengths.
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool AuthorizationMatches(std::string_view header_value, std::string_view token) {
  if (token.empty()) {
    return false;
  }
  std::string_view v = TrimSpaces(header_value);
  if (StartsWithNoCase(v, "bearer ")) {
    return ConstantTimeEquals(TrimSpaces(v.substr(7)), token);
  }
  if (StartsWithNoCase(v, "basic ")) {
    auto decoded = Base64Decode(TrimSpaces(v.substr(6)));
    if (!decoded) {
      return false;
    }
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) {
      return false;
    }
    return ConstantTimeEquals(std::string_view(*decoded).substr(colon + 1), token);
  }
  return false;
}

StatusOr<HostPort> ParseHostPort(std::string_view addr) {
  HostPort hp;
  std::string_view port_text;
  if (!addr.empty() && addr.front() == '[') {
    size_t close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      return absl::InvalidArgumentError("bad address '" + std::string(addr) +
                                        "': expected [ipv6]:port");
    }
    hp.host = std::string(addr.substr(1, close - 1));
    port_text = addr.substr(close + 2);
  } else {
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError("bad address '" + std::string(addr) +
                                        "': expected host:port");
    }
    hp.host = std::string(addr.substr(0, colon));
    port_text = addr.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return absl::InvalidArgumentError("bad port in address '" + std::string(addr) + "'");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

std::string JsonEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

bool PathMatchesPattern(std::string_view pattern, std::string_view path) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return path.substr(0, pattern.size()) == pattern;
  }
  return path == pattern;
}

void Router::Add(std::string method, std::string path, Handler handler) {
  Route route;
  route.method = std::move(method);
  route.prefix = !path.empty() && path.back() == '*';
  if (route.prefix) {
    path.pop_back();
  }
  route.path = std::move(path);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    if (a.prefix != b.prefix) {
      return !a.prefix;
    }
    return a.path.size() > b.path.size();
  });
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  std::vector<std::string_view> allowed;
  for (const Route& r : routes_) {
    bool path_ok = r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path;
    if (!path_ok) {
      continue;
    }
    if (r.method == method) {
      match.handler = &r.handler;
      return match;
    }
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) {
      allowed.push_back(r.method);
    }
  }
  std::sort(allowed.begin(), allowed.end());
  for (std::string_view m : allowed) {
    if (!match.allow.empty()) {
      match.allow += ", ";
    }
    match.allow += m;
  }
  return match;
}

std::optional<Response> Screen(const ServerOptions& options, const Router& router, Request* req) {
  std::string_view target = req->target;
  if (target.empty() || target.front() != '/') {
    return Response::Error(400, "request target must be an absolute path");
  }
  size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), /*plus_is_space=*/false);
  if (!path || IsUnsafePath(*path)) {
    return Response::Error(400, "malformed request path");
  }
  req->path = std::move(*path);
  if (q != std::string_view::npos && !ParseQuery(target.substr(q + 1), &req->query)) {
    return Response::Error(400, "malformed query string");
  }

  if (!options.auth_token.empty()) {
    bool is_public = false;
    for (const auto& p : options.public_paths) {
      is_public = is_public || PathMatchesPattern(p, req->path);
    }
    auto it = req->headers.find("authorization");
    bool present = it != req->headers.end();
    if (!is_public && (!present || !AuthorizationMatches(it->second, options.auth_token))) {
      Response r =
          Response::Error(401, present ? "invalid credentials" : "authentication required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"lastro\"");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"lastro\", charset=\"UTF-8\"");
      return r;
    }
  }

  Router::Match match = router.Find(req->method, req->path);
  if (match.handler) {
    return std::nullopt;
  }
  if (match.allow.empty()) {
    return Response::Error(404, "no route for " + req->path);
  }
  Response r = Response::Error(405, "method " + req->method + " not allowed");
  r.headers.emplace_back("Allow", match.allow);
  return r;
}

}  // namespace lastro::web::internal
