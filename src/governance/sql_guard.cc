#include "governance/sql_guard.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>

#include <nlohmann/json.hpp>
#include <set>

namespace lastro::governance {
namespace {

using nlohmann::json;

// Table references and query nodes that a plain SELECT may contain. Anything else
// (TABLE_FUNCTION, SHOW_REF, COLUMN_DATA, ...) is refused.
const std::set<std::string>& AllowedNodeTypes() {
  static const std::set<std::string> kTypes = {
      "SELECT_NODE", "SET_OPERATION_NODE", "CTE_NODE", "RECURSIVE_CTE_NODE", "BASE_TABLE",
      "JOIN",        "SUBQUERY",           "EMPTY",    "EXPRESSION_LIST",    "PIVOT"};
  return kTypes;
}

// Functions that report the engine's own state rather than compute on data.
bool SystemFunction(const std::string& name) {
  std::string n = absl::AsciiStrToLower(name);
  return n == "current_setting" || n == "getvariable" || n == "getenv" ||
         absl::StartsWith(n, "duckdb_") || absl::StartsWith(n, "pragma_") ||
         n == "current_database" || n == "current_schema" || n == "current_schemas" ||
         n == "version" || n == "pg_typeof" || n == "current_catalog";
}

class Walker {
 public:
  explicit Walker(const std::map<std::string, std::vector<std::string>>& tables)
      : tables_(tables) {}

  Status Walk(const json& node) {
    if (node.is_array()) {
      for (const json& item : node) LASTRO_RETURN_IF_ERROR(Walk(item));
      return absl::OkStatus();
    }
    if (!node.is_object()) return absl::OkStatus();
    if (auto cte = node.find("cte_map"); cte != node.end() && cte->contains("map")) {
      for (const json& entry : (*cte)["map"]) {
        if (entry.contains("key") && entry["key"].is_string()) ctes_.insert(entry["key"]);
      }
    }
    const bool expression = node.contains("class");
    // Table references carry "sample", query nodes "modifiers"; other objects with a
    // "type" (ORDER BY entries, modifiers, value types) are checked no further.
    const bool ref_or_node = node.contains("sample") || node.contains("modifiers");
    auto type = node.find("type");
    if (!expression && ref_or_node && type != node.end() && type->is_string()) {
      const std::string t = *type;
      if (!AllowedNodeTypes().contains(t)) {
        return absl::PermissionDeniedError(
            t == "TABLE_FUNCTION"
                ? absl::StrCat(
                      "table functions are not available (",
                      node.value(json::json_pointer("/function/function_name"), std::string("?")),
                      ")")
                : absl::StrCat("only plain SELECT queries over the role's tables are accepted (",
                               absl::AsciiStrToLower(t), " is not)"));
      }
      if (t == "BASE_TABLE") LASTRO_RETURN_IF_ERROR(Table(node));
    }
    if (expression) LASTRO_RETURN_IF_ERROR(Expression(node));
    for (const auto& [key, value] : node.items()) {
      if (value.is_structured()) LASTRO_RETURN_IF_ERROR(Walk(value));
    }
    return absl::OkStatus();
  }

  GuardResult Result() const {
    GuardResult r;
    r.tables.assign(touched_.begin(), touched_.end());
    std::set<std::string> columns;
    for (const auto& [qualifier, column] : column_refs_) {
      for (const std::string& t : touched_) {
        if (!qualifier.empty() && aliases_.count(qualifier) && aliases_.at(qualifier) != t)
          continue;
        if (!qualifier.empty() && !aliases_.count(qualifier) && qualifier != t) continue;
        const auto& cols = tables_.at(t);
        if (column == "*" || std::find(cols.begin(), cols.end(), column) != cols.end()) {
          if (column == "*") {
            for (const std::string& c : cols) columns.insert(absl::StrCat(t, ".", c));
          } else {
            columns.insert(absl::StrCat(t, ".", column));
          }
        }
      }
    }
    r.columns.assign(columns.begin(), columns.end());
    return r;
  }

 private:
  Status Table(const json& node) {
    const std::string name = node.value("table_name", "");
    const std::string schema = node.value("schema_name", "");
    const std::string catalog = node.value("catalog_name", "");
    if (!node.value("at_clause", json()).is_null()) {
      return absl::PermissionDeniedError("time travel (AT) is not available");
    }
    if (schema.empty() && catalog.empty() && ctes_.contains(name)) return absl::OkStatus();
    if (!catalog.empty() || (!schema.empty() && schema != "main") || !tables_.contains(name)) {
      const std::string shown = absl::StrCat(catalog.empty() ? "" : catalog + ".",
                                             schema.empty() ? "" : schema + ".", name);
      return absl::PermissionDeniedError(
          absl::StrCat("table '", shown, "' is not available to this role"));
    }
    touched_.insert(name);
    const std::string alias = node.value("alias", "");
    if (!alias.empty()) aliases_[alias] = name;
    return absl::OkStatus();
  }

  Status Expression(const json& node) {
    const std::string cls = node.value("class", "");
    if (cls == "FUNCTION") {
      const std::string fn = node.value("function_name", "");
      if (SystemFunction(fn) || !node.value("catalog", "").empty() ||
          !node.value("schema", "").empty()) {
        return absl::PermissionDeniedError(absl::StrCat("function '", fn, "' is not available"));
      }
    } else if (cls == "COLUMN_REF") {
      const json& names = node["column_names"];
      if (names.is_array() && !names.empty()) {
        const std::string column = names.back();
        const std::string qualifier = names.size() >= 2 ? std::string(names[names.size() - 2]) : "";
        column_refs_.emplace(qualifier, column);
      }
    } else if (cls == "STAR") {
      column_refs_.emplace(node.value("relation_name", ""), "*");
    }
    return absl::OkStatus();
  }

  const std::map<std::string, std::vector<std::string>>& tables_;
  std::set<std::string> ctes_, touched_;
  std::map<std::string, std::string> aliases_;
  std::set<std::pair<std::string, std::string>> column_refs_;
};

}  // namespace

StatusOr<GuardResult> GuardSql(lake::Engine& engine, std::string_view sql,
                               const std::map<std::string, std::vector<std::string>>& tables) {
  const std::string text(sql);
  if (absl::StripAsciiWhitespace(text).empty()) return absl::InvalidArgumentError("no SQL given");
  if (sql.size() > kMaxSqlBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the SQL text is ", sql.size(), " bytes; at most ", kMaxSqlBytes, " are accepted"));
  }
  LASTRO_ASSIGN_OR_RETURN(
      lake::Value tree,
      engine.QueryValue(absl::StrCat("SELECT json_serialize_sql(", lake::SqlString(text), ")")));
  json doc = json::parse(std::get<std::string>(tree), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return absl::InternalError("the SQL parser's answer is not JSON");
  if (doc.value("error", false)) {
    const std::string type = doc.value("error_type", "");
    if (type == "parser") {
      return absl::InvalidArgumentError(
          absl::StrCat("syntax error: ", doc.value("error_message", "")));
    }
    return absl::PermissionDeniedError(
        "only one SELECT statement is accepted (no PRAGMA, SET, ATTACH, COPY, INSTALL, LOAD or "
        "writes)");
  }
  const json& statements = doc["statements"];
  if (!statements.is_array() || statements.size() != 1) {
    return absl::PermissionDeniedError(
        absl::StrCat("exactly one SELECT statement is accepted, got ",
                     statements.is_array() ? statements.size() : 0));
  }
  Walker walker(tables);
  LASTRO_RETURN_IF_ERROR(walker.Walk(statements[0]));
  GuardResult result = walker.Result();
  const json& top = statements[0].value("node", json::object());
  if (top.contains("modifiers") && top["modifiers"].is_array()) {
    for (const json& m : top["modifiers"]) {
      if (m.is_object() && m.value("type", "").starts_with("LIMIT")) result.has_limit = true;
    }
  }
  return result;
}

}  // namespace lastro::governance
