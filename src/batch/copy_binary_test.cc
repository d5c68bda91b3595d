#include "batch/copy_binary.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lastro::batch {
namespace {

// Builds binary COPY bytes the way PostgreSQL sends them.
class Stream {
 public:
  Stream& Header() {
    bytes_.append("PGCOPY\n\377\r\n\0", 11);
    return I32(0).I32(0);
  }
  Stream& Tuple(int16_t fields) { return I16(fields); }
  Stream& Null() { return I32(-1); }
  Stream& Int8(int64_t v) { return I32(8).I64(v); }
  Stream& Int4(int32_t v) { return I32(4).I32(v); }
  Stream& Text(const std::string& v) {
    I32(static_cast<int32_t>(v.size()));
    bytes_ += v;
    return *this;
  }
  Stream& Trailer() { return I16(-1); }
  Stream& I16(int16_t v) { return Be(static_cast<uint16_t>(v), 2); }
  Stream& I32(int32_t v) { return Be(static_cast<uint32_t>(v), 4); }
  Stream& I64(int64_t v) { return Be(static_cast<uint64_t>(v), 8); }
  const std::string& bytes() const { return bytes_; }

 private:
  Stream& Be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

struct Row {
  int64_t id = 0;
  bool null_text = false;
  std::string text;
  int64_t at = 0;
};

std::vector<Row> Decode(CopyBinaryDecoder& d, const std::vector<std::string>& pieces,
                        Status* status) {
  std::vector<Row> rows;
  for (const std::string& piece : pieces) {
    *status = d.Feed(piece, [&](const CopyBinaryDecoder& r) -> Status {
      rows.push_back(
          {r.Int(0), r.IsNull(1), std::string(r.IsNull(1) ? "" : r.Text(1)), r.TimestampMicros(2)});
      return absl::OkStatus();
    });
    if (!status->ok()) break;
  }
  return rows;
}

const std::vector<WireType> kTypes = {WireType::kInt8, WireType::kText, WireType::kTimestamptz};

TEST(CopyBinaryDecoder, DecodesTypedFieldsNullsAndEmptyText) {
  // 2026-11-20 13:45:00 UTC is 1795182300 s after 1970; PostgreSQL counts from 2000.
  const int64_t unix_us = 1795182300LL * 1000000;
  const int64_t pg_us = unix_us - 946684800LL * 1000000;
  Stream good;
  good.Header().Tuple(3).Int8(42).Text("ação").I32(8).I64(pg_us);
  good.Tuple(3).Int8(-7).Null().I32(8).I64(pg_us);
  good.Tuple(3).Int8(1).Text("").I32(8).I64(pg_us).Trailer();
  CopyBinaryDecoder d(kTypes);
  Status st;
  std::vector<Row> rows = Decode(d, {good.bytes()}, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, 42);
  EXPECT_EQ(rows[0].text, "ação");
  EXPECT_EQ(rows[0].at, unix_us);
  EXPECT_EQ(rows[1].id, -7);
  EXPECT_TRUE(rows[1].null_text);
  EXPECT_FALSE(rows[2].null_text) << "an empty string is not NULL";
  EXPECT_TRUE(d.finished());
}

TEST(CopyBinaryDecoder, AnySplitOfTheStreamGivesTheSameRows) {
  Stream s;
  s.Header();
  for (int i = 0; i < 5; ++i) s.Tuple(3).Int8(i).Text(std::string(i, 'x')).I32(8).I64(i);
  s.Trailer();
  const std::string& all = s.bytes();
  for (size_t cut = 1; cut < all.size(); ++cut) {
    CopyBinaryDecoder d(kTypes);
    Status st;
    std::vector<Row> rows = Decode(d, {all.substr(0, cut), all.substr(cut)}, &st);
    ASSERT_TRUE(st.ok()) << "cut at " << cut << ": " << st;
    ASSERT_EQ(rows.size(), 5u) << "cut at " << cut;
    EXPECT_EQ(rows[4].text, "xxxx");
    EXPECT_TRUE(d.finished());
    EXPECT_EQ(d.pending_bytes(), 0u);
  }
}

TEST(CopyBinaryDecoder, RejectsTextFormatWrongFieldCountAndWrongLength) {
  Status st;
  CopyBinaryDecoder text(kTypes);
  Decode(text, {std::string("42\tabc\t2026-11-20 13:45:00+00\n") + std::string(20, 'x')}, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("signature"), std::string::npos) << st;

  Stream fields;
  fields.Header().Tuple(2).Int8(1).Text("a");
  CopyBinaryDecoder d1(kTypes);
  Decode(d1, {fields.bytes()}, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("2 fields, expected 3"), std::string::npos) << st;

  Stream length;
  length.Header().Tuple(3).Int4(1).Text("a").I32(8).I64(0);  // int4 where int8 is declared
  CopyBinaryDecoder d2(kTypes);
  Decode(d2, {length.bytes()}, &st);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("column 1 has length 4, expected 8"), std::string::npos) << st;
}

TEST(CopyBinaryDecoder, InfinityStaysInfinityAndDatesCountFrom1970) {
  Stream s;
  s.Header().Tuple(3).Int8(1).Text("t").I32(8).I64(INT64_MAX);
  s.Tuple(3).Int8(2).Text("t").I32(8).I64(INT64_MIN).Trailer();
  CopyBinaryDecoder d(kTypes);
  Status st;
  std::vector<Row> rows = Decode(d, {s.bytes()}, &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(rows[0].at, INT64_MAX);
  EXPECT_EQ(rows[1].at, -INT64_MAX);

  Stream date;
  date.Header().Tuple(1).Int4(0).Trailer();  // 2000-01-01
  CopyBinaryDecoder dd({WireType::kDate});
  int32_t days = 0;
  ASSERT_TRUE(dd.Feed(date.bytes(), [&](const CopyBinaryDecoder& r) -> Status {
                  days = r.Date(0);
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(days, 10957);
}

TEST(CopyBinaryDecoder, AnUnfinishedStreamIsVisible) {
  Stream s;
  s.Header().Tuple(3).Int8(1).Text("abc");
  CopyBinaryDecoder d(kTypes);
  Status st;
  std::vector<Row> rows = Decode(d, {s.bytes()}, &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(rows.empty());
  EXPECT_FALSE(d.finished());
  EXPECT_GT(d.pending_bytes(), 0u);
}

}  // namespace
}  // namespace lastro::batch
