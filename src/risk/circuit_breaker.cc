#include "risk/circuit_breaker.h"

#include <algorithm>

namespace lastro::risk {

CircuitBreaker::CircuitBreaker(const Options& options, const Clock& clock)
    : options_(options), clock_(clock) {
  options_.window = std::max(options_.window, 1);
  options_.min_calls = std::clamp(options_.min_calls, 1, options_.window);
  options_.failure_ratio = std::clamp(options_.failure_ratio, 1e-9, 1.0);
}

const char* CircuitBreaker::StateName(State s) {
  switch (s) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::State CircuitBreaker::state() {
  if (state_ == State::kOpen && clock_.Now() >= open_until_) {
    state_ = State::kHalfOpen;
    probe_out_ = false;
  }
  return state_;
}

bool CircuitBreaker::WouldAdmit() {
  switch (state()) {
    case State::kClosed:
      return true;
    case State::kHalfOpen:
      return !probe_out_;
    case State::kOpen:
      return false;
  }
  return false;
}

CircuitBreaker::Admission CircuitBreaker::TryAcquire() {
  switch (state()) {
    case State::kClosed:
      return Admission::kAllowed;
    case State::kHalfOpen:
      if (probe_out_) return Admission::kRejected;
      probe_out_ = true;
      return Admission::kProbe;
    case State::kOpen:
      return Admission::kRejected;
  }
  return Admission::kRejected;
}

void CircuitBreaker::ReleaseProbe() {
  if (state_ == State::kHalfOpen) probe_out_ = false;
}

void CircuitBreaker::Open() {
  state_ = State::kOpen;
  probe_out_ = false;
  open_until_ = clock_.Now() + options_.open_duration;
}

void CircuitBreaker::Record(bool success, bool probe) {
  State s = state();
  if (probe) {
    if (s != State::kHalfOpen) return;  // stale probe (cannot happen in the client)
    if (success) {
      state_ = State::kClosed;
      probe_out_ = false;
      outcomes_.clear();
      failures_ = 0;
      open_until_ = std::chrono::steady_clock::time_point::min();
    } else {
      Open();
    }
    return;
  }
  if (s != State::kClosed) return;  // straggler from before the breaker opened
  outcomes_.push_back(!success);
  if (!success) ++failures_;
  while (static_cast<int>(outcomes_.size()) > options_.window) {
    if (outcomes_.front()) --failures_;
    outcomes_.pop_front();
  }
  if (static_cast<int>(outcomes_.size()) >= options_.min_calls &&
      failure_ratio() >= options_.failure_ratio) {
    Open();
    // The window is reset on close, not here, so failure_ratio() keeps telling
    // operators why the breaker opened.
  }
}

std::chrono::steady_clock::time_point CircuitBreaker::open_until() const {
  return state_ == State::kOpen ? open_until_ : std::chrono::steady_clock::time_point::min();
}

double CircuitBreaker::failure_ratio() const {
  if (outcomes_.empty()) return 0;
  return static_cast<double>(failures_) / static_cast<double>(outcomes_.size());
}

}  // namespace lastro::risk
