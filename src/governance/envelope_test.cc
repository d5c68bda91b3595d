#include "governance/envelope.h"

#include <gtest/gtest.h>

namespace lastro::governance {
namespace {

constexpr const char* kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

MasterKey Master(const char* text = kHexKey) {
  auto k = MasterKey::Parse(text);
  EXPECT_TRUE(k.ok()) << k.status();
  return *k;
}

TEST(MasterKey, RejectsAMissingOrShortKeyAndSaysHowToSetIt) {
  for (const char* text : {"", "fifteen-bytes!!"}) {
    auto k = MasterKey::Parse(text);
    ASSERT_FALSE(k.ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(k.status()));
    EXPECT_NE(k.status().message().find("LASTRO_MASTER_KEY"), std::string_view::npos);
  }
}

TEST(MasterKey, HexAndPassphraseKeysAreDistinctAndStable) {
  MasterKey hex = Master();
  MasterKey upper = Master("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  MasterKey phrase = Master("a machine-generated secret of some length");
  EXPECT_EQ(hex.id(), upper.id());  // the same 32 bytes
  EXPECT_NE(hex.id(), phrase.id());
  EXPECT_EQ(phrase.id(), Master("a machine-generated secret of some length").id());
  EXPECT_EQ(hex.id().size(), 16u);
}

TEST(MasterKey, WrapsADataKeyForOneCustomerAndVersionOnly) {
  MasterKey master = Master();
  DataKey key = DataKey::Generate();
  std::string wrapped = master.Wrap(42, 1, key.bytes());
  ASSERT_EQ(wrapped.size(), kWrappedKeyBytes);
  auto back = master.Unwrap(42, 1, wrapped);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, key.bytes());

  EXPECT_TRUE(absl::IsDataLoss(master.Unwrap(43, 1, wrapped).status())) << "another customer";
  EXPECT_TRUE(absl::IsDataLoss(master.Unwrap(42, 2, wrapped).status())) << "another version";
  EXPECT_TRUE(
      absl::IsDataLoss(Master("another master key, long enough").Unwrap(42, 1, wrapped).status()));
  std::string flipped = wrapped;
  flipped[30] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(master.Unwrap(42, 1, flipped).status()));
  EXPECT_TRUE(absl::IsDataLoss(master.Unwrap(42, 1, wrapped.substr(1)).status()));
}

TEST(DataKey, SealsAndOpensAFieldRoundTrip) {
  DataKey key = DataKey::Generate();
  for (std::string text : {std::string("Maria da Silva Ñandú"), std::string(),
                           std::string(5000, 'x'), std::string("a\0b", 3)}) {
    std::string sealed = key.Seal(7, "full_name", text);
    EXPECT_EQ(sealed.size(), text.size() + kSealOverhead);
    if (!text.empty()) {
      EXPECT_EQ(sealed.find(text), std::string::npos);
    }
    auto opened = key.Open(7, "full_name", sealed);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, text);
  }
  // Random nonces: the same value seals differently each time (no equality leak).
  EXPECT_NE(key.Seal(7, "email", "a@b.c"), key.Seal(7, "email", "a@b.c"));
}

TEST(DataKey, TamperedMovedOrForeignCiphertextsFailCleanly) {
  DataKey key = DataKey::Generate();
  std::string sealed = key.Seal(7, "email", "maria@example.com");
  for (size_t i = 0; i < sealed.size(); i += 7) {
    std::string t = sealed;
    t[i] ^= 0x20;
    EXPECT_TRUE(absl::IsDataLoss(key.Open(7, "email", t).status())) << "byte " << i;
  }
  EXPECT_TRUE(absl::IsDataLoss(key.Open(8, "email", sealed).status())) << "another customer";
  EXPECT_TRUE(absl::IsDataLoss(key.Open(7, "full_name", sealed).status())) << "another column";
  EXPECT_TRUE(absl::IsDataLoss(DataKey::Generate().Open(7, "email", sealed).status()));
  EXPECT_TRUE(absl::IsDataLoss(key.Open(7, "email", sealed.substr(0, 30)).status()));
  EXPECT_TRUE(absl::IsDataLoss(key.Open(7, "email", "").status()));
}

}  // namespace
}  // namespace lastro::governance
