#include "sim/bureau_model.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/pii.h"

namespace lastro::sim {
namespace {

// `n` distinct valid CPFs.
std::vector<std::string> Cpfs(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char base[16];
    std::snprintf(base, sizeof base, "%09d", 100000007 + i * 7919);
    out.push_back(pii::CpfWithCheckDigits(base));
  }
  return out;
}

TEST(BureauModel, ScoreIsDeterministicAndInRange) {
  for (const auto& cpf : Cpfs(500)) {
    int32_t s = BureauScoreFor(cpf, "2026-03-15");
    EXPECT_EQ(s, BureauScoreFor(cpf, "2026-03-15"));
    EXPECT_GE(s, 0);
    EXPECT_LE(s, 1000);
  }
}

TEST(BureauModel, ScoreMovesLittleWithinAMonth) {
  int moved = 0;
  for (const auto& cpf : Cpfs(200)) {
    int32_t a = BureauScoreFor(cpf, "2026-03-01"), b = BureauScoreFor(cpf, "2026-03-31");
    EXPECT_LE(std::abs(a - b), 10) << "daily noise is at most +-5";
    moved += a != b ? 1 : 0;
  }
  EXPECT_GT(moved, 100);  // but it does move
}

TEST(BureauModel, UnknownShareFollowsTheRateAndGrowsMonotonically) {
  const auto cpfs = Cpfs(4000);
  int unknown_3 = 0, unknown_30 = 0;
  for (const auto& cpf : cpfs) {
    bool known_3 = BureauKnows(cpf, 0.03), known_30 = BureauKnows(cpf, 0.30);
    unknown_3 += known_3 ? 0 : 1;
    unknown_30 += known_30 ? 0 : 1;
    if (!known_3) {
      EXPECT_FALSE(known_30);
    }
  }
  EXPECT_NEAR(unknown_3 / 4000.0, 0.03, 0.012);
  EXPECT_NEAR(unknown_30 / 4000.0, 0.30, 0.03);
  EXPECT_FALSE(BureauKnows("52998224726", 0));  // wrong check digit
  EXPECT_TRUE(BureauKnows("52998224725", 0));
}

TEST(BureauModel, InconsistenciesFollowTheRateAndCoverEveryKind) {
  const auto cpfs = Cpfs(3000);
  int none = 0, kinds[4] = {0, 0, 0, 0};
  for (const auto& cpf : cpfs) {
    none += BureauInconsistencyFor(cpf, "2026-03-15", 0.05) == BureauInconsistency::kNone;
    BureauInconsistency k = BureauInconsistencyFor(cpf, "2026-03-15", 1.0);
    ASSERT_NE(k, BureauInconsistency::kNone);
    ++kinds[static_cast<int>(k)];
    EXPECT_EQ(BureauInconsistencyFor(cpf, "2026-03-15", 0), BureauInconsistency::kNone);
  }
  EXPECT_NEAR(1 - none / 3000.0, 0.05, 0.015);
  for (int k = 1; k < 4; ++k) EXPECT_NEAR(kinds[k] / 3000.0, 1 / 3.0, 0.05) << k;
}

TEST(BureauModel, WrongScoresAreWrongInTheAdvertisedWay) {
  for (const auto& cpf : Cpfs(300)) {
    int32_t out = BureauOutOfRangeScore(cpf, "2026-03-15");
    EXPECT_TRUE(out < 0 || out > 1000) << out;
    int32_t other = BureauConflictingScore(cpf, "2026-03-15");
    EXPECT_GE(other, 0);
    EXPECT_LE(other, 1000);
    EXPECT_NE(other, BureauScoreFor(cpf, "2026-03-15"));
  }
}

TEST(BureauModel, IsIsoDateChecksTheCalendar) {
  EXPECT_TRUE(IsIsoDate("2026-03-15"));
  EXPECT_TRUE(IsIsoDate("2024-02-29"));
  EXPECT_FALSE(IsIsoDate("2026-02-29"));
  EXPECT_FALSE(IsIsoDate("2026-13-01"));
  EXPECT_FALSE(IsIsoDate("2026-00-10"));
  EXPECT_FALSE(IsIsoDate("2026-3-15"));
  EXPECT_FALSE(IsIsoDate("2026/03/15"));
  EXPECT_FALSE(IsIsoDate("2026-03-1x"));
  EXPECT_FALSE(IsIsoDate(""));
}

}  // namespace
}  // namespace lastro::sim
