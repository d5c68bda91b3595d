#include "common/log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "common/pii.h"

namespace lastro::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;  // guards g_service and serialises writes to stderr
std::string g_service = "lastro";
thread_local std::string t_correlation;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

nlohmann::json Scrub(const std::string& key, const nlohmann::json& value) {
  if (pii::IsPiiKey(key)) return "[redacted]";
  if (value.is_string()) return pii::Redact(value.get<std::string>());
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) out[it.key()] = Scrub(it.key(), *it);
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(Scrub("", v));
    return out;
  }
  return value;
}

}  // namespace

void Init(std::string_view level, std::string_view service) {
  Level l = Level::kInfo;
  if (level == "debug") l = Level::kDebug;
  if (level == "warn") l = Level::kWarn;
  if (level == "error") l = Level::kError;
  g_level = static_cast<int>(l);
  std::lock_guard lock(g_mu);
  g_service = std::string(service);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

std::string Render(Level level, std::string_view message, const Fields& fields) {
  nlohmann::json line = nlohmann::json::object();
  auto now = std::chrono::system_clock::now();
  line["timestamp"] =
      fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::milliseconds>(now));
  line["level"] = LevelName(level);
  line["message"] = pii::Redact(message);
  {
    std::lock_guard lock(g_mu);
    line["service"] = g_service;
  }
  if (!t_correlation.empty()) line["correlation_id"] = t_correlation;
  for (const auto& [key, value] : fields) line[key] = Scrub(key, value);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, std::string_view message, const Fields& fields) {
  if (!Enabled(level)) return;
  std::string out = Render(level, message, fields);
  out.push_back('\n');
  std::lock_guard lock(g_mu);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

ScopedCorrelation::ScopedCorrelation(std::string id) : previous_(std::move(t_correlation)) {
  t_correlation = std::move(id);
}
ScopedCorrelation::~ScopedCorrelation() { t_correlation = std::move(previous_); }

std::string NewCorrelationId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

std::string RequestCorrelationId(int64_t request_id) { return fmt::format("req-{}", request_id); }

}  // namespace lastro::log
