#include "batch/copy_binary.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lastro::batch {
namespace {

constexpr std::string_view kSignature("PGCOPY\n\377\r\n\0", 11);
// PostgreSQL counts timestamps and dates from 2000-01-01; Unix from 1970-01-01.
constexpr int64_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = kPgEpochDays * 86400LL * 1000000LL;

uint32_t Be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}
uint64_t Be64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}
int16_t Be16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return static_cast<int16_t>(std::endian::native == std::endian::little ? __builtin_bswap16(v)
                                                                         : v);
}

// The length a wire type's value must have; -1 when any length is fine.
int FixedLength(WireType t) {
  switch (t) {
    case WireType::kInt8:
    case WireType::kFloat8:
    case WireType::kTimestamptz:
      return 8;
    case WireType::kInt4:
    case WireType::kDate:
      return 4;
    case WireType::kBool:
      return 1;
    case WireType::kText:
      return -1;
  }
  return -1;
}

}  // namespace

CopyBinaryDecoder::CopyBinaryDecoder(std::vector<WireType> columns)
    : types_(std::move(columns)), fields_(types_.size()) {}

void CopyBinaryDecoder::Append(std::string_view data) {
  if (pos_ == buffer_.size()) {
    buffer_.assign(data);
  } else {
    buffer_.erase(0, pos_);
    buffer_.append(data);
  }
  pos_ = 0;
}

StatusOr<bool> CopyBinaryDecoder::Next() {
  const std::string_view in = buffer_;
  size_t pos = pos_;
  size_t* used = &pos_;
  if (!header_read_) {
    if (in.size() - pos < kSignature.size() + 8) return false;
    if (in.substr(pos, kSignature.size()) != kSignature) {
      return absl::InvalidArgumentError("not a binary COPY stream (bad signature)");
    }
    uint32_t ext = Be32(in.data() + pos + kSignature.size() + 4);
    if (in.size() - pos < kSignature.size() + 8 + ext) return false;
    pos += kSignature.size() + 8 + ext;
    header_read_ = true;
    *used = pos;
  }
  if (finished_) {
    if (pos != in.size()) return absl::InvalidArgumentError("data after the COPY trailer");
    return false;
  }
  if (in.size() - pos < 2) return false;
  int16_t count = Be16(in.data() + pos);
  pos += 2;
  if (count == -1) {
    finished_ = true;
    *used = pos;
    if (pos != in.size()) return absl::InvalidArgumentError("data after the COPY trailer");
    return false;
  }
  if (count < 0 || static_cast<size_t>(count) != types_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("COPY tuple has ", count, " fields, expected ", types_.size()));
  }
  for (size_t i = 0; i < types_.size(); ++i) {
    if (in.size() - pos < 4) return false;
    int32_t len = static_cast<int32_t>(Be32(in.data() + pos));
    pos += 4;
    if (len == -1) {
      fields_[i] = std::string_view();
      continue;
    }
    int want = FixedLength(types_[i]);
    if (len < 0 || (want >= 0 && len != want)) {
      return absl::InvalidArgumentError(
          absl::StrCat("COPY column ", i + 1, " has length ", len,
                       want >= 0 ? absl::StrCat(", expected ", want) : std::string()));
    }
    if (in.size() - pos < static_cast<size_t>(len)) return false;
    // An empty text value must stay distinguishable from NULL (data() != nullptr).
    fields_[i] = std::string_view(len == 0 ? "" : in.data() + pos, static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
  }
  *used = pos;
  return true;
}

int64_t CopyBinaryDecoder::Int(size_t i) const {
  if (types_[i] == WireType::kInt4) return static_cast<int32_t>(Be32(fields_[i].data()));
  return static_cast<int64_t>(Be64(fields_[i].data()));
}

double CopyBinaryDecoder::Double(size_t i) const {
  return std::bit_cast<double>(Be64(fields_[i].data()));
}

// 'infinity' and '-infinity' are the extreme values on both sides; they map to the
// same extremes (DuckDB's infinities are +-INT64_MAX / +-INT32_MAX).
int64_t CopyBinaryDecoder::TimestampMicros(size_t i) const {
  int64_t v = static_cast<int64_t>(Be64(fields_[i].data()));
  if (v == INT64_MAX) return INT64_MAX;
  if (v == INT64_MIN) return -INT64_MAX;
  return v + kPgEpochMicros;
}

int32_t CopyBinaryDecoder::Date(size_t i) const {
  int32_t v = static_cast<int32_t>(Be32(fields_[i].data()));
  if (v == INT32_MAX) return INT32_MAX;
  if (v == INT32_MIN) return -INT32_MAX;
  return v + static_cast<int32_t>(kPgEpochDays);
}

}  // namespace lastro::batch
