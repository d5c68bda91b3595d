#include "mart/query.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/iso_date.h"
#include "mart/catalog_store.h"
#include "mart/sql_files.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

StatusOr<NamedQuery> ParseNamed(const SqlFile& f) {
  NamedQuery q;
  q.sql = f.sql;
  for (absl::string_view line : absl::StrSplit(f.sql, '\n')) {
    if (!absl::ConsumePrefix(&line, "-- ")) break;
    if (absl::ConsumePrefix(&line, "name: ")) {
      q.name = std::string(absl::StripAsciiWhitespace(line));
    } else if (absl::ConsumePrefix(&line, "description: ")) {
      q.description = std::string(absl::StripAsciiWhitespace(line));
    } else if (absl::ConsumePrefix(&line, "param: ")) {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
      if (parts.size() < 2) {
        return absl::InternalError(absl::StrCat(f.name, ": malformed param line"));
      }
      q.params.push_back({parts[0], parts[1], parts.size() > 2 ? parts[2] : ""});
    }
  }
  if (q.name.empty()) return absl::InternalError(absl::StrCat(f.name, ": no '-- name:' line"));
  return q;
}

StatusOr<std::string> Literal(const QueryParam& p, const std::string& value) {
  if (p.type == "DATE") {
    if (!IsIsoDate(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", p.name, "='", value, "' is not a date YYYY-MM-DD"));
    }
    return absl::StrCat("DATE '", value, "'");
  }
  if (p.type == "INTEGER") {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", p.name, "='", value, "' is not an integer"));
    }
    return std::to_string(n);
  }
  return lake::SqlString(value);
}

std::string Quote(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  return absl::StrCat("\"", absl::StrReplaceAll(cell, {{"\"", "\"\""}}), "\"");
}

bool IsNumeric(const std::string& type) {
  return type == "BIGINT" || type == "INTEGER" || type == "SMALLINT" || type == "TINYINT" ||
         type == "HUGEINT" || type == "DOUBLE" || type == "FLOAT" || type.starts_with("DECIMAL") ||
         type.starts_with("U");
}

}  // namespace

namespace {

StatusOr<std::vector<NamedQuery>> ParseNamedQueries() {
  std::vector<NamedQuery> out;
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (!f.name.starts_with("queries/")) continue;
    LASTRO_ASSIGN_OR_RETURN(NamedQuery q, ParseNamed(f));
    out.push_back(std::move(q));
  }
  std::sort(out.begin(), out.end(),
            [](const NamedQuery& a, const NamedQuery& b) { return a.name < b.name; });
  return out;
}

// The embedded files never change: parsed once, on first use (a governed service
// expands a named query per request).
const StatusOr<std::vector<NamedQuery>>& ParsedNamedQueries() {
  static const StatusOr<std::vector<NamedQuery>> parsed = ParseNamedQueries();
  return parsed;
}

}  // namespace

StatusOr<std::vector<NamedQuery>> NamedQueries() { return ParsedNamedQueries(); }

std::string DescribeNamedQueries(const std::vector<NamedQuery>& queries) {
  std::string out;
  for (const NamedQuery& q : queries) {
    std::vector<std::string> params;
    for (const QueryParam& p : q.params) params.push_back(absl::StrCat(p.name, "=", p.type));
    absl::StrAppend(&out, q.name, params.empty() ? "" : " ", absl::StrJoin(params, " "), "  -- ",
                    q.description, "\n");
  }
  return out;
}

StatusOr<std::string> ExpandNamedQuery(const std::string& name,
                                       const std::map<std::string, std::string>& params) {
  const StatusOr<std::vector<NamedQuery>>& parsed = ParsedNamedQueries();
  if (!parsed.ok()) return parsed.status();
  const std::vector<NamedQuery>& all = *parsed;
  auto it =
      std::find_if(all.begin(), all.end(), [&](const NamedQuery& q) { return q.name == name; });
  if (it == all.end()) {
    std::vector<std::string> names;
    for (const NamedQuery& q : all) names.push_back(q.name);
    return absl::NotFoundError(absl::StrCat("unknown named query '", name,
                                            "'; named queries: ", absl::StrJoin(names, ", ")));
  }
  std::vector<std::string> declared;
  for (const QueryParam& p : it->params)
    declared.push_back(absl::StrCat(p.name, " (", p.type, ")"));
  const std::string usage = declared.empty()
                                ? "it takes no parameters"
                                : absl::StrCat("its parameters: ", absl::StrJoin(declared, ", "));
  for (const auto& [key, value] : params) {
    if (std::none_of(it->params.begin(), it->params.end(),
                     [&](const QueryParam& p) { return p.name == key; })) {
      return absl::InvalidArgumentError(
          absl::StrCat("named query ", name, " has no parameter '", key, "'; ", usage));
    }
  }
  std::string sql = it->sql;
  for (const QueryParam& p : it->params) {
    auto v = params.find(p.name);
    if (v == params.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("named query ", name, " needs --param ", p.name, "=...; ", usage));
    }
    LASTRO_ASSIGN_OR_RETURN(std::string literal, Literal(p, v->second));
    sql = absl::StrReplaceAll(sql, {{absl::StrCat("{{", p.name, "}}"), literal}});
  }
  return sql;
}

StatusOr<std::string> RunQuery(const Config& config, const QueryOptions& options) {
  static const char* const kFormats[] = {"table", "csv", "json", "parquet"};
  if (std::find(std::begin(kFormats), std::end(kFormats), options.format) == std::end(kFormats)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown format '", options.format, "' (table, csv, json, parquet)"));
  }
  const bool parquet = options.format == "parquet";
  if (parquet && options.output.empty()) {
    return absl::InvalidArgumentError("--format parquet needs --output FILE");
  }
  std::string sql = options.sql;
  if (!options.named.empty()) {
    LASTRO_ASSIGN_OR_RETURN(sql, ExpandNamedQuery(options.named, options.params));
  } else if (!options.params.empty()) {
    return absl::InvalidArgumentError("--param applies to --named queries only");
  }
  if (absl::StripAsciiWhitespace(sql).empty()) {
    return absl::InvalidArgumentError("no SQL given (a query, or --named NAME)");
  }
  CatalogStore store(config.lake.dir);
  std::error_code ec;
  // Resolve the pointer once: this process reads that version to the end.
  fs::path db = fs::canonical(store.DatabasePath(), ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("no published catalog under ", config.lake.dir,
                                            " (run lastro refresh first)"));
  }
  // The sandbox stays closed for Parquet output too: the one file DuckDB may write is
  // the output, through the COPY wrapped around the checked SELECT below.
  std::vector<std::string> allowed;
  if (parquet) allowed.push_back(fs::absolute(options.output).lexically_normal().string());
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                                           .threads = config.lake.threads,
                                                           .database = db,
                                                           .read_only = true,
                                                           .external_access = false,
                                                           .allowed_paths = allowed}));
  auto kind = engine->StatementKind(sql);
  if (!kind.ok()) {
    // DuckDB refuses writes and file access while preparing: say why in our terms.
    if (absl::StrContains(kind.status().message(), "read-only") ||
        absl::StrContains(kind.status().message(), "Permission Error")) {
      return absl::InvalidArgumentError(
          absl::StrCat("lastro query is read-only: ", kind.status().message()));
    }
    return kind.status();
  }
  if (*kind != "SELECT" && *kind != "EXPLAIN") {
    return absl::InvalidArgumentError(absl::StrCat(
        "lastro query is read-only: a ", *kind, " statement is refused (only SELECT and EXPLAIN)"));
  }
  if (parquet) {
    LASTRO_RETURN_IF_ERROR(engine->Execute(absl::StrCat("COPY (\n", SubqueryBody(sql), "\n) TO ",
                                                        lake::SqlString(allowed.front()),
                                                        " (FORMAT parquet, COMPRESSION zstd)")));
    return std::string();
  }
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult r, engine->Query(sql));
  std::string text = options.format == "csv"    ? FormatCsv(r)
                     : options.format == "json" ? FormatJson(r)
                                                : FormatTable(r);
  if (options.output.empty()) return text;
  std::ofstream out(options.output, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + options.output);
  return std::string();
}

std::string SubqueryBody(const std::string& sql) {
  std::string body(absl::StripAsciiWhitespace(sql));
  while (!body.empty() && (body.back() == ';' || absl::ascii_isspace(body.back()))) body.pop_back();
  return body;
}

std::string FormatCsv(const lake::QueryResult& r) {
  std::string out;
  std::vector<std::string> cells;
  for (const std::string& c : r.columns()) cells.push_back(Quote(c));
  absl::StrAppend(&out, absl::StrJoin(cells, ","), "\n");
  for (size_t i = 0; i < r.rows(); ++i) {
    cells.clear();
    for (size_t c = 0; c < r.columns().size(); ++c)
      cells.push_back(Quote(r.Text(i, c).value_or("")));
    absl::StrAppend(&out, absl::StrJoin(cells, ","), "\n");
  }
  return out;
}

std::string FormatJson(const lake::QueryResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < r.rows(); ++i) {
    nlohmann::json row = nlohmann::json::object();
    for (size_t c = 0; c < r.columns().size(); ++c) {
      const lake::Value& v = r.at(i, c);
      nlohmann::json cell;
      if (auto* b = std::get_if<bool>(&v))
        cell = *b;
      else if (auto* n = std::get_if<int64_t>(&v))
        cell = *n;
      else if (auto* d = std::get_if<double>(&v))
        cell = *d;
      else if (auto* s = std::get_if<std::string>(&v))
        cell = *s;
      row[r.columns()[c]] = cell;
    }
    rows.push_back(std::move(row));
  }
  return rows.dump() + "\n";
}

std::string FormatTable(const lake::QueryResult& r) {
  const size_t n = r.columns().size();
  std::vector<size_t> width(n);
  std::vector<std::vector<std::string>> cells(r.rows(), std::vector<std::string>(n));
  for (size_t c = 0; c < n; ++c) width[c] = r.columns()[c].size();
  for (size_t i = 0; i < r.rows(); ++i) {
    for (size_t c = 0; c < n; ++c) {
      cells[i][c] = r.Text(i, c).value_or("NULL");
      width[c] = std::max(width[c], cells[i][c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t c = 0; c < n; ++c) {
      std::string pad(width[c] - row[c].size(), ' ');
      absl::StrAppend(&out, c ? "  " : "", IsNumeric(r.types()[c]) ? pad + row[c] : row[c] + pad);
    }
    return std::string(absl::StripTrailingAsciiWhitespace(out)) + "\n";
  };
  std::string out = line(r.columns());
  std::vector<std::string> rule;
  for (size_t c = 0; c < n; ++c) rule.push_back(std::string(width[c], '-'));
  out += line(rule);
  for (const auto& row : cells) out += line(row);
  absl::StrAppend(&out, "(", r.rows(), r.rows() == 1 ? " row)\n" : " rows)\n");
  return out;
}

}  // namespace lastro::mart
