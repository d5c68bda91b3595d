#include "capture/lsn.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace lastro::capture {
namespace {

TEST(Lsn, ParsesPostgresForm) {
  StatusOr<Lsn> lsn = Lsn::Parse("16/B374D848");
  ASSERT_TRUE(lsn.ok()) << lsn.status();
  EXPECT_EQ(lsn->value(), 0x16B374D848u);
}

TEST(Lsn, ParsesLowercaseAndShortHalves) {
  EXPECT_EQ(Lsn::Parse("0/0")->value(), 0u);
  EXPECT_EQ(Lsn::Parse("a/b")->value(), (uint64_t{0xA} << 32) | 0xB);
  EXPECT_EQ(Lsn::Parse("FFFFFFFF/FFFFFFFF")->value(), UINT64_MAX);
}

TEST(Lsn, FormatsLikePostgres) {
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
  EXPECT_EQ(Lsn(0x16B374D848u).ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0x1000000).ToString(), "0/1000000");
  EXPECT_EQ(Lsn(UINT64_MAX).ToString(), "FFFFFFFF/FFFFFFFF");
}

TEST(Lsn, RoundTripsThroughText) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0xABCDEF12}, uint64_t{0x100000000},
                     uint64_t{0x123456789ABCDEF0}, UINT64_MAX}) {
    StatusOr<Lsn> parsed = Lsn::Parse(Lsn(v).ToString());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->value(), v);
  }
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "/", "0", "0/", "/0", "123456789/0", "0/123456789", "G/0", "0/0x1",
                          " 0/1", "0/1 ", "0//1", "-1/0", "0/+1"}) {
    StatusOr<Lsn> lsn = Lsn::Parse(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(lsn.status())) << "\"" << bad << "\"";
  }
}

TEST(Lsn, OrdersByPosition) {
  EXPECT_LT(Lsn(1), Lsn(2));
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
  EXPECT_EQ(Lsn(5), Lsn(5));
  EXPECT_FALSE(Lsn().IsValid());
  EXPECT_TRUE(Lsn(1).IsValid());
}

}  // namespace
}  // namespace lastro::capture
