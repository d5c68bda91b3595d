// Integrity gates: checks a freshly built catalog must pass before it is published.
//   unique     - a table's key identifies one row;
//   foreign key - every non-NULL reference from a fact to a dimension finds its row
//                 (and references that must be present are not NULL);
//   reconcile  - a fact has exactly as many rows as the lake table it is built from.
// The gates run in the engine that built the model (the gold tables and the src_*
// views both visible).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"

namespace lastro::mart {

struct GateResult {
  std::string name;  // "unique(fact_credit_request: request_id)"
  bool passed = false;
  std::string detail;  // "3 duplicate keys, e.g. 12345" or "ok"
};

// Runs every gate (all of them, even after a failure, so the report is complete).
// Errors: only when a gate's query itself fails (as Engine::Query).
StatusOr<std::vector<GateResult>> RunGates(lake::Engine& engine);

// The failed gates as one line ("unique(...): 3 duplicate keys, e.g. 7; ...").
std::string DescribeFailures(const std::vector<GateResult>& results);

// Key columns of each gold table (for docs and the uniqueness gates): table -> key.
struct TableKey {
  std::string table;
  std::vector<std::string> columns;
};
const std::vector<TableKey>& GoldKeys();

}  // namespace lastro::mart
