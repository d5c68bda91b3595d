#include "common/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lastro {
namespace {

// Binds TOML keys to struct fields; anything not bound is an unknown key.
class Binder {
 public:
  Binder(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

  template <typename T>
  void Bind(const char* section, const char* key, T* field) {
    const toml::node* node = root_.at_path(std::string(section) + "." + key).node();
    bound_.insert(std::string(section) + "." + key);
    if (node == nullptr || !status_.ok()) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = node->value<std::string>()) {
        *field = *v;
        return;
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = node->value<bool>()) {
        *field = *v;
        return;
      }
    } else if constexpr (std::is_same_v<T, double>) {
      if (auto v = node->value<double>()) {
        *field = *v;
        return;
      }
    } else {
      if (auto v = node->value<int64_t>()) {
        *field = static_cast<T>(*v);
        return;
      }
    }
    Fail(node, key, "has the wrong type");
  }

  // Reports the first key present in the file that no Bind() claimed.
  void CheckUnknown() {
    for (const auto& [section, node] : root_) {
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        Fail(&node, std::string(section.str()), "is not a known section");
        return;
      }
      for (const auto& [key, value] : *t) {
        std::string full = std::string(section.str()) + "." + std::string(key.str());
        if (!bound_.count(full)) {
          Fail(&value, full, "is not a known setting");
          return;
        }
      }
    }
  }

  void Fail(const toml::node* node, const std::string& key, const std::string& why) {
    if (!status_.ok()) return;
    status_ = absl::InvalidArgumentError(
        absl::StrCat(file_, ":", node->source().begin.line, ": '", key, "' ", why));
  }

  const Status& status() const { return status_; }

 private:
  const toml::table& root_;
  std::string file_;
  std::set<std::string> bound_;
  Status status_;
};

void BindAll(Binder& b, Config& c) {
  b.Bind("pg", "dsn", &c.pg.dsn);
  b.Bind("pg", "slot", &c.pg.slot);
  b.Bind("pg", "publication", &c.pg.publication);
  b.Bind("pg", "application_name", &c.pg.application_name);
  b.Bind("pg", "statement_timeout_ms", &c.pg.statement_timeout_ms);
  b.Bind("pg", "lock_timeout_ms", &c.pg.lock_timeout_ms);
  b.Bind("risk", "url", &c.risk.url);
  b.Bind("risk", "token", &c.risk.token);
  b.Bind("risk", "timeout_ms", &c.risk.timeout_ms);
  b.Bind("risk", "max_in_flight", &c.risk.max_in_flight);
  b.Bind("risk", "max_attempts", &c.risk.max_attempts);
  b.Bind("risk", "backoff_base_ms", &c.risk.backoff_base_ms);
  b.Bind("risk", "backoff_max_ms", &c.risk.backoff_max_ms);
  b.Bind("risk", "retry_budget_ratio", &c.risk.retry_budget_ratio);
  b.Bind("risk", "retry_budget_min_per_s", &c.risk.retry_budget_min_per_s);
  b.Bind("risk", "rate_limit_per_s", &c.risk.rate_limit_per_s);
  b.Bind("risk", "breaker_window", &c.risk.breaker_window);
  b.Bind("risk", "breaker_failure_ratio", &c.risk.breaker_failure_ratio);
  b.Bind("risk", "breaker_min_calls", &c.risk.breaker_min_calls);
  b.Bind("risk", "breaker_open_ms", &c.risk.breaker_open_ms);
  b.Bind("risk", "request_deadline_ms", &c.risk.request_deadline_ms);
  b.Bind("stream", "policy_file", &c.stream.policy_file);
  b.Bind("stream", "batch_max", &c.stream.batch_max);
  b.Bind("stream", "batch_max_ms", &c.stream.batch_max_ms);
  b.Bind("stream", "status_interval_ms", &c.stream.status_interval_ms);
  b.Bind("stream", "sweep_interval_s", &c.stream.sweep_interval_s);
  b.Bind("stream", "sweep_threshold_s", &c.stream.sweep_threshold_s);
  b.Bind("stream", "sweep_limit", &c.stream.sweep_limit);
  b.Bind("stream", "reconnect_max_backoff_ms", &c.stream.reconnect_max_backoff_ms);
  b.Bind("stream", "on_provider_failure", &c.stream.on_provider_failure);
  b.Bind("http", "addr", &c.http.addr);
  b.Bind("http", "auth_token", &c.http.auth_token);
  b.Bind("metrics", "statsd_enabled", &c.metrics.statsd_enabled);
  b.Bind("metrics", "statsd_addr", &c.metrics.statsd_addr);
  b.Bind("metrics", "tags", &c.metrics.tags);
  b.Bind("metrics", "flush_interval_ms", &c.metrics.flush_interval_ms);
  b.Bind("log", "level", &c.log.level);
  b.Bind("lake", "dir", &c.lake.dir);
  b.Bind("lake", "memory_limit", &c.lake.memory_limit);
  b.Bind("lake", "threads", &c.lake.threads);
  b.Bind("lake", "keep_versions", &c.lake.keep_versions);
  b.Bind("lake", "row_group_rows", &c.lake.row_group_rows);
  b.Bind("batch", "replica_dsn", &c.batch.replica_dsn);
  b.Bind("batch", "statement_timeout_ms", &c.batch.statement_timeout_ms);
  b.Bind("batch", "lock_timeout_ms", &c.batch.lock_timeout_ms);
  b.Bind("batch", "max_rows_per_s", &c.batch.max_rows_per_s);
  b.Bind("batch", "overlap_minutes", &c.batch.overlap_minutes);
  b.Bind("batch", "max_replica_lag_s", &c.batch.max_replica_lag_s);
  b.Bind("batch", "quality_rules", &c.batch.quality_rules);
  b.Bind("batch", "token_key", &c.batch.token_key);
  b.Bind("batch", "timezone", &c.batch.timezone);
  b.Bind("bureau", "url", &c.bureau.url);
  b.Bind("bureau", "token", &c.bureau.token);
  b.Bind("bureau", "batch_size", &c.bureau.batch_size);
  b.Bind("bureau", "timeout_ms", &c.bureau.timeout_ms);
  b.Bind("bureau", "max_in_flight", &c.bureau.max_in_flight);
  b.Bind("bureau", "max_attempts", &c.bureau.max_attempts);
  b.Bind("bureau", "backoff_base_ms", &c.bureau.backoff_base_ms);
  b.Bind("bureau", "backoff_max_ms", &c.bureau.backoff_max_ms);
  b.Bind("bureau", "retry_budget_ratio", &c.bureau.retry_budget_ratio);
  b.Bind("bureau", "retry_budget_min_per_s", &c.bureau.retry_budget_min_per_s);
  b.Bind("bureau", "rate_limit_per_s", &c.bureau.rate_limit_per_s);
  b.Bind("bureau", "breaker_window", &c.bureau.breaker_window);
  b.Bind("bureau", "breaker_failure_ratio", &c.bureau.breaker_failure_ratio);
  b.Bind("bureau", "breaker_min_calls", &c.bureau.breaker_min_calls);
  b.Bind("bureau", "breaker_open_ms", &c.bureau.breaker_open_ms);
  b.Bind("bureau", "deadline_ms", &c.bureau.deadline_ms);
  b.Bind("lineage", "endpoint", &c.lineage.endpoint);
  b.Bind("lineage", "namespace", &c.lineage.job_namespace);
  b.Bind("lineage", "timeout_ms", &c.lineage.timeout_ms);
  b.Bind("events", "max_line_bytes", &c.events.max_line_bytes);
  b.Bind("events", "raw_line_bytes", &c.events.raw_line_bytes);
  b.Bind("events", "max_late_days", &c.events.max_late_days);
  b.Bind("events", "max_clock_skew_s", &c.events.max_clock_skew_s);
  b.Bind("openfinance", "url", &c.openfinance.url);
  b.Bind("openfinance", "token", &c.openfinance.token);
  b.Bind("openfinance", "timeout_ms", &c.openfinance.timeout_ms);
  b.Bind("openfinance", "max_in_flight", &c.openfinance.max_in_flight);
  b.Bind("openfinance", "max_attempts", &c.openfinance.max_attempts);
  b.Bind("openfinance", "backoff_base_ms", &c.openfinance.backoff_base_ms);
  b.Bind("openfinance", "backoff_max_ms", &c.openfinance.backoff_max_ms);
  b.Bind("openfinance", "retry_budget_ratio", &c.openfinance.retry_budget_ratio);
  b.Bind("openfinance", "retry_budget_min_per_s", &c.openfinance.retry_budget_min_per_s);
  b.Bind("openfinance", "rate_limit_per_s", &c.openfinance.rate_limit_per_s);
  b.Bind("openfinance", "breaker_window", &c.openfinance.breaker_window);
  b.Bind("openfinance", "breaker_failure_ratio", &c.openfinance.breaker_failure_ratio);
  b.Bind("openfinance", "breaker_min_calls", &c.openfinance.breaker_min_calls);
  b.Bind("openfinance", "breaker_open_ms", &c.openfinance.breaker_open_ms);
  b.Bind("openfinance", "deadline_ms", &c.openfinance.deadline_ms);
  b.Bind("openfinance", "page_size", &c.openfinance.page_size);
  b.Bind("openfinance", "history_days", &c.openfinance.history_days);
  b.Bind("openfinance", "overlap_days", &c.openfinance.overlap_days);
  b.Bind("openfinance", "statement_timeout_ms", &c.openfinance.statement_timeout_ms);
  b.Bind("mart", "keep_versions", &c.mart.keep_versions);
  b.Bind("mart", "full_refresh_every", &c.mart.full_refresh_every);
  b.Bind("governance", "policies", &c.governance.policies);
  b.Bind("governance", "state_dir", &c.governance.state_dir);
  b.Bind("governance", "master_key", &c.governance.master_key);
  b.Bind("governance", "serve_addr", &c.governance.serve_addr);
  b.Bind("governance", "serve_threads", &c.governance.serve_threads);
  b.Bind("governance", "query_timeout_ms", &c.governance.query_timeout_ms);
  b.Bind("governance", "max_rows", &c.governance.max_rows);
  b.Bind("governance", "audit_sync_ms", &c.governance.audit_sync_ms);
  b.Bind("governance", "tls_cert_file", &c.governance.tls_cert_file);
  b.Bind("governance", "tls_key_file", &c.governance.tls_key_file);
}

// `VAR` or, when unset, the trimmed contents of the file named by `VAR_FILE`.
StatusOr<std::optional<std::string>> Secret(const EnvLookup& env, const std::string& var) {
  if (auto v = env(var)) return v;
  auto file = env(var + "_FILE");
  if (!file) return std::optional<std::string>();
  std::ifstream in(*file);
  if (!in) return absl::NotFoundError(absl::StrCat(var, "_FILE: cannot read ", *file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return std::optional<std::string>(s);
}

Status ApplyEnv(const EnvLookup& env, Config& c) {
  struct Item {
    const char* var;
    std::string* field;
  };
  const Item items[] = {
      {"LASTRO_PG_DSN", &c.pg.dsn},
      {"LASTRO_RISK_URL", &c.risk.url},
      {"LASTRO_RISK_TOKEN", &c.risk.token},
      {"LASTRO_HTTP_ADDR", &c.http.addr},
      {"LASTRO_HTTP_TOKEN", &c.http.auth_token},
      {"LASTRO_LAKE_DIR", &c.lake.dir},
      {"LASTRO_REPLICA_DSN", &c.batch.replica_dsn},
      {"LASTRO_TOKEN_KEY", &c.batch.token_key},
      {"LASTRO_BUREAU_URL", &c.bureau.url},
      {"LASTRO_BUREAU_TOKEN", &c.bureau.token},
      {"LASTRO_OPENFINANCE_URL", &c.openfinance.url},
      {"LASTRO_OPENFINANCE_TOKEN", &c.openfinance.token},
      {"LASTRO_LINEAGE_URL", &c.lineage.endpoint},
      {"LASTRO_STATSD_ADDR", &c.metrics.statsd_addr},
      {"LASTRO_LOG_LEVEL", &c.log.level},
      {"LASTRO_GOVERNANCE_DIR", &c.governance.state_dir},
      {"LASTRO_MASTER_KEY", &c.governance.master_key},
      {"LASTRO_SERVE_ADDR", &c.governance.serve_addr},
  };
  for (const Item& item : items) {
    LASTRO_ASSIGN_OR_RETURN(auto value, Secret(env, item.var));
    if (value) *item.field = *value;
  }
  return absl::OkStatus();
}

Status ValidateOpenFinance(const OpenFinanceConfig& o) {
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("'openfinance.url' must start with http:// or https://");
  }
  if (o.timeout_ms <= 0 || o.max_in_flight <= 0 || o.max_attempts <= 0 || o.deadline_ms <= 0 ||
      o.breaker_window <= 0 || o.breaker_min_calls <= 0 || o.breaker_open_ms < 0 ||
      o.backoff_base_ms <= 0 || o.backoff_max_ms < o.backoff_base_ms ||
      o.breaker_failure_ratio <= 0 || o.breaker_failure_ratio > 1 || o.retry_budget_ratio < 0 ||
      o.retry_budget_min_per_s < 0 || o.rate_limit_per_s < 0 || o.statement_timeout_ms <= 0) {
    return absl::InvalidArgumentError(
        "openfinance: timeout_ms, max_in_flight, max_attempts, deadline_ms, breaker_window, "
        "breaker_min_calls, backoff_base_ms and statement_timeout_ms must be positive, "
        "backoff_max_ms >= backoff_base_ms, breaker_failure_ratio in (0, 1], the other "
        "limits >= 0");
  }
  if (o.page_size < 1 || o.page_size > 1000) {
    return absl::InvalidArgumentError("'openfinance.page_size' must be in 1..1000 (OFB's limit)");
  }
  if (o.history_days < 1 || o.history_days > 366 || o.overlap_days < 0 || o.overlap_days > 30) {
    return absl::InvalidArgumentError(
        "'openfinance.history_days' must be in 1..366 and 'openfinance.overlap_days' in 0..30");
  }
  return absl::OkStatus();
}

Status Validate(const Config& c) {
  auto positive = [](int v, const char* name) -> Status {
    if (v <= 0) return absl::InvalidArgumentError(absl::StrCat("'", name, "' must be > 0"));
    return absl::OkStatus();
  };
  LASTRO_RETURN_IF_ERROR(positive(c.risk.timeout_ms, "risk.timeout_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.risk.max_in_flight, "risk.max_in_flight"));
  LASTRO_RETURN_IF_ERROR(positive(c.risk.max_attempts, "risk.max_attempts"));
  LASTRO_RETURN_IF_ERROR(positive(c.stream.batch_max, "stream.batch_max"));
  LASTRO_RETURN_IF_ERROR(positive(c.stream.batch_max_ms, "stream.batch_max_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.stream.sweep_interval_s, "stream.sweep_interval_s"));
  LASTRO_RETURN_IF_ERROR(positive(c.stream.sweep_limit, "stream.sweep_limit"));
  LASTRO_RETURN_IF_ERROR(positive(c.lake.keep_versions, "lake.keep_versions"));
  LASTRO_RETURN_IF_ERROR(positive(c.governance.serve_threads, "governance.serve_threads"));
  LASTRO_RETURN_IF_ERROR(positive(c.governance.query_timeout_ms, "governance.query_timeout_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.governance.max_rows, "governance.max_rows"));
  if (c.governance.audit_sync_ms < 0 || c.governance.audit_sync_ms > 1000) {
    return absl::InvalidArgumentError("'governance.audit_sync_ms' must be in 0..1000");
  }
  if (c.governance.tls_cert_file.empty() != c.governance.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "'governance.tls_cert_file' and 'governance.tls_key_file' go together: set both or "
        "neither");
  }
  if (c.mart.keep_versions < 2) {
    return absl::InvalidArgumentError("'mart.keep_versions' must be at least 2 (for --rollback)");
  }
  LASTRO_RETURN_IF_ERROR(positive(c.mart.full_refresh_every, "mart.full_refresh_every"));
  if (c.lake.row_group_rows < 100000 || c.lake.row_group_rows > 1000000) {
    return absl::InvalidArgumentError("'lake.row_group_rows' must be in [100000, 1000000]");
  }
  LASTRO_RETURN_IF_ERROR(positive(c.batch.statement_timeout_ms, "batch.statement_timeout_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.batch.lock_timeout_ms, "batch.lock_timeout_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.bureau.batch_size, "bureau.batch_size"));
  LASTRO_RETURN_IF_ERROR(positive(c.bureau.timeout_ms, "bureau.timeout_ms"));
  LASTRO_RETURN_IF_ERROR(positive(c.bureau.max_in_flight, "bureau.max_in_flight"));
  LASTRO_RETURN_IF_ERROR(positive(c.bureau.max_attempts, "bureau.max_attempts"));
  LASTRO_RETURN_IF_ERROR(positive(c.events.max_line_bytes, "events.max_line_bytes"));
  LASTRO_RETURN_IF_ERROR(positive(c.events.raw_line_bytes, "events.raw_line_bytes"));
  LASTRO_RETURN_IF_ERROR(positive(c.events.max_late_days, "events.max_late_days"));
  if (c.events.max_clock_skew_s < 0) {
    return absl::InvalidArgumentError("'events.max_clock_skew_s' must be >= 0");
  }
  LASTRO_RETURN_IF_ERROR(ValidateOpenFinance(c.openfinance));
  if (c.batch.max_rows_per_s < 0 || c.batch.overlap_minutes < 0) {
    return absl::InvalidArgumentError(
        "'batch.max_rows_per_s' and 'batch.overlap_minutes' must be >= 0");
  }
  if (c.stream.on_provider_failure != "MANUAL_REVIEW" && c.stream.on_provider_failure != "FAILED") {
    return absl::InvalidArgumentError(
        "'stream.on_provider_failure' must be MANUAL_REVIEW or FAILED");
  }
  if (c.risk.breaker_failure_ratio <= 0 || c.risk.breaker_failure_ratio > 1) {
    return absl::InvalidArgumentError("'risk.breaker_failure_ratio' must be in (0, 1]");
  }
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error"};
  if (!kLevels.count(c.log.level)) {
    return absl::InvalidArgumentError("'log.level' must be debug, info, warn or error");
  }
  return absl::OkStatus();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

std::string ConfigPathFrom(const std::string& flag_value, const EnvLookup& env) {
  if (!flag_value.empty()) return flag_value;
  return env("LASTRO_CONFIG").value_or("");
}

StatusOr<Config> LoadConfig(const std::string& path, const EnvLookup& env) {
  Config config;
  if (!path.empty()) {
    std::ifstream probe(path);
    if (!probe) return absl::NotFoundError(absl::StrCat("config file not found: ", path));
    toml::table parsed;
    try {
      parsed = toml::parse_file(path);
    } catch (const toml::parse_error& err) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", err.source().begin.line, ": ", std::string(err.description())));
    }
    Binder binder(parsed, path);
    BindAll(binder, config);
    binder.CheckUnknown();
    LASTRO_RETURN_IF_ERROR(binder.status());
  }
  LASTRO_RETURN_IF_ERROR(ApplyEnv(env, config));
  LASTRO_RETURN_IF_ERROR(Validate(config));
  return config;
}

}  // namespace lastro
