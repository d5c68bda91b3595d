// Error handling for all of Lastro: absl::Status / absl::StatusOr<T>.
//
// The code tells the caller what to do:
//   kUnavailable, kDeadlineExceeded, kResourceExhausted -> retry with backoff;
//   kInvalidArgument, kDataLoss                         -> quarantine / dead-letter the input;
//   kFailedPrecondition, kInternal                      -> stop and alert an operator;
//   kNotFound, kAlreadyExists                            -> the caller decides.
// Ignoring a status is explicit and greppable: `IgnoreError(status)`.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lastro {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

// Marks a status as deliberately ignored (best-effort cleanup, logging).
inline void IgnoreError(const Status& /*status*/) {}

// True when the error is transient and the operation may succeed if retried.
inline bool IsRetryable(const Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s) ||
         absl::IsAborted(s);
}

}  // namespace lastro

#define LASTRO_CONCAT_INNER(a, b) a##b
#define LASTRO_CONCAT(a, b) LASTRO_CONCAT_INNER(a, b)

#define LASTRO_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status _lastro_status = (expr);          \
    if (!_lastro_status.ok()) return _lastro_status; \
  } while (0)

#define LASTRO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)

#define LASTRO_ASSIGN_OR_RETURN(lhs, expr) \
  LASTRO_ASSIGN_OR_RETURN_IMPL(LASTRO_CONCAT(_lastro_or_, __LINE__), lhs, expr)
