#include "sim/bureau_api_sim.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "sim/admin_params.h"
#include "sim/bureau_model.h"
#include "web/http_server.h"

namespace lastro::sim {
namespace {

using nlohmann::json;
using web::Request;
using web::Responder;
using web::Response;

// The knobs /admin/config may change at run time.
struct Tunables {
  double unknown_rate = 0, late_rate = 0, late_ms = 0, inconsistent_rate = 0, error_rate = 0,
         rate_429 = 0, latency_ms = 0;
};

struct CallRecord {
  int64_t at_ms;
  int status;
  int64_t cpfs;  // CPFs asked (0 when the body was not read)
  bool late;
};

struct BatchRequest {
  std::string as_of;
  std::vector<std::string> cpfs;
};

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CheckTunables(const Tunables& t) {
  auto rate = [](double v) { return v >= 0 && v <= 1; };
  if (!rate(t.unknown_rate) || !rate(t.late_rate) || !rate(t.inconsistent_rate) ||
      !rate(t.error_rate) || !rate(t.rate_429)) {
    return absl::InvalidArgumentError(
        "unknown_rate, late_rate, inconsistent_rate, error_rate and rate_429 must be in [0, 1]");
  }
  if (t.late_ms < 0 || t.latency_ms < 0) {
    return absl::InvalidArgumentError("late_ms and latency_ms must be >= 0");
  }
  return absl::OkStatus();
}

bool IsElevenDigits(const std::string& s) {
  return s.size() == 11 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Validates a batch body. The messages never echo a CPF (PII), only its index.
StatusOr<BatchRequest> ParseBatch(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object");
  }
  BatchRequest out;
  auto as_of = j.find("as_of");
  if (as_of == j.end()) return absl::InvalidArgumentError("missing field 'as_of'");
  if (!as_of->is_string() || !IsIsoDate(as_of->get<std::string>())) {
    return absl::InvalidArgumentError("'as_of' must be a date YYYY-MM-DD");
  }
  out.as_of = as_of->get<std::string>();
  auto cpfs = j.find("cpfs");
  if (cpfs == j.end()) return absl::InvalidArgumentError("missing field 'cpfs'");
  if (!cpfs->is_array() || cpfs->empty()) {
    return absl::InvalidArgumentError("'cpfs' must be a non-empty array");
  }
  if (cpfs->size() > static_cast<size_t>(kBureauMaxCpfsPerCall)) {
    return absl::InvalidArgumentError("'cpfs' has " + std::to_string(cpfs->size()) +
                                      " entries; at most " + std::to_string(kBureauMaxCpfsPerCall) +
                                      " per call");
  }
  out.cpfs.reserve(cpfs->size());
  for (size_t i = 0; i < cpfs->size(); ++i) {
    const json& c = (*cpfs)[i];
    if (!c.is_string() || !IsElevenDigits(c.get<std::string>())) {
      return absl::InvalidArgumentError("'cpfs[" + std::to_string(i) +
                                        "]' must be a string of 11 digits");
    }
    out.cpfs.push_back(c.get<std::string>());
  }
  return out;
}

json Entry(const std::string& cpf, std::optional<int32_t> score) {
  if (!score) return {{"cpf", cpf}, {"status", "NOT_FOUND"}};
  return {{"cpf", cpf}, {"status", "FOUND"}, {"score", *score}};
}

Response Answer(const BatchRequest& req, const Tunables& t) {
  json results = json::array();
  for (const std::string& cpf : req.cpfs) {
    std::optional<int32_t> score;
    if (BureauKnows(cpf, t.unknown_rate)) score = BureauScoreFor(cpf, req.as_of);
    switch (BureauInconsistencyFor(cpf, req.as_of, t.inconsistent_rate)) {
      case BureauInconsistency::kNone:
        results.push_back(Entry(cpf, score));
        break;
      case BureauInconsistency::kScoreOutOfRange:
        results.push_back(Entry(cpf, BureauOutOfRangeScore(cpf, req.as_of)));
        break;
      case BureauInconsistency::kListedTwice:
        results.push_back(Entry(cpf, score));
        results.push_back(Entry(cpf, BureauConflictingScore(cpf, req.as_of)));
        break;
      case BureauInconsistency::kMissing:
        break;
    }
  }
  json j = {{"as_of", req.as_of}, {"model", kBureauModelVersion}, {"results", std::move(results)}};
  return Response::Json(200, j.dump());
}

json TunablesJson(const Tunables& t) {
  return {{"unknown_rate", t.unknown_rate}, {"late_rate", t.late_rate},
          {"late_ms", t.late_ms},           {"inconsistent_rate", t.inconsistent_rate},
          {"error_rate", t.error_rate},     {"rate_429", t.rate_429},
          {"latency_ms", t.latency_ms}};
}

}  // namespace

struct BureauApiSim::State {
  explicit State(const BureauApiSimOptions& o)
      : options(o),
        initial{o.unknown_rate, o.late_rate, static_cast<double>(o.late_ms),   o.inconsistent_rate,
                o.error_rate,   o.rate_429,  static_cast<double>(o.latency_ms)},
        tunables(initial),
        rng(o.seed) {}

  void Score(const Request& req, const Responder& responder);
  Response AdminConfig(const Request& req);
  Response AdminOutage(const Request& req);
  json Stats() const;
  void Reset();

  const BureauApiSimOptions options;
  const Tunables initial;
  web::HttpServer* server = nullptr;  // set before Start(); outlives the handlers

  mutable std::mutex mu;  // guards everything below
  Tunables tunables;
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point outage_until{};
  std::vector<CallRecord> calls;
  int64_t ok = 0, errors = 0, late = 0, cpfs = 0;
};

void BureauApiSim::State::Score(const Request& req, const Responder& responder) {
  Response response;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(mu);
    std::uniform_real_distribution<double> u(0, 1);
    // Always four draws per call, so one call's outcome does not shift the next's.
    const double late_draw = u(rng), error_draw = u(rng), throttle_draw = u(rng);
    const bool coin = u(rng) < 0.5;
    const bool is_late = late_draw < tunables.late_rate;
    delay = std::chrono::milliseconds(
        static_cast<int64_t>(is_late ? tunables.late_ms : tunables.latency_ms));
    int64_t asked = 0;

    if (!options.token.empty() && req.Header("authorization") != "Bearer " + options.token) {
      response = Response::Error(401, "missing or invalid bearer token");
    } else if (std::chrono::steady_clock::now() < outage_until) {
      response = Response::Error(503, "bureau outage (simulated)");
    } else if (error_draw < tunables.error_rate) {
      response = coin ? Response::Error(500, "internal error (simulated)")
                      : Response::Error(503, "service unavailable (simulated)");
    } else if (throttle_draw < tunables.rate_429) {
      response = Response::Error(429, "rate limit exceeded (simulated)");
      response.headers.emplace_back("Retry-After", std::to_string(options.retry_after_s));
    } else {
      auto parsed = ParseBatch(req.body);
      if (parsed.ok()) {
        asked = static_cast<int64_t>(parsed->cpfs.size());
        response = Answer(*parsed, tunables);
      } else {
        response = Response::Error(400, std::string(parsed.status().message()));
      }
    }
    calls.push_back({UnixMillis(), response.status, asked, is_late});
    (response.status == 200 ? ok : errors) += 1;
    late += is_late ? 1 : 0;
    cpfs += asked;
  }
  server->RunAfter(delay, [responder, response = std::move(response)]() mutable {
    responder.Send(std::move(response));
  });
}

Response BureauApiSim::State::AdminConfig(const Request& req) {
  std::lock_guard lock(mu);
  Tunables t = tunables;
  const std::pair<const char*, double*> fields[] = {
      {"unknown_rate", &t.unknown_rate}, {"late_rate", &t.late_rate},
      {"late_ms", &t.late_ms},           {"inconsistent_rate", &t.inconsistent_rate},
      {"error_rate", &t.error_rate},     {"rate_429", &t.rate_429},
      {"latency_ms", &t.latency_ms}};
  if (Status s = SetNumbers(req.body, fields); !s.ok()) {
    return Response::Error(400, std::string(s.message()));
  }
  if (Status s = CheckTunables(t); !s.ok()) return Response::Error(400, std::string(s.message()));
  tunables = t;
  return Response::Json(200, TunablesJson(t).dump());
}

Response BureauApiSim::State::AdminOutage(const Request& req) {
  return sim::AdminOutage(req, mu, outage_until);
}

json BureauApiSim::State::Stats() const {
  std::lock_guard lock(mu);
  return json{{"calls", static_cast<int64_t>(calls.size())},
              {"ok", ok},
              {"errors", errors},
              {"late", late},
              {"cpfs", cpfs}};
}

void BureauApiSim::State::Reset() {
  std::lock_guard lock(mu);
  tunables = initial;
  rng.seed(options.seed);
  outage_until = {};
  calls.clear();
  ok = errors = late = cpfs = 0;
}

StatusOr<std::unique_ptr<BureauApiSim>> BureauApiSim::Create(const BureauApiSimOptions& options) {
  auto state = std::make_shared<State>(options);
  LASTRO_RETURN_IF_ERROR(CheckTunables(state->initial));
  if (options.retry_after_s < 0 || options.threads < 1) {
    return absl::InvalidArgumentError("retry_after_s must be >= 0, threads >= 1");
  }
  web::ServerOptions server_options;
  server_options.addr = options.addr;
  server_options.threads = options.threads;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<web::HttpServer> server,
                          web::HttpServer::Create(server_options));
  state->server = server.get();

  server->Route("POST", "/v1/scores:batch",
                [state](const Request& req, Responder r) { state->Score(req, r); });
  server->Route("POST", "/admin/outage",
                [state](const Request& req, Responder r) { r.Send(state->AdminOutage(req)); });
  server->Route("POST", "/admin/config",
                [state](const Request& req, Responder r) { r.Send(state->AdminConfig(req)); });
  server->Route("GET", "/admin/calls", [state](const Request&, Responder r) {
    json out = json::array();
    {
      std::lock_guard lock(state->mu);
      for (const auto& c : state->calls) {
        out.push_back(
            {{"at_ms", c.at_ms}, {"status", c.status}, {"cpfs", c.cpfs}, {"late", c.late}});
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
  return std::unique_ptr<BureauApiSim>(new BureauApiSim(std::move(state), std::move(server)));
}

BureauApiSim::BureauApiSim(std::shared_ptr<State> state, std::unique_ptr<web::HttpServer> server)
    : state_(std::move(state)), server_(std::move(server)) {}

BureauApiSim::~BureauApiSim() { Stop(); }

Status BureauApiSim::Start() { return server_->Start(); }

void BureauApiSim::Stop() { server_->Stop(); }

uint16_t BureauApiSim::port() const { return server_->port(); }

}  // namespace lastro::sim
