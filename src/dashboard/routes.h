// The dashboard's HTTP surface, served from a DashboardHub (never from the database):
//   GET /               the page (embedded web/index.html)
//   GET /assets/<name>  embedded scripts, styles and the charting library
//   GET /api/events     Server-Sent Events; resumes after `Last-Event-ID` (header) or
//                       `?lastEventId=` (query), else starts with a "resync" snapshot
//   GET /api/summary    JSON snapshot of everything the page shows
// Unknown paths and other methods get the server's 404/405 JSON; authentication and
// security headers are the server's (web::ServerOptions).
#pragma once

#include <cstddef>

#include "dashboard/dashboard_hub.h"
#include "web/http_server.h"

namespace lastro::dashboard {

struct RouteOptions {
  // Per-client SSE queue; a client further behind is disconnected (it reconnects and
  // resumes from its Last-Event-ID, or gets a resync).
  size_t max_queued_bytes = 1 << 20;
  int retry_ms = 2000;  // the SSE `retry:` hint for reconnecting browsers
};

// Registers the routes above on `server` (before server.Start()). `hub` must outlive
// the server's last IO callback, i.e. be destroyed after the server.
void RegisterRoutes(web::HttpServer& server, DashboardHub& hub, const RouteOptions& options = {});

}  // namespace lastro::dashboard
