#include "capture/pg_datetime.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lastro::capture {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;
// PostgreSQL's dates end in year 5874897; anything longer is not a date.
constexpr size_t kMaxYearDigits = 7;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A cursor over the text; every method fails softly (returns false).
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Consume(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool ConsumeSuffix(std::string_view suffix) {
    if (text_.substr(pos_) != suffix) return false;
    pos_ = text_.size();
    return true;
  }
  // Reads between `min` and `max` decimal digits; `count` (optional) gets how many.
  bool Digits(size_t min, size_t max, int64_t* out, size_t* count = nullptr) {
    int64_t value = 0;
    size_t n = 0;
    while (n < max && pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
      ++n;
    }
    *out = value;
    if (count != nullptr) *count = n;
    return n >= min;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

Status Bad(std::string_view type, std::string_view text) {
  return absl::InvalidArgumentError(absl::StrFormat("invalid %s text \"%s\"", type, text));
}

// YYYY-MM-DD -> days since the Unix epoch, before any " BC" adjustment.
bool ReadDate(Cursor& c, int64_t* year, int64_t* month, int64_t* day) {
  return c.Digits(4, kMaxYearDigits, year) && c.Consume('-') && c.Digits(2, 2, month) &&
         c.Consume('-') && c.Digits(2, 2, day) && *year >= 1 && *month >= 1 && *month <= 12 &&
         *day >= 1;
}

// HH:MM:SS[.f{1,6}] -> microseconds since midnight.
bool ReadTime(Cursor& c, int64_t* micros) {
  int64_t h, m, s, frac = 0;
  if (!c.Digits(2, 2, &h) || !c.Consume(':') || !c.Digits(2, 2, &m) || !c.Consume(':') ||
      !c.Digits(2, 2, &s)) {
    return false;
  }
  if (c.Consume('.')) {
    size_t digits;
    if (!c.Digits(1, 6, &frac, &digits)) return false;
    for (size_t i = digits; i < 6; ++i) frac *= 10;  // ".5" is 500000 µs.
  }
  if (m > 59 || s > 60 || h > 24 || (h == 24 && (m != 0 || s != 0 || frac != 0))) return false;
  *micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
  return true;
}

// {+|-}HH[:MM[:SS]] -> seconds east of UTC.
bool ReadOffset(Cursor& c, int64_t* seconds) {
  int sign;
  if (c.Consume('+')) {
    sign = 1;
  } else if (c.Consume('-')) {
    sign = -1;
  } else {
    return false;
  }
  int64_t h, m = 0, s = 0;
  if (!c.Digits(2, 2, &h)) return false;
  if (c.Consume(':')) {
    if (!c.Digits(2, 2, &m)) return false;
    if (c.Consume(':') && !c.Digits(2, 2, &s)) return false;
  }
  if (h > 15 || m > 59 || s > 59) return false;
  *seconds = sign * ((h * 60 + m) * 60 + s);
  return true;
}

// Astronomical year of a year written with a " BC" suffix: 1 BC is year 0.
int64_t ApplyEra(int64_t year, bool bc) { return bc ? 1 - year : year; }

// days * 86'400 s + micros_of_day - offset, or false on int64 overflow.
bool Combine(int64_t days, int64_t micros_of_day, int64_t offset_seconds, int64_t* out) {
  int64_t micros;
  return !__builtin_mul_overflow(days, kMicrosPerDay, &micros) &&
         !__builtin_add_overflow(micros, micros_of_day, &micros) &&
         !__builtin_sub_overflow(micros, offset_seconds * kMicrosPerSecond, out);
}

StatusOr<int64_t> ParseTimestampImpl(std::string_view text, bool with_zone) {
  const std::string_view type = with_zone ? "timestamptz" : "timestamp";
  Cursor c(text);
  int64_t year, month, day, micros, offset = 0;
  if (!ReadDate(c, &year, &month, &day) || !c.Consume(' ') || !ReadTime(c, &micros) ||
      (with_zone && !ReadOffset(c, &offset))) {
    return Bad(type, text);
  }
  const bool bc = c.ConsumeSuffix(" BC");
  if (!c.AtEnd()) return Bad(type, text);
  year = ApplyEra(year, bc);
  if (day > DaysInMonth(year, month)) return Bad(type, text);
  int64_t result;
  if (!Combine(DaysFromCivil(year, month, day), micros, offset, &result)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s \"%s\" is outside int64 microseconds since 1970", type, text));
  }
  return result;
}

// Appends ".ffffff" trimmed of trailing zeros, or nothing for a zero fraction.
void AppendFraction(int64_t micros, std::string* out) {
  if (micros == 0) return;
  char buffer[16];  // room for any int, which -Wformat-truncation cannot rule out
  std::snprintf(buffer, sizeof(buffer), ".%06d", static_cast<int>(micros));
  std::string_view fraction(buffer);
  while (fraction.back() == '0') fraction.remove_suffix(1);
  out->append(fraction);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

StatusOr<int64_t> ParsePgDate(std::string_view text) {
  Cursor c(text);
  int64_t year, month, day;
  if (!ReadDate(c, &year, &month, &day)) return Bad("date", text);
  const bool bc = c.ConsumeSuffix(" BC");
  if (!c.AtEnd()) return Bad("date", text);
  year = ApplyEra(year, bc);
  if (day > DaysInMonth(year, month)) return Bad("date", text);
  return DaysFromCivil(year, month, day);
}

StatusOr<int64_t> ParsePgTime(std::string_view text) {
  Cursor c(text);
  int64_t micros;
  if (!ReadTime(c, &micros) || !c.AtEnd()) return Bad("time", text);
  return micros;
}

StatusOr<int64_t> ParsePgTimetzToUtc(std::string_view text) {
  Cursor c(text);
  int64_t micros, offset;
  if (!ReadTime(c, &micros) || !ReadOffset(c, &offset) || !c.AtEnd()) return Bad("timetz", text);
  const int64_t utc = (micros - offset * kMicrosPerSecond) % kMicrosPerDay;
  return utc < 0 ? utc + kMicrosPerDay : utc;
}

StatusOr<int64_t> ParsePgTimestamp(std::string_view text) {
  return ParseTimestampImpl(text, /*with_zone=*/false);
}

StatusOr<int64_t> ParsePgTimestamptz(std::string_view text) {
  return ParseTimestampImpl(text, /*with_zone=*/true);
}

std::string FormatIsoUtc(int64_t unix_micros) {
  const int64_t days = FloorDiv(unix_micros, kMicrosPerDay);
  const int64_t of_day = unix_micros - days * kMicrosPerDay;
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char date[32];
  if (y >= 0 && y <= 9999) {
    std::snprintf(date, sizeof(date), "%04lld", static_cast<long long>(y));
  } else {
    std::snprintf(date, sizeof(date), "%+05lld", static_cast<long long>(y));
  }
  std::string out = absl::StrCat(date, "-", m < 10 ? "0" : "", m, "-", d < 10 ? "0" : "", d, "T");
  out.append(FormatIsoUtcTime(of_day));
  return out;
}

std::string FormatIsoUtcTime(int64_t micros_of_day) {
  const int64_t seconds = micros_of_day / kMicrosPerSecond;
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%02d:%02d:%02d", static_cast<int>(seconds / 3600),
                static_cast<int>(seconds / 60 % 60), static_cast<int>(seconds % 60));
  std::string out = buffer;
  AppendFraction(micros_of_day % kMicrosPerSecond, &out);
  out.push_back('Z');
  return out;
}

}  // namespace lastro::capture
