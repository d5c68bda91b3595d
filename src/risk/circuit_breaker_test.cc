#include "risk/circuit_breaker.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace lastro::risk {
namespace {

using Admission = CircuitBreaker::Admission;
using State = CircuitBreaker::State;
using std::chrono::milliseconds;

CircuitBreaker::Options Opts() {
  CircuitBreaker::Options o;
  o.window = 10;
  o.min_calls = 4;
  o.failure_ratio = 0.5;
  o.open_duration = milliseconds(1000);
  return o;
}

void Fail(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(b.TryAcquire(), Admission::kAllowed);
    b.Record(false, false);
  }
}
void Succeed(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(b.TryAcquire(), Admission::kAllowed);
    b.Record(true, false);
  }
}

TEST(CircuitBreaker, StaysClosedBelowMinCallsEvenIfAllFail) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 3);
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_DOUBLE_EQ(b.failure_ratio(), 1.0);
}

TEST(CircuitBreaker, OpensAtFailureRatioAndRejects) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Succeed(b, 2);
  Fail(b, 1);
  EXPECT_EQ(b.state(), State::kClosed);  // 1/3, and below min_calls
  Fail(b, 1);                            // 2/4 = 0.5 -> open
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.TryAcquire(), Admission::kRejected);
  EXPECT_FALSE(b.WouldAdmit());
  EXPECT_EQ(b.open_until(), clock.Now() + milliseconds(1000));
}

TEST(CircuitBreaker, WindowForgetsOldOutcomes) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Succeed(b, 2);
  Fail(b, 1);
  Succeed(b, 10);  // the failure slides out of the 10-call window
  EXPECT_DOUBLE_EQ(b.failure_ratio(), 0.0);
  Fail(b, 4);  // 4/10 < 0.5
  EXPECT_EQ(b.state(), State::kClosed);
  Fail(b, 1);  // 5/10
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, HalfOpenAdmitsExactlyOneProbe) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 4);
  clock.Advance(milliseconds(999));
  EXPECT_EQ(b.TryAcquire(), Admission::kRejected);
  clock.Advance(milliseconds(1));
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_TRUE(b.WouldAdmit());
  EXPECT_EQ(b.TryAcquire(), Admission::kProbe);
  EXPECT_FALSE(b.WouldAdmit());
  EXPECT_EQ(b.TryAcquire(), Admission::kRejected);
  EXPECT_EQ(b.TryAcquire(), Admission::kRejected);
}

TEST(CircuitBreaker, ProbeSuccessClosesWithAFreshWindow) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 4);
  clock.Advance(milliseconds(1000));
  ASSERT_EQ(b.TryAcquire(), Admission::kProbe);
  b.Record(true, true);
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_EQ(b.window_size(), 0);
  Succeed(b, 3);
}

TEST(CircuitBreaker, ProbeFailureReopensForAnotherPeriod) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 4);
  clock.Advance(milliseconds(1500));
  ASSERT_EQ(b.TryAcquire(), Admission::kProbe);
  b.Record(false, true);
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.open_until(), clock.Now() + milliseconds(1000));
  clock.Advance(milliseconds(1000));
  EXPECT_EQ(b.TryAcquire(), Admission::kProbe);
}

TEST(CircuitBreaker, StragglersDoNotDecideWhileOpenOrHalfOpen) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 4);
  b.Record(true, false);  // a call admitted before the breaker opened
  EXPECT_EQ(b.state(), State::kOpen);
  clock.Advance(milliseconds(1000));
  ASSERT_EQ(b.TryAcquire(), Admission::kProbe);
  b.Record(true, false);  // another straggler: only the probe may close it
  EXPECT_EQ(b.state(), State::kHalfOpen);
  b.Record(true, true);
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, ReleasedProbeLetsTheNextCallerProbe) {
  testing::FakeClock clock;
  CircuitBreaker b(Opts(), clock);
  Fail(b, 4);
  clock.Advance(milliseconds(1000));
  ASSERT_EQ(b.TryAcquire(), Admission::kProbe);
  b.ReleaseProbe();
  EXPECT_EQ(b.TryAcquire(), Admission::kProbe);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_STREQ(CircuitBreaker::StateName(State::kClosed), "closed");
  EXPECT_STREQ(CircuitBreaker::StateName(State::kOpen), "open");
  EXPECT_STREQ(CircuitBreaker::StateName(State::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace lastro::risk
