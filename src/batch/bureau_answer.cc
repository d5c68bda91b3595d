#include "batch/bureau_answer.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lastro::batch::bureau_internal {
namespace {

using nlohmann::json;

BureauScore Inconsistent(std::string detail) {
  return {"", std::nullopt, BureauStatus::kInconsistent, std::move(detail)};
}

bool SameAnswer(const BureauScore& a, const BureauScore& b) {
  return a.status == b.status && a.score == b.score && a.detail == b.detail;
}

// One entry of "results", already known to name a CPF that was asked.
BureauScore ReadEntry(const json& e) {
  auto status = e.find("status");
  if (status == e.end() || !status->is_string()) {
    return Inconsistent("result without a string 'status'");
  }
  if (*status == "NOT_FOUND") return {"", std::nullopt, BureauStatus::kNotFound, ""};
  if (*status != "FOUND") return Inconsistent("result with an unknown 'status'");
  auto score = e.find("score");
  if (score == e.end() || !score->is_number_integer()) {
    return Inconsistent("FOUND without an integer 'score'");
  }
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  const int64_t value =
      score->is_number_unsigned() && score->get<uint64_t>() > static_cast<uint64_t>(kMax)
          ? kMax
          : score->get<int64_t>();
  if (value < 0 || value > 1000) {
    return Inconsistent("score " + std::to_string(value) + " outside 0..1000");
  }
  return {"", static_cast<int32_t>(value), BureauStatus::kFound, ""};
}

}  // namespace

bool ReadBureauAnswer(const std::string& body, const std::string& as_of,
                      std::span<const std::string> asked, std::span<BureauScore> out) {
  auto all = [&](const std::string& why) {
    for (auto& r : out) r = Inconsistent(why);
    return false;
  };
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return all("bureau answer is not a JSON object");
  auto results = j.find("results");
  if (results == j.end() || !results->is_array()) {
    return all("bureau answer has no 'results' array");
  }
  auto answered_as_of = j.find("as_of");
  if (answered_as_of == j.end() || *answered_as_of != as_of) {
    return all("bureau answer is not for the as_of asked");
  }
  std::string model;  // metadata: a malformed one is dropped, never fails the answer
  if (auto m = j.find("model"); m != j.end() && m->is_string()) {
    const std::string& s = m->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 64 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
      model = s;
    }
  }
  std::unordered_map<std::string_view, size_t> position;
  for (size_t i = 0; i < asked.size(); ++i) position.emplace(asked[i], i);
  std::vector<int> seen(asked.size(), 0);  // 0: not yet, 1: once or agreeing, 2: conflict
  for (const json& e : *results) {
    if (!e.is_object()) continue;
    auto cpf = e.find("cpf");
    if (cpf == e.end() || !cpf->is_string()) continue;  // cannot tell whose it is
    auto it = position.find(cpf->get_ref<const std::string&>());
    if (it == position.end()) continue;  // not asked: ignored
    BureauScore answer = ReadEntry(e);
    const size_t i = it->second;
    if (seen[i] == 0) {
      out[i] = std::move(answer);
      seen[i] = 1;
    } else if (!SameAnswer(out[i], answer)) {
      seen[i] = 2;
    }
  }
  for (size_t i = 0; i < asked.size(); ++i) {
    if (seen[i] == 0) out[i] = Inconsistent("missing from the bureau's answer");
    if (seen[i] == 2) out[i] = Inconsistent("listed twice with different answers");
    out[i].model = model;
  }
  return true;
}

}  // namespace lastro::batch::bureau_internal
