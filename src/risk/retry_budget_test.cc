#include "risk/retry_budget.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace lastro::risk {
namespace {

using std::chrono::milliseconds;

TEST(RetryBudget, StartsWithOneSecondOfMinimumTokens) {
  testing::FakeClock clock;
  RetryBudget budget(0.2, 3, 100, clock);
  EXPECT_TRUE(budget.TryWithdraw());
  EXPECT_TRUE(budget.TryWithdraw());
  EXPECT_TRUE(budget.TryWithdraw());
  EXPECT_FALSE(budget.TryWithdraw());
}

TEST(RetryBudget, FirstAttemptsDepositTheRatio) {
  testing::FakeClock clock;
  RetryBudget budget(0.2, 0, 100, clock);
  ASSERT_TRUE(budget.TryWithdraw());  // the single starting token
  ASSERT_FALSE(budget.TryWithdraw());
  for (int i = 0; i < 4; ++i) budget.OnFirstAttempt();
  EXPECT_FALSE(budget.TryWithdraw());  // 0.8 tokens: not a whole retry
  budget.OnFirstAttempt();
  EXPECT_TRUE(budget.TryWithdraw());  // 5 first attempts buy 1 retry
  EXPECT_FALSE(budget.TryWithdraw());
}

TEST(RetryBudget, RefillsAtMinPerSecond) {
  testing::FakeClock clock;
  RetryBudget budget(0, 10, 100, clock);
  while (budget.TryWithdraw()) {
  }
  clock.Advance(milliseconds(99));
  EXPECT_FALSE(budget.TryWithdraw());
  clock.Advance(milliseconds(2));
  EXPECT_TRUE(budget.TryWithdraw());
  clock.Advance(milliseconds(1000));
  int granted = 0;
  while (budget.TryWithdraw()) ++granted;
  EXPECT_EQ(granted, 10);
}

TEST(RetryBudget, NeverHoldsMoreThanCapacity) {
  testing::FakeClock clock;
  RetryBudget budget(1.0, 10, 15, clock);
  for (int i = 0; i < 1000; ++i) budget.OnFirstAttempt();
  clock.Advance(std::chrono::hours(1));
  EXPECT_DOUBLE_EQ(budget.tokens(), 15);
}

TEST(RetryBudget, RefusingSpendsNothing) {
  testing::FakeClock clock;
  RetryBudget budget(0.5, 0, 10, clock);
  ASSERT_TRUE(budget.TryWithdraw());
  budget.OnFirstAttempt();
  EXPECT_FALSE(budget.TryWithdraw());
  EXPECT_DOUBLE_EQ(budget.tokens(), 0.5);
}

}  // namespace
}  // namespace lastro::risk
