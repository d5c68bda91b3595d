// Reads a credit_requests row from a pgoutput tuple, by column name, so that a
// column added to the table (a new Relation message) changes nothing here.
#pragma once

#include "capture/pgoutput.h"
#include "common/status.h"
#include "decide/types.h"

namespace lastro::decide {

// True for the table the stream decides on (public.credit_requests).
bool IsCreditRequests(const capture::Relation& relation);

// Errors: kInvalidArgument naming the column when a required column is missing,
// NULL, unchanged-TOAST or unparsable (the event then goes to dead_letters).
StatusOr<CapturedRequest> ParseRequestRow(const capture::Relation& relation,
                                          const capture::TupleData& tuple);

}  // namespace lastro::decide
