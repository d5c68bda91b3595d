#include "service/query_service.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "common/log.h"
#include "governance/api_tokens.h"
#include "governance/governed_query.h"
#include "governance/sql_guard.h"
#include "web/http_server.h"

namespace lastro::service {
namespace {

using governance::Caller;
using governance::GovernedQueries;
using governance::GovernedRequest;

constexpr size_t kMaxQueued = 64;  // queries waiting for a worker; more: 503

int HttpStatus(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kDeadlineExceeded:
      return 408;
    case absl::StatusCode::kCancelled:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 422;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

web::Response ErrorResponse(const Status& s) {
  const int code = HttpStatus(s);
  if (code == 500) {
    // The message may name files or internals: it stays in the server's log.
    log::Error("governed query failed", {{"error", std::string(s.message())}});
    return web::Response::Error(500, "internal error (see the server's log)");
  }
  return web::Response::Error(code, std::string(s.message()));
}

// A fixed pool of workers: DuckDB queries block, the IO threads must not.
class Workers {
 public:
  explicit Workers(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Workers() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  bool Submit(std::function<void()> job) {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) return false;
    queue_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

class Service {
 public:
  Service(const Config& config, std::unique_ptr<GovernedQueries> queries,
          std::unique_ptr<governance::ApiTokenCache> tokens)
      : config_(config),
        queries_(std::move(queries)),
        tokens_(std::move(tokens)),
        workers_(config.governance.serve_threads) {}

  void Register(web::HttpServer& server) {
    server.Route("GET", "/healthz", [](const web::Request&, web::Responder r) {
      r.Send(web::Response::Json(200, R"({"status":"ok"})"));
    });
    server.Route("POST", "/v1/query", [this](const web::Request& req, web::Responder r) {
      Handle(req, r, [this, body = req.body](const Caller& caller, web::Responder r) {
        auto request = ParseBody(body);
        if (!request.ok()) return Refuse(caller, body, request.status(), r);
        Answer(caller, *request, r);
      });
    });
    server.Route("GET", "/v1/named/*", [this](const web::Request& req, web::Responder r) {
      GovernedRequest request;
      request.named = req.path.substr(std::string("/v1/named/").size());
      Status s = FromQuery(req.query, request);
      Handle(req, r,
             [this, s, request, target = req.target](const Caller& caller, web::Responder r) {
               if (!s.ok()) return Refuse(caller, target, s, r);
               Answer(caller, request, r);
             });
    });
    server.Route("DELETE", "/v1/queries/*", [this](const web::Request& req, web::Responder r) {
      const std::string id = req.path.substr(std::string("/v1/queries/").size());
      auto caller = Authenticate(req);
      if (!caller.ok()) return r.Send(ErrorResponse(caller.status()));
      Status s = queries_->Cancel(*caller, id);
      r.Send(s.ok() ? web::Response::Json(200, nlohmann::json{{"cancelled", id}}.dump())
                    : ErrorResponse(s));
    });
    // Anything else: a token first, so paths cannot be probed without one.
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      server.Route(method, "/*", [this](const web::Request& req, web::Responder r) {
        auto caller = Authenticate(req);
        r.Send(caller.ok() ? web::Response::Error(404, "no such endpoint")
                           : ErrorResponse(caller.status()));
      });
    }
    server.Route("GET", "/v1/me", [this](const web::Request& req, web::Responder r) {
      Handle(req, r, [this](const Caller& caller, web::Responder r) {
        auto d = queries_->DescribeRole(caller);
        r.Send(d.ok() ? web::Response::Json(200, *d) : ErrorResponse(d.status()));
      });
    });
  }

 private:
  // Authenticates on the IO thread, then runs `work` on a worker.
  void Handle(const web::Request& req, web::Responder r,
              std::function<void(const Caller&, web::Responder)> work) {
    auto caller = Authenticate(req);
    if (!caller.ok()) return r.Send(ErrorResponse(caller.status()));
    if (!workers_.Submit([work = std::move(work), c = *caller, r] { work(c, r); })) {
      web::Response busy = web::Response::Error(503, "too many queries waiting; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      r.Send(std::move(busy));
    }
  }

  StatusOr<Caller> Authenticate(const web::Request& req) {
    const std::string header = req.Header("authorization");
    std::string token;
    if (absl::StartsWithIgnoreCase(header, "bearer ")) {
      token = std::string(absl::StripAsciiWhitespace(header.substr(7)));
    }
    // The cache re-reads the token file when it changes: a revocation counts at once.
    std::optional<governance::ApiIdentity> who;
    if (!token.empty()) who = tokens_->Authenticate(token);
    if (!who) {
      governance::AuditEntry entry{.action = "auth",
                                   .sql = req.method + " " + req.path,
                                   .outcome = "denied",
                                   .reason = token.empty() ? "no bearer token" : "unknown token",
                                   .remote = req.remote};
      Status audited = queries_->audit().Append(entry).status();
      if (!audited.ok()) return absl::UnavailableError("the audit log cannot be written");
      return absl::UnauthenticatedError("a valid API token is required (Authorization: Bearer)");
    }
    if (!queries_->policies().Role(who->role).ok()) {
      return absl::PermissionDeniedError("this token's role is not defined by the policies");
    }
    return Caller{.user = who->user, .role = who->role, .remote = req.remote};
  }

  static StatusOr<GovernedRequest> ParseBody(const std::string& body) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return absl::InvalidArgumentError(R"(the body must be a JSON object: {"sql": "SELECT ..."})");
    }
    GovernedRequest r;
    for (const auto& [key, value] : doc.items()) {
      if (key == "sql" && value.is_string()) {
        r.sql = value;
      } else if (key == "format" && value.is_string()) {
        r.format = value;
      } else if (key == "query_id" && value.is_string()) {
        r.query_id = value;
      } else if (key == "max_rows" && value.is_number_integer() && value.get<int64_t>() > 0) {
        r.max_rows = value;
      } else if (key == "timeout_ms" && value.is_number_integer() && value.get<int64_t>() > 0 &&
                 value.get<int64_t>() <= INT32_MAX) {
        r.timeout_ms = value;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", key,
            "' is not a field of a query or has the wrong type (sql: string, format: "
            "json|csv|parquet, max_rows and timeout_ms: positive integers, query_id: string)"));
      }
    }
    if (r.sql.empty()) return absl::InvalidArgumentError(R"(no "sql" given)");
    return r;
  }

  static Status FromQuery(const std::map<std::string, std::string>& query, GovernedRequest& r) {
    for (const auto& [key, value] : query) {
      if (key == "format") {
        r.format = value;
      } else if (key == "query_id") {
        r.query_id = value;
      } else if (key == "max_rows" || key == "timeout_ms") {
        int64_t n = 0;
        if (!absl::SimpleAtoi(value, &n) || n <= 0 || n > INT32_MAX) {
          return absl::InvalidArgumentError(absl::StrCat("'", key, "' must be a positive integer"));
        }
        if (key == "max_rows") {
          r.max_rows = n;
        } else {
          r.timeout_ms = static_cast<int>(n);
        }
      } else {
        r.params[key] = value;
      }
    }
    return absl::OkStatus();
  }

  // A request refused before it became a query is audited too (outcome "error").
  void Refuse(const Caller& caller, const std::string& text, const Status& why, web::Responder r) {
    governance::AuditEntry entry{.user = caller.user,
                                 .role = caller.role,
                                 .action = "query",
                                 .sql = text.substr(0, governance::kMaxSqlBytes),
                                 .outcome = "error",
                                 .reason = std::string(why.message()),
                                 .remote = caller.remote};
    if (!queries_->audit().Append(entry).ok()) {
      return r.Send(web::Response::Error(503, "the audit log cannot be written"));
    }
    r.Send(ErrorResponse(why));
  }

  void Answer(const Caller& caller, const GovernedRequest& request, web::Responder r) {
    auto result = queries_->Run(caller, request);
    if (!result.ok()) return r.Send(ErrorResponse(result.status()));
    web::Response resp;
    resp.status = 200;
    resp.content_type = result->content_type;
    resp.body = std::move(result->body);
    resp.headers = {{"X-Lastro-Rows", std::to_string(result->rows)},
                    {"X-Lastro-Truncated", result->truncated ? "true" : "false"},
                    {"X-Lastro-Audit-Seq", std::to_string(result->audit_seq)},
                    {"X-Lastro-Catalog-Version", result->catalog_version}};
    r.Send(std::move(resp));
  }

  Config config_;
  std::unique_ptr<GovernedQueries> queries_;
  std::unique_ptr<governance::ApiTokenCache> tokens_;
  Workers workers_;
};

}  // namespace

Status RunQueryService(const QueryServiceOptions& options, const std::atomic<bool>& stop) {
  const Config& config = options.config;
  const bool tls = !config.governance.tls_cert_file.empty();
  if (!tls && !web::IsLoopbackAddress(config.governance.serve_addr)) {
    return absl::FailedPreconditionError(
        "lastro serve listens beyond loopback only with TLS (governance.tls_cert_file and "
        "tls_key_file): API tokens must not cross a network in clear");
  }
  LASTRO_ASSIGN_OR_RETURN(auto queries, GovernedQueries::Create(config));
  LASTRO_ASSIGN_OR_RETURN(auto tokens,
                          governance::ApiTokenCache::Create(config.governance.state_dir));
  Service service(config, std::move(queries), std::move(tokens));
  web::ServerOptions so;
  so.addr = config.governance.serve_addr;
  so.threads = 2;
  so.public_paths = {"/healthz"};
  so.tls_cert_file = config.governance.tls_cert_file;
  so.tls_key_file = config.governance.tls_key_file;
  LASTRO_ASSIGN_OR_RETURN(auto server, web::HttpServer::Create(so));
  service.Register(*server);
  LASTRO_RETURN_IF_ERROR(server->Start());
  log::Info("query service listening", {{"port", server->port()}, {"tls", tls}});
  if (options.on_listening) options.on_listening(server->port());
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Stop();
  return absl::OkStatus();
}

}  // namespace lastro::service
