#include "capture/value_json.h"

#include <string>
#include <vector>

#include "capture/test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lastro::capture {
namespace {

using ::lastro::capture::testing::LoadFixture;

constexpr uint32_t kInt4Array = 1007;
constexpr uint32_t kInt8Array = 1016;
constexpr uint32_t kTextArray = 1009;
constexpr uint32_t kNumericArray = 1231;
constexpr uint32_t kByteaArray = 1001;
constexpr uint32_t kTimestamptzArray = 1185;
constexpr uint32_t kUserEnum = 16390;

Json Convert(uint32_t oid, std::string_view text) {
  StatusOr<Json> j = TextToJson(oid, text);
  EXPECT_TRUE(j.ok()) << oid << " \"" << text << "\": " << j.status();
  return j.ok() ? *j : Json("<error>");
}

bool Rejects(uint32_t oid, std::string_view text) {
  return absl::IsInvalidArgument(TextToJson(oid, text).status());
}

// The JSON rows of every Insert in a fixture, converted with its Relation.
std::vector<Json> InsertedRows(std::string_view fixture) {
  RelationCache cache;
  std::vector<Json> rows;
  for (const std::string& payload : LoadFixture(fixture)) {
    StatusOr<Message> m = DecodeMessage(payload);
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok() || cache.Observe(*m)) continue;
    if (const auto* insert = std::get_if<Insert>(&*m)) {
      StatusOr<Json> row = TupleToJson(insert->new_tuple, **cache.Get(insert->relid));
      EXPECT_TRUE(row.ok()) << row.status();
      if (row.ok()) rows.push_back(*row);
    }
  }
  return rows;
}

TEST(ValueJson, ConvertsEveryColumnOfARealRowFaithfully) {
  const std::vector<Json> rows = InsertedRows("types");
  ASSERT_EQ(rows.size(), 3u);
  const Json expected = Json::parse(R"({
    "id": 1, "b": true, "i2": -32768, "i4": 2147483647, "i8": 9223372036854775807,
    "o": 4294967295, "f4": 3.25, "f8": 1.5e300,
    "n": "12345678901234.123456", "n_free": "NaN",
    "t": "tab\there \"quoted\" \\ back", "vc": "varchar \u00e9", "bp": "ab   ", "nm": "a_name",
    "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "j": "{\"k\": [1, 2.5, \"x\"]}", "jb": "{\"a\": 1, \"b\": {\"c\": null}}",
    "ba": "3q2+7wD/", "d": 19782, "ts": 1704164645123456,
    "tstz": "2024-01-02T03:04:05.123456Z", "tm": 86399999999,
    "iv": "1 year 2 mons 3 days 04:05:06.5", "m": "happy",
    "a_i4": [1, null, -3],
    "a_t": ["a b", "c,d", "e\"f", "g\\h", null, "NULL", ""],
    "a_n": ["1.5", "NaN", "-0.000001"],
    "a_b": [true, false, null],
    "a_jb": ["{\"x\": 1}", "[1, \"two\"]"],
    "a_tstz": ["2024-06-01T12:00:00Z", "1999-12-31T23:59:59.5Z"],
    "a_i8_2d": [[1, 2], [3, 4]],
    "a_f8": [1.25, "NaN", "Infinity", "-Infinity"]
  })");
  EXPECT_EQ(rows[0], expected) << rows[0].dump(2);
  // Column order is the table's.
  EXPECT_EQ(rows[0].begin().key(), "id");
  EXPECT_EQ((--rows[0].end()).key(), "a_f8");
  EXPECT_TRUE(rows[0]["i8"].is_number_integer());
  EXPECT_EQ(rows[0]["i8"].get<int64_t>(), INT64_MAX);
}

TEST(ValueJson, ConvertsSpecialValuesOfARealRow) {
  const std::vector<Json> rows = InsertedRows("types");
  ASSERT_EQ(rows.size(), 3u);
  const Json& row = rows[1];
  EXPECT_EQ(row["f4"], "NaN");
  EXPECT_EQ(row["f8"], "-Infinity");
  EXPECT_EQ(row["n_free"], "Infinity");
  EXPECT_EQ(row["d"], "infinity");
  EXPECT_EQ(row["ts"], -1);
  EXPECT_EQ(row["tstz"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(row["ba"], "");
  EXPECT_EQ(row["t"], "");
  EXPECT_TRUE(row["b"].is_null());
  for (const auto& [name, value] : rows[2].items()) {
    if (name != "id") {
      EXPECT_TRUE(value.is_null()) << name;
    }
  }
}

TEST(ValueJson, TimestamptzWithHalfHourOffsetBecomesTheSameUtcInstant) {
  const std::vector<Json> rows = InsertedRows("types_kolkata");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["tstz"], "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(rows[0]["a_tstz"], Json::parse(R"(["2024-01-02T03:04:05Z"])"));
  EXPECT_EQ(rows[0]["ts"], 946684800000000);
  EXPECT_EQ(rows[0]["d"], 0);
  EXPECT_EQ(rows[0]["tm"], 0);
}

TEST(ValueJson, UnchangedToastBecomesDebeziumPlaceholder) {
  std::vector<std::string> payloads = LoadFixture("toast");
  ASSERT_EQ(payloads.size(), 7u);
  const Relation relation = std::get<Relation>(*DecodeMessage(payloads[1]));
  const Update update = std::get<Update>(*DecodeMessage(payloads[5]));
  StatusOr<Json> row = TupleToJson(update.new_tuple, relation);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(*row, Json::parse(R"({"id": 1, "counter": 1,
                                  "body": "__debezium_unavailable_value"})"));
}

TEST(ValueJson, IntegersAreExactAndRangeChecked) {
  EXPECT_EQ(Convert(pg_oid::kInt8, "-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(Convert(pg_oid::kInt2, "32767"), 32767);
  EXPECT_EQ(Convert(pg_oid::kOid, "0"), 0);
  EXPECT_TRUE(Rejects(pg_oid::kInt2, "32768"));
  EXPECT_TRUE(Rejects(pg_oid::kInt4, "2147483648"));
  EXPECT_TRUE(Rejects(pg_oid::kInt8, "9223372036854775808"));
  EXPECT_TRUE(Rejects(pg_oid::kOid, "-1"));
  EXPECT_TRUE(Rejects(pg_oid::kInt4, "abc"));
  EXPECT_TRUE(Rejects(pg_oid::kInt4, ""));
  EXPECT_TRUE(Rejects(pg_oid::kInt4, "1 "));
  EXPECT_TRUE(Rejects(pg_oid::kInt4, "+1"));
}

TEST(ValueJson, FloatsAreNumbersExceptNonFiniteValues) {
  EXPECT_EQ(Convert(pg_oid::kFloat8, "1e-05"), 1e-05);
  EXPECT_EQ(Convert(pg_oid::kFloat4, "0.1").dump(), "0.1");
  EXPECT_EQ(Convert(pg_oid::kFloat8, "Infinity"), "Infinity");
  EXPECT_TRUE(Rejects(pg_oid::kFloat8, "inf"));
  EXPECT_TRUE(Rejects(pg_oid::kFloat8, "nan"));
  EXPECT_TRUE(Rejects(pg_oid::kFloat8, "1e999"));
  EXPECT_TRUE(Rejects(pg_oid::kFloat4, "1,5"));
}

TEST(ValueJson, NumericStaysAnExactString) {
  EXPECT_EQ(Convert(pg_oid::kNumeric, "0.10000000000000000000001"), "0.10000000000000000000001");
  EXPECT_EQ(Convert(pg_oid::kNumeric, "-12"), "-12");
  EXPECT_EQ(Convert(pg_oid::kNumeric, "-Infinity"), "-Infinity");
  for (const char* bad : {"", "-", "1.", ".5", "1e5", "1.2.3", "nan", "12a"}) {
    EXPECT_TRUE(Rejects(pg_oid::kNumeric, bad)) << bad;
  }
}

TEST(ValueJson, BoolIsTOrF) {
  EXPECT_EQ(Convert(pg_oid::kBool, "f"), false);
  EXPECT_TRUE(Rejects(pg_oid::kBool, "true"));
  EXPECT_TRUE(Rejects(pg_oid::kBool, ""));
}

TEST(ValueJson, ByteaHexAndEscapeFormatsBecomeBase64) {
  EXPECT_EQ(Convert(pg_oid::kBytea, "\\x68656c6c6f"), "aGVsbG8=");
  EXPECT_EQ(Convert(pg_oid::kBytea, "\\xDEADBEEF"), "3q2+7w==");
  EXPECT_EQ(Convert(pg_oid::kBytea, "a\\\\b\\000\\377"), "YVxiAP8=");  // bytea_output=escape
  EXPECT_TRUE(Rejects(pg_oid::kBytea, "\\x0"));
  EXPECT_TRUE(Rejects(pg_oid::kBytea, "\\xzz"));
  EXPECT_TRUE(Rejects(pg_oid::kBytea, "a\\9"));
  EXPECT_TRUE(Rejects(pg_oid::kBytea, "a\\"));
}

TEST(ValueJson, DatesAndTimesFollowDebeziumUnits) {
  EXPECT_EQ(Convert(pg_oid::kDate, "1969-12-31"), -1);
  EXPECT_EQ(Convert(pg_oid::kDate, "-infinity"), "-infinity");
  EXPECT_EQ(Convert(pg_oid::kTime, "24:00:00"), 86400000000);
  EXPECT_EQ(Convert(pg_oid::kTime, "00:00:00.5"), 500000);
  EXPECT_EQ(Convert(pg_oid::kTimetz, "12:00:00+05:30"), "06:30:00Z");
  EXPECT_EQ(Convert(pg_oid::kTimetz, "01:00:00.25-03"), "04:00:00.25Z");
  EXPECT_EQ(Convert(pg_oid::kTimestamp, "infinity"), "infinity");
  EXPECT_EQ(Convert(pg_oid::kTimestamptz, "2024-01-02 00:04:05.123456-03"),
            "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(Convert(pg_oid::kTimestamptz, "2024-01-02 08:34:05.1+05:30"), "2024-01-02T03:04:05.1Z");
  // Local mean time offsets before 1900 carry seconds.
  EXPECT_EQ(Convert(pg_oid::kTimestamptz, "1890-01-01 00:00:00-03:06:28"), "1890-01-01T03:06:28Z");
  EXPECT_EQ(Convert(pg_oid::kTimestamptz, "2024-12-31 23:30:00-01"), "2025-01-01T00:30:00Z");
  EXPECT_TRUE(Rejects(pg_oid::kDate, "2023-02-29"));
  EXPECT_TRUE(Rejects(pg_oid::kDate, "2024-13-01"));
  EXPECT_TRUE(Rejects(pg_oid::kTimestamp, "2024-01-02T03:04:05"));
  EXPECT_TRUE(Rejects(pg_oid::kTimestamptz, "2024-01-02 03:04:05"));
  EXPECT_TRUE(Rejects(pg_oid::kTime, "25:00:00"));
}

TEST(ValueJson, StringLikeAndUnknownTypesPassThrough) {
  EXPECT_EQ(Convert(pg_oid::kJsonb, "{\"a\": 1}"), "{\"a\": 1}");
  EXPECT_EQ(Convert(pg_oid::kInterval, "-00:00:01"), "-00:00:01");
  EXPECT_EQ(Convert(kUserEnum, "happy"), "happy");
  EXPECT_EQ(Convert(869, "10.0.0.1/8"), "10.0.0.1/8");    // inet
  EXPECT_EQ(Convert(kUserEnum, "{sad,ok}"), "{sad,ok}");  // enum[]: OID not known
}

TEST(ValueJson, ParsesArrayLiteralSyntax) {
  EXPECT_EQ(Convert(kInt4Array, "{}"), Json::array());
  EXPECT_EQ(Convert(kInt4Array, "{ 1 , 2 }"), Json::parse("[1, 2]"));
  EXPECT_EQ(Convert(kInt4Array, "[0:1]={5,6}"), Json::parse("[5, 6]"));
  EXPECT_EQ(Convert(kInt8Array, "{{{1},{2}},{{3},{4}}}"), Json::parse("[[[1],[2]],[[3],[4]]]"));
  EXPECT_EQ(Convert(kTextArray, "{null,\"null\",\\NULL,a\\,b}"),
            Json::parse(R"([null, "null", "NULL", "a,b"])"));
  EXPECT_EQ(Convert(kTextArray, "{\"{}\",\"x\\\\\"}"), Json::parse(R"(["{}", "x\\"])"));
  EXPECT_EQ(Convert(kNumericArray, "{{NaN,1.0},{NULL,-2}}"),
            Json::parse(R"([["NaN", "1.0"], [null, "-2"]])"));
  EXPECT_EQ(Convert(kByteaArray, "{\"\\\\x0102\"}"), Json::parse(R"(["AQI="])"));
  EXPECT_EQ(Convert(kTimestamptzArray, "{\"2024-01-02 00:04:05-03\",NULL}"),
            Json::parse(R"(["2024-01-02T03:04:05Z", null])"));
}

TEST(ValueJson, RejectsMalformedArrays) {
  for (const char* bad : {"", "1,2", "{1,2", "{1,,2}", "{1 2,}", "{\"a}", "{1}x", "{a\"b}",
                          "{{{{{{{1}}}}}}}", "[1:2]{1,2}", "{1,\\", "{1,abc}"}) {
    EXPECT_TRUE(Rejects(kInt4Array, bad)) << bad;
  }
  EXPECT_EQ(Convert(kInt4Array, "{{{{{{1}}}}}}"),
            Json::parse("[[[[[[1]]]]]]"));  // 6 dims is the max
}

TEST(ValueJson, ColumnKindsMapToNullPlaceholderOrValue) {
  EXPECT_TRUE(ColumnToJson(pg_oid::kInt4, {TupleColumn::Kind::kNull, ""})->is_null());
  EXPECT_EQ(*ColumnToJson(pg_oid::kInt4, {TupleColumn::Kind::kUnchangedToast, ""}),
            "__debezium_unavailable_value");
  EXPECT_EQ(*ColumnToJson(pg_oid::kInt4, {TupleColumn::Kind::kText, "7"}), 7);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      ColumnToJson(pg_oid::kInt4, {TupleColumn::Kind::kBinary, "\0\0\0\7"}).status()));
}

TEST(ValueJson, TupleErrorNamesTheColumn) {
  Relation relation{.relid = 1, .namespace_name = "public", .name = "t", .columns = {}};
  relation.columns.push_back({.flags = 0, .name = "qty", .type_oid = pg_oid::kInt4});
  TupleData tuple{{{TupleColumn::Kind::kText, "x"}}};
  StatusOr<Json> row = TupleToJson(tuple, relation);
  EXPECT_TRUE(absl::IsInvalidArgument(row.status()));
  EXPECT_THAT(std::string(row.status().message()), ::testing::HasSubstr("public.t.qty"));
}

TEST(ValueJson, ErrorQuotesOnlyTheStartOfAHugeValue) {
  const std::string huge(100000, '9');
  StatusOr<Json> j = TextToJson(pg_oid::kInt4, huge);
  EXPECT_TRUE(absl::IsInvalidArgument(j.status()));
  EXPECT_LT(std::string(j.status().message()).size(), 300u);
}

}  // namespace
}  // namespace lastro::capture
