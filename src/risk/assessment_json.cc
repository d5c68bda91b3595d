#include "risk/assessment_json.h"

#include <nlohmann/json.hpp>

namespace lastro::risk {
namespace {

using nlohmann::json;

Status Bad(const std::string& what) {
  return absl::InvalidArgumentError("risk provider response: " + what);
}

}  // namespace

std::string EncodeScoreRequest(const ScoreRequest& r) {
  json j = {
      {"request_id", std::to_string(r.request_id)},
      {"cpf", r.cpf},
      {"amount_cents", r.amount_cents},
      {"term_months", r.term_months},
      {"purpose", r.purpose},
      {"channel", r.channel},
      {"declared_income_cents", r.declared_income_cents},
  };
  // Invalid UTF-8 in free-text fields is replaced rather than thrown on.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

StatusOr<Assessment> DecodeAssessment(std::string_view body, int64_t expected_request_id) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("body is not valid JSON");
  if (!j.is_object()) return Bad("body is not a JSON object");

  Assessment a;
  auto score = j.find("score");
  if (score == j.end() || !score->is_number_integer() || score->get<int64_t>() < 0 ||
      score->get<int64_t>() > 1000) {
    return Bad("'score' must be an integer in 0..1000");
  }
  a.score = static_cast<int32_t>(score->get<int64_t>());

  auto band = j.find("risk_band");
  if (band == j.end() || !band->is_string() || band->get<std::string>().empty()) {
    return Bad("'risk_band' must be a non-empty string");
  }
  a.risk_band = band->get<std::string>();

  auto pd = j.find("probability_of_default");
  if (pd == j.end() || !pd->is_number() || pd->get<double>() < 0 || pd->get<double>() > 1) {
    return Bad("'probability_of_default' must be a number in 0..1");
  }
  a.probability_of_default = pd->get<double>();

  auto reasons = j.find("reason_codes");
  if (reasons == j.end() || !reasons->is_array()) return Bad("'reason_codes' must be an array");
  for (const auto& r : *reasons) {
    if (!r.is_string()) return Bad("'reason_codes' must hold strings");
    a.reason_codes.push_back(r.get<std::string>());
  }

  auto id = j.find("assessment_id");
  if (id == j.end() || !id->is_string() || id->get<std::string>().empty()) {
    return Bad("'assessment_id' must be a non-empty string");
  }
  a.provider_ref = id->get<std::string>();

  auto model = j.find("model_version");
  if (model == j.end() || !model->is_string()) return Bad("'model_version' must be a string");
  a.model_version = model->get<std::string>();

  auto rid = j.find("request_id");
  if (rid != j.end()) {
    std::string got = rid->is_string()           ? rid->get<std::string>()
                      : rid->is_number_integer() ? std::to_string(rid->get<int64_t>())
                                                 : std::string("<not a string>");
    if (got != std::to_string(expected_request_id)) {
      return Bad("'request_id' " + got + " does not match the request " +
                 std::to_string(expected_request_id));
    }
  }
  return a;
}

}  // namespace lastro::risk
