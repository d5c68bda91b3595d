// FormatExplanationJson() and FormatExplanationText() (explain.h).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "governance/explain.h"

namespace lastro::governance {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
Json OrNull(const std::optional<T>& v) {
  return v ? Json(*v) : Json();
}

Json OrNull(const std::string& s) { return s.empty() ? Json() : Json(s); }

Json ValueJson(const lake::Value& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return *i;
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  return nullptr;
}

std::string ValueText(const lake::Value& v) {
  Json j = ValueJson(v);
  return j.is_null() ? "-" : j.is_string() ? j.get<std::string>() : j.dump();
}

Json RiskJson(const std::optional<RiskAnswer>& risk) {
  if (!risk) return nullptr;
  return {{"score", OrNull(risk->score)},
          {"band", OrNull(risk->band)},
          {"probability_of_default", OrNull(risk->probability_of_default)},
          {"provider_reason_codes", risk->provider_reason_codes},
          {"provider_ref", OrNull(risk->provider_ref)},
          {"provider_model_version", OrNull(risk->provider_model_version)},
          {"attempts", OrNull(risk->attempts)},
          {"latency_ms", OrNull(risk->latency_ms)}};
}

Json ReasonsJson(const std::vector<ReasonText>& reasons) {
  Json out = Json::array();
  for (const ReasonText& r : reasons) {
    out.push_back({{"code", r.code}, {"text", OrNull(r.text)}, {"language", OrNull(r.language)}});
  }
  return out;
}

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

template <typename T>
std::string Or(const std::optional<T>& v, const std::string& fallback) {
  return v ? fmt::format("{}", *v) : fallback;
}

std::string Codes(const std::vector<std::string>& codes) {
  return codes.empty() ? "-" : absl::StrJoin(codes, ", ");
}

}  // namespace

std::string FormatExplanationJson(const DecisionExplanation& e) {
  const ExplainedRequest& r = e.request;
  const RecordedDecision& d = e.decision;
  Json history = Json::array();
  for (const StatusChange& c : e.status_history) {
    history.push_back({{"id", c.id},
                       {"from_status", OrNull(c.from_status)},
                       {"to_status", c.to_status},
                       {"changed_at", c.changed_at},
                       {"changed_by", OrNull(c.changed_by)},
                       {"reason", OrNull(c.reason)}});
  }
  Json values = Json::object();
  for (const auto& [name, value] : e.features.values) values[name] = ValueJson(value);
  const Replay& p = e.replay;
  Json out = {{"request_id", e.request_id},
              {"customer", {{"customer_id", r.customer_id}, {"customer_token", r.customer_token}}},
              {"request",
               {{"amount_cents", r.amount_cents},
                {"term_months", r.term_months},
                {"purpose", r.purpose},
                {"channel", r.channel},
                {"declared_income_cents", OrNull(r.declared_income_cents)},
                {"created_at", r.created_at},
                {"request_date", r.request_date},
                {"status", r.status},
                {"version", r.version},
                {"updated_at", OrNull(r.updated_at)}}},
              {"risk_api", RiskJson(d.risk)},
              {"decision",
               {{"decided", d.decided},
                {"decision", OrNull(d.decision)},
                {"decided_at", OrNull(d.decided_at)},
                {"reason_codes", d.reason_codes},
                {"reasons", ReasonsJson(d.reasons)},
                {"policy_version", OrNull(d.policy_version)},
                {"first_time_customer", OrNull(d.first_time_customer)}}},
              {"bureau",
               {{"status", OrNull(e.bureau.status)},
                {"score", OrNull(e.bureau.score)},
                {"as_of", OrNull(e.bureau.as_of)},
                {"fetched_at", OrNull(e.bureau.fetched_at)},
                {"fetched_by_run", OrNull(e.bureau.fetched_by_run)},
                {"model_version", OrNull(e.bureau.model)},
                {"used_by_decision", false}}},
              {"features",
               {{"available", e.features.available},
                {"catalog_version", OrNull(e.features.catalog_version)},
                {"feature_date", OrNull(e.features.feature_date)},
                {"age_days", OrNull(e.features.age_days)},
                {"values", values},
                {"used_by_decision", false},
                {"note", OrNull(e.features.note)}}},
              {"status_history", history},
              {"replay",
               {{"policy_file", p.policy_file},
                {"policy_version", OrNull(p.policy_version)},
                {"recorded_policy_version", OrNull(d.policy_version)},
                {"same_version", p.same_version},
                {"replayed", p.error.empty() && p.not_replayable.empty()},
                {"not_replayable", OrNull(p.not_replayable)},
                {"decision", OrNull(p.decision)},
                {"band", OrNull(p.band)},
                {"reason_codes", p.reason_codes},
                {"decision_matches", p.decision_matches},
                {"reason_codes_match", p.reason_codes_matches},
                {"band_matches", p.band_matches},
                {"error", OrNull(p.error)},
                {"note", p.note}}},
              {"summary", {{"language", "pt-BR"}, {"text", e.summary_pt_br}}},
              {"sources", e.sources}};
  return out.dump(2) + "\n";
}

std::string FormatExplanationText(const DecisionExplanation& e) {
  const ExplainedRequest& r = e.request;
  const RecordedDecision& d = e.decision;
  std::string out = fmt::format("Credit request {}: explanation of the decision (LGPD Art. 20)\n\n",
                                e.request_id);
  out += e.summary_pt_br + "\n";
  auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<18} {}\n", label, value);
  };

  out += "\nRequest (as submitted)\n";
  line("customer", fmt::format("id {}, token {}", r.customer_id, r.customer_token));
  line("amount", fmt::format("{} cents", r.amount_cents));
  line("term", fmt::format("{} months", r.term_months));
  line("purpose, channel", fmt::format("{}, {}", r.purpose, r.channel));
  line("declared income", r.declared_income_cents
                              ? fmt::format("{} cents/month", *r.declared_income_cents)
                              : "not declared");
  line("created at", fmt::format("{} (business day {})", r.created_at, r.request_date));
  line("status now",
       fmt::format("{} (version {}, updated {})", r.status, r.version, Or(r.updated_at, "-")));

  out += "\nRisk provider's answer (as recorded)\n";
  if (!d.risk) {
    out += "  none: the request is undecided\n";
  } else {
    const RiskAnswer& k = *d.risk;
    line("score, band", fmt::format("{}, {}", Or(k.score, "-"), Or(k.band, "-")));
    line("prob. of default", Or(k.probability_of_default, "-"));
    line("provider reasons", Codes(k.provider_reason_codes));
    line("provider ref",
         fmt::format("{} (model {})", Or(k.provider_ref, "-"), Or(k.provider_model_version, "-")));
    line("attempts, latency", fmt::format("{}, {} ms", Or(k.attempts, "-"), Or(k.latency_ms, "-")));
  }

  out += "\nDecision\n";
  if (!d.decided) {
    out += "  undecided: no decision is recorded (PENDING)\n";
  } else {
    line("decision", fmt::format("{} at {}", d.decision, Or(d.decided_at, "-")));
    line("policy version", d.policy_version);
    line("first-time",
         d.first_time_customer ? (*d.first_time_customer ? "yes" : "no") : "not recorded");
    line("reason codes", Codes(d.reason_codes));
    for (const ReasonText& reason : d.reasons) {
      out += fmt::format("    {}: {}{}\n", reason.code, Or(reason.text, "(no description)"),
                         reason.language == "en" ? " (en)" : "");
    }
  }

  out += "\nCredit bureau (fetched by the nightly batch; the real-time decision did not see it)\n";
  line("status, score", fmt::format("{}, {}", Or(e.bureau.status, "-"), Or(e.bureau.score, "-")));
  line("as of", Or(e.bureau.as_of, "-"));
  if (!e.bureau.fetched_at.empty()) {
    line("fetched",
         fmt::format("{} by batch run {}", e.bureau.fetched_at, e.bureau.fetched_by_run));
    line("bureau model", Or(e.bureau.model, "(not recorded)"));
  }

  out += "\nFeatures as of the decision (context: the credit policy does not read them)\n";
  if (!e.features.catalog_version.empty()) line("catalog", e.features.catalog_version);
  if (!e.features.feature_date.empty()) {
    line("feature day", fmt::format("{} ({} days before the request's day)",
                                    e.features.feature_date, Or(e.features.age_days, "?")));
    for (const auto& [name, value] : e.features.values) line(name, ValueText(value));
  }
  if (!e.features.note.empty()) out += "  " + e.features.note + "\n";

  out += "\nStatus history\n";
  if (e.status_history.empty()) out += "  no recorded transition\n";
  for (const StatusChange& c : e.status_history) {
    out += fmt::format("  {}  {} -> {}  by {}{}\n", c.changed_at, Or(c.from_status, "(new)"),
                       c.to_status, Or(c.changed_by, "-"),
                       c.reason.empty() ? "" : fmt::format(" ({})", c.reason));
  }

  out += fmt::format("\nReplay through {}\n  {}\n", e.replay.policy_file, e.replay.note);
  if (!e.replay.error.empty()) out += "  " + e.replay.error + "\n";

  out += "\nRead from:";
  for (const auto& [table, version] : e.sources) out += fmt::format(" {}@{}", table, version);
  return out + "\n";
}

}  // namespace lastro::governance
