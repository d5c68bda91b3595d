#include "capture/lsn.h"

#include <cstdio>

#include "absl/strings/str_format.h"

namespace lastro::capture {
namespace {

// Parses 1..8 hex digits; false on anything else.
bool ParseHexHalf(std::string_view digits, uint32_t* out) {
  if (digits.empty() || digits.size() > 8) return false;
  uint32_t value = 0;
  for (char c : digits) {
    uint32_t nibble;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      nibble = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    value = (value << 4) | nibble;
  }
  *out = value;
  return true;
}

}  // namespace

StatusOr<Lsn> Lsn::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  uint32_t high = 0;
  uint32_t low = 0;
  if (slash == std::string_view::npos || !ParseHexHalf(text.substr(0, slash), &high) ||
      !ParseHexHalf(text.substr(slash + 1), &low)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid LSN \"%s\": expected X/X with 1-8 hex digits per half", text));
  }
  return Lsn((static_cast<uint64_t>(high) << 32) | low);
}

std::string Lsn::ToString() const {
  char buffer[18];  // "FFFFFFFF/FFFFFFFF" + NUL
  std::snprintf(buffer, sizeof(buffer), "%X/%X", static_cast<unsigned>(value_ >> 32),
                static_cast<unsigned>(value_ & 0xFFFFFFFFu));
  return buffer;
}

}  // namespace lastro::capture
