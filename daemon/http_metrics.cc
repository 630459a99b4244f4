#include "daemon/http_metrics.h"

#include <string>

namespace tidewatch::daemon {

void WriteHttpMetrics(PrometheusTextWriter& w, const HttpStatsSnapshot& http,
                      const ingest::HttpWriteStats& write) {
  w.Family("tidewatch_http_requests_total", "HTTP requests answered, by route and status code.",
           MetricType::kCounter);
  for (const HttpStatsSnapshot::Requests& r : http.requests) {
    w.Sample({{"path", r.path}, {"code", std::to_string(r.status)}}, r.count);
  }
  w.Family("tidewatch_http_connections_open", "HTTP connections open now.", MetricType::kGauge);
  w.Sample({}, http.connections_open);
  w.Family("tidewatch_http_connections_accepted_total", "HTTP connections accepted.",
           MetricType::kCounter);
  w.Sample({}, http.connections_accepted);
  w.Family("tidewatch_http_connections_rejected_total",
           "HTTP connections refused with 503 beyond the connection limit.", MetricType::kCounter);
  w.Sample({}, http.connections_rejected);

  w.Family("tidewatch_http_write_requests_total", "POST /write requests decoded.",
           MetricType::kCounter);
  w.Sample({}, write.requests);
  w.Family("tidewatch_http_write_bytes_total", "POST /write body bytes decoded (inflated).",
           MetricType::kCounter);
  w.Sample({}, write.bytes);
  w.Family("tidewatch_http_write_points_total", "Points written through POST /write and stored.",
           MetricType::kCounter);
  w.Sample({}, write.points_written);
  w.Family("tidewatch_http_write_string_fields_total",
           "String field values accepted through POST /write (counted, not stored).",
           MetricType::kCounter);
  w.Sample({}, write.string_fields);
  w.Family("tidewatch_http_write_rejected_points_total",
           "Lines or points of POST /write not written, by reason.", MetricType::kCounter);
  w.Sample({{"reason", "malformed"}}, write.lines_malformed);
  w.Sample({{"reason", "refused"}}, write.points_refused);
  w.Sample({{"reason", "backpressure"}}, write.points_backpressure);
  w.Family("tidewatch_http_write_wait_timeouts_total",
           "Writes answered 503 before their points were stored (they are stored later).",
           MetricType::kCounter);
  w.Sample({}, write.wait_timeouts);
}

}  // namespace tidewatch::daemon
