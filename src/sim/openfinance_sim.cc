#include "sim/openfinance_sim.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "sim/admin_params.h"
#include "sim/openfinance_api.h"
#include "sim/openfinance_model.h"
#include "web/http_server.h"

namespace lastro::sim {
namespace {

using nlohmann::json;
using of_internal::Consent;
using of_internal::OfError;
using web::Request;
using web::Responder;
using web::Response;

constexpr const char* kConsents = "/open-banking/consents/v3/consents";
constexpr const char* kAccounts = "/open-banking/accounts/v2/accounts";

// The knobs /admin/config may change at run time.
struct Tunables {
  double error_rate = 0, rate_429 = 0, retry_after_s = 0, latency_ms = 0, malformed_rate = 0,
         reject_rate = 0;
};

struct CallRecord {
  int64_t at_ms;
  std::string method, path;
  int status;
  std::string consent_id;
};

int64_t RealNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CheckTunables(const Tunables& t) {
  auto rate = [](double v) { return v >= 0 && v <= 1; };
  if (!rate(t.error_rate) || !rate(t.rate_429) || !rate(t.malformed_rate) || !rate(t.reject_rate)) {
    return absl::InvalidArgumentError(
        "error_rate, rate_429, malformed_rate and reject_rate must be in [0, 1]");
  }
  if (t.latency_ms < 0 || t.retry_after_s < 0) {
    return absl::InvalidArgumentError("latency_ms and retry_after_s must be >= 0");
  }
  return absl::OkStatus();
}

json TunablesJson(const Tunables& t) {
  return {{"error_rate", t.error_rate},         {"rate_429", t.rate_429},
          {"retry_after_s", t.retry_after_s},   {"latency_ms", t.latency_ms},
          {"malformed_rate", t.malformed_rate}, {"reject_rate", t.reject_rate}};
}

std::string BaseUrl(const Request& req, const std::string& addr) {
  return "http://" + req.Header("host", addr);
}

}  // namespace

struct OpenFinanceSim::State {
  State(const OpenFinanceSimOptions& o, std::optional<int64_t> fixed_now)
      : options(o),
        initial{o.error_rate,
                o.rate_429,
                static_cast<double>(o.retry_after_s),
                static_cast<double>(o.latency_ms),
                o.malformed_rate,
                o.reject_rate},
        initial_now(fixed_now),
        model(o.seed),
        tunables(initial),
        fixed_now_ms(fixed_now),
        rng(o.seed) {}

  // Every /open-banking call: faults first, then the endpoint.
  void Serve(const Request& req, const Responder& responder);
  Response Endpoint(const Request& req, int64_t now, const Tunables& t, std::string* consent_id);
  Response CreateConsent(const Request& req, int64_t now, const Tunables& t,
                         std::string* consent_id);
  Response GetConsent(const Request& req, int64_t now);
  // The consent named by x-consent-id, if it allows `permission`; else the error.
  std::variant<Consent, Response> DataConsent(const Request& req, int64_t now,
                                              const char* permission);
  Response AccountData(const Request& req, int64_t now, const Tunables& t);

  Response AdminConfig(const Request& req);
  Response AdminOutage(const Request& req);
  Response AdminConsent(const Request& req);
  Response AdminClock(const Request& req);
  json Stats() const;
  void Reset();

  int64_t NowMs() const { return fixed_now_ms.value_or(RealNowMs()); }  // mu held

  const OpenFinanceSimOptions options;
  const Tunables initial;
  const std::optional<int64_t> initial_now;
  const OpenFinanceModel model;
  web::HttpServer* server = nullptr;  // set before Start(); outlives the handlers

  mutable std::mutex mu;  // guards everything below
  Tunables tunables;
  std::optional<int64_t> fixed_now_ms;
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point outage_until{};
  std::map<std::string, Consent> consents;
  uint64_t consents_created = 0;
  std::vector<CallRecord> calls;
  int64_t ok = 0, errors = 0;
};

void OpenFinanceSim::State::Serve(const Request& req, const Responder& responder) {
  Response response;
  bool faulted = true;
  Tunables t;
  int64_t now = 0;
  {
    std::lock_guard lock(mu);
    std::uniform_real_distribution<double> u(0, 1);
    // Always three draws per call, so one call's outcome does not shift the next's.
    const double error_draw = u(rng), throttle_draw = u(rng);
    const bool coin = u(rng) < 0.5;
    t = tunables;
    now = NowMs();
    if (std::chrono::steady_clock::now() < outage_until) {
      response = OfError(503, "SERVICE_UNAVAILABLE", "Outage", "bank outage (simulated)", now);
    } else if (error_draw < t.error_rate) {
      response = coin ? OfError(500, "INTERNAL_ERROR", "Internal error", "simulated", now)
                      : OfError(503, "SERVICE_UNAVAILABLE", "Unavailable", "simulated", now);
    } else if (throttle_draw < t.rate_429) {
      response = OfError(429, "TOO_MANY_REQUESTS", "Rate limit", "rate limit exceeded", now);
      response.headers.emplace_back("Retry-After",
                                    std::to_string(static_cast<int>(t.retry_after_s)));
    } else {
      faulted = false;
    }
  }
  std::string consent_id = req.Header("x-consent-id");
  if (!faulted) response = Endpoint(req, now, t, &consent_id);
  {
    std::lock_guard lock(mu);
    calls.push_back({RealNowMs(), req.method, req.path, response.status, consent_id});
    (response.status < 400 ? ok : errors) += 1;
  }
  server->RunAfter(std::chrono::milliseconds(static_cast<int64_t>(t.latency_ms)),
                   [responder, response = std::move(response)]() mutable {
                     responder.Send(std::move(response));
                   });
}

Response OpenFinanceSim::State::Endpoint(const Request& req, int64_t now, const Tunables& t,
                                         std::string* consent_id) {
  const std::string consents_prefix = std::string(kConsents) + "/";
  if (req.path == kConsents) return CreateConsent(req, now, t, consent_id);
  if (req.path.rfind(consents_prefix, 0) == 0) {
    *consent_id = req.path.substr(consents_prefix.size());
    return GetConsent(req, now);
  }
  return AccountData(req, now, t);
}

Response OpenFinanceSim::State::CreateConsent(const Request& req, int64_t now, const Tunables& t,
                                              std::string* consent_id) {
  auto parsed = of_internal::ParseConsentRequest(req.body, now);
  if (!parsed.ok()) {
    return OfError(400, "INVALID_PARAMETER", "Invalid consent request",
                   std::string(parsed.status().message()), now);
  }
  Consent c;
  c.customer_key = parsed->cpf;
  c.created_ms = c.status_updated_ms = now;
  c.expires_ms = parsed->expires_ms;
  c.permissions = parsed->permissions;
  {
    std::lock_guard lock(mu);
    const uint64_t n = ++consents_created;
    const uint64_t h1 = OfHash(options.seed, absl::StrCat("consent|", c.customer_key, "|", n));
    const uint64_t h2 = OfHash(options.seed + 1, absl::StrCat("consent|", c.customer_key, "|", n));
    c.consent_id = absl::StrCat("urn:lastrobank:", absl::Hex(h1, absl::kZeroPad16),
                                absl::Hex(h2, absl::kZeroPad16));
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng) < t.reject_rate) {
      c.status = "REJECTED";
      c.rejected_by = "USER";
      c.rejection_code = "CUSTOMER_MANUALLY_REJECTED";
    } else {
      c.status = "AUTHORISED";
    }
    consents[c.consent_id] = c;
  }
  *consent_id = c.consent_id;
  Response r =
      Response::Json(201, of_internal::ConsentBody(
                              c, BaseUrl(req, options.addr) + kConsents + "/" + c.consent_id, now));
  return r;
}

Response OpenFinanceSim::State::GetConsent(const Request& req, int64_t now) {
  const std::string id = req.path.substr(std::string(kConsents).size() + 1);
  std::optional<Consent> c;
  {
    std::lock_guard lock(mu);
    auto it = consents.find(id);
    if (it != consents.end()) c = of_internal::Effective(it->second, now);
  }
  if (!c) return OfError(404, "CONSENT_NOT_FOUND", "Consent not found", "unknown consentId", now);
  return Response::Json(200,
                        of_internal::ConsentBody(*c, BaseUrl(req, options.addr) + req.path, now));
}

std::variant<Consent, Response> OpenFinanceSim::State::DataConsent(const Request& req, int64_t now,
                                                                   const char* permission) {
  const std::string id = req.Header("x-consent-id");
  if (id.empty()) {
    return OfError(400, "INVALID_PARAMETER", "Missing consent", "header 'x-consent-id' is required",
                   now);
  }
  std::optional<Consent> c;
  {
    std::lock_guard lock(mu);
    auto it = consents.find(id);
    if (it != consents.end()) c = of_internal::Effective(it->second, now);
  }
  if (!c) return OfError(403, "CONSENT_UNKNOWN", "Forbidden", "the consent is unknown", now);
  if (c->status != "AUTHORISED") {
    const bool expired = c->rejection_code == "CONSENT_MAX_DATE_REACHED";
    return OfError(403, expired ? "CONSENT_EXPIRED" : "CONSENT_REJECTED", "Forbidden",
                   absl::StrCat("the consent is ", c->status, " (", c->rejection_code, ")"), now);
  }
  if (std::find(c->permissions.begin(), c->permissions.end(), permission) == c->permissions.end()) {
    return OfError(403, "PERMISSION_MISSING", "Forbidden",
                   absl::StrCat("the consent does not grant ", permission), now);
  }
  return *std::move(c);
}

Response OpenFinanceSim::State::AccountData(const Request& req, int64_t now, const Tunables& t) {
  // /open-banking/accounts/v2/accounts[/{accountId}/{balances|transactions}]
  std::vector<std::string> rest;
  if (req.path != kAccounts) {
    rest = absl::StrSplit(req.path.substr(std::string(kAccounts).size() + 1), '/');
    if (rest.size() != 2 || (rest[1] != "balances" && rest[1] != "transactions")) {
      return OfError(404, "NOT_FOUND", "Not found", "no such resource", now);
    }
  }
  const char* permission = rest.empty()            ? "ACCOUNTS_READ"
                           : rest[1] == "balances" ? "ACCOUNTS_BALANCES_READ"
                                                   : "ACCOUNTS_TRANSACTIONS_READ";
  auto checked = DataConsent(req, now, permission);
  if (auto* error = std::get_if<Response>(&checked)) return *error;
  const Consent& consent = std::get<Consent>(checked);
  const std::vector<OfAccount> accounts = model.Accounts(consent.customer_key);
  const std::string base = BaseUrl(req, options.addr) + req.path;

  auto page = of_internal::ParsePageRequest(req.query, kOpenFinanceMaxPageSize);
  if (rest.empty()) {
    if (!page.ok()) {
      return OfError(400, "INVALID_PARAMETER", "Invalid parameter",
                     std::string(page.status().message()), now);
    }
    if (auto bad = of_internal::PageOutOfRange(static_cast<int64_t>(accounts.size()), *page, now)) {
      return *bad;
    }
    std::vector<std::string> items;
    for (const OfAccount& a : accounts) items.push_back(of_internal::AccountJson(a));
    return Response::Json(200, of_internal::ListBody(items, *page, base, "", now));
  }
  auto account = std::find_if(accounts.begin(), accounts.end(),
                              [&](const OfAccount& a) { return a.account_id == rest[0]; });
  if (account == accounts.end()) {
    return OfError(404, "ACCOUNT_NOT_FOUND", "Not found",
                   "no account with this accountId under the consent", now);
  }
  if (rest[1] == "balances") {
    return Response::Json(
        200, of_internal::BalanceBody(model.BalanceCents(consent.customer_key, *account, now), base,
                                      now));
  }
  const absl::CivilDay today = absl::ToCivilDay(absl::FromUnixMillis(now), absl::UTCTimeZone());
  auto period = of_internal::ParseBookingPeriod(req.query, today);
  if (!page.ok() || !period.ok()) {
    return OfError(400, "INVALID_PARAMETER", "Invalid parameter",
                   std::string((page.ok() ? period.status() : page.status()).message()), now);
  }
  std::vector<OfTransaction> txs =
      model.Transactions(consent.customer_key, *account, period->from, period->to, now);
  if (auto bad = of_internal::PageOutOfRange(static_cast<int64_t>(txs.size()), *page, now)) {
    return *bad;
  }
  std::vector<std::string> items;
  items.reserve(txs.size());
  const size_t first = static_cast<size_t>((page->page - 1) * page->page_size);
  for (size_t i = 0; i < txs.size(); ++i) {
    // Only the served page is rendered; the rest only count.
    const bool on_page = i >= first && i < first + static_cast<size_t>(page->page_size);
    items.push_back(on_page ? of_internal::TransactionJson(txs[i], options.seed, t.malformed_rate)
                            : std::string());
  }
  const std::string query = absl::StrCat("fromBookingDate=", absl::FormatCivilTime(period->from),
                                         "&toBookingDate=", absl::FormatCivilTime(period->to));
  return Response::Json(200, of_internal::ListBody(items, *page, base, query, now));
}

Response OpenFinanceSim::State::AdminConfig(const Request& req) {
  std::lock_guard lock(mu);
  Tunables t = tunables;
  const std::pair<const char*, double*> fields[] = {
      {"error_rate", &t.error_rate},         {"rate_429", &t.rate_429},
      {"retry_after_s", &t.retry_after_s},   {"latency_ms", &t.latency_ms},
      {"malformed_rate", &t.malformed_rate}, {"reject_rate", &t.reject_rate}};
  if (Status s = SetNumbers(req.body, fields); !s.ok()) {
    return Response::Error(400, std::string(s.message()));
  }
  if (Status s = CheckTunables(t); !s.ok()) return Response::Error(400, std::string(s.message()));
  tunables = t;
  return Response::Json(200, TunablesJson(t).dump());
}

Response OpenFinanceSim::State::AdminOutage(const Request& req) {
  return sim::AdminOutage(req, mu, outage_until);
}

// POST /admin/consents/{consentId}/revoke | /expire
Response OpenFinanceSim::State::AdminConsent(const Request& req) {
  const std::string rest = req.path.substr(std::string("/admin/consents/").size());
  const size_t slash = rest.rfind('/');
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (action != "revoke" && action != "expire") {
    return Response::Error(404, "use /admin/consents/{consentId}/revoke or /expire");
  }
  std::lock_guard lock(mu);
  auto it = consents.find(rest.substr(0, slash));
  if (it == consents.end()) return Response::Error(404, "unknown consent");
  const int64_t now = NowMs();
  Consent& c = it->second;
  if (action == "revoke") {
    c.status = "REJECTED";
    c.rejected_by = "USER";
    c.rejection_code = "CUSTOMER_MANUALLY_REVOKED";
    c.status_updated_ms = now;
  } else {
    c.expires_ms = std::min(c.expires_ms, now);
  }
  const Consent e = of_internal::Effective(c, now);
  return Response::Json(200, json{{"consentId", e.consent_id},
                                  {"status", e.status},
                                  {"rejectionCode", e.rejection_code},
                                  {"expirationDateTime", of_internal::Rfc3339Ms(e.expires_ms)}}
                                 .dump());
}

// {"now": RFC 3339} fixes the clock, {"advance_s": N} moves a fixed clock (or fixes
// it at real time + N), {"real": true} returns to real time.
Response OpenFinanceSim::State::AdminClock(const Request& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 1) {
    return Response::Error(400,
                           "body must be one of {\"now\":\"<RFC 3339>\"}, "
                           "{\"advance_s\":N}, {\"real\":true}");
  }
  std::lock_guard lock(mu);
  if (j.contains("now") && j["now"].is_string()) {
    auto ms = of_internal::ParseRfc3339Ms(j["now"].get<std::string>());
    if (!ms) return Response::Error(400, "'now' must be an RFC 3339 date-time");
    fixed_now_ms = *ms;
  } else if (j.contains("advance_s") && j["advance_s"].is_number()) {
    const double s = j["advance_s"].get<double>();
    if (s < 0 || s > 400 * 86400.0) return Response::Error(400, "'advance_s' must be 0..34560000");
    fixed_now_ms = NowMs() + static_cast<int64_t>(s * 1000);
  } else if (j.contains("real") && j["real"] == true) {
    fixed_now_ms.reset();
  } else {
    return Response::Error(400,
                           "body must be one of {\"now\":\"<RFC 3339>\"}, "
                           "{\"advance_s\":N}, {\"real\":true}");
  }
  return Response::Json(
      200,
      json{{"now", of_internal::Rfc3339Ms(NowMs())}, {"fixed", fixed_now_ms.has_value()}}.dump());
}

json OpenFinanceSim::State::Stats() const {
  std::lock_guard lock(mu);
  return json{{"calls", static_cast<int64_t>(calls.size())},
              {"ok", ok},
              {"errors", errors},
              {"consents", static_cast<int64_t>(consents.size())},
              {"now", of_internal::Rfc3339Ms(NowMs())}};
}

void OpenFinanceSim::State::Reset() {
  std::lock_guard lock(mu);
  tunables = initial;
  fixed_now_ms = initial_now;
  rng.seed(options.seed);
  outage_until = {};
  calls.clear();
  ok = errors = 0;
}

StatusOr<std::unique_ptr<OpenFinanceSim>> OpenFinanceSim::Create(
    const OpenFinanceSimOptions& options) {
  std::optional<int64_t> fixed_now;
  if (!options.now.empty()) {
    fixed_now = of_internal::ParseRfc3339Ms(options.now);
    if (!fixed_now) {
      return absl::InvalidArgumentError(
          "now must be an RFC 3339 date-time, e.g. "
          "2026-11-20T12:00:00Z");
    }
  }
  auto state = std::make_shared<State>(options, fixed_now);
  LASTRO_RETURN_IF_ERROR(CheckTunables(state->initial));
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  web::ServerOptions server_options;
  server_options.addr = options.addr;
  server_options.threads = options.threads;
  server_options.auth_token = options.token;
  server_options.public_paths = {"/healthz", "/admin/*"};
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<web::HttpServer> server,
                          web::HttpServer::Create(server_options));
  state->server = server.get();

  auto serve = [state](const Request& req, Responder r) { state->Serve(req, r); };
  server->Route("POST", kConsents, serve);
  server->Route("GET", std::string(kConsents) + "/*", serve);
  server->Route("GET", kAccounts, serve);
  server->Route("GET", std::string(kAccounts) + "/*", serve);
  auto admin = [state](Response (State::*fn)(const Request&)) {
    return [state, fn](const Request& req, Responder r) { r.Send(((*state).*fn)(req)); };
  };
  server->Route("POST", "/admin/config", admin(&State::AdminConfig));
  server->Route("POST", "/admin/outage", admin(&State::AdminOutage));
  server->Route("POST", "/admin/consents/*", admin(&State::AdminConsent));
  server->Route("POST", "/admin/clock", admin(&State::AdminClock));
  server->Route("GET", "/admin/consents", [state](const Request&, Responder r) {
    json out = json::array();
    std::lock_guard lock(state->mu);
    const int64_t now = state->NowMs();
    for (const auto& [id, consent] : state->consents) {
      const Consent e = of_internal::Effective(consent, now);
      out.push_back({{"consentId", id},
                     {"status", e.status},
                     {"rejectionCode", e.rejection_code},
                     {"expirationDateTime", of_internal::Rfc3339Ms(e.expires_ms)}});
    }
    r.Send(Response::Json(200, out.dump()));
  });
  server->Route("GET", "/admin/calls", [state](const Request&, Responder r) {
    json out = json::array();
    {
      std::lock_guard lock(state->mu);
      for (const auto& c : state->calls) {
        out.push_back({{"at_ms", c.at_ms},
                       {"method", c.method},
                       {"path", c.path},
                       {"status", c.status},
                       {"consent_id", c.consent_id}});
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
  return std::unique_ptr<OpenFinanceSim>(new OpenFinanceSim(std::move(state), std::move(server)));
}

OpenFinanceSim::OpenFinanceSim(std::shared_ptr<State> state,
                               std::unique_ptr<web::HttpServer> server)
    : state_(std::move(state)), server_(std::move(server)) {}

OpenFinanceSim::~OpenFinanceSim() { Stop(); }

Status OpenFinanceSim::Start() { return server_->Start(); }

void OpenFinanceSim::Stop() { server_->Stop(); }

uint16_t OpenFinanceSim::port() const { return server_->port(); }

}  // namespace lastro::sim
