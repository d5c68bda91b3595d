// Structured logging: one JSON object per line on stderr, Datadog-ready
// (`timestamp`, `level`, `message`, `service`, `correlation_id`, fields).
//
// PII never reaches the output: fields whose key names personal data (cpf, name,
// email, phone, ...) are replaced by "[redacted]", and string values and messages
// are scrubbed of CPF-, e-mail- and phone-shaped text (see pii.h). Thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lastro::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
using Fields = std::vector<std::pair<std::string, nlohmann::json>>;

// Sets the minimum level ("debug", "info", "warn", "error") and the service tag.
// May be called again; not required (defaults: info, "lastro").
void Init(std::string_view level, std::string_view service = "lastro");
bool Enabled(Level level);

void Write(Level level, std::string_view message, const Fields& fields = {});
inline void Debug(std::string_view m, const Fields& f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, const Fields& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const Fields& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const Fields& f = {}) { Write(Level::kError, m, f); }

// Renders one log line (without newline); exposed for tests.
std::string Render(Level level, std::string_view message, const Fields& fields);

// A correlation id attached to every line written by this thread while in scope.
class ScopedCorrelation {
 public:
  explicit ScopedCorrelation(std::string id);
  ~ScopedCorrelation();
  ScopedCorrelation(const ScopedCorrelation&) = delete;
  ScopedCorrelation& operator=(const ScopedCorrelation&) = delete;

 private:
  std::string previous_;
};

// A fresh random id (16 hex chars) for a unit of work.
std::string NewCorrelationId();

// The correlation id of everything done for one credit request ("req-<id>"):
// stable across threads and restarts, so a request's lines can be found together.
std::string RequestCorrelationId(int64_t request_id);

}  // namespace lastro::log
