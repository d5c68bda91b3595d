// A circuit breaker over a rolling window of call outcomes.
//
//   closed    -> calls flow; each outcome enters a window of the last `window`
//                outcomes. When the window holds >= `min_calls` outcomes and the
//                failure ratio is >= `failure_ratio`, the breaker opens.
//   open      -> calls are refused for `open_duration`; then half-open.
//   half_open -> exactly ONE probe call is admitted. Its success closes the breaker
//                (with an empty window); its failure re-opens it for `open_duration`.
//
// Outcomes of calls admitted before a state change (stragglers) are ignored once the
// breaker is open or half-open: only the probe decides.
//
// Thread-compatible (the RiskClient loop owns it). Time comes from the Clock.
#pragma once

#include <chrono>
#include <deque>
#include <string>

#include "common/clock.h"

namespace lastro::risk {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  enum class Admission { kRejected, kAllowed, kProbe };

  struct Options {
    int window = 50;             // outcomes remembered (>= 1)
    int min_calls = 20;          // outcomes needed before it may open (>= 1)
    double failure_ratio = 0.5;  // (0, 1]
    std::chrono::milliseconds open_duration{5000};
  };

  CircuitBreaker(const Options& options, const Clock& clock);

  // The state now (moves open -> half_open once open_duration has passed).
  State state();
  // True when TryAcquire() would admit a call now. Does not change anything
  // except the open -> half_open transition.
  bool WouldAdmit();
  // Asks to send a call. kProbe means this call is the half-open probe: report its
  // outcome with probe = true (or ReleaseProbe() if it is never sent).
  Admission TryAcquire();
  // Reports the outcome of an admitted call.
  void Record(bool success, bool probe);
  // Gives back a probe that was admitted but not sent; the next caller may probe.
  void ReleaseProbe();

  // When an open breaker turns half-open; time_point::min() when not open.
  std::chrono::steady_clock::time_point open_until() const;
  // Failure ratio over the current window (0 when empty) and its size.
  double failure_ratio() const;
  int window_size() const { return static_cast<int>(outcomes_.size()); }

  static const char* StateName(State s);

 private:
  void Open();

  Options options_;
  const Clock& clock_;
  State state_ = State::kClosed;
  bool probe_out_ = false;
  std::chrono::steady_clock::time_point open_until_ = std::chrono::steady_clock::time_point::min();
  std::deque<bool> outcomes_;  // true = failure
  int failures_ = 0;
};

}  // namespace lastro::risk
