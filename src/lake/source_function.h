// Internal to lake/: the DuckDB table function behind Engine::ExecuteWithSource().
#pragma once

#include <duckdb.h>

#include "common/status.h"
#include "lake/row_source.h"

namespace lastro::lake::internal {

// What the table function reads: set around one statement by ExecuteWithSource().
struct SourceSlot {
  RowSource* source = nullptr;
  Status error;  // the source's own error, returned instead of DuckDB's rendering
};

// Registers `lastro_source()` on `conn`, reading from `slot` (which must outlive the
// connection). Errors: kInternal.
Status RegisterSourceFunction(duckdb_connection conn, SourceSlot* slot);

}  // namespace lastro::lake::internal
