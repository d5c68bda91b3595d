#include "sim/risk_api_sim.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/fnv.h"
#include "common/pii.h"
#include "sim/admin_params.h"
#include "sim/risk_model.h"
#include "web/http_server.h"

namespace lastro::sim {
namespace {

using nlohmann::json;
using web::Request;
using web::Responder;
using web::Response;

// The knobs /admin/config may change at run time.
struct Tunables {
  double latency_ms = 0, jitter_ms = 0, error_rate = 0, rate_429 = 0, timeout_rate = 0;
};

struct CallRecord {
  std::string key;
  int64_t at_ms;
  int status;
};

struct CachedAnswer {
  uint64_t body_hash;
  Response response;
};

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoUtc(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

Status CheckTunables(const Tunables& t) {
  auto rate = [](double v) { return v >= 0 && v <= 1; };
  if (t.latency_ms < 0 || t.jitter_ms < 0) {
    return absl::InvalidArgumentError("latency_ms and jitter_ms must be >= 0");
  }
  if (!rate(t.error_rate) || !rate(t.rate_429) || !rate(t.timeout_rate)) {
    return absl::InvalidArgumentError("error_rate, rate_429 and timeout_rate must be in [0, 1]");
  }
  return absl::OkStatus();
}

// Validates an assessment body. The messages never echo field values (PII).
StatusOr<std::pair<std::string, RiskModelInput>> ParseAssessment(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object");
  }
  auto field = [&](const char* name) -> StatusOr<const json*> {
    auto it = j.find(name);
    if (it == j.end())
      return absl::InvalidArgumentError(std::string("missing field '") + name + "'");
    return &*it;
  };
  auto text = [&](const char* name) -> StatusOr<std::string> {
    LASTRO_ASSIGN_OR_RETURN(const json* v, field(name));
    if (!v->is_string() || v->get<std::string>().empty()) {
      return absl::InvalidArgumentError(std::string("'") + name + "' must be a non-empty string");
    }
    return v->get<std::string>();
  };
  auto integer = [&](const char* name, int64_t lo, int64_t hi) -> StatusOr<int64_t> {
    LASTRO_ASSIGN_OR_RETURN(const json* v, field(name));
    if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi) {
      return absl::InvalidArgumentError(std::string("'") + name + "' must be an integer in " +
                                        std::to_string(lo) + ".." + std::to_string(hi));
    }
    return v->get<int64_t>();
  };
  RiskModelInput in;
  LASTRO_ASSIGN_OR_RETURN(std::string request_id, text("request_id"));
  LASTRO_ASSIGN_OR_RETURN(in.cpf, text("cpf"));
  if (!pii::IsValidCpf(in.cpf)) {
    return absl::InvalidArgumentError("'cpf' is not a valid CPF (11 digits, check digits)");
  }
  constexpr int64_t kMaxCents = int64_t{1} << 50;
  LASTRO_ASSIGN_OR_RETURN(in.amount_cents, integer("amount_cents", 1, kMaxCents));
  LASTRO_ASSIGN_OR_RETURN(int64_t term, integer("term_months", 1, 480));
  in.term_months = static_cast<int32_t>(term);
  LASTRO_ASSIGN_OR_RETURN(in.purpose, text("purpose"));
  LASTRO_ASSIGN_OR_RETURN(in.channel, text("channel"));
  LASTRO_ASSIGN_OR_RETURN(in.declared_income_cents, integer("declared_income_cents", 0, kMaxCents));
  return std::make_pair(std::move(request_id), std::move(in));
}

Response Scored(const std::string& request_id, const RiskModelInput& in, int64_t now_ms) {
  RiskModelOutput out = ScoreApplicant(in);
  char id[24];
  std::snprintf(id, sizeof id, "ra_%016llx",
                static_cast<unsigned long long>(Fnv1a64(request_id + "|" + in.cpf + "|" +
                                                        std::to_string(in.amount_cents) + "|" +
                                                        std::to_string(in.term_months))));
  json j = {{"assessment_id", id},
            {"request_id", request_id},
            {"score", out.score},
            {"risk_band", out.risk_band},
            {"probability_of_default", out.probability_of_default},
            {"reason_codes", out.reason_codes},
            {"model_version", kRiskModelVersion},
            {"evaluated_at", IsoUtc(now_ms)}};
  return Response::Json(200, j.dump());
}

}  // namespace

struct RiskApiSim::State {
  State(const RiskApiSimOptions& o)
      : options(o),
        initial{o.latency_ms, o.jitter_ms, o.error_rate, o.rate_429, o.timeout_rate},
        tunables(initial),
        rng(o.seed) {}

  void Assess(const Request& req, const Responder& responder);
  Response AdminConfig(const Request& req);
  Response AdminOutage(const Request& req);
  json Stats() const;
  void Reset();

  const RiskApiSimOptions options;
  const Tunables initial;
  web::HttpServer* server = nullptr;  // set before Start(); outlives the handlers

  mutable std::mutex mu;  // guards everything below
  Tunables tunables;
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point outage_until{};
  std::unordered_map<std::string, CachedAnswer> answers;  // by Idempotency-Key
  std::unordered_set<std::string> keys;
  std::vector<CallRecord> calls;
  int64_t ok = 0, errors = 0;
};

void RiskApiSim::State::Assess(const Request& req, const Responder& responder) {
  const std::string key = req.Header("idempotency-key");
  const int64_t now_ms = UnixMillis();
  Response response;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mu);
    std::uniform_real_distribution<double> u(0, 1);
    const double fault_draw = u(rng), error_draw = u(rng), throttle_draw = u(rng);
    const bool coin = u(rng) < 0.5;
    double latency = tunables.latency_ms;
    if (tunables.jitter_ms > 0) {
      latency = std::normal_distribution<double>(tunables.latency_ms, tunables.jitter_ms)(rng);
    }
    delay = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, latency)));

    if (!options.token.empty() && req.Header("authorization") != "Bearer " + options.token) {
      response = Response::Error(401, "missing or invalid bearer token");
    } else if (std::chrono::steady_clock::now() < outage_until) {
      response = Response::Error(503, "provider outage (simulated)");
    } else if (fault_draw < tunables.timeout_rate) {
      response = Response::Error(504, "upstream timeout (simulated hang)");
      delay = std::chrono::milliseconds(options.hang_ms);
    } else if (error_draw < tunables.error_rate) {
      response = coin ? Response::Error(500, "internal error (simulated)")
                      : Response::Error(503, "service unavailable (simulated)");
    } else if (throttle_draw < tunables.rate_429) {
      response = Response::Error(429, "rate limit exceeded (simulated)");
      response.headers.emplace_back("Retry-After", std::to_string(options.retry_after_s));
    } else {
      const uint64_t body_hash = Fnv1a64(req.body);
      auto cached = key.empty() ? answers.end() : answers.find(key);
      if (cached != answers.end()) {
        if (cached->second.body_hash == body_hash) {
          response = cached->second.response;
          response.headers.emplace_back("Idempotent-Replayed", "true");
        } else {
          response = Response::Error(422, "Idempotency-Key reused with a different body");
        }
      } else {
        auto parsed = ParseAssessment(req.body);
        response = parsed.ok() ? Scored(parsed->first, parsed->second, now_ms)
                               : Response::Error(400, std::string(parsed.status().message()));
        if (!key.empty()) answers.emplace(key, CachedAnswer{body_hash, response});
      }
    }
    calls.push_back({key, now_ms, response.status});
    if (!key.empty()) keys.insert(key);
    (response.status == 200 ? ok : errors) += 1;
  }
  server->RunAfter(delay, [responder, response = std::move(response)]() mutable {
    responder.Send(std::move(response));
  });
}

Response RiskApiSim::State::AdminConfig(const Request& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Response::Error(400, "body must be a JSON object");
  std::lock_guard lock(mu);
  Tunables t = tunables;
  const std::pair<const char*, double*> fields[] = {{"latency_ms", &t.latency_ms},
                                                    {"jitter_ms", &t.jitter_ms},
                                                    {"error_rate", &t.error_rate},
                                                    {"rate_429", &t.rate_429},
                                                    {"timeout_rate", &t.timeout_rate}};
  for (const auto& [name, value] : j.items()) {
    auto f = std::find_if(std::begin(fields), std::end(fields),
                          [&](const auto& p) { return name == p.first; });
    if (f == std::end(fields)) return Response::Error(400, "unknown field '" + name + "'");
    if (!value.is_number()) return Response::Error(400, "'" + name + "' must be a number");
    *f->second = value.get<double>();
  }
  if (Status s = CheckTunables(t); !s.ok()) return Response::Error(400, std::string(s.message()));
  tunables = t;
  return Response::Json(200, json{{"latency_ms", t.latency_ms},
                                  {"jitter_ms", t.jitter_ms},
                                  {"error_rate", t.error_rate},
                                  {"rate_429", t.rate_429},
                                  {"timeout_rate", t.timeout_rate}}
                                 .dump());
}

Response RiskApiSim::State::AdminOutage(const Request& req) {
  return sim::AdminOutage(req, mu, outage_until);
}

json RiskApiSim::State::Stats() const {
  std::lock_guard lock(mu);
  return json{{"calls", static_cast<int64_t>(calls.size())},
              {"ok", ok},
              {"errors", errors},
              {"distinct_keys", static_cast<int64_t>(keys.size())}};
}

void RiskApiSim::State::Reset() {
  std::lock_guard lock(mu);
  tunables = initial;
  rng.seed(options.seed);
  outage_until = {};
  answers.clear();
  keys.clear();
  calls.clear();
  ok = errors = 0;
}

StatusOr<std::unique_ptr<RiskApiSim>> RiskApiSim::Create(const RiskApiSimOptions& options) {
  LASTRO_RETURN_IF_ERROR(CheckTunables({options.latency_ms, options.jitter_ms, options.error_rate,
                                        options.rate_429, options.timeout_rate}));
  if (options.retry_after_s < 0 || options.hang_ms < 0 || options.threads < 1) {
    return absl::InvalidArgumentError("retry_after_s and hang_ms must be >= 0, threads >= 1");
  }
  web::ServerOptions server_options;
  server_options.addr = options.addr;
  server_options.threads = options.threads;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<web::HttpServer> server,
                          web::HttpServer::Create(server_options));
  auto state = std::make_shared<State>(options);
  state->server = server.get();

  server->Route("POST", "/v1/risk/assessments",
                [state](const Request& req, Responder r) { state->Assess(req, r); });
  server->Route("POST", "/admin/outage",
                [state](const Request& req, Responder r) { r.Send(state->AdminOutage(req)); });
  server->Route("POST", "/admin/config",
                [state](const Request& req, Responder r) { r.Send(state->AdminConfig(req)); });
  server->Route("GET", "/admin/calls", [state](const Request&, Responder r) {
    json out = json::array();
    {
      std::lock_guard lock(state->mu);
      for (const auto& c : state->calls) {
        out.push_back({{"key", c.key}, {"at_ms", c.at_ms}, {"status", c.status}});
      }
    }
    r.Send(Response::Json(200, out.dump()));
  });
  server->Route("GET", "/admin/stats", [state](const Request&, Responder r) {
    r.Send(Response::Json(200, state->Stats().dump()));
  });
  server->Route("POST", "/admin/reset", [state](const Request&, Responder r) {
    state->Reset();
    r.Send(Response::Json(200, R"({"reset":true})"));
  });
  server->Route("GET", "/healthz", [](const Request&, Responder r) {
    r.Send(Response::Json(200, R"({"status":"ok"})"));
  });
  return std::unique_ptr<RiskApiSim>(new RiskApiSim(std::move(state), std::move(server)));
}

RiskApiSim::RiskApiSim(std::shared_ptr<State> state, std::unique_ptr<web::HttpServer> server)
    : state_(std::move(state)), server_(std::move(server)) {}

RiskApiSim::~RiskApiSim() { Stop(); }

Status RiskApiSim::Start() { return server_->Start(); }

void RiskApiSim::Stop() { server_->Stop(); }

uint16_t RiskApiSim::port() const { return server_->port(); }

}  // namespace lastro::sim
