// Turns a risk assessment (or the provider's failure) into a Decision by the
// company's policy. Pure: no I/O, deterministic, thread-safe.
#pragma once

#include <string>

#include "decide/policy.h"
#include "decide/types.h"
#include "risk/types.h"

namespace lastro::decide {

// What the risk provider is asked about a request (the CPF comes from the lookup).
risk::ScoreRequest MakeScoreRequest(const CapturedRequest& request, const RequestContext& context);

// `on_provider_failure` is the status given when the provider could not score the
// request ("MANUAL_REVIEW" or "FAILED"); the decision then carries the reason code
// PROVIDER_UNAVAILABLE (or PROVIDER_REJECTED_INPUT for a 4xx) and the error text.
Decision MakeDecision(const CapturedRequest& request, const RequestContext& context,
                      const risk::ScoreResult& result, const Policy& policy,
                      const std::string& on_provider_failure);

}  // namespace lastro::decide
