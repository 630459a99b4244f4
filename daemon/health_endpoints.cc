#include "daemon/health_endpoints.h"

#include <string>

namespace tidewatch::daemon {

void AddHealthEndpoints(HttpServer& server, const std::atomic<bool>& ready) {
  server.Handle("/ping", {"GET"}, Role::kNone, [](const Request& request) {
    const std::string_view verbose = request.param("verbose");
    if (verbose.empty() || verbose == "0" || verbose == "false") return Response::NoContent();
    return Response::Json(200, "{\"version\":\"" + std::string(kInfluxVersion) + "\"}");
  });
  server.Handle("/healthz", {"GET"}, Role::kNone,
                [](const Request&) { return Response::Json(200, "{\"status\":\"pass\"}"); });
  server.Handle("/readyz", {"GET"}, Role::kNone, [&ready](const Request&) {
    if (!ready.load(std::memory_order_acquire)) return Response::Error(503, "not ready");
    return Response::Json(200, "{\"status\":\"pass\"}");
  });
}

}  // namespace tidewatch::daemon
