// Evaluation of data-quality rules: each rule becomes set-based DuckDB queries (row
// rules over the same relation share one counting scan).
// Column and relation names come from the rules file and the caller, so every one
// is quoted (lake::SqlIdent); values go in as literals (lake::SqlString).
#include "batch/quality.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace lastro::batch {
namespace {

using lake::SqlIdent;
using lake::SqlString;

// The alias of the checked relation in every rule's query; to_json(alias) is the row.
constexpr std::string_view kRow = "__lastro_row";

// ---- Input checks ------------------------------------------------------------------

std::optional<std::chrono::sys_days> ParseDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      std::sscanf(std::string(text).c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd);
}

std::string FormatDate(std::chrono::sys_days day) {
  std::chrono::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

// "YYYY-MM-DD HH:MM:SS".
bool IsTimestamp(std::string_view text) {
  int h = 0, m = 0, s = 0;
  char tail = 0;
  return text.size() == 19 && text[10] == ' ' && ParseDate(text.substr(0, 10)) && text[13] == ':' &&
         text[16] == ':' &&
         std::sscanf(std::string(text.substr(11)).c_str(), "%2d:%2d:%2d%c", &h, &m, &s, &tail) ==
             3 &&
         h < 24 && m < 60 && s < 60;
}

std::string NowUtc() {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto day = std::chrono::floor<std::chrono::days>(now);
  std::chrono::hh_mm_ss time(now - day);
  return fmt::format("{} {:02}:{:02}:{:02}", FormatDate(day), time.hours().count(),
                     time.minutes().count(), time.seconds().count());
}

// "a.b" -> "a"."b".
std::string QuoteRelation(std::string_view relation) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = relation.find('.', start);
    out += SqlIdent(relation.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    out += '.';
    start = dot + 1;
  }
}

std::string Col(std::string_view column) { return fmt::format("{}.{}", kRow, SqlIdent(column)); }

bool IsIntegerType(const std::string& type) {
  static const std::set<std::string> kInts = {"TINYINT",   "SMALLINT", "INTEGER",
                                              "BIGINT",    "HUGEINT",  "UTINYINT",
                                              "USMALLINT", "UINTEGER", "UBIGINT"};
  return kInts.count(type) > 0;
}

bool IsNumericType(const std::string& type) {
  return IsIntegerType(type) || type == "FLOAT" || type == "DOUBLE" || type.starts_with("DECIMAL");
}

// ---- Transactions and tables ---------------------------------------------------------

Status InTransaction(lake::Engine& engine, const std::function<Status()>& body) {
  LASTRO_RETURN_IF_ERROR(engine.Execute("BEGIN TRANSACTION"));
  Status s = body();
  if (s.ok()) s = engine.Execute("COMMIT");
  // The body's error is the one to report; a failed rollback changes nothing for it.
  if (!s.ok()) IgnoreError(engine.Execute("ROLLBACK"));
  return s;
}

// Creates `relation` with `columns` when missing, then checks that it has every one
// of them (an existing table may have more).
Status EnsureTable(lake::Engine& engine, const std::string& relation,
                   const std::vector<std::pair<std::string, std::string>>& columns) {
  std::string ddl;
  for (const auto& [name, type] : columns) {
    ddl += fmt::format("{}{} {}", ddl.empty() ? "" : ", ", SqlIdent(name), type);
  }
  const std::string quoted = QuoteRelation(relation);
  LASTRO_RETURN_IF_ERROR(
      engine.Execute(fmt::format("CREATE TABLE IF NOT EXISTS {} ({})", quoted, ddl)));
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult probe,
                          engine.Query(fmt::format("SELECT * FROM {} LIMIT 0", quoted)));
  for (const auto& [name, type] : columns) {
    if (probe.ColumnIndex(name) < 0) {
      return absl::FailedPreconditionError(
          fmt::format("table {} exists without column '{}'", relation, name));
    }
  }
  return absl::OkStatus();
}

std::string ColumnList(const std::vector<std::pair<std::string, std::string>>& columns) {
  std::string out;
  for (const auto& column : columns) out += (out.empty() ? "" : ", ") + SqlIdent(column.first);
  return out;
}

const std::vector<std::pair<std::string, std::string>>& QuarantineColumns() {
  static const std::vector<std::pair<std::string, std::string>> kColumns = {
      {"run_id", "VARCHAR"},   {"batch_date", "DATE"},    {"rule_id", "VARCHAR"},
      {"severity", "VARCHAR"}, {"table_name", "VARCHAR"}, {"record_key", "VARCHAR"},
      {"reason", "VARCHAR"},   {"record", "VARCHAR"},     {"quarantined_at", "TIMESTAMP"}};
  return kColumns;
}

const std::vector<std::pair<std::string, std::string>>& ResultColumns() {
  static const std::vector<std::pair<std::string, std::string>> kColumns = {
      {"run_id", "VARCHAR"},     {"batch_date", "DATE"},     {"rules_version", "VARCHAR"},
      {"rule_id", "VARCHAR"},    {"rule_type", "VARCHAR"},   {"severity", "VARCHAR"},
      {"table_name", "VARCHAR"}, {"column_name", "VARCHAR"}, {"checked", "BIGINT"},
      {"failed", "BIGINT"},      {"ratio", "DOUBLE"},        {"threshold", "DOUBLE"},
      {"passed", "BOOLEAN"},     {"breached", "BOOLEAN"},    {"observed", "VARCHAR"},
      {"message", "VARCHAR"}};
  return kColumns;
}

// ---- Rule checks ----------------------------------------------------------------------

// A bound table as the engine sees it.
struct Table {
  std::string logical;
  std::string relation;  // quoted
  std::string key_column;
  std::map<std::string, std::string> types;  // column -> DuckDB type name
};

// How one row rule finds its failing rows, as SQL fragments over kRow.
struct RowCheck {
  std::string from;       // FROM clause: the relation AS kRow, plus any joins
  std::string checkable;  // the row has a value to check
  std::string fails;      // TRUE when the row fails (NULL counts as not failing)
  std::string reason;     // VARCHAR: why it fails, for people
};

struct RowCounts {
  int64_t checked = 0, failed = 0;
};

class Evaluator {
 public:
  Evaluator(lake::Engine& engine, const QualityRules& rules, const QualityInput& input)
      : engine_(engine), rules_(rules), input_(input) {}

  StatusOr<QualityReport> Run() {
    LASTRO_RETURN_IF_ERROR(CheckInput());
    // Every rule is checked against the schemas before anything is written.
    std::vector<RowCheck> checks(rules_.rules().size());
    for (size_t i = 0; i < rules_.rules().size(); ++i) {
      LASTRO_RETURN_IF_ERROR(Prepare(rules_.rules()[i], &checks[i]));
    }
    QualityReport report;
    report.rules_version = rules_.version();
    LASTRO_RETURN_IF_ERROR(InTransaction(engine_, [&]() -> Status {
      LASTRO_RETURN_IF_ERROR(EnsureTable(engine_, input_.quarantine_relation, QuarantineColumns()));
      LASTRO_RETURN_IF_ERROR(ClearEarlierQuarantine());
      LASTRO_ASSIGN_OR_RETURN(std::vector<RowCounts> counts, CountRows(checks));
      for (size_t i = 0; i < rules_.rules().size(); ++i) {
        const QualityRule& rule = rules_.rules()[i];
        RuleResult result = Skeleton(rule);
        if (IsRowRule(rule.type)) {
          LASTRO_RETURN_IF_ERROR(EvaluateRows(rule, checks[i], counts[i], &result));
          if (rule.severity == Severity::kError) report.quarantined_rows += result.failed;
        } else if (rule.type == RuleType::kFreshness) {
          LASTRO_RETURN_IF_ERROR(EvaluateFreshness(rule, &result));
        } else {
          LASTRO_RETURN_IF_ERROR(EvaluateRowCount(rule, &result));
        }
        report.results.push_back(std::move(result));
      }
      return absl::OkStatus();
    }));
    return report;
  }

 private:
  Status CheckInput() {
    if (input_.run_id.empty()) return absl::InvalidArgumentError("quality input: empty run_id");
    if (input_.quarantine_relation.empty()) {
      return absl::InvalidArgumentError("quality input: empty quarantine_relation");
    }
    std::optional<std::chrono::sys_days> day = ParseDate(input_.batch_date);
    if (!day) {
      return absl::InvalidArgumentError(
          fmt::format("quality input: batch_date '{}' is not YYYY-MM-DD", input_.batch_date));
    }
    batch_day_ = *day;
    bool freshness = false, anomaly = false;
    for (const QualityRule& rule : rules_.rules()) {
      freshness |= rule.type == RuleType::kFreshness;
      anomaly |= rule.type == RuleType::kRowCountAnomaly;
    }
    if (freshness && !IsTimestamp(input_.freshness_reference_utc)) {
      return absl::InvalidArgumentError(
          fmt::format("quality input: freshness_reference_utc '{}' is not YYYY-MM-DD HH:MM:SS",
                      input_.freshness_reference_utc));
    }
    now_ = input_.evaluated_at_utc.empty() ? NowUtc() : input_.evaluated_at_utc;
    if (!IsTimestamp(now_)) {
      return absl::InvalidArgumentError(
          fmt::format("quality input: evaluated_at_utc '{}' is not YYYY-MM-DD HH:MM:SS", now_));
    }
    for (const auto& [day_text, rows] : input_.trailing_counts) {
      std::optional<std::chrono::sys_days> d = ParseDate(day_text);
      if (anomaly && !d) {
        return absl::InvalidArgumentError(
            fmt::format("quality input: trailing_counts day '{}' is not YYYY-MM-DD", day_text));
      }
      if (d) trailing_[*d] = rows;
    }
    return absl::OkStatus();
  }

  Status RuleError(const QualityRule& rule, const std::string& reason) const {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: rule '{}': {}", rules_.source(), rule.line, rule.id, reason));
  }

  // The bound table `logical`, its schema read once.
  StatusOr<const Table*> Bound(const QualityRule& rule, const std::string& logical) {
    if (auto it = tables_.find(logical); it != tables_.end()) return &it->second;
    auto binding = input_.tables.find(logical);
    if (binding == input_.tables.end()) {
      std::string bound;
      for (const auto& [name, b] : input_.tables) bound += (bound.empty() ? "" : ", ") + name;
      return RuleError(rule, fmt::format("table '{}' is not bound (bound: {})", logical,
                                         bound.empty() ? "none" : bound));
    }
    Table table{logical, QuoteRelation(binding->second.relation), binding->second.key_column, {}};
    StatusOr<lake::QueryResult> probe =
        engine_.Query(fmt::format("SELECT * FROM {} LIMIT 0", table.relation));
    if (!probe.ok()) {
      return Status(probe.status().code(),
                    fmt::format("table '{}' (relation {}): {}", logical, binding->second.relation,
                                std::string(probe.status().message())));
    }
    for (size_t c = 0; c < probe->columns().size(); ++c) {
      table.types[probe->columns()[c]] = probe->types()[c];
    }
    if (table.key_column.empty() || table.types.count(table.key_column) == 0) {
      return absl::InvalidArgumentError(
          fmt::format("quality input: key column '{}' of table '{}' is not a column of {}",
                      table.key_column, logical, binding->second.relation));
    }
    return &tables_.emplace(logical, std::move(table)).first->second;
  }

  StatusOr<std::string> ColumnType(const QualityRule& rule, const Table& table,
                                   const std::string& column) const {
    auto it = table.types.find(column);
    if (it == table.types.end()) {
      return RuleError(rule, fmt::format("table '{}' has no column '{}'", table.logical, column));
    }
    return it->second;
  }

  // Checks `rule` against the schemas and, for a row rule, builds its SQL; the query is
  // bound by DuckDB (LIMIT 0) so a bad expression or an incompatible join fails here.
  Status Prepare(const QualityRule& rule, RowCheck* check) {
    LASTRO_ASSIGN_OR_RETURN(const Table* table, Bound(rule, rule.table));
    std::vector<std::string> types;
    for (const std::string& column : rule.columns) {
      LASTRO_ASSIGN_OR_RETURN(std::string type, ColumnType(rule, *table, column));
      types.push_back(type);
    }
    auto value = [&](size_t i) {  // a failing value as text; strings quoted
      return types[i] == "VARCHAR"
                 ? fmt::format("'''' || replace({}, '''', '''''') || ''''", Col(rule.columns[i]))
                 : fmt::format("CAST({} AS VARCHAR)", Col(rule.columns[i]));
    };
    check->from = fmt::format("{} AS {}", table->relation, kRow);
    check->checkable = "TRUE";
    const std::string first = rule.columns.empty() ? "" : Col(rule.columns[0]);
    const std::string label = rule.columns.empty() ? "" : SqlString(rule.columns[0] + " = ");
    switch (rule.type) {
      case RuleType::kNotNull: {
        std::vector<std::string> nulls, reasons;
        for (const std::string& c : rule.columns) {
          nulls.push_back(Col(c) + " IS NULL");
          reasons.push_back(
              fmt::format("CASE WHEN {} IS NULL THEN {} END", Col(c), SqlString(c + " is NULL")));
        }
        check->fails = fmt::format("({})", fmt::join(nulls, " OR "));
        check->reason = fmt::format("concat_ws('; ', {})", fmt::join(reasons, ", "));
        break;
      }
      case RuleType::kUnique: {
        std::vector<std::string> cols, not_null, join, values, names;
        for (size_t i = 0; i < rule.columns.size(); ++i) {
          const std::string c = SqlIdent(rule.columns[i]);
          cols.push_back(c);
          not_null.push_back(fmt::format("{} IS NOT NULL", Col(rule.columns[i])));
          join.push_back(fmt::format("{} = __lastro_dup.{}", Col(rule.columns[i]), c));
          values.push_back(value(i));
          names.push_back(rule.columns[i]);
        }
        check->from += fmt::format(
            " LEFT JOIN (SELECT {0}, count(*) AS __lastro_n FROM {1} AS {2} WHERE {3} "
            "GROUP BY {0} HAVING count(*) > 1) AS __lastro_dup ON {4}",
            fmt::join(cols, ", "), table->relation, kRow, fmt::join(not_null, " AND "),
            fmt::join(join, " AND "));
        check->checkable = fmt::format("({})", fmt::join(not_null, " AND "));
        check->fails = "__lastro_dup.__lastro_n IS NOT NULL";
        const bool many = rule.columns.size() > 1;
        check->reason = fmt::format(
            "{} || {} || {} || ' appears ' || CAST(__lastro_dup.__lastro_n AS VARCHAR) || "
            "' times'",
            SqlString(many ? fmt::format("({}) = (", fmt::join(names, ", ")) : names[0] + " = "),
            fmt::join(values, " || ', ' || "), SqlString(many ? ")" : ""));
        break;
      }
      case RuleType::kAcceptedValues: {
        if (rule.integer_values ? !IsIntegerType(types[0]) : types[0] != "VARCHAR") {
          return RuleError(rule, fmt::format("'values' are {} but column '{}' is {}",
                                             rule.integer_values ? "integers" : "strings",
                                             rule.columns[0], types[0]));
        }
        std::vector<std::string> literals;
        for (const std::string& v : rule.values) {
          literals.push_back(rule.integer_values ? v : SqlString(v));
        }
        check->checkable = first + " IS NOT NULL";
        check->fails = fmt::format("{} NOT IN ({})", first, fmt::join(literals, ", "));
        check->reason =
            fmt::format("{} || {} || {}", label, value(0),
                        SqlString(fmt::format(" is not one of {}", fmt::join(rule.values, ", "))));
        break;
      }
      case RuleType::kRange: {
        if (!IsNumericType(types[0])) {
          return RuleError(rule, fmt::format("range needs a numeric column, '{}' is {}",
                                             rule.columns[0], types[0]));
        }
        const std::string below = rule.min ? fmt::format("{} < {}", first, rule.min_text) : "";
        const std::string above = rule.max ? fmt::format("{} > {}", first, rule.max_text) : "";
        check->checkable = first + " IS NOT NULL";
        check->fails = below.empty()   ? above
                       : above.empty() ? below
                                       : fmt::format("({} OR {})", below, above);
        const std::string below_text = SqlString(" is below min " + rule.min_text);
        const std::string above_text = SqlString(" is above max " + rule.max_text);
        check->reason = fmt::format(
            "{} || {} || {}", label, value(0),
            below.empty() ? above_text
            : above.empty()
                ? below_text
                : fmt::format("CASE WHEN {} THEN {} ELSE {} END", below, below_text, above_text));
        break;
      }
      case RuleType::kRelationships: {
        LASTRO_ASSIGN_OR_RETURN(const Table* parent, Bound(rule, rule.to_table));
        LASTRO_RETURN_IF_ERROR(ColumnType(rule, *parent, rule.to_column).status());
        check->from += fmt::format(
            " LEFT JOIN (SELECT DISTINCT {} AS __lastro_key FROM {}) AS __lastro_parent "
            "ON {} = __lastro_parent.__lastro_key",
            SqlIdent(rule.to_column), parent->relation, first);
        check->checkable = first + " IS NOT NULL";
        check->fails =
            fmt::format("({} IS NOT NULL AND __lastro_parent.__lastro_key IS NULL)", first);
        check->reason = fmt::format(
            "{} || {} || {}", label, value(0),
            SqlString(fmt::format(" has no match in {}.{}", rule.to_table, rule.to_column)));
        break;
      }
      case RuleType::kExpression: {
        StatusOr<lake::QueryResult> probe = engine_.Query(
            fmt::format("SELECT ({}) AS v FROM {} LIMIT 0", rule.expression, check->from));
        if (!probe.ok()) return RuleError(rule, std::string(probe.status().message()));
        if (probe->types()[0] != "BOOLEAN") {
          return RuleError(rule, "'expression' must be BOOLEAN, it is " + probe->types()[0]);
        }
        check->checkable = fmt::format("({}) IS NOT NULL", rule.expression);
        check->fails = fmt::format("NOT ({})", rule.expression);
        check->reason = SqlString("expression is false: " + rule.expression);
        break;
      }
      case RuleType::kFreshness:
        if (types[0] != "TIMESTAMP" && types[0] != "DATE") {
          return RuleError(rule, fmt::format("freshness needs a TIMESTAMP (UTC) or DATE column, "
                                             "'{}' is {}",
                                             rule.columns[0], types[0]));
        }
        return absl::OkStatus();
      case RuleType::kRowCountAnomaly:
        if (types[0] != "DATE") {
          return RuleError(rule, fmt::format("row_count_anomaly needs a DATE column, '{}' is {}",
                                             rule.columns[0], types[0]));
        }
        return absl::OkStatus();
    }
    // Binding errors (incompatible join types, a bad reason) surface before any write.
    StatusOr<lake::QueryResult> probe =
        engine_.Query(fmt::format("SELECT {}, {}, {} FROM {} LIMIT 0", check->checkable,
                                  check->fails, check->reason, check->from));
    if (!probe.ok()) return RuleError(rule, std::string(probe.status().message()));
    return absl::OkStatus();
  }

  Status ClearEarlierQuarantine() {
    std::vector<std::string> ids;
    for (const QualityRule& rule : rules_.rules()) {
      if (IsRowRule(rule.type) && rule.severity == Severity::kError) {
        ids.push_back(SqlString(rule.id));
      }
    }
    if (ids.empty()) return absl::OkStatus();
    return engine_.Execute(fmt::format(
        "DELETE FROM {} WHERE run_id = {} AND batch_date = CAST({} AS DATE) AND rule_id IN ({})",
        QuoteRelation(input_.quarantine_relation), SqlString(input_.run_id),
        SqlString(input_.batch_date), fmt::join(ids, ", ")));
  }

  static RuleResult Skeleton(const QualityRule& rule) {
    RuleResult r;
    r.id = rule.id;
    r.type = RuleTypeName(rule.type);
    r.severity = SeverityName(rule.severity);
    r.table = rule.table;
    r.column = fmt::format("{}", fmt::join(rule.columns, ","));
    return r;
  }

  // The checked and failing rows of every row rule (indexed like the rules). Rules
  // that read the same FROM (the plain relation, for all but unique and
  // relationships) are counted in one scan of it, not one scan each.
  StatusOr<std::vector<RowCounts>> CountRows(const std::vector<RowCheck>& checks) {
    std::map<std::string, std::vector<size_t>> by_from;
    for (size_t i = 0; i < rules_.rules().size(); ++i) {
      if (IsRowRule(rules_.rules()[i].type)) by_from[checks[i].from].push_back(i);
    }
    std::vector<RowCounts> counts(rules_.rules().size());
    for (const auto& [from, rules] : by_from) {
      std::vector<std::string> aggregates;
      for (size_t i : rules) {
        aggregates.push_back(fmt::format("count(*) FILTER (WHERE {})", checks[i].checkable));
        aggregates.push_back(fmt::format("count(*) FILTER (WHERE {})", checks[i].fails));
      }
      LASTRO_ASSIGN_OR_RETURN(
          lake::QueryResult result,
          engine_.Query(fmt::format("SELECT {} FROM {}", fmt::join(aggregates, ", "), from)));
      for (size_t k = 0; k < rules.size(); ++k) {
        counts[rules[k]] = {result.Int(0, 2 * k).value_or(0), result.Int(0, 2 * k + 1).value_or(0)};
      }
    }
    return counts;
  }

  Status EvaluateRows(const QualityRule& rule, const RowCheck& check, const RowCounts& counts,
                      RuleResult* r) {
    r->checked = counts.checked;
    r->failed = counts.failed;
    r->ratio = r->checked > 0 ? static_cast<double>(r->failed) / r->checked : 0;
    r->threshold = rule.max_failure_ratio;
    r->passed = r->failed == 0;
    r->breached = rule.severity == Severity::kError && r->ratio > r->threshold;
    r->observed =
        fmt::format("{} of {} rows failed ({:.3f}%)", r->failed, r->checked, 100 * r->ratio);
    if (r->passed) {
      r->message = "ok";
    } else if (rule.severity == Severity::kWarn) {
      r->message = "warning: failing rows are counted and kept";
    } else if (r->breached) {
      r->message = fmt::format(
          "breached: above max_failure_ratio {:.3f}%; failing rows "
          "quarantined; the run must not publish",
          100 * r->threshold);
    } else {
      r->message = fmt::format("failing rows quarantined (within max_failure_ratio {:.3f}%)",
                               100 * r->threshold);
    }
    if (rule.severity != Severity::kError || r->failed == 0) return absl::OkStatus();
    const Table& table = tables_.at(rule.table);
    return engine_.Execute(fmt::format(
        "INSERT INTO {} ({}) SELECT {}, CAST({} AS DATE), {}, 'error', {}, CAST({} AS VARCHAR), "
        "{}, CAST(to_json({}) AS VARCHAR), CAST({} AS TIMESTAMP) FROM {} WHERE {}",
        QuoteRelation(input_.quarantine_relation), ColumnList(QuarantineColumns()),
        SqlString(input_.run_id), SqlString(input_.batch_date), SqlString(rule.id),
        SqlString(rule.table), Col(table.key_column), check.reason, kRow, SqlString(now_),
        check.from, check.fails));
  }

  Status EvaluateFreshness(const QualityRule& rule, RuleResult* r) {
    const Table& table = tables_.at(rule.table);
    const std::string& column = rule.columns[0];
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult q,
        engine_.Query(fmt::format(
            "SELECT count(*), CAST(max({0}) AS TIMESTAMP), "
            "date_diff('second', CAST(max({0}) AS TIMESTAMP), CAST({1} AS TIMESTAMP)) FROM {2}",
            SqlIdent(column), SqlString(input_.freshness_reference_utc), table.relation)));
    r->checked = q.Int(0, 0).value_or(0);
    r->threshold = rule.max_age_hours;
    std::optional<std::string> newest = q.Text(0, 1);
    if (r->checked == 0) {
      r->passed = false;
      r->observed = "no rows";
      r->message = "stale: the table is empty";
    } else if (!newest) {
      r->passed = false;
      r->observed = fmt::format("{} is NULL in all {} rows", column, r->checked);
      r->message = fmt::format("stale: no {} to measure", column);
    } else {
      r->ratio = static_cast<double>(q.Int(0, 2).value_or(0)) / 3600;
      r->passed = r->ratio <= r->threshold;
      r->observed = fmt::format("newest {} {} is {:.1f} h before {}", column, *newest, r->ratio,
                                input_.freshness_reference_utc);
      r->message =
          r->passed ? "ok" : fmt::format("stale: older than max_age_hours {}", r->threshold);
    }
    Verdict(rule, r);
    return absl::OkStatus();
  }

  Status EvaluateRowCount(const QualityRule& rule, RuleResult* r) {
    const Table& table = tables_.at(rule.table);
    LASTRO_ASSIGN_OR_RETURN(
        lake::Value today,
        engine_.QueryValue(fmt::format("SELECT count(*) FROM {} WHERE {} = CAST({} AS DATE)",
                                       table.relation, SqlIdent(rule.columns[0]),
                                       SqlString(input_.batch_date))));
    r->checked = std::get<int64_t>(today);
    r->threshold = rule.max_deviation_ratio;
    int history = 0;
    double sum = 0;
    for (int back = 1; back <= rule.trailing_days; ++back) {
      auto it = trailing_.find(batch_day_ - std::chrono::days(back));
      if (it != trailing_.end()) ++history, sum += static_cast<double>(it->second);
    }
    if (history < rule.min_history_days) {
      r->observed = fmt::format("{} rows on {}; {} of the trailing {} days known", r->checked,
                                input_.batch_date, history, rule.trailing_days);
      r->message = fmt::format("skipped: {} days of history, at least {} needed", history,
                               rule.min_history_days);
      return absl::OkStatus();
    }
    const double mean = sum / history;
    // max(mean, 1): a history of empty days still gives a finite ratio.
    r->ratio = std::abs(static_cast<double>(r->checked) - mean) / std::max(mean, 1.0);
    r->passed = r->ratio <= r->threshold;
    r->observed = fmt::format("{} rows on {} vs a mean of {:.1f} over {} days (deviation {:.2f})",
                              r->checked, input_.batch_date, mean, history, r->ratio);
    r->message = r->passed
                     ? "ok"
                     : fmt::format("anomaly: deviation above max_deviation_ratio {}", r->threshold);
    Verdict(rule, r);
    return absl::OkStatus();
  }

  // Dataset rules: one failed assertion, which breaches only at error severity.
  static void Verdict(const QualityRule& rule, RuleResult* r) {
    r->failed = r->passed ? 0 : 1;
    r->breached = !r->passed && rule.severity == Severity::kError;
    if (!r->passed) r->message += r->breached ? "; the run must not publish" : " (warning)";
  }

  lake::Engine& engine_;
  const QualityRules& rules_;
  const QualityInput& input_;
  std::map<std::string, Table> tables_;  // logical name -> probed table
  std::chrono::sys_days batch_day_;
  std::map<std::chrono::sys_days, int64_t> trailing_;
  std::string now_;
};

std::string Double(double v) { return fmt::format("CAST({} AS DOUBLE)", std::isfinite(v) ? v : 0); }

}  // namespace

bool QualityReport::breached() const {
  return std::any_of(results.begin(), results.end(),
                     [](const RuleResult& r) { return r.breached; });
}

StatusOr<QualityReport> EvaluateQuality(lake::Engine& engine, const QualityRules& rules,
                                        const QualityInput& input) {
  return Evaluator(engine, rules, input).Run();
}

Status WriteQualityResults(lake::Engine& engine, const QualityReport& report,
                           const std::string& relation, const std::string& run_id,
                           const std::string& batch_date) {
  if (run_id.empty()) return absl::InvalidArgumentError("quality results: empty run_id");
  if (!ParseDate(batch_date)) {
    return absl::InvalidArgumentError(
        fmt::format("quality results: batch_date '{}' is not YYYY-MM-DD", batch_date));
  }
  const std::string date = fmt::format("CAST({} AS DATE)", SqlString(batch_date));
  std::vector<std::string> ids, rows;
  for (const RuleResult& r : report.results) {
    ids.push_back(SqlString(r.id));
    rows.push_back(fmt::format(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})", SqlString(run_id), date,
        SqlString(report.rules_version), SqlString(r.id), SqlString(r.type), SqlString(r.severity),
        SqlString(r.table), SqlString(r.column), r.checked, r.failed, Double(r.ratio),
        Double(r.threshold), r.passed, r.breached, SqlString(r.observed), SqlString(r.message)));
  }
  const std::string table = QuoteRelation(relation);
  return InTransaction(engine, [&]() -> Status {
    LASTRO_RETURN_IF_ERROR(EnsureTable(engine, relation, ResultColumns()));
    if (rows.empty()) return absl::OkStatus();
    LASTRO_RETURN_IF_ERROR(engine.Execute(
        fmt::format("DELETE FROM {} WHERE run_id = {} AND batch_date = {} AND rule_id IN ({})",
                    table, SqlString(run_id), date, fmt::join(ids, ", "))));
    return engine.Execute(fmt::format("INSERT INTO {} ({}) VALUES {}", table,
                                      ColumnList(ResultColumns()), fmt::join(rows, ", ")));
  });
}

}  // namespace lastro::batch
