// Policy backtest: replays historical credit requests (the lake's silver table, with
// the risk and bureau scores they had) through a candidate rules file, with the same
// decide::Policy engine and file format the real-time stream uses, and compares the
// candidate's outcomes with the decisions actually made: approval, manual-review and
// rejection rates per day, channel and score band, and the rules that drive each
// difference. docs/policy.md, "Changing the policy safely".
//
// RunBacktest() and the Format*() functions are pure and deterministic (no clock, no
// I/O), so the same rows and rules always give the same report. LoadBacktestRows()
// reads the lake with its own DuckDB engine; several may run at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "decide/policy.h"
#include "lake/engine.h"

namespace lastro::batch {

// One historical credit request with the inputs the policy saw and what was decided.
struct BacktestRow {
  int64_t request_id = 0;
  std::string request_date;  // "YYYY-MM-DD", the business day (lake partition)
  std::string channel;
  std::string purpose;
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::optional<int64_t> declared_income_cents;  // nullopt = not declared
  std::optional<int32_t> risk_score;             // nullopt = never scored
  std::optional<double> probability_of_default;
  std::vector<std::string> provider_reason_codes;
  // nullopt = not recorded (decided before the stream stored it, migration 0002):
  // the decision cannot be replayed exactly.
  std::optional<bool> first_time_customer;
  std::optional<int32_t> bureau_score;  // nullopt = unknown
  // APPROVED | REJECTED | MANUAL_REVIEW | FAILED, or "" when not decided.
  std::string actual_decision;
  std::vector<std::string> actual_reason_codes;
};

// Why a row was left out of the comparison (BacktestReport::not_replayable).
inline constexpr std::string_view kNoDecision = "no_decision";            // still PENDING
inline constexpr std::string_view kProviderFailure = "provider_failure";  // FAILED, PROVIDER_*
inline constexpr std::string_view kNoRiskScore = "no_risk_score";         // score or PD missing
inline constexpr std::string_view kInputsNotRecorded = "inputs_not_recorded";
inline constexpr std::string_view kUnknownDecision = "unknown_decision";  // not a known status

// Changed requests listed in BacktestReport::changed_sample, at most.
inline constexpr size_t kChangedSampleLimit = 1000;

struct OutcomeCounts {
  int64_t approved = 0;
  int64_t manual_review = 0;
  int64_t rejected = 0;
};

// Shares of requests in 0..1 (all 0 for an empty group), or, as deltas, candidate
// minus actual in percentage points.
struct OutcomeRates {
  double approved = 0;
  double manual_review = 0;
  double rejected = 0;
};

// One rule's part in the changed decisions of a group.
struct RuleDriver {
  std::string rule_id;  // a rule id, or DEFAULT_<outcome> (no rule fired)
  // "added": the candidate fires it and the actual decision's reasons lack it;
  // "removed": the actual decision gave it and the candidate does not fire it.
  std::string change;
  std::string direction;  // "<actual>-><candidate>", e.g. "APPROVED->REJECTED"
  int64_t requests = 0;
};

// Replayed requests of one (request_date, channel, band), or of all of them (totals,
// whose request_date, channel and band are "").
struct BacktestGroup {
  std::string request_date;
  std::string channel;
  std::string band;  // the candidate's band for the risk score
  int64_t requests = 0;
  OutcomeCounts actual;
  OutcomeCounts candidate;
  OutcomeRates actual_rates;
  OutcomeRates candidate_rates;
  OutcomeRates delta_pp;
  int64_t changed = 0;  // requests whose outcome differs
  // Most requests first, then by rule id, change and direction.
  std::vector<RuleDriver> drivers;
};

// A request whose outcome the candidate changes.
struct ChangedRequest {
  int64_t request_id = 0;
  std::string request_date;
  std::string channel;
  std::string band;
  std::string actual_decision;
  std::vector<std::string> actual_reason_codes;
  std::string candidate_decision;
  std::vector<std::string> candidate_reason_codes;  // as Policy::Decide() gives them
};

struct BacktestReport {
  std::string candidate_version;
  int64_t rows = 0;      // rows given
  int64_t replayed = 0;  // rows compared (totals.requests)
  int64_t not_replayable = 0;
  std::map<std::string, int64_t> not_replayable_by_reason;  // kNoDecision, ... -> rows
  std::string first_date;  // earliest and latest request_date replayed; "" when none
  std::string last_date;
  BacktestGroup totals;
  std::vector<BacktestGroup> groups;  // sorted by request_date, channel, band
  // The first kChangedSampleLimit changed requests, in the order of the rows given;
  // totals.changed says how many there are in all.
  std::vector<ChangedRequest> changed_sample;
};

// Replays every row through `candidate` and compares with its actual decision.
// Rows without an actual decision, decided FAILED or with a PROVIDER_* reason (the
// stream never reached the policy), without a risk score or probability of default,
// or without a recorded first-time flag are not replayable: counted by reason and
// left out of every group. Never fails; an empty input gives an empty report.
BacktestReport RunBacktest(const decide::Policy& candidate, const std::vector<BacktestRow>& rows);

// Why `row` cannot be replayed (kNoDecision, kProviderFailure, kUnknownDecision,
// kNoRiskScore or kInputsNotRecorded, checked in that order), or nullopt when it can:
// the rule RunBacktest() applies, for callers that replay one request (lastro
// decision explain).
std::optional<std::string_view> WhyNotReplayable(const BacktestRow& row);

// What the policy engine sees for a replayable row (risk score, PD and first-time flag
// present). A view: it borrows the row's strings, which must outlive its use.
decide::PolicyInput PolicyInputOf(const BacktestRow& row);

// An aligned plain-text table for a terminal: a summary, the totals line, one line
// per group, then the rule drivers over all groups.
std::string FormatTable(const BacktestReport& report);

// One CSV line per group after a header line (RFC 4180 quoting); rates in 0..1,
// deltas in percentage points.
std::string FormatCsv(const BacktestReport& report);

// The whole report as a JSON document: summary, not-replayable counts, totals,
// groups (each with its drivers), overall drivers and the changed-request sample.
std::string FormatJson(const BacktestReport& report);

enum class ReportFormat { kTable, kCsv, kJson };

// "table", "csv" or "json". Errors: kInvalidArgument for anything else.
StatusOr<ReportFormat> ParseReportFormat(std::string_view name);

// Reads the replayable inputs of the requests whose request_date is in [from, to]
// (inclusive, "YYYY-MM-DD") from <lake_dir>/silver/credit_requests, ordered by
// request_date then request_id; only those days' partitions are read.
// Errors: kInvalidArgument for a malformed date or from > to, or a silver table
// DuckDB cannot read as documented (src/batch/README.md); kFailedPrecondition when
// the lake has no silver table yet (the daily batch has not run); others as
// lake::Engine (kResourceExhausted, kUnavailable).
StatusOr<std::vector<BacktestRow>> LoadBacktestRows(const std::string& lake_dir,
                                                    const std::string& from, const std::string& to,
                                                    const lake::EngineOptions& engine = {});

// What `lastro policy backtest` runs.
struct BacktestJobOptions {
  std::string rules_file;  // the candidate policy
  std::string lake_dir;
  lake::EngineOptions engine;
  std::string from;  // YYYY-MM-DD, inclusive
  std::string to;
  ReportFormat format = ReportFormat::kJson;
  std::string output;  // file to write (replaced whole); "" = stdout
};

// Loads the rules, reads the lake, replays and writes the report.
// Errors: as decide::Policy::LoadFile (kNotFound, kInvalidArgument) and
// LoadBacktestRows(); kUnavailable when the output cannot be written.
Status RunBacktestJob(const BacktestJobOptions& options);

}  // namespace lastro::batch
