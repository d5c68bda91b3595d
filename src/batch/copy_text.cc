#include "batch/copy_text.h"

#include "absl/strings/str_cat.h"

namespace lastro::batch {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void Unescape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out += c;
      continue;
    }
    char e = in[++i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        int v = 0, digits = 0;
        while (digits < 2 && i + 1 < in.size() && HexValue(in[i + 1]) >= 0) {
          v = v * 16 + HexValue(in[++i]);
          ++digits;
        }
        if (digits == 0) {
          out += 'x';
        } else {
          out += static_cast<char>(v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', digits = 1;
          while (digits < 3 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7') {
            v = v * 8 + (in[++i] - '0');
            ++digits;
          }
          out += static_cast<char>(v);
        } else {
          out += e;  // \\ and any other escaped character stand for themselves
        }
    }
  }
}

}  // namespace

Status CopyTextParser::Parse(std::string_view row, size_t expected_fields) {
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  fields_.clear();
  // One buffer per field, sized up front: growing the vector while views point into
  // its strings would move them (short strings live inside the object).
  if (unescaped_.size() < expected_fields + 1) unescaped_.resize(expected_fields + 1);
  size_t start = 0;
  for (;;) {
    size_t tab = row.find('\t', start);
    std::string_view field =
        row.substr(start, tab == std::string_view::npos ? row.npos : tab - start);
    if (field == "\\N") {
      fields_.emplace_back(std::nullopt);
    } else if (field.find('\\') != std::string_view::npos) {
      if (fields_.size() >= unescaped_.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("COPY row has more than ", expected_fields, " fields"));
      }
      std::string& buffer = unescaped_[fields_.size()];
      Unescape(field, buffer);
      fields_.emplace_back(std::string_view(buffer));
    } else {
      fields_.emplace_back(field);
    }
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (fields_.size() != expected_fields) {
    return absl::InvalidArgumentError(
        absl::StrCat("COPY row has ", fields_.size(), " fields, expected ", expected_fields));
  }
  return absl::OkStatus();
}

}  // namespace lastro::batch
