#include "capture/pg_datetime.h"

#include "gtest/gtest.h"

namespace lastro::capture {
namespace {

TEST(PgDatetime, ParsesDatesIncludingLeapDaysAndBc) {
  EXPECT_EQ(*ParsePgDate("1970-01-01"), 0);
  EXPECT_EQ(*ParsePgDate("2000-02-29"), 11016);
  EXPECT_EQ(*ParsePgDate("0001-01-01 BC"), -719528);  // astronomical year 0
  EXPECT_EQ(*ParsePgDate("10000-01-01"), 2932897);
  EXPECT_FALSE(ParsePgDate("1900-02-29").ok());
  EXPECT_FALSE(ParsePgDate("0000-01-01").ok());
  EXPECT_FALSE(ParsePgDate("24-01-01").ok());
  EXPECT_FALSE(ParsePgDate("2024-01-01 AD").ok());
}

TEST(PgDatetime, ParsesTimestampsAsMicrosSinceEpoch) {
  EXPECT_EQ(*ParsePgTimestamp("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(*ParsePgTimestamp("1969-12-31 23:59:59.999999"), -1);
  EXPECT_EQ(*ParsePgTimestamptz("1970-01-01 00:00:00.000001+00"), 1);
  EXPECT_EQ(*ParsePgTimestamptz("1970-01-01 05:30:00+05:30"), 0);
  EXPECT_FALSE(ParsePgTimestamp("1970-01-01 00:00:00.1234567").ok());
  EXPECT_FALSE(ParsePgTimestamptz("1970-01-01 00:00:00+5").ok());
  EXPECT_FALSE(ParsePgTimestamptz("1970-01-01 00:00:00+05:").ok());
}

TEST(PgDatetime, RejectsInstantsOutsideInt64Micros) {
  // PostgreSQL counts from 2000, so its last ~30 years (to 294276 AD) do not
  // fit in int64 µs since 1970; its first day, 4713 BC, does.
  EXPECT_TRUE(ParsePgTimestamp("290000-01-01 00:00:00").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ParsePgTimestamp("294276-12-31 23:59:59.999999").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParsePgTimestamp("5874897-12-31 00:00:00").status()));
  EXPECT_TRUE(ParsePgTimestamptz("4714-11-24 00:00:00+00 BC").ok());
}

TEST(PgDatetime, FormatsIsoUtcLikeJavaTime) {
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoUtc(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatIsoUtc(1704164645123456), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(FormatIsoUtc(1704164645120000), "2024-01-02T03:04:05.12Z");
  EXPECT_EQ(FormatIsoUtc(*ParsePgTimestamp("10000-01-01 00:00:00")), "+10000-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoUtc(*ParsePgTimestamp("0002-01-01 00:00:00 BC")), "-0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoUtcTime(0), "00:00:00Z");
}

TEST(PgDatetime, TimetzWrapsAroundMidnight) {
  EXPECT_EQ(*ParsePgTimetzToUtc("23:00:00-02"), 3600LL * 1000000);
  EXPECT_EQ(*ParsePgTimetzToUtc("01:00:00+02"), 23 * 3600LL * 1000000);
}

}  // namespace
}  // namespace lastro::capture
