// A retry budget: caps retries to a fraction of first attempts so that a failing
// provider sees at most (1 + ratio) x the normal load, instead of max_attempts x.
//
// Token bucket: each first attempt deposits `ratio` tokens, and `min_per_s` tokens
// trickle in per second (so a quiet client can still retry); each retry withdraws
// one whole token; with less than one token the retry is refused (give up now).
// The bucket holds at most `capacity` tokens and starts with min(capacity,
// max(1, min_per_s)).
//
// Thread-compatible (the RiskClient loop owns it). Time comes from the Clock.
#pragma once

#include <chrono>

#include "common/clock.h"

namespace lastro::risk {

class RetryBudget {
 public:
  // ratio >= 0, min_per_s >= 0, capacity >= 1 (clamped).
  RetryBudget(double ratio, double min_per_s, double capacity, const Clock& clock);

  // Call once per first attempt of a request.
  void OnFirstAttempt();
  // Spends one token for a retry. Returns false (and spends nothing) when the
  // budget is exhausted.
  bool TryWithdraw();
  // Tokens available now (after the time-based refill).
  double tokens();

 private:
  void Refill();

  double ratio_;
  double min_per_s_;
  double capacity_;
  const Clock& clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace lastro::risk
