#include "risk/resilience.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "testing/fake_clock.h"

namespace lastro::risk {
namespace {

using std::chrono::milliseconds;

TEST(Resilience, SettingsOfReadsTheConfigFieldsByName) {
  BureauConfig c;
  c.backoff_base_ms = 1;
  c.backoff_max_ms = 2;
  c.retry_budget_ratio = 0.3;
  c.retry_budget_min_per_s = 4;
  c.rate_limit_per_s = 5;
  c.breaker_window = 6;
  c.breaker_failure_ratio = 0.7;
  c.breaker_min_calls = 8;
  c.breaker_open_ms = 9;
  ResilienceSettings s = ResilienceSettings::Of(c);
  EXPECT_EQ(s.backoff_base_ms, 1);
  EXPECT_EQ(s.backoff_max_ms, 2);
  EXPECT_EQ(s.retry_budget_ratio, 0.3);
  EXPECT_EQ(s.retry_budget_min_per_s, 4);
  EXPECT_EQ(s.rate_limit_per_s, 5);
  EXPECT_EQ(s.breaker_window, 6);
  EXPECT_EQ(s.breaker_failure_ratio, 0.7);
  EXPECT_EQ(s.breaker_min_calls, 8);
  EXPECT_EQ(s.breaker_open_ms, 9);
  EXPECT_EQ(ResilienceSettings::Of(RiskConfig{}).breaker_window, RiskConfig{}.breaker_window);
}

TEST(Resilience, AdmitsAtOnceWhenNothingHoldsBack) {
  testing::FakeClock clock;
  Resilience r(ResilienceSettings{}, clock);
  Resilience::Admission a = r.Admit(clock.Now(), clock.Now() + milliseconds(1000));
  EXPECT_TRUE(a.send);
  EXPECT_FALSE(a.probe);
  EXPECT_FALSE(a.waiting_breaker);
}

TEST(Resilience, WaitsForARateLimitTokenInWholeMillisecondsUpToTheDeadline) {
  testing::FakeClock clock;
  ResilienceSettings s;
  s.rate_limit_per_s = 3;  // burst 1, one token every 333.3 ms
  Resilience r(s, clock);
  const auto now = clock.Now();
  ASSERT_TRUE(r.Admit(now, now + milliseconds(1000)).send);
  Resilience::Admission a = r.Admit(now, now + milliseconds(1000));
  EXPECT_FALSE(a.send);
  EXPECT_FALSE(a.waiting_breaker);
  EXPECT_EQ(a.next_at, now + milliseconds(334));
  EXPECT_EQ(r.Admit(now, now + milliseconds(10)).next_at, now + milliseconds(10));
}

TEST(Resilience, ParksCallsWhileTheBreakerIsOpenThenSendsOneProbe) {
  testing::FakeClock clock;
  ResilienceSettings s;
  s.breaker_window = 2;
  s.breaker_min_calls = 2;
  s.breaker_open_ms = 1000;
  Resilience r(s, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(r.Admit(clock.Now(), clock.Now() + milliseconds(5000)).send);
    r.breaker.Record(false, false);
  }
  auto now = clock.Now();
  Resilience::Admission open = r.Admit(now, now + milliseconds(5000));
  EXPECT_FALSE(open.send);
  EXPECT_TRUE(open.waiting_breaker);
  EXPECT_EQ(open.next_at, now + milliseconds(1000));
  EXPECT_EQ(r.Admit(now, now + milliseconds(200)).next_at, now + milliseconds(200));

  clock.Advance(milliseconds(1000));
  now = clock.Now();
  Resilience::Admission probe = r.Admit(now, now + milliseconds(5000));
  EXPECT_TRUE(probe.send);
  EXPECT_TRUE(probe.probe);
  // With the probe out, look again soon in case it fails.
  Resilience::Admission after = r.Admit(now, now + milliseconds(5000));
  EXPECT_FALSE(after.send);
  EXPECT_TRUE(after.waiting_breaker);
  EXPECT_EQ(after.next_at, now + milliseconds(100));
}

}  // namespace
}  // namespace lastro::risk
