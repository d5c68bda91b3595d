#include "risk/rate_limiter.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace lastro::risk {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(RateLimiter, ZeroRateIsUnlimited) {
  testing::FakeClock clock;
  RateLimiter limiter(0, 1, clock);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(limiter.TryAcquire(), nanoseconds(0));
}

TEST(RateLimiter, AllowsTheBurstThenSaysHowLongToWait) {
  testing::FakeClock clock;
  RateLimiter limiter(10, 3, clock);  // one token per 100 ms
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
  nanoseconds wait = limiter.TryAcquire();
  EXPECT_GT(wait, milliseconds(99));
  EXPECT_LE(wait, milliseconds(100));
  clock.Advance(milliseconds(40));
  wait = limiter.TryAcquire();
  EXPECT_GT(wait, milliseconds(59));
  EXPECT_LE(wait, milliseconds(60));
  clock.Advance(milliseconds(60));
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
}

TEST(RateLimiter, SustainedRateMatchesConfiguredRate) {
  testing::FakeClock clock;
  RateLimiter limiter(50, 1, clock);
  int sent = 0;
  // Simulated 10 s, stepping to whenever the limiter says.
  auto end = clock.Now() + std::chrono::seconds(10);
  while (clock.Now() < end) {
    nanoseconds wait = limiter.TryAcquire();
    if (wait == nanoseconds(0)) {
      ++sent;
    } else {
      clock.Advance(wait);
    }
  }
  EXPECT_GE(sent, 500);
  EXPECT_LE(sent, 502);
}

TEST(RateLimiter, IdleTimeDoesNotBankMoreThanTheBurst) {
  testing::FakeClock clock;
  RateLimiter limiter(100, 2, clock);
  clock.Advance(std::chrono::seconds(60));
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
  EXPECT_EQ(limiter.TryAcquire(), nanoseconds(0));
  EXPECT_GT(limiter.TryAcquire(), nanoseconds(0));
}

}  // namespace
}  // namespace lastro::risk
