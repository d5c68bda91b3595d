#include "capture/value_json.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "capture/pg_datetime.h"

namespace lastro::capture {
namespace {

using json = Json;

// PostgreSQL's MAXDIM: array_in rejects deeper nesting, and so do we (it also
// bounds our recursion on hostile input).
constexpr int kMaxArrayDims = 6;

// Quotes at most the first 80 bytes of a bad value: enough to find it, and a
// megabyte of TOASTed text does not end up in a log line.
Status Bad(uint32_t type_oid, std::string_view text, std::string_view why = "") {
  constexpr size_t kMaxQuoted = 80;
  const std::string length =
      text.size() > kMaxQuoted ? absl::StrFormat("... (%d bytes)", text.size()) : "";
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid text for PostgreSQL type %d: \"%s%s\"%s%s", type_oid,
                      text.substr(0, kMaxQuoted), length, why.empty() ? "" : ": ", why));
}

StatusOr<json> IntegerToJson(uint32_t type_oid, std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return Bad(type_oid, text);
  if (value < min || value > max) return Bad(type_oid, text, "out of range");
  return json(value);
}

StatusOr<json> FloatToJson(uint32_t type_oid, std::string_view text) {
  // Debezium keeps the non-finite values as strings; JSON has no number for them.
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") return json(std::string(text));
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || !std::isfinite(value)) {
    return Bad(type_oid, text);
  }
  return json(value);
}

// numeric_out: -?digits[.digits], or NaN / Infinity / -Infinity.
StatusOr<json> NumericToJson(std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") return json(std::string(text));
  const std::string_view rest = text.starts_with('-') ? text.substr(1) : text;
  size_t digits_before = 0, digits_after = 0;
  bool dot = false;
  for (char c : rest) {
    if (c >= '0' && c <= '9') {
      (dot ? digits_after : digits_before)++;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return Bad(pg_oid::kNumeric, text);
    }
  }
  if (digits_before == 0 || (dot && digits_after == 0)) return Bad(pg_oid::kNumeric, text);
  return json(std::string(text));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea_output = hex ("\x0aff") or escape ("a\\b\001"), as byteaout writes them.
StatusOr<json> ByteaToJson(std::string_view text) {
  std::string bytes;
  if (text.starts_with("\\x")) {
    std::string_view hex = text.substr(2);
    if (hex.size() % 2 != 0) return Bad(pg_oid::kBytea, text, "odd number of hex digits");
    bytes.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) {
      const int hi = HexValue(hex[i]);
      const int lo = HexValue(hex[i + 1]);
      if (hi < 0 || lo < 0) return Bad(pg_oid::kBytea, text, "bad hex digit");
      bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
  } else {
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '\\') {
        bytes.push_back(text[i]);
      } else if (i + 1 < text.size() && text[i + 1] == '\\') {
        bytes.push_back('\\');
        ++i;
      } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
                 text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
                 text[i + 3] <= '7') {
        bytes.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                          (text[i + 3] - '0')));
        i += 3;
      } else {
        return Bad(pg_oid::kBytea, text, "bad escape");
      }
    }
  }
  return json(absl::Base64Escape(bytes));
}

// array_in's NULL marker, in any case: "NULL", "null", "Null", ...
bool IsNullLiteral(std::string_view s) {
  constexpr std::string_view kNull = "null";
  if (s.size() != kNull.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] | 0x20) != kNull[i]) return false;
  }
  return true;
}

bool IsInfinity(std::string_view text) { return text == "infinity" || text == "-infinity"; }

// Parses PostgreSQL's array literal ("{1,NULL,\"a b\"}", "{{1,2},{3,4}}",
// "[0:1]={5,6}") into nested JSON arrays of converted elements.
class ArrayParser {
 public:
  ArrayParser(uint32_t array_oid, uint32_t element_oid, std::string_view text)
      : array_oid_(array_oid), element_oid_(element_oid), text_(text) {}

  StatusOr<json> Parse() {
    // Non-default lower bounds are written as a "[lo:hi]...=" prefix; the
    // bounds carry no value for JSON, so skip them.
    if (Peek('[')) {
      const size_t eq = text_.find('=');
      if (eq == std::string_view::npos) return Error("dimension decoration without '='");
      pos_ = eq + 1;
    }
    SkipSpace();
    LASTRO_ASSIGN_OR_RETURN(json result, ParseLevel(1));
    SkipSpace();
    if (pos_ != text_.size()) return Error("junk after the closing '}'");
    return result;
  }

 private:
  StatusOr<json> ParseLevel(int depth) {
    if (depth > kMaxArrayDims) return Error("more than 6 dimensions");
    if (!Consume('{')) return Error("expected '{'");
    json array = json::array();
    SkipSpace();
    if (Consume('}')) return array;
    while (true) {
      SkipSpace();
      if (Peek('{')) {
        LASTRO_ASSIGN_OR_RETURN(json nested, ParseLevel(depth + 1));
        array.push_back(std::move(nested));
      } else {
        LASTRO_ASSIGN_OR_RETURN(json element, ParseElement());
        array.push_back(std::move(element));
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) return array;
      return Error("expected ',' or '}'");
    }
  }

  StatusOr<json> ParseElement() {
    std::string value;
    bool quoted = false;
    if (Consume('"')) {
      quoted = true;
      while (true) {
        if (pos_ >= text_.size()) return Error("unterminated quoted element");
        const char c = text_[pos_++];
        if (c == '"') break;
        if (c == '\\') {
          if (pos_ >= text_.size()) return Error("backslash at end");
          value.push_back(text_[pos_++]);
        } else {
          value.push_back(c);
        }
      }
    } else {
      // Unquoted: up to the next delimiter; backslash escapes one character.
      size_t kept = 0;  // Length without trailing unescaped whitespace.
      while (pos_ < text_.size() && !Peek(',') && !Peek('}')) {
        const char c = text_[pos_++];
        if (c == '{' || c == '"') return Error("unexpected '{' or '\"' in an unquoted element");
        if (c == '\\') {
          if (pos_ >= text_.size()) return Error("backslash at end");
          value.push_back(text_[pos_++]);
          quoted = true;  // An escaped NULL is the string "NULL".
          kept = value.size();
        } else {
          value.push_back(c);
          if (c != ' ' && c != '\t' && c != '\n' && c != '\r') kept = value.size();
        }
      }
      value.resize(kept);
      if (value.empty()) return Error("empty unquoted element");
      if (!quoted && IsNullLiteral(value)) return json(nullptr);
    }
    return TextToJson(element_oid_, value);
  }

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Consume(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (Peek(' ') || Peek('\t') || Peek('\n') || Peek('\r')) ++pos_;
  }
  Status Error(std::string_view why) const {
    return Bad(array_oid_, text_, absl::StrFormat("%s at offset %d", why, pos_));
  }

  uint32_t array_oid_;
  uint32_t element_oid_;
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

uint32_t ArrayElementType(uint32_t type_oid) {
  struct ArrayType {
    uint32_t array;
    uint32_t element;
  };
  // (typarray, oid) pairs from pg_type.dat for the element types converted
  // above plus the common string-like ones. box[] is absent on purpose: its
  // delimiter is ';', not ','.
  static constexpr ArrayType kArrays[] = {
      {1000, 16},   {1001, 17},   {1002, 18},   {1003, 19},   {1016, 20},   {1005, 21},
      {1007, 23},   {1009, 25},   {1028, 26},   {199, 114},   {143, 142},   {1021, 700},
      {1022, 701},  {791, 790},   {1014, 1042}, {1015, 1043}, {1182, 1082}, {1183, 1083},
      {1115, 1114}, {1185, 1184}, {1187, 1186}, {1270, 1266}, {1231, 1700}, {2951, 2950},
      {3807, 3802}, {1041, 869},  {651, 650},   {1040, 829},  {1561, 1560}, {1563, 1562},
      {4073, 4072}, {1011, 28},   {1012, 29},
  };
  for (const ArrayType& a : kArrays) {
    if (a.array == type_oid) return a.element;
  }
  return 0;
}

StatusOr<json> TextToJson(uint32_t type_oid, std::string_view text) {
  switch (type_oid) {
    case pg_oid::kBool:
      if (text == "t") return json(true);
      if (text == "f") return json(false);
      return Bad(type_oid, text, "expected t or f");
    case pg_oid::kInt2:
      return IntegerToJson(type_oid, text, std::numeric_limits<int16_t>::min(),
                           std::numeric_limits<int16_t>::max());
    case pg_oid::kInt4:
      return IntegerToJson(type_oid, text, std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max());
    case pg_oid::kInt8:
      return IntegerToJson(type_oid, text, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max());
    case pg_oid::kOid:
      return IntegerToJson(type_oid, text, 0, std::numeric_limits<uint32_t>::max());
    case pg_oid::kFloat4:
    case pg_oid::kFloat8:
      return FloatToJson(type_oid, text);
    case pg_oid::kNumeric:
      return NumericToJson(text);
    case pg_oid::kBytea:
      return ByteaToJson(text);
    case pg_oid::kDate: {
      if (IsInfinity(text)) return json(std::string(text));
      LASTRO_ASSIGN_OR_RETURN(int64_t days, ParsePgDate(text));
      return json(days);
    }
    case pg_oid::kTime: {
      LASTRO_ASSIGN_OR_RETURN(int64_t micros, ParsePgTime(text));
      return json(micros);
    }
    case pg_oid::kTimetz: {
      LASTRO_ASSIGN_OR_RETURN(int64_t micros, ParsePgTimetzToUtc(text));
      return json(FormatIsoUtcTime(micros));
    }
    case pg_oid::kTimestamp: {
      if (IsInfinity(text)) return json(std::string(text));
      LASTRO_ASSIGN_OR_RETURN(int64_t micros, ParsePgTimestamp(text));
      return json(micros);
    }
    case pg_oid::kTimestamptz: {
      if (IsInfinity(text)) return json(std::string(text));
      LASTRO_ASSIGN_OR_RETURN(int64_t micros, ParsePgTimestamptz(text));
      return json(FormatIsoUtc(micros));
    }
    default:
      break;
  }
  if (const uint32_t element = ArrayElementType(type_oid); element != 0) {
    return ArrayParser(type_oid, element, text).Parse();
  }
  // json/jsonb (Debezium io.debezium.data.Json), character types, uuid,
  // interval, enums and every type without a dedicated mapping: the text as sent.
  return json(std::string(text));
}

StatusOr<json> ColumnToJson(uint32_t type_oid, const TupleColumn& column) {
  switch (column.kind) {
    case TupleColumn::Kind::kNull:
      return json(nullptr);
    case TupleColumn::Kind::kUnchangedToast:
      return json(std::string(kUnavailableValuePlaceholder));
    case TupleColumn::Kind::kText:
      return TextToJson(type_oid, column.data);
    case TupleColumn::Kind::kBinary:
      break;
  }
  return absl::FailedPreconditionError(
      "binary-format column values are not supported: start replication without the "
      "'binary' option");
}

StatusOr<json> TupleToJson(const TupleData& tuple, const Relation& relation) {
  LASTRO_ASSIGN_OR_RETURN(std::vector<NamedColumn> columns, NameColumns(tuple, relation));
  json row = json::object();
  for (const NamedColumn& c : columns) {
    StatusOr<json> value = ColumnToJson(c.column->type_oid, *c.value);
    if (!value.ok()) {
      return Status(value.status().code(),
                    absl::StrCat(relation.namespace_name, ".", relation.name, ".", c.column->name,
                                 ": ", value.status().message()));
    }
    row[c.column->name] = *std::move(value);
  }
  return row;
}

}  // namespace lastro::capture
