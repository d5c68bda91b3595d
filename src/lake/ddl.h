// DDL that makes the lake's published tables queryable from other engines: Athena,
// Trino (Hive connector), Spark SQL, and DuckDB itself. The lake is plain Hive-style
// partitioned Parquet, so every engine reads the same files in place; this only
// declares them (`lastro lake ddl`).
//
// Schemas are read from the data (DuckDB's DESCRIBE over the current version's files),
// never kept by hand, so the DDL cannot drift from what the batch writes.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::lake {

// The zones a lake has, in the order DDL is emitted.
inline constexpr std::string_view kLakeZones[] = {"bronze", "silver", "quarantine", "quality"};

// The engines RenderDdl knows, in the order error messages list them.
inline constexpr std::string_view kDdlEngines[] = {"athena", "trino", "spark", "duckdb"};

struct TableSchema {
  std::string zone, table;
  // Data columns in file order, partition columns excluded: name, DuckDB type
  // ("BIGINT", "VARCHAR[]", "DECIMAL(18,2)", ...).
  std::vector<std::pair<std::string, std::string>> columns;
  // Hive partition keys, outermost first, typed as DuckDB infers them from the folder
  // names, e.g. {"request_date", "DATE"}. Empty for an unpartitioned table.
  std::vector<std::pair<std::string, std::string>> partitions;
  // The smallest value of the first partition key ("2026-11-20"); "" when unknown.
  // Starts Athena's partition-projection range.
  std::string first_partition_value;
};

// Every published table of the lake (zones in kLakeZones order, tables by name).
// A table whose current version has no Parquet file is skipped (nothing to describe).
// Errors: kUnavailable (file system), kInvalidArgument (a zone, table or partition
// folder name that is not a plain [a-z0-9_] identifier, or unreadable Parquet),
// other Engine errors as the engine maps them.
StatusOr<std::vector<TableSchema>> DescribeLake(Engine& engine, const TableStore& store);

// DDL for `engine` ("athena", "trino", "spark", "duckdb") declaring each table at
// `location`/<zone>/<table>. `location` replaces the lake root: an absolute local path
// (rendered as a file:// URI for the engines other than DuckDB) or a URI such as
// s3://bucket/lake; a trailing '/' is ignored. Statements end with ';', one blank
// line between tables. Deterministic (golden-testable).
// Errors: kInvalidArgument for an unknown engine (the message lists the valid ones),
// an empty location, or a column type the engine has no mapping for (STRUCT, MAP,
// unsigned integers, ...; the message names the table, column and type).
StatusOr<std::string> RenderDdl(const std::vector<TableSchema>& tables, std::string_view engine,
                                std::string_view location);

// What `lastro lake ddl` needs.
struct DdlOptions {
  std::string lake_dir;  // the lake root (config lake.dir)
  std::string engine;
  std::string location;  // "" = the lake root's absolute path
  EngineOptions engine_options;
};

// Validates the engine, opens the lake read-only in spirit (TableStore::Open creates
// only missing fixed folders; nothing is written when the root is missing), describes
// it and renders the DDL. Errors: kNotFound (no lake at lake_dir), kInvalidArgument
// (unknown engine), and those of DescribeLake and RenderDdl.
StatusOr<std::string> GenerateDdl(const DdlOptions& options);

}  // namespace lastro::lake
