#include "common/pii.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace lastro::pii {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int CheckDigit(std::string_view digits, int weight_start) {
  int sum = 0;
  for (size_t i = 0; i < digits.size(); ++i) sum += (digits[i] - '0') * (weight_start - int(i));
  int rest = (sum * 10) % 11;
  return rest == 10 ? 0 : rest;
}

bool IsEmailChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '+' || c == '%';
}

}  // namespace

std::string CpfDigits(std::string_view text) {
  std::string digits;
  if (text.size() == 11) {
    if (!std::all_of(text.begin(), text.end(), IsDigit)) return "";
    return std::string(text);
  }
  if (text.size() == 14 && text[3] == '.' && text[7] == '.' && text[11] == '-') {
    for (size_t i = 0; i < text.size(); ++i) {
      if (i == 3 || i == 7 || i == 11) continue;
      if (!IsDigit(text[i])) return "";
      digits.push_back(text[i]);
    }
    return digits;
  }
  return "";
}

std::string CpfWithCheckDigits(std::string_view base9) {
  std::string out(base9);
  out.push_back(char('0' + CheckDigit(out, 10)));
  out.push_back(char('0' + CheckDigit(out, 11)));
  return out;
}

bool IsValidCpf(std::string_view text) {
  std::string d = CpfDigits(text);
  if (d.empty()) return false;
  if (std::all_of(d.begin(), d.end(), [&](char c) { return c == d[0]; })) return false;
  return CpfWithCheckDigits(std::string_view(d).substr(0, 9)) == d;
}

std::string MaskCpf(std::string_view cpf) {
  std::string d = CpfDigits(cpf);
  if (d.empty()) return "***.***.***-**";
  return "***." + d.substr(3, 3) + "." + d.substr(6, 3) + "-**";
}

bool IsPiiKey(std::string_view key) {
  static constexpr std::array<std::string_view, 12> kKeys = {
      "cpf",      "name",    "full_name",     "email",  "phone", "birth_date",
      "document", "address", "customer_name", "mobile", "rg",    "password"};
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return std::find(kKeys.begin(), kKeys.end(), lower) != kKeys.end();
}

std::string Redact(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    // Runs of digits and CPF/phone punctuation: 10+ digits is a CPF or a phone.
    if (IsDigit(text[i]) || (text[i] == '+' && i + 1 < text.size() && IsDigit(text[i + 1])) ||
        (text[i] == '(' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      size_t j = i;
      int digits = 0;
      while (j < text.size() &&
             (IsDigit(text[j]) || text[j] == '.' || text[j] == '-' || text[j] == ' ' ||
              text[j] == '(' || text[j] == ')' || text[j] == '+')) {
        if (IsDigit(text[j])) ++digits;
        ++j;
      }
      // Don't swallow trailing separators that were not part of the number.
      while (j > i && !IsDigit(text[j - 1])) --j;
      // Digits glued to a letter belong to an identifier (a UUID, a hex id), not to a
      // CPF or a phone number.
      auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
      bool identifier =
          (i > 0 && is_letter(text[i - 1])) || (j < text.size() && is_letter(text[j]));
      if (digits >= 10 && digits <= 13 && !identifier) {
        out += "[redacted]";
      } else {
        out.append(text.substr(i, j - i));
      }
      i = j;
      continue;
    }
    if (text[i] == '@') {
      size_t start = out.size();
      while (start > 0 && IsEmailChar(out[start - 1])) --start;
      size_t j = i + 1;
      while (j < text.size() && IsEmailChar(text[j])) ++j;
      if (start < out.size() && j > i + 1) {
        out.resize(start);
        out += "[redacted]";
        i = j;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

}  // namespace lastro::pii
