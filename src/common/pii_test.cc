#include "common/pii.h"

#include <gtest/gtest.h>

namespace lastro::pii {
namespace {

TEST(Cpf, ValidatesCheckDigits) {
  EXPECT_TRUE(IsValidCpf("529.982.247-25"));
  EXPECT_TRUE(IsValidCpf("52998224725"));
  EXPECT_FALSE(IsValidCpf("529.982.247-26"));
  EXPECT_FALSE(IsValidCpf("111.111.111-11"));
  EXPECT_FALSE(IsValidCpf("5299822472"));
  EXPECT_FALSE(IsValidCpf("529-982-247.25"));
  EXPECT_FALSE(IsValidCpf(""));
}

TEST(Cpf, GeneratesCheckDigits) { EXPECT_EQ(CpfWithCheckDigits("529982247"), "52998224725"); }

TEST(Cpf, MasksAllButMiddleDigits) {
  EXPECT_EQ(MaskCpf("52998224725"), "***.982.247-**");
  EXPECT_EQ(MaskCpf("garbage"), "***.***.***-**");
}

TEST(Redact, KeepsOrdinaryNumbers) {
  EXPECT_EQ(Redact("request 12345 took 20 ms"), "request 12345 took 20 ms");
  EXPECT_EQ(Redact("lsn 0/16B3748"), "lsn 0/16B3748");
}

TEST(Redact, HidesCpfEmailPhone) {
  EXPECT_EQ(Redact("cpf 529.982.247-25."), "cpf [redacted].");
  EXPECT_EQ(Redact("mail ana.s@x.com ok"), "mail [redacted] ok");
  EXPECT_EQ(Redact("tel (11) 98765-4321"), "tel [redacted]");
}

TEST(Redact, KeepsRunIdsWhoseDigitsTouchLetters) {
  // UUIDv7 run ids must stay greppable in the logs.
  EXPECT_EQ(Redact("run 01a226e6-7076-9188-daeb-41e1643f done"),
            "run 01a226e6-7076-9188-daeb-41e1643f done");
  EXPECT_EQ(Redact("cpf 52998224725 run x1"), "cpf [redacted] run x1");
}

TEST(PiiKey, RecognisesPersonalFields) {
  EXPECT_TRUE(IsPiiKey("CPF"));
  EXPECT_TRUE(IsPiiKey("email"));
  EXPECT_FALSE(IsPiiKey("request_id"));
}

}  // namespace
}  // namespace lastro::pii
