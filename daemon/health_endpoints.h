// Liveness and readiness endpoints, all open (no credentials):
//   GET|HEAD /ping     204, as InfluxDB; with ?verbose=<anything but "", "0",
//                      "false"> 200 {"version":"1.8.10"}
//   GET|HEAD /healthz  200 {"status":"pass"} while the process serves HTTP
//   GET|HEAD /readyz   200 {"status":"pass"} once `ready` is set (restore done,
//                      sources running), else 503 {"error":"not ready"}
//
// Thread safety: the handlers may run on any thread.
#ifndef TIDEWATCH_DAEMON_HEALTH_ENDPOINTS_H_
#define TIDEWATCH_DAEMON_HEALTH_ENDPOINTS_H_

#include <atomic>

#include "daemon/http_server.h"

namespace tidewatch::daemon {

// REQUIRES: before server.Start(); `ready` outlives the server.
void AddHealthEndpoints(HttpServer& server, const std::atomic<bool>& ready);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_HEALTH_ENDPOINTS_H_
