#include "service/stream_service.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "dashboard/dashboard_hub.h"
#include "dashboard/routes.h"
#include "decide/pipeline.h"
#include "decide/stream_store.h"
#include "web/http_server.h"

namespace lastro::service {

using decide::CapturedRequest;
using decide::Decision;
using decide::FormatLsn;
using decide::Pipeline;
using decide::PipelineHooks;
using decide::PipelineStatus;
using decide::Policy;
using decide::StreamStore;

namespace {

// Today's counts by status for the dashboard: the one aggregate query it makes.
std::map<std::string, int64_t> ReadTodayCounts(const Config& config) {
  auto store = StreamStore::Connect(config.pg.dsn, config.pg.application_name + "-dashboard",
                                    config.pg.statement_timeout_ms, config.pg.lock_timeout_ms);
  StatusOr<std::map<std::string, int64_t>> counts =
      store.ok() ? (*store)->TodayCounts()
                 : StatusOr<std::map<std::string, int64_t>>(store.status());
  if (!counts.ok()) {
    log::Warn("dashboard: cannot restore today's counts; starting from zero",
              {{"error", std::string(counts.status().message())}});
    return {};
  }
  return *counts;
}

}  // namespace

Status RunStreamService(const StreamServiceOptions& options, const std::atomic<bool>& stop) {
  const Config& config = options.config;
  LASTRO_ASSIGN_OR_RETURN(Policy policy, Policy::LoadFile(config.stream.policy_file));
  log::Info("credit policy loaded",
            {{"version", policy.version()}, {"rules", policy.rules().size()}});
  metrics::Registry& registry = metrics::Registry::Global();
  if (config.http.auth_token.empty() && !web::IsLoopbackAddress(config.http.addr)) {
    return absl::FailedPreconditionError(
        "[http] addr " + config.http.addr +
        " is not loopback: set [http] auth_token (or LASTRO_HTTP_TOKEN) to protect the dashboard");
  }

  // The dashboard's state lives in memory, fed by the pipeline's hooks: viewers cost
  // the database nothing. Stopped (below) before the pipeline it reads gauges from.
  Pipeline* p = nullptr;
  dashboard::HubOptions hub_options;
  hub_options.gauges = [&p] {
    dashboard::Gauges g;
    risk::Health h = p->risk_health();
    PipelineStatus st = p->status();
    g.risk_in_flight = h.in_flight;
    g.risk_circuit = h.circuit;
    g.risk_error_rate = h.error_rate;
    g.lag_bytes = st.lag_bytes;
    g.lag_seconds = st.lag_seconds;
    g.attached = st.attached;
    g.pipeline_in_flight = int64_t(st.in_flight);
    return g;
  };
  dashboard::DashboardHub hub(RealClock::Instance(), hub_options);
  hub.RestoreTodayCounts(ReadTodayCounts(config));
  PipelineHooks hooks;
  hooks.on_captured = [&hub](const CapturedRequest& r) { hub.OnCaptured(r); };
  hooks.on_decided = [&hub](const Decision& d, bool transitioned, int64_t commit_time_us) {
    hub.OnDecided(d, transitioned, commit_time_us);
  };
  LASTRO_ASSIGN_OR_RETURN(auto pipeline,
                          Pipeline::Create(config, std::move(policy), registry, hooks));
  p = pipeline.get();
  // Stops the hub's thread (which reads `p`) before the pipeline goes, on every path.
  struct HubStopper {
    dashboard::DashboardHub& hub;
    ~HubStopper() { hub.Stop(); }
  } hub_stopper{hub};
  hub.Start();

  std::unique_ptr<metrics::StatsdExporter> statsd;
  if (config.metrics.statsd_enabled) {
    LASTRO_ASSIGN_OR_RETURN(statsd,
                            metrics::StatsdExporter::Create(
                                registry, config.metrics.statsd_addr, config.metrics.tags,
                                std::chrono::milliseconds(config.metrics.flush_interval_ms)));
  }

  web::ServerOptions so;
  so.addr = config.http.addr;
  so.auth_token = config.http.auth_token;
  so.public_paths = {"/healthz", "/readyz", "/metrics"};
  LASTRO_ASSIGN_OR_RETURN(auto server, web::HttpServer::Create(so));
  dashboard::RegisterRoutes(*server, hub);
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

}  // namespace lastro::service
