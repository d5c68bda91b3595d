// The lake tables the gold model reads, declared to a DuckDB engine as temporary views
// src_<name> over each table's published version, pinned once (the symlink is resolved
// when declared, so a batch publishing meanwhile cannot mix two versions into one
// refresh). A table the lake does not have yet (no events ingested, no bank data) is
// declared as an empty table with the same columns, so the model builds empty facts
// instead of failing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::mart {

struct SourceColumn {
  std::string name;
  std::string type;  // DuckDB type; the column is CAST to it (older text files)
};

struct Source {
  std::string view;   // "src_silver_requests"
  std::string zone;   // "silver"
  std::string table;  // "credit_requests"
  bool partitioned = true;
  std::vector<SourceColumn> columns;
};

// Every source of the model, in a fixed order.
const std::vector<Source>& ModelSources();

// The published version of each source ("silver/credit_requests" -> version id, "" when
// the table does not exist). Cheap: reads symlinks only.
std::map<std::string, std::string> SourceVersions(const lake::TableStore& store);

// Declares every source in `engine` (temporary views or empty temporary tables).
// Errors: as Engine::Execute (a table whose files cannot be read).
Status DeclareSources(lake::Engine& engine, const lake::TableStore& store);

}  // namespace lastro::mart
