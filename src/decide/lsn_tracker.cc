#include "decide/lsn_tracker.h"

#include <algorithm>

namespace lastro::decide {

void LsnTracker::Commit(uint64_t end_lsn, int items) {
  std::lock_guard lock(mu_);
  if (end_lsn <= confirmed_) return;  // a resent transaction already confirmed
  txns_.push_back({end_lsn, std::max(items, 0)});
  Advance();
}

void LsnTracker::Done(uint64_t end_lsn) {
  std::lock_guard lock(mu_);
  // Binary search: txns_ is sorted by end_lsn.
  auto it = std::lower_bound(txns_.begin(), txns_.end(), end_lsn,
                             [](const Txn& t, uint64_t lsn) { return t.end_lsn < lsn; });
  if (it == txns_.end() || it->end_lsn != end_lsn || it->remaining == 0) return;
  --it->remaining;
  Advance();
}

void LsnTracker::Idle(uint64_t wal_end) {
  std::lock_guard lock(mu_);
  if (txns_.empty()) confirmed_ = std::max(confirmed_, wal_end);
}

void LsnTracker::Reset(uint64_t confirmed) {
  std::lock_guard lock(mu_);
  txns_.clear();
  confirmed_ = std::max(confirmed_, confirmed);
}

uint64_t LsnTracker::confirmed() const {
  std::lock_guard lock(mu_);
  return confirmed_;
}

size_t LsnTracker::outstanding() const {
  std::lock_guard lock(mu_);
  return txns_.size();
}

void LsnTracker::Advance() {
  while (!txns_.empty() && txns_.front().remaining == 0) {
    confirmed_ = std::max(confirmed_, txns_.front().end_lsn);
    txns_.pop_front();
  }
}

}  // namespace lastro::decide
