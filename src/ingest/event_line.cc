#include "ingest/event_line.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace lastro::ingest {
namespace {

using nlohmann::json;

// Longest unknown event_type quoted back in a reason.
constexpr size_t kMaxQuotedChars = 40;

// "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error while
// parsing value - invalid string: missing closing quote; last read: '"ab'; expected
// string literal" -> "invalid string: missing closing quote; expected string literal":
// the parser's own words, without its prefix, its position (the byte offset is reported
// separately) and the text it last read (data, of any length, so not part of a reason).
std::string ParserReason(const json::parse_error& e) {
  std::string_view what = e.what();
  if (size_t dash = what.find(" - "); dash != std::string_view::npos) {
    what.remove_prefix(dash + 3);
  } else if (size_t colon = what.find(": "); colon != std::string_view::npos) {
    what.remove_prefix(colon + 2);
  }
  constexpr std::string_view kLastRead = "; last read: '";
  const size_t read = what.find(kLastRead);
  if (read == std::string_view::npos) return std::string(what);
  std::string out(what.substr(0, read));
  if (size_t expected = what.rfind("; expected ");
      expected != std::string_view::npos && expected > read) {
    out += what.substr(expected);
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A required identifier: "missing x", "x is not a string", "x is empty", "x is longer than
// 128 characters"; "" when fine.
std::string CheckId(const json& object, const char* key, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::StrCat("missing ", key);
  if (!it->is_string()) return absl::StrCat(key, " is not a string");
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty()) return absl::StrCat(key, " is empty");
  if (value.size() > kMaxIdChars) {
    return absl::StrCat(key, " is longer than ", kMaxIdChars, " characters");
  }
  *out = value;
  return "";
}

std::string CheckInstant(const json& object, const char* key, int64_t* micros) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::StrCat("missing ", key);
  std::optional<absl::Time> t;
  if (it->is_string()) t = ParseRfc3339(it->get_ref<const std::string&>());
  if (!t) return absl::StrCat(key, " is not RFC 3339");
  *micros = absl::ToUnixMicros(*t);
  return "";
}

// An optional string member of `object` (absent or null -> nullopt).
std::string CheckOptionalString(const json& object, const char* key, const std::string& label,
                                std::optional<std::string>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) return absl::StrCat(label, " is not a string");
  *out = it->get<std::string>();
  return "";
}

// A positive int64 from a JSON integer; nullopt for anything else.
std::optional<int64_t> PositiveInt(const json& value) {
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    if (v == 0 || v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer() && value.get<int64_t>() > 0) return value.get<int64_t>();
  return std::nullopt;
}

std::string CheckProperties(const std::string& type, const json& props) {
  auto require_int = [&](const char* key) -> std::string {
    auto it = props.find(key);
    if (it == props.end() || it->is_null()) return absl::StrCat("missing properties.", key);
    if (!PositiveInt(*it)) return absl::StrCat("properties.", key, " is not a positive integer");
    return "";
  };
  if (type == "loan_simulation" || type == "request_submitted") {
    if (std::string r = require_int("amount_cents"); !r.empty()) return r;
    return require_int("term_months");
  }
  if (type == "screen_view") {
    auto it = props.find("screen");
    if (it == props.end() || it->is_null()) return "missing properties.screen";
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return "properties.screen is not a non-empty string";
    }
  }
  return "";
}

// Types whose properties carry required fields: a line without properties fails them.
bool NeedsProperties(const std::string& type) {
  return type == "loan_simulation" || type == "request_submitted" || type == "screen_view";
}

// "30 days", "1 h", "90 s": a bound as a reason states it.
std::string Span(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s > 0 && s % 86400 == 0) return absl::StrCat(s / 86400, s == 86400 ? " day" : " days");
  if (s > 0 && s % 3600 == 0) return absl::StrCat(s / 3600, " h");
  return absl::StrCat(s, " s");
}

std::string Validate(const json& j, const LineRules& rules, AppEvent& e) {
  if (!j.is_object()) return "not a JSON object";
  if (std::string r = CheckId(j, "event_id", &e.event_id); !r.empty()) return r;

  auto type = j.find("event_type");
  if (type == j.end() || type->is_null()) return "missing event_type";
  if (!type->is_string()) return "event_type is not a string";
  e.event_type = type->get<std::string>();
  const auto& known = KnownEventTypes();
  if (!std::binary_search(known.begin(), known.end(), e.event_type)) {
    return absl::StrCat("unknown event_type '", SafeText(e.event_type, kMaxQuotedChars), "'");
  }

  if (std::string r = CheckInstant(j, "occurred_at", &e.occurred_at_us); !r.empty()) return r;
  if (std::string r = CheckInstant(j, "received_at", &e.received_at_us); !r.empty()) return r;
  // Bounds keep a device's wrong clock from opening partitions decades away.
  const absl::Duration lead = absl::Microseconds(e.received_at_us - e.occurred_at_us);
  if (lead > rules.max_late) {
    return absl::StrCat("occurred_at is more than ", Span(rules.max_late), " before received_at");
  }
  if (-lead > rules.max_ahead) {
    return absl::StrCat("occurred_at is more than ", Span(rules.max_ahead), " after received_at");
  }
  if (std::string r = CheckId(j, "anonymous_id", &e.anonymous_id); !r.empty()) return r;

  if (auto c = j.find("customer_id"); c != j.end() && !c->is_null()) {
    if (!c->is_number_integer()) return "customer_id is not an integer";
    e.customer_id = PositiveInt(*c);
    if (!e.customer_id) return "customer_id is not a positive integer";
  }
  if (std::string r = CheckId(j, "session_id", &e.session_id); !r.empty()) return r;

  if (auto d = j.find("device"); d != j.end() && !d->is_null()) {
    if (!d->is_object()) return "device is not an object";
    if (std::string r = CheckOptionalString(*d, "os", "device.os", &e.device_os); !r.empty()) {
      return r;
    }
    if (std::string r = CheckOptionalString(*d, "model", "device.model", &e.device_model);
        !r.empty()) {
      return r;
    }
    if (std::string r =
            CheckOptionalString(*d, "app_version", "device.app_version", &e.app_version);
        !r.empty()) {
      return r;
    }
  }

  auto p = j.find("properties");
  if (p != j.end() && !p->is_null()) {
    if (!p->is_object()) return "properties is not an object";
    if (std::string r = CheckProperties(e.event_type, *p); !r.empty()) return r;
    e.properties = p->dump(-1, ' ', false, json::error_handler_t::replace);
  } else if (NeedsProperties(e.event_type)) {
    return CheckProperties(e.event_type, json::object());
  }

  absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMicros(e.occurred_at_us), rules.zone);
  e.event_date = absl::FormatCivilTime(day);
  return "";
}

}  // namespace

const std::vector<std::string>& KnownEventTypes() {
  static const std::vector<std::string> kTypes = [] {
    std::vector<std::string> types = {
        "session_start", "session_end",     "screen_view",       "login_success",   "login_failure",
        "logout",        "loan_simulation", "request_submitted", "document_upload", "push_opened"};
    std::sort(types.begin(), types.end());
    return types;
  }();
  return kTypes;
}

std::optional<absl::Time> ParseRfc3339(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SS" then an optional fraction, then the offset. The shape is
  // checked here because absl::ParseTime also takes years of any width and spaces.
  if (text.size() < 20 || !AllDigits(text.substr(0, 4)) || text[4] != '-' ||
      !AllDigits(text.substr(5, 2)) || text[7] != '-' || !AllDigits(text.substr(8, 2)) ||
      text[10] != 'T' || !AllDigits(text.substr(11, 2)) || text[13] != ':' ||
      !AllDigits(text.substr(14, 2)) || text[16] != ':' || !AllDigits(text.substr(17, 2))) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1 || digits > 10) return std::nullopt;  // "." alone, or below nanoseconds
    rest = rest.substr(digits);
  }
  const bool zulu = rest == "Z";
  const bool offset = rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
                      AllDigits(rest.substr(1, 2)) && rest[3] == ':' &&
                      AllDigits(rest.substr(4, 2));
  if (!zulu && !offset) return std::nullopt;
  if (text.substr(0, 4) == "0000") return std::nullopt;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error)) return std::nullopt;
  return t;
}

std::string SafeText(std::string_view raw, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes));
  size_t i = 0;
  while (i < raw.size()) {
    const auto c = static_cast<unsigned char>(raw[i]);
    size_t len = 0;
    if (c >= 0x01 && c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool valid = len > 0 && i + len <= raw.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(raw[i + k]) & 0xC0) == 0x80;
    }
    if (valid && len >= 3) {
      // Overlong forms, surrogates and code points above U+10FFFF.
      const auto c1 = static_cast<unsigned char>(raw[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
          (c == 0xF4 && c1 >= 0x90)) {
        valid = false;
      }
    }
    std::string_view piece = valid ? raw.substr(i, len) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += valid ? len : 1;
  }
  return out;
}

LineResult ParseEventLine(std::string_view line, const LineRules& rules) {
  LineResult result;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (std::all_of(line.begin(), line.end(), [](char c) { return absl::ascii_isspace(c); })) {
    result.reason = "empty line";
    return result;
  }
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    result.reason = absl::StrCat("invalid JSON at byte ", e.byte, ": ", ParserReason(e));
    return result;
  } catch (const std::exception& e) {
    result.reason = absl::StrCat("invalid JSON: ", e.what());
    return result;
  }
  AppEvent event;
  try {
    result.reason = Validate(j, rules, event);
  } catch (const std::exception& e) {
    // nlohmann throws only on type mismatches the checks above rule out; stay total.
    result.reason = absl::StrCat("unreadable line: ", e.what());
  }
  if (result.reason.empty()) {
    result.event = std::move(event);
  } else if (j.is_object()) {
    if (auto id = j.find("event_id"); id != j.end() && id->is_string()) {
      result.event_id = SafeText(id->get_ref<const std::string&>(), kMaxIdChars);
    }
  }
  return result;
}

}  // namespace lastro::ingest
