// bench/mart_bench's other side of each named query (sql/queries/): the same question
// asked of PostgreSQL the way an analyst would write it without Lastro, over
// credit_requests, credit_decisions, customers and the bench.* tables; and the check
// that both answers hold the same rows.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lake/engine.h"
#include "pg/connection.h"

namespace lastro::bench {

struct PostgresQuestion {
  std::string sql;
  std::string note;  // what differs from the catalog's reading, "" when nothing
};

// The PostgreSQL form of named query `name` with its DATE parameters `params`
// ("from", "to": YYYY-MM-DD, inclusive São Paulo days). nullopt when none is written:
// a named query added without its PostgreSQL form cannot be compared.
std::optional<PostgresQuestion> PostgresEquivalent(
    const std::string& name, const std::map<std::string, std::string>& params);

// An answer as comparable text: one line per row, cells joined by '|', NULL as
// "NULL", non-integer numbers with 4 decimals (DOUBLE columns of the catalog, NUMERIC
// text of PostgreSQL).
std::vector<std::string> Normalise(const lake::QueryResult& r);
std::vector<std::string> Normalise(const pg::Result& r);

// "" when both answers hold the same rows (in any order: the two engines may collate
// differently); otherwise what differs (row counts and the first rows found on one
// side only).
std::string CompareAnswers(std::vector<std::string> lastro, std::vector<std::string> pg);

struct Percentiles {
  int runs = 0;
  double p50 = 0, p95 = 0, max = 0;  // ms, nearest rank
};
Percentiles Summarise(std::vector<double> ms);

}  // namespace lastro::bench
