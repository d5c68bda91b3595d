// The `lastro serve` process: the governed query API over HTTP(S) (docs/governance.md).
//
//   POST   /v1/query          {"sql": "...", "format": "json|csv|parquet",
//                              "max_rows": n, "timeout_ms": n, "query_id": "..."}
//   GET    /v1/named/<name>   ?<param>=<value>...&format=&max_rows=&timeout_ms=&query_id=
//   DELETE /v1/queries/<id>   cancels the caller's running query <id>
//   GET    /v1/me             the caller's role: its tables, columns and named queries
//   GET    /healthz           liveness (no token)
//
// Every /v1 request needs `Authorization: Bearer <token>` (tokens: `lastro token
// create`, stored hashed; the token file is re-read when it changes, so a revocation
// takes effect at once). A missing or unknown token is a 401 that says nothing else,
// audited as action "auth". Queries run on a pool of governance.serve_threads
// workers (never on the IO threads); a full queue answers 503. Statuses: 400 bad
// request or SQL, 401, 403 refused by the policies (the reason, never what exists),
// 404 unknown named query or nothing published, 408 timeout, 409 cancelled, 503 busy
// or the audit log unwritable, 500 otherwise (details only in the server's log).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "common/config.h"
#include "common/status.h"

namespace lastro::service {

struct QueryServiceOptions {
  Config config;
  // Called once the server listens, with its port (tests, scripts).
  std::function<void(uint16_t)> on_listening;
};

// Runs until `stop`. Errors at start-up: the policies' or the audit log's, a port in
// use, TLS files that do not load.
Status RunQueryService(const QueryServiceOptions& options, const std::atomic<bool>& stop);

}  // namespace lastro::service
