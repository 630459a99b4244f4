// RenderMetrics: the /metrics page of tidewatchd (Prometheus text format), built on
// demand from the counters the components already keep. Nothing here is on the ingest
// hot path; a scrape costs a few map copies (databases, Kafka offsets) and one pass
// over the field rings.
//
// What an operator gets (all names prefixed tidewatch_ unless process_*):
//   store_series{db}, store_points, store_memory_bytes{component="windows"|"index"},
//   store_newest_timestamp_seconds{db} (event-time freshness: time() minus it),
//   store_budget_evicted_points_total, store_rejected_series_total{db},
//   store_type_conflicts_total{db};
//   ring_fields, ring_fields_rejected_total, and per (measurement, field) ring:
//   ring_depth, ring_capacity, ring_pushed_total, ring_rejected_total (backpressure),
//   ring_dropped_total (lossy fields);
//   per Kafka source {source}: ingest_messages_total, ingest_points_total,
//   ingest_bad_lines_total, ingest_string_fields_total, ingest_points_refused_total,
//   ingest_messages_rejected_total, ingest_rejections_total{topic,reason},
//   ingest_topic_{messages,points,bytes}_total{topic},
//   kafka_pauses_total, kafka_rebalances_total, kafka_consumer_errors_total,
//   kafka_points_abandoned_total, kafka_dead_letters_{queued,delivered,failed}_total,
//   kafka_dead_letter_queue_full_total, kafka_processed_offset{topic,partition},
//   kafka_consumer_lag{topic,partition} (high watermark minus processed offset, >= 0;
//   only partitions with both known);
//   evaluation_points_stored_total, evaluation_points_refused_total,
//   evaluation_batches_total; checkpoint_age_seconds; query_duration_seconds
//   (histogram); build_info{version}; process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_cpu_seconds_total, process_start_time_seconds,
//   process_open_fds, process_max_fds.
//
// Thread safety: RenderMetrics() may run concurrently with ingest and queries (every
// source is read through its thread-safe accessors) and with other RenderMetrics()
// calls on the same sources.
#ifndef TIDEWATCH_DAEMON_METRICS_H_
#define TIDEWATCH_DAEMON_METRICS_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/latency_histogram.h"
#include "daemon/prometheus_text.h"
#include "ingest/evaluation_workers.h"
#include "ingest/kafka_source.h"
#include "store/field_rings.h"
#include "store/store.h"

namespace tidewatch::daemon {

struct NamedKafkaSource {
  std::string name;  // the `source` label, e.g. "kafka0" or a configured name
  const ingest::KafkaSource* source = nullptr;
};

// What to render. Every pointer is borrowed and may be null (that part is left out);
// the pointees must outlive the RenderMetrics() call.
struct MetricsSources {
  const store::Store* store = nullptr;
  // Not const: FieldRings offers ring() only on a mutable object. Only read here.
  store::FieldRings* rings = nullptr;
  std::vector<NamedKafkaSource> kafka;
  const ingest::EvaluationWorkers* workers = nullptr;
  // Seconds since the last successful checkpoint; if none succeeded yet, since startup,
  // so that an alert on the age fires when checkpoints never succeed. Empty: omitted.
  std::function<double()> checkpoint_age_seconds;
  const LatencyHistogram* query_latency = nullptr;
  // tidewatch_build_info{version="..."} 1.
  std::string version = "unknown";
  // Whether to add the process_* metrics read from /proc/self.
  bool process = true;
  // Called last, in order, for metrics of components this file does not know (HTTP
  // request counters, ...). Each may open its own families.
  std::vector<std::function<void(PrometheusTextWriter&)>> extra;
};

std::string RenderMetrics(const MetricsSources& sources);

// The metrics of one Kafka source from its stats and processed offsets ("topic/
// partition" -> offset; the lag pairs them with stats.high_watermarks); RenderMetrics()
// calls it per source. Exposed for tests.
void WriteKafkaMetrics(PrometheusTextWriter& w, std::string_view source,
                       const ingest::KafkaSourceStats& stats,
                       const store::SnapshotOffsets& processed);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_METRICS_H_
