#include "risk/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace lastro::risk {
namespace {

using Ms = std::chrono::milliseconds;

TEST(Backoff, CeilingDoublesFromBaseAndStopsAtMax) {
  Backoff b(Ms(50), Ms(2000), 1);
  EXPECT_EQ(b.Ceiling(1), Ms(50));
  EXPECT_EQ(b.Ceiling(2), Ms(100));
  EXPECT_EQ(b.Ceiling(3), Ms(200));
  EXPECT_EQ(b.Ceiling(6), Ms(1600));
  EXPECT_EQ(b.Ceiling(7), Ms(2000));
  EXPECT_EQ(b.Ceiling(1000), Ms(2000));  // no overflow
  EXPECT_EQ(b.Ceiling(0), Ms(50));
}

TEST(Backoff, FullJitterStaysWithinZeroAndCeilingAndSpreads) {
  Backoff b(Ms(100), Ms(10000), 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    Ms d = b.Delay(3);  // ceiling 400 ms
    ASSERT_GE(d, Ms(0));
    ASSERT_LE(d, Ms(400));
    seen.insert(d.count() * 4 / 401);
  }
  // Full jitter: every quarter of [0, 400] is used, not just the top.
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Backoff, RetryAfterWinsWhenLongerEvenAboveMax) {
  Backoff b(Ms(50), Ms(200), 3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.Delay(1, Ms(3000)), Ms(3000));
}

TEST(Backoff, ShortRetryAfterDoesNotShortenTheBackoffFloorItIsAMinimum) {
  Backoff b(Ms(1000), Ms(1000), 3);
  for (int i = 0; i < 200; ++i) {
    Ms d = b.Delay(1, Ms(10));
    EXPECT_GE(d, Ms(10));
    EXPECT_LE(d, Ms(1000));
  }
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff a(Ms(10), Ms(5000), 99), b(Ms(10), Ms(5000), 99);
  for (int i = 1; i < 20; ++i) EXPECT_EQ(a.Delay(i), b.Delay(i));
}

TEST(Backoff, ClampsNonsenseParameters) {
  Backoff b(Ms(0), Ms(-5), 1);
  EXPECT_EQ(b.Ceiling(1), Ms(1));
  EXPECT_EQ(b.Ceiling(10), Ms(1));
}

}  // namespace
}  // namespace lastro::risk
