#include "lake/ddl.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lastro::lake {

namespace fs = std::filesystem;

namespace {

enum class Dialect { kAthena, kTrino, kSpark, kDuckDb };

bool IsPlainName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsIdentifier(std::string_view s) {
  return !s.empty() && !(s[0] >= '0' && s[0] <= '9') && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string EngineList() {
  std::vector<std::string> names(std::begin(kDdlEngines), std::end(kDdlEngines));
  return absl::StrJoin(names, ", ");
}

StatusOr<Dialect> ParseDialect(std::string_view engine) {
  if (engine == "athena") return Dialect::kAthena;
  if (engine == "trino") return Dialect::kTrino;
  if (engine == "spark") return Dialect::kSpark;
  if (engine == "duckdb") return Dialect::kDuckDb;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown engine '", std::string(engine), "': expected one of ", EngineList()));
}

// DuckDB type -> the engine's, for the types the lake writes. Hive DDL (Athena) and
// Spark share names except for case; Trino has its own.
StatusOr<std::string> MapType(std::string_view type, Dialect d) {
  if (type.size() > 2 && type.ends_with("[]")) {
    LASTRO_ASSIGN_OR_RETURN(std::string element, MapType(type.substr(0, type.size() - 2), d));
    switch (d) {
      case Dialect::kTrino:
        return absl::StrCat("array(", element, ")");
      case Dialect::kSpark:
        return absl::StrCat("ARRAY<", element, ">");
      default:
        return absl::StrCat("array<", element, ">");
    }
  }
  if (type.starts_with("DECIMAL(") && type.ends_with(")")) {
    const std::string_view args = type.substr(7);  // "(18,2)"
    if (std::all_of(args.begin() + 1, args.end() - 1,
                    [](char c) { return (c >= '0' && c <= '9') || c == ','; })) {
      return absl::StrCat(d == Dialect::kSpark ? "DECIMAL" : "decimal", std::string(args));
    }
  }
  struct Row {
    std::string_view duck, hive, spark, trino;
  };
  static constexpr Row kTypes[] = {
      {"BIGINT", "bigint", "BIGINT", "bigint"},
      {"INTEGER", "int", "INT", "integer"},
      {"SMALLINT", "smallint", "SMALLINT", "smallint"},
      {"TINYINT", "tinyint", "TINYINT", "tinyint"},
      {"DOUBLE", "double", "DOUBLE", "double"},
      {"FLOAT", "float", "FLOAT", "real"},
      {"BOOLEAN", "boolean", "BOOLEAN", "boolean"},
      {"VARCHAR", "string", "STRING", "varchar"},
      {"DATE", "date", "DATE", "date"},
      // The lake's TIMESTAMPs are UTC instants without a zone; every engine's plain
      // timestamp reads the Parquet INT64 values as they are.
      {"TIMESTAMP", "timestamp", "TIMESTAMP", "timestamp"},
      {"TIMESTAMP WITH TIME ZONE", "timestamp", "TIMESTAMP", "timestamp"},
      {"BLOB", "binary", "BINARY", "varbinary"},
  };
  for (const Row& row : kTypes) {
    if (type != row.duck) continue;
    switch (d) {
      case Dialect::kTrino:
        return std::string(row.trino);
      case Dialect::kSpark:
        return std::string(row.spark);
      default:
        return std::string(row.hive);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("type ", std::string(type), " has no mapping"));
}

// Partition columns in the Hive-style engines. DuckDB infers a partition key's type
// from the folder names, and a DATE key is written as request_date=2026-11-20: exactly
// the text Hive, Spark, Trino and Athena parse as a DATE partition value. So DATE stays
// DATE: the column then has the same type in every engine (and in the silver contract),
// `request_date >= DATE '2026-11-01'` prunes partitions, and Athena can project them.
// Declaring it string would make every engine but DuckDB compare text and reject DATE
// literals (Trino). Integer keys keep their type for the same reason. Anything else
// (TIMESTAMP, whose path text is escaped by writers and not a portable Hive literal;
// VARCHAR) is declared string/varchar: the text the path holds.
StatusOr<std::string> MapPartitionType(std::string_view type, Dialect d) {
  if (type == "DATE" || type == "BIGINT" || type == "INTEGER") return MapType(type, d);
  return MapType("VARCHAR", d);
}

std::string BackQuote(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

std::string Quote(std::string_view name, Dialect d) {
  return d == Dialect::kTrino ? SqlIdent(name) : BackQuote(name);
}

// The columns of a CREATE TABLE, one per line; with `partitions_last` the partition
// keys follow the data columns (Trino, Spark), otherwise they are left out (Athena
// declares them in PARTITIONED BY).
StatusOr<std::string> ColumnList(const TableSchema& t, Dialect d, bool partitions_last) {
  std::vector<std::string> lines;
  for (const auto& [name, type] : t.columns) {
    auto mapped = MapType(type, d);
    if (!mapped.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.zone, "/", t.table, " column ", name, ": ", mapped.status().message()));
    }
    lines.push_back(absl::StrCat("  ", Quote(name, d), " ", *mapped));
  }
  if (partitions_last) {
    for (const auto& [name, type] : t.partitions) {
      LASTRO_ASSIGN_OR_RETURN(std::string mapped, MapPartitionType(type, d));
      lines.push_back(absl::StrCat("  ", Quote(name, d), " ", mapped));
    }
  }
  return absl::StrJoin(lines, ",\n");
}

std::string PartitionNames(const TableSchema& t, Dialect d) {
  std::vector<std::string> names;
  for (const auto& p : t.partitions) names.push_back(Quote(p.first, d));
  return absl::StrJoin(names, ", ");
}

StatusOr<std::string> Athena(const TableSchema& t, const std::string& where) {
  const std::string name = absl::StrCat("lastro_", t.zone, ".", t.table);
  LASTRO_ASSIGN_OR_RETURN(std::string columns, ColumnList(t, Dialect::kAthena, false));
  std::string sql =
      absl::StrCat("CREATE EXTERNAL TABLE IF NOT EXISTS ", name, " (\n", columns, "\n)\n");
  if (!t.partitions.empty()) {
    std::vector<std::string> parts;
    for (const auto& [key, type] : t.partitions) {
      LASTRO_ASSIGN_OR_RETURN(std::string mapped, MapPartitionType(type, Dialect::kAthena));
      parts.push_back(absl::StrCat(BackQuote(key), " ", mapped));
    }
    absl::StrAppend(&sql, "PARTITIONED BY (", absl::StrJoin(parts, ", "), ")\n");
  }
  absl::StrAppend(&sql, "STORED AS PARQUET\nLOCATION ", SqlString(where + "/"), "\n",
                  "TBLPROPERTIES (\n  'parquet.compression'='ZSTD'");
  // A table partitioned by day is projected (no metastore partitions to keep in sync,
  // nothing to run after each batch); other layouts are registered by MSCK REPAIR TABLE.
  const bool project = t.partitions.size() == 1 && t.partitions[0].second == "DATE" &&
                       !t.first_partition_value.empty();
  if (project) {
    const std::string& key = t.partitions[0].first;
    const std::string p = absl::StrCat(",\n  'projection.", key);
    absl::StrAppend(&sql, ",\n  'projection.enabled'='true'", p, ".type'='date'", p,
                    ".format'='yyyy-MM-dd'", p, ".range'='", t.first_partition_value, ",NOW'", p,
                    ".interval'='1'", p, ".interval.unit'='DAYS'",
                    ",\n  'storage.location.template'=",
                    SqlString(absl::StrCat(where, "/", key, "=${", key, "}/")));
  }
  absl::StrAppend(&sql, "\n);\n");
  if (!t.partitions.empty() && !project) absl::StrAppend(&sql, "MSCK REPAIR TABLE ", name, ";\n");
  return sql;
}

StatusOr<std::string> Trino(const TableSchema& t, const std::string& where) {
  LASTRO_ASSIGN_OR_RETURN(std::string columns, ColumnList(t, Dialect::kTrino, true));
  std::string sql = absl::StrCat(
      "CREATE TABLE IF NOT EXISTS hive.lastro_", t.zone, ".", t.table, " (\n", columns,
      "\n)\nWITH (\n  external_location = ", SqlString(where), ",\n  format = 'PARQUET'");
  if (!t.partitions.empty()) {
    std::vector<std::string> keys;
    for (const auto& p : t.partitions) keys.push_back(SqlString(p.first));
    absl::StrAppend(&sql, ",\n  partitioned_by = ARRAY[", absl::StrJoin(keys, ", "), "]");
  }
  absl::StrAppend(&sql, "\n);\n");
  if (!t.partitions.empty()) {
    absl::StrAppend(&sql, "CALL hive.system.sync_partition_metadata('lastro_", t.zone, "', '",
                    t.table, "', 'FULL');\n");
  }
  return sql;
}

StatusOr<std::string> Spark(const TableSchema& t, const std::string& where) {
  const std::string name = absl::StrCat("lastro_", t.zone, ".", t.table);
  LASTRO_ASSIGN_OR_RETURN(std::string columns, ColumnList(t, Dialect::kSpark, true));
  std::string sql =
      absl::StrCat("CREATE TABLE IF NOT EXISTS ", name, " (\n", columns, "\n)\nUSING parquet\n");
  if (!t.partitions.empty()) {
    absl::StrAppend(&sql, "PARTITIONED BY (", PartitionNames(t, Dialect::kSpark), ")\n");
  }
  absl::StrAppend(&sql, "LOCATION ", SqlString(where), ";\n");
  if (!t.partitions.empty()) absl::StrAppend(&sql, "MSCK REPAIR TABLE ", name, ";\n");
  return sql;
}

std::string DuckDb(const TableSchema& t, const std::string& where) {
  // One "*/" per partition level matches exactly the published layout; "**" for
  // unpartitioned tables also takes files at the table root.
  std::string glob;
  for (size_t i = 0; i < t.partitions.size(); ++i) glob += "*/";
  glob += t.partitions.empty() ? "**/*.parquet" : "*.parquet";
  return absl::StrCat("CREATE OR REPLACE VIEW ", t.zone, "_", t.table,
                      " AS SELECT * FROM read_parquet(", SqlString(where + "/" + glob),
                      ", hive_partitioning = true, union_by_name = true);\n");
}

// "request_date=2026-11-20/part=3" -> {{"request_date","2026-11-20"},{"part","3"}}.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParsePartitionDir(
    const std::string& dir, const std::string& table) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& part : fs::path(dir)) {
    const std::string s = part.string();
    const size_t eq = s.find('=');
    if (eq == std::string::npos || !IsIdentifier(s.substr(0, eq))) {
      return absl::InvalidArgumentError(
          absl::StrCat(table, ": folder '", dir, "' is not a Hive key=value partition"));
    }
    out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return out;
}

StatusOr<TableSchema> DescribeTable(Engine& engine, const TableStore& store,
                                    const std::string& zone, const std::string& table) {
  const std::string label = absl::StrCat(zone, "/", table);
  TableSchema schema{.zone = zone, .table = table};
  LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> dirs, store.Partitions(zone, table));
  std::vector<std::string> keys;
  for (const std::string& dir : dirs) {
    std::vector<std::pair<std::string, std::string>> kv;
    if (!dir.empty()) {
      LASTRO_ASSIGN_OR_RETURN(kv, ParsePartitionDir(dir, label));
    }
    std::vector<std::string> dir_keys;
    for (const auto& [k, v] : kv) dir_keys.push_back(k);
    if (&dir == &dirs.front()) {
      keys = dir_keys;
    } else if (dir_keys != keys) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": partition folders disagree ('",
                                                     dirs.front(), "' and '", dir, "')"));
    }
    if (!kv.empty() &&
        (schema.first_partition_value.empty() || kv[0].second < schema.first_partition_value)) {
      schema.first_partition_value = kv[0].second;
    }
  }
  const std::string glob = (store.TablePath(zone, table) / "**" / "*.parquet").string();
  LASTRO_ASSIGN_OR_RETURN(
      QueryResult r,
      engine.Query(absl::StrCat("DESCRIBE SELECT * FROM read_parquet(", SqlString(glob),
                                ", hive_partitioning = true, union_by_name = true)")));
  const int name_col = r.ColumnIndex("column_name");
  const int type_col = r.ColumnIndex("column_type");
  if (name_col < 0 || type_col < 0) {
    return absl::InternalError("DESCRIBE returned no column_name/column_type");
  }
  std::map<std::string, std::string> partition_types;
  for (size_t row = 0; row < r.rows(); ++row) {
    const std::string name = r.Text(row, name_col).value_or("");
    const std::string type = r.Text(row, type_col).value_or("");
    if (std::find(keys.begin(), keys.end(), name) != keys.end()) {
      partition_types[name] = type;
    } else {
      schema.columns.emplace_back(name, type);
    }
  }
  for (const std::string& key : keys) {
    auto it = partition_types.find(key);
    schema.partitions.emplace_back(key, it == partition_types.end() ? "VARCHAR" : it->second);
  }
  return schema;
}

}  // namespace

StatusOr<std::vector<TableSchema>> DescribeLake(Engine& engine, const TableStore& store) {
  std::vector<TableSchema> out;
  for (std::string_view zone_name : kLakeZones) {
    const std::string zone(zone_name);
    const fs::path zone_dir = store.root() / zone;
    std::error_code ec;
    if (!fs::is_directory(zone_dir, ec)) continue;
    std::vector<std::string> tables;
    for (auto it = fs::directory_iterator(zone_dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      tables.push_back(it->path().filename().string());
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot list ", zone_dir.string(), ": ", ec.message()));
    }
    std::sort(tables.begin(), tables.end());
    for (const std::string& table : tables) {
      if (!store.Exists(zone, table)) continue;  // not a published table symlink
      if (!IsPlainName(table)) {
        return absl::InvalidArgumentError(
            absl::StrCat("table name '", zone, "/", table, "' is not [a-z0-9_]+"));
      }
      LASTRO_ASSIGN_OR_RETURN(std::vector<DataFile> files, store.Files(zone, table));
      if (files.empty()) continue;  // nothing to describe
      LASTRO_ASSIGN_OR_RETURN(TableSchema schema, DescribeTable(engine, store, zone, table));
      out.push_back(std::move(schema));
    }
  }
  return out;
}

StatusOr<std::string> RenderDdl(const std::vector<TableSchema>& tables, std::string_view engine,
                                std::string_view location) {
  LASTRO_ASSIGN_OR_RETURN(Dialect d, ParseDialect(engine));
  std::string root(location);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty()) return absl::InvalidArgumentError("location is empty");
  if (d == Dialect::kDuckDb && root.starts_with("file://")) {
    root = root.substr(7);
  } else if (d != Dialect::kDuckDb && root.starts_with("/")) {
    root = "file://" + root;
  }
  std::string sql = absl::StrCat("-- lastro lake ddl --engine ", std::string(engine), ": ",
                                 tables.size(), " table(s) at ", root, "\n");
  std::string zone_done;
  for (const TableSchema& t : tables) {
    if (!IsPlainName(t.zone) || !IsPlainName(t.table)) {
      return absl::InvalidArgumentError(
          absl::StrCat("table name '", t.zone, "/", t.table, "' is not [a-z0-9_]+"));
    }
    for (const auto& p : t.partitions) {
      if (!IsIdentifier(p.first)) {
        return absl::InvalidArgumentError(
            absl::StrCat(t.zone, "/", t.table, ": partition key '", p.first, "'"));
      }
    }
    absl::StrAppend(&sql, "\n");
    if (t.zone != zone_done && d != Dialect::kDuckDb) {
      // Schemas per zone, so access can be granted zone by zone (quarantine holds raw
      // rejects and should not be as widely readable as silver).
      absl::StrAppend(&sql,
                      d == Dialect::kTrino ? "CREATE SCHEMA IF NOT EXISTS hive.lastro_"
                                           : "CREATE DATABASE IF NOT EXISTS lastro_",
                      t.zone, ";\n");
      zone_done = t.zone;
    }
    const std::string where = absl::StrCat(root, "/", t.zone, "/", t.table);
    absl::StrAppend(&sql, "-- ", t.zone, "/", t.table, "\n");
    StatusOr<std::string> table_sql;
    switch (d) {
      case Dialect::kAthena:
        table_sql = Athena(t, where);
        break;
      case Dialect::kTrino:
        table_sql = Trino(t, where);
        break;
      case Dialect::kSpark:
        table_sql = Spark(t, where);
        break;
      case Dialect::kDuckDb:
        table_sql = DuckDb(t, where);
        break;
    }
    if (!table_sql.ok()) return table_sql.status();
    absl::StrAppend(&sql, *table_sql);
  }
  return sql;
}

StatusOr<std::string> GenerateDdl(const DdlOptions& options) {
  LASTRO_RETURN_IF_ERROR(ParseDialect(options.engine).status());
  std::error_code ec;
  if (!fs::is_directory(options.lake_dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("no lake at '", options.lake_dir, "' (lake.dir / LASTRO_LAKE_DIR)"));
  }
  LASTRO_ASSIGN_OR_RETURN(TableStore store, TableStore::Open(options.lake_dir));
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options.engine_options));
  LASTRO_ASSIGN_OR_RETURN(std::vector<TableSchema> tables, DescribeLake(*engine, store));
  const std::string location = options.location.empty() ? store.root().string() : options.location;
  return RenderDdl(tables, options.engine, location);
}

}  // namespace lastro::lake
