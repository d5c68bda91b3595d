#include "common/iso_date.h"

#include <gtest/gtest.h>

namespace lastro {
namespace {

TEST(IsoDate, AcceptsRealCalendarDays) {
  EXPECT_TRUE(IsIsoDate("2026-03-15"));
  EXPECT_TRUE(IsIsoDate("2024-02-29"));  // leap year
  EXPECT_TRUE(IsIsoDate("2000-02-29"));  // divisible by 400
}

TEST(IsoDate, RejectsDaysNotInTheCalendar) {
  EXPECT_FALSE(IsIsoDate("2026-02-29"));
  EXPECT_FALSE(IsIsoDate("1900-02-29"));  // divisible by 100, not 400
  EXPECT_FALSE(IsIsoDate("2026-13-01"));
  EXPECT_FALSE(IsIsoDate("2026-00-10"));
  EXPECT_FALSE(IsIsoDate("2026-04-31"));
}

TEST(IsoDate, RejectsOtherShapes) {
  EXPECT_FALSE(IsIsoDate("2026-3-15"));
  EXPECT_FALSE(IsIsoDate("2026/03/15"));
  EXPECT_FALSE(IsIsoDate("2026-03-1x"));
  EXPECT_FALSE(IsIsoDate("2026-03-150"));
  EXPECT_FALSE(IsIsoDate(""));
}

}  // namespace
}  // namespace lastro
