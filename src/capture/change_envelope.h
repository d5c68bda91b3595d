// Debezium-compatible change events built from decoded pgoutput changes.
//
// An envelope is the "payload" part of a Debezium PostgreSQL connector event:
//   {"before": {...}|null, "after": {...}|null,
//    "source": {"version": "lastro-0.1", "connector": "postgresql", "name": "lastro",
//               "ts_ms": <commit ms>, "snapshot": "true"|"false", "db": ..., "schema": ...,
//               "table": ..., "txId": <xid>, "lsn": <int>},
//    "op": "c"|"u"|"d"|"t"|"r", "ts_ms": <processing ms>}
// Row values follow value_json.h. "before" is the old row when pgoutput sent
// one: the whole row under REPLICA IDENTITY FULL, or the key columns (others
// null) when an update changed the key and for deletes; null otherwise, as in
// Debezium. Functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "capture/lsn.h"
#include "capture/pgoutput.h"
#include "capture/value_json.h"
#include "common/status.h"

namespace lastro::capture {

// Where a change came from and when it is processed.
struct EnvelopeContext {
  std::string db;         // Database name (not in the protocol; from the connection).
  Begin begin;            // The enclosing transaction: txId and source.ts_ms.
  Lsn lsn;                // WAL position of the change (the XLogData start LSN);
                          // when invalid, begin.final_lsn is used.
  int64_t now_ms = 0;     // Envelope ts_ms: processing time from the injected clock.
  bool snapshot = false;  // Inserts become reads (op "r") of an initial snapshot.
};

// Builds the envelope of one Insert ("c", or "r" when context.snapshot),
// Update ("u") or Delete ("d") of `relation`.
// InvalidArgument when `change` is another message type, its relid is not
// `relation.relid`, or a row does not convert (see TupleToJson);
// FailedPrecondition for binary-format values.
StatusOr<Json> BuildChangeEnvelope(const Message& change, const Relation& relation,
                                   const EnvelopeContext& context);

// One op "t" envelope per truncated table, in the message's order, with
// before and after null. FailedPrecondition when `relations` lacks one of them.
StatusOr<std::vector<Json>> BuildTruncateEnvelopes(const Truncate& truncate,
                                                   const RelationCache& relations,
                                                   const EnvelopeContext& context);

}  // namespace lastro::capture
