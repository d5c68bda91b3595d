// Which WAL position is safe to confirm to the replication slot.
//
// Transactions are registered in commit order with the number of requests they
// carry. A position may be confirmed only when every transaction at or before it
// has had all its requests durably decided or parked; transactions with no
// relevant rows pass at once. When nothing is outstanding and the server says it
// has sent everything (keepalive), its WAL end may be confirmed too, so an idle
// slot never pins WAL.
//
// Thread-safe: commits come from the capture thread, completions from the writer.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

namespace lastro::decide {

class LsnTracker {
 public:
  // A transaction ending at `end_lsn` with `items` outstanding requests.
  // `end_lsn` must not decrease between calls (commit order).
  void Commit(uint64_t end_lsn, int items);
  // One request of the transaction ending at `end_lsn` is durable. Unknown
  // positions (e.g. from before Reset) are ignored.
  void Done(uint64_t end_lsn);
  // The server has sent everything up to `wal_end` and no transaction is open.
  void Idle(uint64_t wal_end);
  // Forgets everything outstanding (after a reconnect the server resends it).
  void Reset(uint64_t confirmed);

  // Highest position safe to confirm.
  uint64_t confirmed() const;
  // Number of transactions still waiting for decisions.
  size_t outstanding() const;

 private:
  void Advance();  // requires mu_

  struct Txn {
    uint64_t end_lsn;
    int remaining;
  };
  mutable std::mutex mu_;  // guards all below
  std::deque<Txn> txns_;   // commit order
  uint64_t confirmed_ = 0;
};

}  // namespace lastro::decide
