#include "decide/decider.h"

#include "common/pii.h"

namespace lastro::decide {

risk::ScoreRequest MakeScoreRequest(const CapturedRequest& request, const RequestContext& context) {
  risk::ScoreRequest sr;
  sr.request_id = request.id;
  sr.cpf = context.cpf;
  sr.amount_cents = request.amount_cents;
  sr.term_months = request.term_months;
  sr.purpose = request.purpose;
  sr.channel = request.channel;
  sr.declared_income_cents = request.declared_income_cents.value_or(0);
  return sr;
}

Decision MakeDecision(const CapturedRequest& request, const RequestContext& context,
                      const risk::ScoreResult& result, const Policy& policy,
                      const std::string& on_provider_failure) {
  Decision d;
  d.request_id = request.id;
  d.policy_version = policy.version();
  d.attempts = result.attempts;
  d.provider_latency_ms = result.latency_ms;
  d.source_lsn = request.commit_lsn;
  d.channel = request.channel;
  d.amount_cents = request.amount_cents;
  d.created_at_us = request.created_at_us;
  d.commit_time_us = request.commit_time_us;
  d.cpf_masked = pii::MaskCpf(context.cpf);
  d.first_time_customer = context.first_time_customer;
  if (!result.assessment.ok()) {
    const Status& s = result.assessment.status();
    d.status = on_provider_failure;
    d.reason_codes = {absl::IsInvalidArgument(s) ? "PROVIDER_REJECTED_INPUT"
                                                 : "PROVIDER_UNAVAILABLE"};
    d.note = std::string(s.message()).substr(0, 500);
    return d;
  }
  const risk::Assessment& a = *result.assessment;
  PolicyInput in;
  in.score = a.score;
  in.probability_of_default = a.probability_of_default;
  in.provider_reasons = a.reason_codes;
  in.amount_cents = request.amount_cents;
  in.term_months = request.term_months;
  in.declared_income_cents = request.declared_income_cents;
  in.channel = request.channel;
  in.purpose = request.purpose;
  in.first_time_customer = context.first_time_customer;
  // in.bureau_score stays unknown: bureau scores arrive with the daily batch only.
  PolicyDecision pd = policy.Decide(in);
  d.status = std::string(OutcomeName(pd.outcome));
  d.score = a.score;
  d.risk_band = pd.band;
  d.probability_of_default = a.probability_of_default;
  d.reason_codes = std::move(pd.reason_codes);
  d.provider_reason_codes = a.reason_codes;
  d.provider_ref = a.provider_ref;
  d.provider_model_version = a.model_version;
  d.note = "policy " + policy.version();
  return d;
}

}  // namespace lastro::decide
