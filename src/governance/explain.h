// `lastro decision explain`: everything an LGPD Art. 20 review of one credit decision
// needs, read from the lake (docs/governance.md, "Explaining a credit decision").
//
// For one request: the request as submitted, the risk provider's answer as recorded,
// the decision with its reason codes (and their pt-BR texts) and policy version, the
// bureau's score with its date, the customer's features as of the decision (the
// training set's point-in-time rule: the last feature day strictly before the
// request's day), the status history, and a replay of the recorded inputs through the
// policy file configured now (the backtest's replay, batch/backtest.h).
//
// Personal data: the customer appears as customer_id and customer_token only. Silver
// holds no CPF, name, e-mail or phone, and the customer's other attributes (state,
// birth year, acquisition channel) are left out: the decision did not use them.
//
// Reads only published data: the lake's silver and bronze tables, each pinned to the
// version current when the call starts, and the published gold catalog (read-only,
// external access off). Writes nothing. Thread safety: each call opens its own DuckDB
// engines; calls may run concurrently with each other, with batch runs and refreshes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch/backtest.h"
#include "common/config.h"
#include "common/status.h"
#include "decide/policy.h"
#include "lake/engine.h"

namespace lastro::governance {

// Instants are UTC, RFC 3339 ("2026-11-05T13:00:00Z", microseconds when not whole);
// days are "YYYY-MM-DD" business days (America/Sao_Paulo, batch.timezone).
struct ExplainedRequest {
  int64_t customer_id = 0;
  std::string customer_token;  // keyed HMAC of the CPF (the lake's pseudonym)
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::string purpose;
  std::string channel;
  std::optional<int64_t> declared_income_cents;  // nullopt: not declared
  std::string created_at;
  std::string request_date;  // the business day of created_at (the lake partition)
  std::string status;        // now: PENDING, APPROVED, REJECTED, MANUAL_REVIEW, FAILED
  int32_t version = 0;       // the row version the lake holds (the latest extracted)
  std::string updated_at;
};

// The risk provider's answer as the stream recorded it on the decision.
struct RiskAnswer {
  std::optional<int32_t> score;  // 0..1000; nullopt when the provider failed
  std::string band;              // the policy's band for the score
  std::optional<double> probability_of_default;
  std::vector<std::string> provider_reason_codes;
  std::string provider_ref;
  std::string provider_model_version;
  std::optional<int32_t> attempts;
  std::optional<double> latency_ms;
};

struct ReasonText {
  std::string code;
  std::string text;      // "" when no text is known
  std::string language;  // "pt-BR", "en" (the policy file's description) or ""
};

struct RecordedDecision {
  bool decided = false;  // false: no credit_decisions row (the request is PENDING)
  std::string decision;  // APPROVED | REJECTED | MANUAL_REVIEW | FAILED; "" when undecided
  std::string decided_at;
  std::vector<std::string> reason_codes;  // the policy's rule ids, in file order
  std::vector<ReasonText> reasons;        // the same codes with their texts
  std::string policy_version;
  std::optional<bool> first_time_customer;  // as the stream's pre-call lookup found it
  std::optional<RiskAnswer> risk;           // nullopt when undecided
};

// The credit bureau's answer the nightly batch attached to the request (the
// real-time decision never had it: docs/policy.md).
struct BureauAnswer {
  std::string status;  // FOUND | NOT_FOUND | INCONSISTENT | UNAVAILABLE | NOT_REQUESTED | SKIPPED
  std::optional<int32_t> score;  // only when FOUND
  std::string as_of;             // the day the score is for ("" when none)
  // From bronze/bureau_scores, for definitive answers (FOUND, NOT_FOUND): when the
  // batch fetched it, which run, and the scoring model the bureau's answer named ("" for
  // answers fetched before the model was recorded, or when the bureau named none).
  std::string fetched_at;
  std::string fetched_by_run;
  std::string model;
};

// The customer's features as of the decision: the published catalog's
// customer_features_daily row of the last day strictly before the request's day,
// exactly as the training set (sql/features/training_set.sql) joins it.
struct FeaturesAsOf {
  bool available = false;  // false: no catalog, or it does not hold the request yet
  std::string catalog_version;
  std::string feature_date;  // "" when the customer has no earlier feature day
  std::optional<int64_t> age_days;
  std::vector<std::pair<std::string, lake::Value>> values;  // f_* without the prefix
  std::string note;                                         // why nothing is shown, when nothing is
};

struct StatusChange {
  int64_t id = 0;
  std::string from_status;  // "" for NULL (the request's creation)
  std::string to_status;
  std::string changed_at;
  std::string changed_by;
  std::string reason;
};

// The recorded inputs replayed through the policy file configured now.
struct Replay {
  std::string policy_file;
  std::string policy_version;  // "" when the file could not be loaded
  std::string error;           // why the file could not be loaded
  bool same_version = false;   // policy_version == the recorded one
  std::string not_replayable;  // batch::kNoDecision, ... or "" when replayed
  std::string decision;        // the replay's outcome ("" when not replayed)
  std::string band;
  std::vector<std::string> reason_codes;
  bool decision_matches = false;
  bool reason_codes_matches = false;
  bool band_matches = false;
  std::string note;  // the verdict in one English sentence or two
};

struct DecisionExplanation {
  int64_t request_id = 0;
  ExplainedRequest request;
  RecordedDecision decision;
  BureauAnswer bureau;
  FeaturesAsOf features;
  std::vector<StatusChange> status_history;  // by changed_at, then id
  Replay replay;
  std::string summary_pt_br;  // the decision and its reasons in plain Portuguese
  // Where each part was read: "silver/credit_requests" -> its version id, ...
  std::map<std::string, std::string> sources;
};

// Explains request `request_id` from the lake at config.lake.dir and the policy at
// config.stream.policy_file. A policy file that does not load does not fail the
// call: Replay::error says why.
// Errors: kInvalidArgument for an id <= 0; kNotFound "credit request N not found in
// the lake ... (run lastro batch run for its day)" when silver does not hold it (or
// the lake has no silver table), naming the quality rule when the request is in the
// quarantine instead; kInternal when the embedded pt-BR texts do not parse
// (a build defect); the engine's errors otherwise (kUnavailable, kResourceExhausted).
StatusOr<DecisionExplanation> ExplainDecision(const Config& config, int64_t request_id);

// Replays `row` (a request as silver holds it) through `policy`, as the backtest
// does, and compares with the recorded decision, reason codes (row.actual_*), band
// and policy version. The replay gives the policy no bureau score whatever `row`
// holds: the real-time decision never had one. Rows the backtest cannot replay
// (batch::WhyNotReplayable) set Replay::not_replayable and nothing else. Pure.
Replay ReplayDecision(const decide::Policy& policy, const batch::BacktestRow& row,
                      const std::string& recorded_policy_version, const std::string& recorded_band);

// The explanation as one JSON document (keys in docs/governance.md), and as text for
// a terminal (English labels, the pt-BR summary and reasons). Pure.
std::string FormatExplanationJson(const DecisionExplanation& explanation);
std::string FormatExplanationText(const DecisionExplanation& explanation);

// What the audit log must record about one `lastro decision explain` (issue 6: the
// audit log is lastro_audit's). Who asked is the caller's to add.
struct ExplainAuditEntry {
  std::string action = "decision.explain";
  std::string subject;                 // the request id
  std::optional<int64_t> customer_id;  // whose data was shown, when found
  std::string outcome;                 // "ok", "not_found", "invalid_argument" or "error"
};
ExplainAuditEntry AuditEntryFor(int64_t request_id, const StatusOr<DecisionExplanation>& result);

}  // namespace lastro::governance
