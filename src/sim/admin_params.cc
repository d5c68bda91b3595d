#include "sim/admin_params.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

namespace lastro::sim {

StatusOr<double> OutageSeconds(const web::Request& req) {
  auto it = req.query.find("seconds");
  char* end = nullptr;
  const double seconds = it == req.query.end() ? -1 : std::strtod(it->second.c_str(), &end);
  if (it == req.query.end() || end == it->second.c_str() || *end != '\0' || !(seconds >= 0) ||
      seconds > 86400) {
    return absl::InvalidArgumentError("query parameter 'seconds' must be a number in 0..86400");
  }
  return seconds;
}

web::Response AdminOutage(const web::Request& req, std::mutex& mu,
                          std::chrono::steady_clock::time_point& until) {
  StatusOr<double> seconds = OutageSeconds(req);
  if (!seconds.ok()) return web::Response::Error(400, std::string(seconds.status().message()));
  std::lock_guard lock(mu);
  until = std::chrono::steady_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(*seconds * 1000));
  return web::Response::Json(200, nlohmann::json{{"outage_seconds", *seconds}}.dump());
}

Status SetNumbers(const std::string& body,
                  std::span<const std::pair<const char*, double*>> fields) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object");
  }
  std::vector<std::pair<double*, double>> values;
  for (const auto& item : j.items()) {
    const std::string& name = item.key();
    auto f =
        std::find_if(fields.begin(), fields.end(), [&](const auto& p) { return name == p.first; });
    if (f == fields.end()) return absl::InvalidArgumentError("unknown field '" + name + "'");
    if (!item.value().is_number()) {
      return absl::InvalidArgumentError("'" + name + "' must be a number");
    }
    values.emplace_back(f->second, item.value().get<double>());
  }
  for (const auto& [field, value] : values) *field = value;
  return absl::OkStatus();
}

}  // namespace lastro::sim
