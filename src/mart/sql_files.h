// The mart's SQL as data: the gold model (sql/mart/NN_<table>.sql, run in file-name
// order, each creating one table), the named queries (sql/queries/<team>.<name>.sql) and
// the feature exports (sql/features/<name>.sql), embedded into the binary at build time
// by cmake/embed_mart_sql.cmake.
#pragma once

#include <string>
#include <vector>

namespace lastro::mart {

struct SqlFile {
  std::string name;  // "mart/01_dim_date.sql", "queries/finance.daily_volume.sql",
                     // "features/training_set.sql"
  std::string sql;
};

// Every embedded file, sorted by name within each folder (mart/, queries/, features/).
const std::vector<SqlFile>& EmbeddedSqlFiles();

}  // namespace lastro::mart
