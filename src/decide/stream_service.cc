#include "decide/stream_service.h"

#include <thread>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/metrics.h"
#include "decide/pipeline.h"
#include "web/http_server.h"

namespace lastro::decide {

Status RunStreamService(const StreamServiceOptions& options, const std::atomic<bool>& stop) {
  const Config& config = options.config;
  LASTRO_ASSIGN_OR_RETURN(Policy policy, Policy::LoadFile(config.stream.policy_file));
  log::Info("credit policy loaded", {{"version", policy.version()},
                                     {"rules", policy.rules().size()}});
  metrics::Registry& registry = metrics::Registry::Global();
  LASTRO_ASSIGN_OR_RETURN(auto pipeline, Pipeline::Create(config, std::move(policy), registry));

  std::unique_ptr<metrics::StatsdExporter> statsd;
  if (config.metrics.statsd_enabled) {
    LASTRO_ASSIGN_OR_RETURN(statsd, metrics::StatsdExporter::Create(
                                        registry, config.metrics.statsd_addr, config.metrics.tags,
                                        std::chrono::milliseconds(config.metrics.flush_interval_ms)));
  }

  web::ServerOptions so;
  so.addr = config.http.addr;
  so.auth_token = config.http.auth_token;
  so.public_paths = {"/healthz", "/readyz", "/metrics"};
  LASTRO_ASSIGN_OR_RETURN(auto server, web::HttpServer::Create(so));
  Pipeline* p = pipeline.get();
  server->Route("GET", "/healthz", [](const web::Request&, web::Responder r) {
    r.Send(web::Response::Json(200, R"({"status":"ok"})"));
  });
  auto status_json = [p] {
    PipelineStatus st = p->status();
    return nlohmann::json{{"ready", st.attached && st.db_ok},
                          {"slot_attached", st.attached},
                          {"db_ok", st.db_ok},
                          {"confirmed_lsn", FormatLsn(st.confirmed_lsn)},
                          {"server_wal_end", FormatLsn(st.server_wal_end)},
                          {"lag_bytes", st.lag_bytes},
                          {"lag_seconds", st.lag_seconds},
                          {"in_flight", st.in_flight}};
  };
  server->Route("GET", "/readyz", [p, status_json](const web::Request&, web::Responder r) {
    r.Send(web::Response::Json(p->ready() ? 200 : 503, status_json().dump()));
  });
  server->Route("GET", "/api/status", [status_json](const web::Request&, web::Responder r) {
    r.Send(web::Response::Json(200, status_json().dump()));
  });
  server->Route("GET", "/metrics", [&registry](const web::Request&, web::Responder r) {
    web::Response resp;
    resp.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    resp.body = registry.RenderOpenMetrics();
    r.Send(std::move(resp));
  });
  LASTRO_RETURN_IF_ERROR(server->Start());
  log::Info("http server listening", {{"port", server->port()}});
  if (options.on_listening) options.on_listening(server->port());

  Status result = pipeline->Run(stop);
  server->Stop();
  return result;
}

}  // namespace lastro::decide
