#include "batch/copy_text.h"

#include <gtest/gtest.h>

namespace lastro::batch {
namespace {

TEST(CopyTextParser, SplitsFieldsAndNulls) {
  CopyTextParser p;
  ASSERT_TRUE(p.Parse("1\tabc\t\\N\t\n", 4).ok());
  ASSERT_EQ(p.fields().size(), 4u);
  EXPECT_EQ(*p.fields()[0], "1");
  EXPECT_EQ(*p.fields()[1], "abc");
  EXPECT_FALSE(p.fields()[2].has_value());
  EXPECT_EQ(*p.fields()[3], "");  // empty string is not NULL
}

TEST(CopyTextParser, UnescapesEveryEscapeForm) {
  CopyTextParser p;
  ASSERT_TRUE(p.Parse("a\\tb\tc\\nd\te\\\\f\t\\101\\x42\t\\N", 5).ok());
  EXPECT_EQ(*p.fields()[0], "a\tb");
  EXPECT_EQ(*p.fields()[1], "c\nd");
  EXPECT_EQ(*p.fields()[2], "e\\f");
  EXPECT_EQ(*p.fields()[3], "AB");
  EXPECT_FALSE(p.fields()[4].has_value());
}

TEST(CopyTextParser, RejectsAWrongFieldCount) {
  CopyTextParser p;
  Status s = p.Parse("1\t2", 3);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("2 fields, expected 3"), std::string::npos);
}

}  // namespace
}  // namespace lastro::batch
