// Personal data helpers: CPF validation and masking, and log redaction.
#pragma once

#include <string>
#include <string_view>

namespace lastro::pii {

// The 11 digits of a CPF written with or without punctuation ("123.456.789-09"),
// or "" when the text is not 11 digits in one of those shapes.
std::string CpfDigits(std::string_view text);

// True when `text` is a CPF with valid check digits (and not all digits equal).
bool IsValidCpf(std::string_view text);

// Computes the two check digits for 9 base digits; `base9` must be 9 digits.
std::string CpfWithCheckDigits(std::string_view base9);

// Dashboard masking that keeps the middle six digits: "***.456.789-**".
// Returns "***.***.***-**" for anything that is not a CPF.
std::string MaskCpf(std::string_view cpf);

// True for field names that hold personal data (cpf, name, email, phone, ...).
bool IsPiiKey(std::string_view key);

// Replaces CPF-shaped numbers, e-mail addresses and phone numbers in free text.
std::string Redact(std::string_view text);

}  // namespace lastro::pii
