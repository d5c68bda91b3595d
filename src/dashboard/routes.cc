#include "dashboard/routes.h"

#include <absl/strings/numbers.h>
#include <fmt/format.h>

#include <optional>
#include <string>

#include "dashboard/assets.h"

namespace lastro::dashboard {

namespace {

void SendAsset(const std::string& name, const web::Responder& r) {
  const Asset* asset = FindAsset(name);
  if (!asset) {
    r.Send(web::Response::Error(404, "no such asset: " + name));
    return;
  }
  web::Response resp;
  resp.content_type = std::string(asset->content_type);
  resp.body = std::string(asset->body);
  // Embedded in the binary: revalidate so a new build is picked up at once.
  resp.headers.emplace_back("Cache-Control", "no-cache");
  r.Send(std::move(resp));
}

// The id to resume after: the Last-Event-ID header, else ?lastEventId=. An id that
// is not a number is "unknown" (0), which leads to a resync.
std::optional<uint64_t> LastEventId(const web::Request& req) {
  std::string raw = req.Header("last-event-id");
  if (raw.empty()) {
    auto it = req.query.find("lastEventId");
    if (it != req.query.end()) raw = it->second;
  }
  if (raw.empty()) return std::nullopt;
  uint64_t id = 0;
  if (!absl::SimpleAtoi(raw, &id)) return uint64_t{0};
  return id;
}

}  // namespace

void RegisterRoutes(web::HttpServer& server, DashboardHub& hub, const RouteOptions& options) {
  server.Route("GET", "/",
               [](const web::Request&, web::Responder r) { SendAsset("index.html", r); });
  server.Route("GET", "/assets/*", [](const web::Request& req, web::Responder r) {
    SendAsset(req.path.substr(std::string("/assets/").size()), r);
  });
  server.Route("GET", "/api/summary", [&hub](const web::Request&, web::Responder r) {
    r.Send(web::Response::Json(200, hub.Summary().dump()));
  });
  server.Route("GET", "/api/events", [&hub, options](const web::Request& req, web::Responder r) {
    web::Response head;
    head.content_type = "text/event-stream; charset=utf-8";
    std::shared_ptr<web::EventStream> stream = r.OpenStream(head, options.max_queued_bytes);
    uint64_t id = hub.Subscribe(
        LastEventId(req), [stream](std::string data) { return stream->Write(std::move(data)); },
        fmt::format("retry: {}\n\n", options.retry_ms));
    stream->OnClose([&hub, id] { hub.Unsubscribe(id); });
  });
}

}  // namespace lastro::dashboard
