// Log sequence numbers (LSNs): positions in PostgreSQL's write-ahead log.
//
// An LSN is a 64-bit byte position. PostgreSQL writes it as two hexadecimal
// halves, "X/X" (high 32 bits / low 32 bits, uppercase, no padding), e.g.
// "16/B374D848"; this is the form `pg_current_wal_lsn()`, `pg_lsn` columns and
// START_REPLICATION use. Lsn is a value type: trivially copyable, totally
// ordered, safe to share between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lastro::capture {

class Lsn {
 public:
  // The invalid LSN, 0/0 (PostgreSQL's InvalidXLogRecPtr).
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "X/X" as PostgreSQL's pg_lsn input does: each half is 1 to 8 hex
  // digits (either case), nothing else, no surrounding spaces.
  // Returns InvalidArgument naming the text when it is not of that form.
  static StatusOr<Lsn> Parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  // False only for 0/0, which PostgreSQL uses for "no position".
  constexpr bool IsValid() const { return value_ != 0; }

  // Formats as "X/X" exactly like PostgreSQL (%X/%X), so that
  // Parse(lsn.ToString()) == lsn for every value.
  std::string ToString() const;

  friend constexpr auto operator<=>(Lsn, Lsn) = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace lastro::capture
