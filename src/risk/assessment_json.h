// The wire format of the risk provider's API (docs/risk-api.md): the request body
// we POST and the 200 body we accept. nlohmann::json stays inside the .cc.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "risk/types.h"

namespace lastro::risk {

// {"request_id":"<id>","cpf":...,"amount_cents":...,"term_months":...,
//  "purpose":...,"channel":...,"declared_income_cents":...}. Never fails.
std::string EncodeScoreRequest(const ScoreRequest& request);

// Parses a 200 body. `expected_request_id` is checked against the body's
// "request_id" when present. Required: score (integer 0..1000), risk_band
// (non-empty string), probability_of_default (number 0..1), reason_codes (array of
// strings), assessment_id and model_version (strings).
// Errors: kInvalidArgument naming the first problem ("risk provider response:
// 'score' must be an integer in 0..1000"). The message never quotes the body
// (it may echo personal data).
StatusOr<Assessment> DecodeAssessment(std::string_view body, int64_t expected_request_id);

}  // namespace lastro::risk
