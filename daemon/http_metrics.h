// The HTTP API's metrics: requests by route and status code, connections, and what
// /write did with the points it was sent. Rendered into /metrics through
// MetricsSources::extra (daemon/metrics.h).
//
// Thread safety: a pure function of its arguments.
#ifndef TIDEWATCH_DAEMON_HTTP_METRICS_H_
#define TIDEWATCH_DAEMON_HTTP_METRICS_H_

#include "daemon/http_server.h"
#include "daemon/prometheus_text.h"
#include "ingest/http_write.h"

namespace tidewatch::daemon {

//   tidewatch_http_requests_total{path,code}   (path: a route, or "other")
//   tidewatch_http_connections_open, tidewatch_http_connections_{accepted,rejected}_total
//   tidewatch_http_write_{requests,bytes,points,string_fields}_total
//   tidewatch_http_write_rejected_points_total{reason=malformed|refused|backpressure}
//   tidewatch_http_write_wait_timeouts_total
void WriteHttpMetrics(PrometheusTextWriter& w, const HttpStatsSnapshot& http,
                      const ingest::HttpWriteStats& write);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_HTTP_METRICS_H_
