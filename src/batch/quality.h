// Evaluation of data-quality rules (batch/quality_rules.h, docs/quality.md) against
// the daily batch's candidate tables in a DuckDB engine, before they are published.
//
// Each rule is set-based over the whole relation it is bound to (never row at a
// time). Row rules (not_null, unique, accepted_values, range, relationships,
// expression) count the rows they checked and the rows that fail (the rules that read
// a relation without a join of their own share one scan of it); every failing row
// of an error-severity row rule is copied to a quarantine relation, one row per
// (row, rule), with a human reason and the row as JSON. Warn-severity rules only
// count. Dataset rules (freshness, row_count_anomaly) give one verdict per table.
//
// NULL is never a failure of any rule but not_null: a NULL value is not checked (it
// is not counted in `checked`), and an expression that is NULL for a row is not a
// failure (SQL CHECK semantics). Add a not_null rule where NULL is wrong.
//
// "Breach" is the verdict that stops the run: an error-severity row rule breaches
// when failed / checked > max_failure_ratio; an error-severity dataset rule breaches
// when it does not pass. Warn rules never breach. A breach is not an error status:
// EvaluateQuality() returns OK with QualityReport::breached() true, and the caller
// must then not publish the candidate tables.
//
// Thread safety: these functions use the Engine given to them, which is used by one
// thread at a time (lake/engine.h). They open and close their own transaction, so
// they must not be called inside one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "batch/quality_rules.h"
#include "common/status.h"
#include "lake/engine.h"

namespace lastro::batch {

// Where a rules file's logical table lives in the engine.
struct QualityBinding {
  // A DuckDB table or view, optionally schema-qualified ("main.candidate_requests").
  // Each dot-separated part is quoted, so names are taken literally.
  std::string relation;
  // The column that identifies a row; quarantine rows carry it as record_key
  // (CAST(key AS VARCHAR)). Required.
  std::string key_column;
};

struct QualityInput {
  // Logical table name (the rules file's `table` / `to_table`) -> relation,
  // e.g. "credit_requests" -> {"candidate_requests", "request_id"}.
  std::map<std::string, QualityBinding> tables;
  // Table that receives the quarantined rows; created when missing with the columns
  //   run_id VARCHAR, batch_date DATE, rule_id VARCHAR, severity VARCHAR,
  //   table_name VARCHAR, record_key VARCHAR, reason VARCHAR,
  //   record VARCHAR (the row as JSON, DuckDB's to_json), quarantined_at TIMESTAMP.
  // An existing table must have at least these columns.
  std::string quarantine_relation;
  std::string run_id;      // required
  std::string batch_date;  // "YYYY-MM-DD", required: the business day being checked
  // "YYYY-MM-DD HH:MM:SS" in UTC: the instant freshness is measured from (the end of
  // the batch day). Required when the rules include a freshness rule.
  std::string freshness_reference_utc;
  // Rows per day before batch_date ("YYYY-MM-DD" -> rows), for row_count_anomaly. A
  // day that is absent is unknown history, not zero: pass 0 for a day with no rows.
  std::map<std::string, int64_t> trailing_counts;
  // "YYYY-MM-DD HH:MM:SS" in UTC stamped on quarantine rows as quarantined_at;
  // empty = the system clock.
  std::string evaluated_at_utc;
};

// The verdict of one rule. Field meanings by kind of rule:
//   row rules:  checked = rows with a checkable (non-NULL) value (all rows for
//               not_null and expression rows whose expression is not NULL);
//               failed = failing rows (for unique, every row of a duplicated key);
//               ratio = failed / checked (0 when nothing was checked);
//               threshold = max_failure_ratio (0 for warn rules).
//   freshness:  checked = rows in the table; failed = 0 or 1; ratio = age in hours of
//               the newest value (0 when there is none); threshold = max_age_hours.
//   row_count_anomaly: checked = rows on batch_date; failed = 0 or 1;
//               ratio = |today - mean| / max(mean, 1) over the trailing days' counts;
//               threshold = max_deviation_ratio.
struct RuleResult {
  std::string id, type, severity, table, column;  // column: comma-separated, "" if none
  int64_t checked = 0;
  int64_t failed = 0;
  double ratio = 0;
  double threshold = 0;
  bool passed = true;     // no failing row; the dataset check held or was skipped
  bool breached = false;  // error severity and beyond the threshold: stop the run
  std::string observed;   // what was measured, for people: "3 of 100000 rows failed"
  std::string message;    // the verdict, for people (why it was skipped, what happens)
};

struct QualityReport {
  std::string rules_version;        // QualityRules::version()
  std::vector<RuleResult> results;  // one per rule, in file order
  int64_t quarantined_rows = 0;     // rows appended to the quarantine relation
  // True when any rule breached: the candidate tables must not be published.
  bool breached() const;
};

// Evaluates every rule and appends the failing rows of error-severity row rules to
// input.quarantine_relation. Before running anything it checks the input and every
// rule against the relations' schemas; then it runs in one transaction, so the
// quarantine gets all of this evaluation's rows or none. Quarantine rows of the same
// (run_id, batch_date, rule id) left by an earlier evaluation are replaced, so a retry
// does not duplicate them. The candidate relations are only read: to publish, the
// caller keeps the rows whose key has no quarantine row for this run with table_name =
// the logical table (record_key = CAST(key AS VARCHAR)).
// Errors:
//   kInvalidArgument    an incomplete input (empty run_id, a malformed date or
//                       timestamp, a key column the relation does not have), or
//                       "<rules file>:<line>: rule '<id>': <reason>" for a rule naming a
//                       table that is not bound, a column the relation does not have or
//                       of the wrong type (range needs a number, freshness a TIMESTAMP or
//                       DATE, row_count_anomaly a DATE), an expression DuckDB refuses or
//                       that is not BOOLEAN; also an expression that fails on the data;
//   kFailedPrecondition a bound relation does not exist, or the quarantine relation
//                       exists without one of its columns;
//   otherwise the engine's status (kResourceExhausted: retry with more memory).
// On any error nothing has been written.
StatusOr<QualityReport> EvaluateQuality(lake::Engine& engine, const QualityRules& rules,
                                        const QualityInput& input);

// Appends the report's results to `relation` (the lake's quality table), created when
// missing with the columns
//   run_id VARCHAR, batch_date DATE, rules_version VARCHAR, rule_id VARCHAR,
//   rule_type VARCHAR, severity VARCHAR, table_name VARCHAR, column_name VARCHAR,
//   checked BIGINT, failed BIGINT, ratio DOUBLE, threshold DOUBLE, passed BOOLEAN,
//   breached BOOLEAN, observed VARCHAR, message VARCHAR.
// Rows already there for the same (run_id, batch_date, rule_id) are replaced, in one
// transaction. Errors: kInvalidArgument (empty run_id, malformed batch_date);
// kFailedPrecondition when an existing table lacks a column; otherwise the engine's.
Status WriteQualityResults(lake::Engine& engine, const QualityReport& report,
                           const std::string& relation, const std::string& run_id,
                           const std::string& batch_date);

}  // namespace lastro::batch
