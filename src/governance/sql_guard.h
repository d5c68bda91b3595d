// The SQL guard: reads a governed query's syntax tree (DuckDB's own parser, through
// json_serialize_sql) before it runs, to refuse with a clear reason what a role may not
// do, and to name the tables and columns it touches for the audit log.
//
// Accepted: exactly one SELECT (joins, subqueries, CTEs, set operations, VALUES,
// PIVOT) over the role's own tables and the CTEs it defines. Refused: anything that is
// not one SELECT (PRAGMA, SET, ATTACH, COPY, INSTALL, LOAD, CREATE, stacked
// statements...), every table function (read_parquet, glob, duckdb_settings(),
// query(), range()...), a table outside the role's list or qualified with another
// catalog or schema (information_schema, a file path), system functions that read the
// engine's state (current_setting, getvariable, duckdb_*), and texts over 64 KiB.
//
// The guard is the clear answer, not the boundary: the role's sandboxed catalog is
// (role_catalog.h), so a query the guard missed still finds nothing else to read.
//
// Thread safety: GuardSql uses the engine it is given (one thread at a time).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"

namespace lastro::governance {

inline constexpr size_t kMaxSqlBytes = 64 * 1024;

struct GuardResult {
  std::vector<std::string> tables;   // the role's tables the query reads, sorted
  std::vector<std::string> columns;  // "table.column" it names (star: every column), sorted
  // The statement's top level has its own LIMIT or OFFSET: a row limit cannot simply be
  // appended to it (a second LIMIT is a syntax error), so it is wrapped instead.
  bool has_limit = false;
};

// `tables`: the role's tables and their columns. Errors: kPermissionDenied with the
// reason (nothing about tables the role lacks: "table x is not available" reads the
// same whether x exists or not), kInvalidArgument for a syntax error or an empty or
// too long text.
StatusOr<GuardResult> GuardSql(lake::Engine& engine, std::string_view sql,
                               const std::map<std::string, std::vector<std::string>>& tables);

}  // namespace lastro::governance
