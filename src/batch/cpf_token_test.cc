#include "batch/cpf_token.h"

#include <gtest/gtest.h>

namespace lastro::batch {
namespace {

TEST(CpfTokenizer, SameCpfSameTokenDifferentKeyDifferentToken) {
  auto a = CpfTokenizer::Create("0123456789abcdef-key-a");
  auto b = CpfTokenizer::Create("0123456789abcdef-key-b");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string t = a->Token("529.982.247-25");
  EXPECT_EQ(t.size(), 32u);
  EXPECT_EQ(t, a->Token("52998224725"));
  EXPECT_NE(t, a->Token("11144477735"));
  EXPECT_NE(t, b->Token("52998224725"));
  EXPECT_EQ(t.find("52998224725"), std::string::npos);
}

TEST(CpfTokenizer, RefusesAMissingOrShortKey) {
  EXPECT_TRUE(absl::IsFailedPrecondition(CpfTokenizer::Create("").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(CpfTokenizer::Create("short").status()));
}

}  // namespace
}  // namespace lastro::batch
