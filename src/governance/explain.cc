#include "governance/explain.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "governance/reason_texts.h"
#include "mart/catalog_store.h"
#include "mart/features_export.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using lake::SqlString;

constexpr char kRequestsTable[] = "silver/credit_requests";
constexpr char kHistoryTable[] = "silver/credit_request_status_history";
constexpr char kBureauTable[] = "bronze/bureau_scores";
constexpr char kQuarantineTable[] = "quarantine/credit_requests";

// A UTC TIMESTAMP as RFC 3339, with microseconds only when the instant has them.
constexpr char kIsoMacro[] =
    "CREATE OR REPLACE MACRO iso_utc(ts) AS strftime(ts, '%Y-%m-%dT%H:%M:%S') || "
    "CASE WHEN microsecond(ts) % 1000000 = 0 THEN '' "
    "ELSE '.' || lpad(CAST(microsecond(ts) % 1000000 AS VARCHAR), 6, '0') END || 'Z'";

// A published lake table resolved to its current version folder once, so every read
// of one call sees the same version (docs/lake.md, "Atomic publication and readers").
struct PinnedTable {
  fs::path dir;
  std::string version;
};

std::optional<PinnedTable> Pin(const std::string& lake_dir, const std::string& table) {
  std::error_code ec;
  fs::path dir = fs::canonical(fs::path(lake_dir) / table, ec);
  if (ec || !fs::is_directory(dir, ec)) return std::nullopt;
  return PinnedTable{dir, dir.filename().string()};
}

bool HasParquet(const fs::path& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".parquet") return true;
  }
  return false;
}

std::string ReadParquet(const std::string& glob) {
  return absl::StrCat("read_parquet(", SqlString(glob),
                      ", hive_partitioning = true, union_by_name = true)");
}

// Named access to the rows of the results below; a column the query did not select
// reads as NULL.
class Row {
 public:
  Row(const lake::QueryResult& q, size_t row) : q_(q), row_(row) {}
  std::optional<int64_t> Int(std::string_view name) const {
    return Has(name) ? q_.Int(row_, Col(name)) : std::nullopt;
  }
  std::optional<double> Double(std::string_view name) const {
    return Has(name) ? q_.Double(row_, Col(name)) : std::nullopt;
  }
  std::string Text(std::string_view name) const { return MaybeText(name).value_or(""); }
  std::optional<std::string> MaybeText(std::string_view name) const {
    return Has(name) ? q_.Text(row_, Col(name)) : std::nullopt;
  }
  std::optional<bool> Bool(std::string_view name) const {
    if (!Has(name)) return std::nullopt;
    if (const bool* b = std::get_if<bool>(&q_.at(row_, Col(name)))) return *b;
    return std::nullopt;
  }
  // A VARCHAR[] column selected as to_json(...)::VARCHAR; NULL gives an empty list.
  std::vector<std::string> List(std::string_view name) const {
    std::vector<std::string> out;
    std::optional<std::string> text = MaybeText(name);
    if (!text) return out;
    nlohmann::json list = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!list.is_array()) return out;
    for (const auto& item : list) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
  }

 private:
  size_t Col(std::string_view name) const { return static_cast<size_t>(q_.ColumnIndex(name)); }
  bool Has(std::string_view name) const { return q_.ColumnIndex(name) >= 0; }

  const lake::QueryResult& q_;
  size_t row_;
};

std::optional<int32_t> Int32(const std::optional<int64_t>& v) {
  if (!v) return std::nullopt;
  return static_cast<int32_t>(*v);
}

Status ReadError(const Status& s, const std::string& what) {
  return Status(s.code(), absl::StrCat("reading ", what, ": ", s.message()));
}

// The latest version of the request in silver (the highest (version, updated_at), as
// the batch's merge keeps it), as the explanation's request and decision parts and the
// backtest's row. nullopt when silver does not hold it.
struct SilverRequest {
  DecisionExplanation parts;  // request_id, request, decision, bureau (without bronze)
  batch::BacktestRow row;
};

StatusOr<std::optional<SilverRequest>> ReadRequest(lake::Engine& engine, const PinnedTable& table,
                                                   int64_t request_id) {
  const std::string sql = absl::StrCat(
      "SELECT request_id, customer_id, customer_token, amount_cents, term_months, purpose, "
      "channel, declared_income_cents, status, version, iso_utc(created_at) AS created_at, "
      "iso_utc(updated_at) AS updated_at, iso_utc(decided_at) AS decided_at, decision, "
      "risk_score, risk_band, probability_of_default, "
      "to_json(reason_codes)::VARCHAR AS reason_codes, "
      "to_json(provider_reason_codes)::VARCHAR AS provider_reason_codes, first_time_customer, "
      "provider_ref, provider_model_version, policy_version, attempts, provider_latency_ms, "
      "bureau_score, bureau_status, CAST(bureau_as_of AS VARCHAR) AS bureau_as_of, "
      "CAST(CAST(request_date AS DATE) AS VARCHAR) AS request_date FROM (SELECT * FROM ",
      ReadParquet((table.dir / "*" / "*.parquet").string()), " WHERE request_id = ", request_id,
      " ORDER BY version DESC NULLS LAST, updated_at DESC NULLS LAST LIMIT 1)");
  StatusOr<lake::QueryResult> q = engine.Query(sql);
  if (!q.ok()) return ReadError(q.status(), kRequestsTable);
  if (q->rows() == 0) return std::optional<SilverRequest>();
  const Row r(*q, 0);

  SilverRequest out;
  DecisionExplanation& e = out.parts;
  e.request_id = request_id;
  ExplainedRequest& req = e.request;
  req.customer_id = r.Int("customer_id").value_or(0);
  req.customer_token = r.Text("customer_token");
  req.amount_cents = r.Int("amount_cents").value_or(0);
  req.term_months = Int32(r.Int("term_months")).value_or(0);
  req.purpose = r.Text("purpose");
  req.channel = r.Text("channel");
  req.declared_income_cents = r.Int("declared_income_cents");
  req.created_at = r.Text("created_at");
  req.request_date = r.Text("request_date");
  req.status = r.Text("status");
  req.version = Int32(r.Int("version")).value_or(0);
  req.updated_at = r.Text("updated_at");

  RecordedDecision& d = e.decision;
  d.decision = r.Text("decision");
  d.decided = !d.decision.empty();
  if (d.decided) {
    d.decided_at = r.Text("decided_at");
    d.reason_codes = r.List("reason_codes");
    d.policy_version = r.Text("policy_version");
    d.first_time_customer = r.Bool("first_time_customer");
    RiskAnswer risk;
    risk.score = Int32(r.Int("risk_score"));
    risk.band = r.Text("risk_band");
    risk.probability_of_default = r.Double("probability_of_default");
    risk.provider_reason_codes = r.List("provider_reason_codes");
    risk.provider_ref = r.Text("provider_ref");
    risk.provider_model_version = r.Text("provider_model_version");
    risk.attempts = Int32(r.Int("attempts"));
    risk.latency_ms = r.Double("provider_latency_ms");
    d.risk = std::move(risk);
  }

  e.bureau.status = r.Text("bureau_status");
  e.bureau.score = Int32(r.Int("bureau_score"));
  e.bureau.as_of = r.Text("bureau_as_of");

  batch::BacktestRow& row = out.row;
  row.request_id = request_id;
  row.request_date = req.request_date;
  row.channel = req.channel;
  row.purpose = req.purpose;
  row.amount_cents = req.amount_cents;
  row.term_months = req.term_months;
  row.declared_income_cents = req.declared_income_cents;
  row.risk_score = Int32(r.Int("risk_score"));
  row.probability_of_default = r.Double("probability_of_default");
  row.provider_reason_codes = r.List("provider_reason_codes");
  row.first_time_customer = r.Bool("first_time_customer");
  row.bureau_score = e.bureau.score;
  row.actual_decision = d.decision;
  row.actual_reason_codes = d.reason_codes;
  return std::optional<SilverRequest>(std::move(out));
}

// Why a request silver does not hold may be in the quarantine: the latest error row
// of the request ("rule <id> (<reason>), batch of <date>"), or "" when none.
StatusOr<std::string> QuarantineReason(lake::Engine& engine, const std::string& lake_dir,
                                       int64_t request_id) {
  std::optional<PinnedTable> table = Pin(lake_dir, kQuarantineTable);
  if (!table || !HasParquet(table->dir)) return std::string();
  StatusOr<lake::QueryResult> q = engine.Query(
      absl::StrCat("SELECT rule_id, reason, CAST(batch_date AS VARCHAR) AS batch_date FROM ",
                   ReadParquet((table->dir / "*" / "*.parquet").string()),
                   " WHERE table_name = 'credit_requests' AND severity = 'error' AND record_key = ",
                   SqlString(absl::StrCat(request_id)), " ORDER BY quarantined_at DESC LIMIT 1"));
  if (!q.ok()) return ReadError(q.status(), kQuarantineTable);
  if (q->rows() == 0) return std::string();
  const Row r(*q, 0);
  return absl::StrCat("rule ", r.Text("rule_id"), " (", r.Text("reason"), "), batch of ",
                      r.Text("batch_date"));
}

// The request's rows of the silver status history: its partition only (a history row
// lives in its request's request_date partition).
StatusOr<std::vector<StatusChange>> ReadHistory(lake::Engine& engine, const PinnedTable& table,
                                                int64_t request_id,
                                                const std::string& request_date) {
  std::vector<StatusChange> out;
  const fs::path day = table.dir / absl::StrCat("request_date=", request_date);
  if (!HasParquet(day)) return out;
  StatusOr<lake::QueryResult> q = engine.Query(absl::StrCat(
      "SELECT id, from_status, to_status, iso_utc(changed_at) AS changed_at_utc, changed_by, "
      "reason FROM ",
      ReadParquet((day / "*.parquet").string()), " WHERE request_id = ", request_id,
      " ORDER BY changed_at, id"));
  if (!q.ok()) return ReadError(q.status(), kHistoryTable);
  for (size_t i = 0; i < q->rows(); ++i) {
    const Row r(*q, i);
    out.push_back({r.Int("id").value_or(0), r.Text("from_status"), r.Text("to_status"),
                   r.Text("changed_at_utc"), r.Text("changed_by"), r.Text("reason")});
  }
  return out;
}

// When and by which run the batch fetched the bureau's answer: bronze/bureau_scores
// keeps the definitive answers (FOUND, NOT_FOUND) per customer token and score date;
// the latest fetch that gave the answer silver holds is the one it came from.
Status ReadBureauProvenance(lake::Engine& engine, const PinnedTable& table,
                            const std::string& customer_token, BureauAnswer& bureau) {
  if (bureau.status != "FOUND" && bureau.status != "NOT_FOUND") return absl::OkStatus();
  const fs::path day = table.dir / absl::StrCat("score_date=", bureau.as_of);
  if (customer_token.empty() || bureau.as_of.empty() || !HasParquet(day)) return absl::OkStatus();
  StatusOr<lake::QueryResult> q = engine.Query(
      // SELECT *: files written before `model` was recorded lack the column (NULL).
      absl::StrCat("SELECT * REPLACE (iso_utc(fetched_at) AS fetched_at) FROM (SELECT * FROM ",
                   ReadParquet((day / "*.parquet").string()),
                   " WHERE customer_token = ", SqlString(customer_token),
                   " AND status = ", SqlString(bureau.status), " AND score IS NOT DISTINCT FROM ",
                   bureau.score ? absl::StrCat(*bureau.score) : std::string("NULL"),
                   " ORDER BY fetched_at DESC LIMIT 1)"));
  if (!q.ok()) return ReadError(q.status(), kBureauTable);
  if (q->rows() == 1) {
    const Row r(*q, 0);
    bureau.fetched_at = r.Text("fetched_at");
    bureau.fetched_by_run = r.Text("run_id");
    bureau.model = r.Text("model");
  }
  return absl::OkStatus();
}

// The training set's row of the request (sql/features/training_set.sql, the one
// definition of "features as of a request"), read from the published catalog.
StatusOr<FeaturesAsOf> ReadFeatures(const Config& config, int64_t request_id,
                                    const std::string& request_date) {
  FeaturesAsOf out;
  mart::CatalogStore store(config.lake.dir);
  std::error_code ec;
  const fs::path db = fs::canonical(store.DatabasePath(), ec);
  if (ec) {
    out.note = "no published catalog (run lastro refresh)";
    return out;
  }
  out.catalog_version = db.parent_path().filename().string();
  LASTRO_ASSIGN_OR_RETURN(std::string training, mart::TrainingSetSql(request_date, request_date));
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                                           .threads = config.lake.threads,
                                                           .database = db,
                                                           .read_only = true,
                                                           .external_access = false}));
  StatusOr<lake::QueryResult> q = engine->Query(
      absl::StrCat("SELECT * REPLACE (CAST(f_feature_date AS VARCHAR) AS f_feature_date) FROM (",
                   training, "\n) WHERE request_id = ", request_id));
  if (!q.ok()) return ReadError(q.status(), "the catalog's features");
  if (q->rows() == 0) {
    out.note = absl::StrCat("the published catalog (", out.catalog_version,
                            ") does not hold this request yet (run lastro refresh)");
    return out;
  }
  out.available = true;
  const Row r(*q, 0);
  out.feature_date = r.Text("f_feature_date");
  out.age_days = r.Int("feature_age_days");
  if (out.feature_date.empty()) {
    out.note = "the customer has no feature day before the request's day";
    return out;
  }
  for (size_t c = 0; c < q->columns().size(); ++c) {
    const std::string& name = q->columns()[c];
    if (name.rfind("f_", 0) != 0 || name == "f_feature_date") continue;
    out.values.emplace_back(name.substr(2), q->at(0, c));
  }
  return out;
}

std::vector<ReasonText> Texts(const std::vector<std::string>& codes, const ReasonTexts& pt_br,
                              const decide::Policy* policy) {
  std::vector<ReasonText> out;
  for (const std::string& code : codes) {
    ReasonText t{code, "", ""};
    if (auto it = pt_br.reason.find(code); it != pt_br.reason.end()) {
      t.text = it->second;
      t.language = "pt-BR";
    } else if (policy != nullptr) {
      for (const decide::RuleInfo& rule : policy->rules()) {
        if (rule.id == code && !rule.description.empty()) {
          t.text = rule.description;
          t.language = "en";
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string OutcomeText(const std::string& outcome, const ReasonTexts& pt_br) {
  auto it = pt_br.outcome.find(outcome);
  return it == pt_br.outcome.end() ? outcome : it->second;
}

std::string SummaryPtBr(const DecisionExplanation& e, const ReasonTexts& pt_br) {
  if (!e.decision.decided) {
    return absl::StrCat("Decisão do pedido de crédito ", e.request_id, ": ",
                        OutcomeText("PENDING", pt_br), ".");
  }
  std::string out = absl::StrCat(
      "Decisão do pedido de crédito ", e.request_id, ": ", OutcomeText(e.decision.decision, pt_br),
      " (política de crédito, versão ", e.decision.policy_version, "). Motivos:");
  for (const ReasonText& r : e.decision.reasons) {
    absl::StrAppend(&out, "\n- ", r.text.empty() ? r.code : r.text);
  }
  if (e.request.status != e.decision.decision) {
    absl::StrAppend(&out, "\nSituação atual do pedido: ", OutcomeText(e.request.status, pt_br),
                    ".");
  }
  return out;
}

std::string Joined(const std::vector<std::string>& codes) {
  return codes.empty() ? "no reason codes" : absl::StrJoin(codes, ", ");
}

std::string ReplayNote(const Replay& r, const batch::BacktestRow& row,
                       const std::string& recorded_policy_version) {
  if (r.not_replayable == batch::kNoDecision) {
    return "The request is undecided (PENDING): there is no decision to replay.";
  }
  if (r.not_replayable == batch::kProviderFailure) {
    return "The risk provider failed, so the policy never ran: there is nothing to replay.";
  }
  if (r.not_replayable == batch::kNoRiskScore) {
    return "The decision has no recorded risk score or probability of default: it cannot be "
           "replayed.";
  }
  if (r.not_replayable == batch::kInputsNotRecorded) {
    return "The decision predates the recording of its inputs (the first-time flag): it cannot "
           "be replayed exactly.";
  }
  if (!r.not_replayable.empty()) {
    return absl::StrCat("The recorded decision '", row.actual_decision,
                        "' is not an outcome the policy gives: it cannot be replayed.");
  }
  std::string out;
  if (r.decision_matches && r.reason_codes_matches) {
    out = absl::StrCat("The configured policy (version ", r.policy_version,
                       ") reproduces the recorded decision ", r.decision, " and its reason codes.");
  } else {
    out = absl::StrCat("The configured policy (version ", r.policy_version, ") gives ", r.decision,
                       " (", Joined(r.reason_codes), ") where the recorded decision is ",
                       row.actual_decision, " (", Joined(row.actual_reason_codes), ").");
  }
  if (!r.same_version) {
    absl::StrAppend(&out, " The replay uses another policy version than the decision (",
                    r.policy_version, " now, ", recorded_policy_version,
                    " recorded): a difference can come from the policy change, not the inputs.");
  }
  return out;
}

}  // namespace

Replay ReplayDecision(const decide::Policy& policy, const batch::BacktestRow& row,
                      const std::string& recorded_policy_version,
                      const std::string& recorded_band) {
  Replay out;
  out.policy_version = policy.version();
  out.same_version = policy.version() == recorded_policy_version;
  if (std::optional<std::string_view> why = batch::WhyNotReplayable(row)) {
    out.not_replayable = std::string(*why);
    out.note = ReplayNote(out, row, recorded_policy_version);
    return out;
  }
  batch::BacktestRow as_decided = row;
  as_decided.bureau_score.reset();  // the stream decides without one
  const decide::PolicyDecision replayed = policy.Decide(batch::PolicyInputOf(as_decided));
  out.decision = std::string(decide::OutcomeName(replayed.outcome));
  out.band = replayed.band;
  out.reason_codes = replayed.reason_codes;
  out.decision_matches = out.decision == row.actual_decision;
  out.reason_codes_matches = out.reason_codes == row.actual_reason_codes;
  out.band_matches = out.band == recorded_band;
  out.note = ReplayNote(out, row, recorded_policy_version);
  return out;
}

StatusOr<DecisionExplanation> ExplainDecision(const Config& config, int64_t request_id) {
  if (request_id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--request ", request_id, " is not a credit request id (a positive integer)"));
  }
  StatusOr<ReasonTexts> pt_br =
      ParseReasonTexts(EmbeddedReasonTextsToml(), "reason_codes.pt-BR.toml");
  if (!pt_br.ok()) {
    return absl::InternalError(absl::StrCat(
        "the embedded reason texts do not parse (a build defect): ", pt_br.status().message()));
  }
  const std::string not_found =
      absl::StrCat("credit request ", request_id, " not found in the lake at ", config.lake.dir,
                   " (run lastro batch run for its day)");
  std::optional<PinnedTable> requests = Pin(config.lake.dir, kRequestsTable);
  if (!requests || !HasParquet(requests->dir)) {
    return absl::NotFoundError(
        absl::StrCat(not_found, ": the lake has no ", kRequestsTable, " yet"));
  }
  LASTRO_ASSIGN_OR_RETURN(auto engine, lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                                           .threads = config.lake.threads}));
  LASTRO_RETURN_IF_ERROR(engine->Execute(kIsoMacro));
  LASTRO_ASSIGN_OR_RETURN(std::optional<SilverRequest> found,
                          ReadRequest(*engine, *requests, request_id));
  if (!found) {
    LASTRO_ASSIGN_OR_RETURN(std::string quarantined,
                            QuarantineReason(*engine, config.lake.dir, request_id));
    if (quarantined.empty()) return absl::NotFoundError(not_found);
    return absl::NotFoundError(
        absl::StrCat("credit request ", request_id, " is not in the lake's silver table: it is in ",
                     kQuarantineTable, " by ", quarantined,
                     "; fix it at the source and run lastro batch run for its day"));
  }
  DecisionExplanation e = std::move(found->parts);
  e.sources[kRequestsTable] = requests->version;

  if (std::optional<PinnedTable> history = Pin(config.lake.dir, kHistoryTable)) {
    LASTRO_ASSIGN_OR_RETURN(e.status_history,
                            ReadHistory(*engine, *history, request_id, e.request.request_date));
    e.sources[kHistoryTable] = history->version;
  }
  if (std::optional<PinnedTable> bureau = Pin(config.lake.dir, kBureauTable)) {
    LASTRO_RETURN_IF_ERROR(
        ReadBureauProvenance(*engine, *bureau, e.request.customer_token, e.bureau));
    e.sources[kBureauTable] = bureau->version;
  }
  engine.reset();
  LASTRO_ASSIGN_OR_RETURN(e.features, ReadFeatures(config, request_id, e.request.request_date));
  if (!e.features.catalog_version.empty()) e.sources["catalog"] = e.features.catalog_version;

  // The policy configured now; one that does not load leaves the rest of the answer.
  StatusOr<decide::Policy> policy = decide::Policy::LoadFile(config.stream.policy_file);
  if (policy.ok()) {
    e.replay = ReplayDecision(*policy, found->row, e.decision.policy_version,
                              e.decision.risk ? e.decision.risk->band : "");
  } else {
    e.replay.error = std::string(policy.status().message());
    e.replay.note = "The configured policy file could not be loaded: nothing was replayed.";
  }
  e.replay.policy_file = config.stream.policy_file;
  e.decision.reasons = Texts(e.decision.reason_codes, *pt_br, policy.ok() ? &*policy : nullptr);
  e.summary_pt_br = SummaryPtBr(e, *pt_br);
  return e;
}

ExplainAuditEntry AuditEntryFor(int64_t request_id, const StatusOr<DecisionExplanation>& result) {
  ExplainAuditEntry entry;
  entry.subject = absl::StrCat(request_id);
  if (result.ok()) {
    entry.outcome = "ok";
    entry.customer_id = result->request.customer_id;
  } else if (absl::IsNotFound(result.status())) {
    entry.outcome = "not_found";
  } else if (absl::IsInvalidArgument(result.status())) {
    entry.outcome = "invalid_argument";
  } else {
    entry.outcome = "error";
  }
  return entry;
}

}  // namespace lastro::governance
