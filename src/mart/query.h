// `lastro query`: read-only SQL against the published catalog, and the named queries
// (sql/queries/<team>.<name>.sql) that answer the team marts' standard questions.
//
// Read-only by construction: the catalog file is opened by DuckDB in READ_ONLY mode,
// with external access disabled (no files, no ATTACH, no COPY TO; Parquet output is
// the one exception, written by Lastro's own COPY around the checked query), and only
// one SELECT (or EXPLAIN) statement is accepted.
//
// A named query file starts with a header of "-- " lines:
//   -- name: finance.daily_volume
//   -- description: what it answers
//   -- param: from DATE first request day (inclusive)
// and uses each parameter as {{from}} in its SQL. Parameters are typed (DATE, INTEGER,
// VARCHAR) and validated before they are put in the SQL as literals.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "lake/engine.h"

namespace lastro::mart {

struct QueryParam {
  std::string name, type, description;
};

struct NamedQuery {
  std::string name, description, sql;
  std::vector<QueryParam> params;
};

// Every embedded named query, sorted by name.
// Errors: kInternal when a file's header is malformed (a build defect).
StatusOr<std::vector<NamedQuery>> NamedQueries();

// The SQL of `name` with `params` substituted. Errors: kNotFound for an unknown name
// (the message lists the names), kInvalidArgument for an unknown, missing or
// malformed parameter (the message lists the query's parameters).
StatusOr<std::string> ExpandNamedQuery(const std::string& name,
                                       const std::map<std::string, std::string>& params);

// A readable list of the named queries and their parameters (for --list).
std::string DescribeNamedQueries(const std::vector<NamedQuery>& queries);

struct QueryOptions {
  std::string sql;    // ad-hoc SQL, or
  std::string named;  // a named query
  std::map<std::string, std::string> params;
  std::string format = "table";  // table | csv | json | parquet
  std::string output;            // file to write; "" = the returned text (not for parquet)
};

// Runs the query on the published catalog and returns the formatted result (or "" when
// written to `output`). Errors: kNotFound (no published catalog: run lastro refresh;
// unknown named query), kInvalidArgument (a write or any non-SELECT statement, bad SQL,
// unknown format, parquet without --output), and the engine's errors.
StatusOr<std::string> RunQuery(const Config& config, const QueryOptions& options);

// `sql` as the body of a subquery: surrounding whitespace and trailing semicolons
// dropped. Callers wrap it in "(\n" and "\n)" so that a trailing "-- comment" cannot
// swallow the closing parenthesis.
std::string SubqueryBody(const std::string& sql);

// Formatting of a materialised result.
std::string FormatTable(const lake::QueryResult& r);
std::string FormatCsv(const lake::QueryResult& r);
std::string FormatJson(const lake::QueryResult& r);  // one JSON array of objects

}  // namespace lastro::mart
