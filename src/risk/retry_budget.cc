#include "risk/retry_budget.h"

#include <algorithm>

namespace lastro::risk {

RetryBudget::RetryBudget(double ratio, double min_per_s, double capacity, const Clock& clock)
    : ratio_(std::max(ratio, 0.0)),
      min_per_s_(std::max(min_per_s, 0.0)),
      capacity_(std::max(capacity, 1.0)),
      clock_(clock),
      tokens_(std::min(capacity_, std::max(1.0, min_per_s_))),
      last_(clock.Now()) {}

void RetryBudget::Refill() {
  auto now = clock_.Now();
  if (now <= last_) return;
  double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + seconds * min_per_s_);
  last_ = now;
}

void RetryBudget::OnFirstAttempt() {
  Refill();
  tokens_ = std::min(capacity_, tokens_ + ratio_);
}

bool RetryBudget::TryWithdraw() {
  Refill();
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

double RetryBudget::tokens() {
  Refill();
  return tokens_;
}

}  // namespace lastro::risk
