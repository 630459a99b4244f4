// The delivery side's metrics on /metrics (daemon::NotifierStats), per channel:
//
//   tidewatch_notifications_delivered_total{channel}               rows marked done
//   tidewatch_notifications_delivered_via_fallback_total{channel}  of which by the fallback
//   tidewatch_notification_retries_total{channel}                  failed attempts retried
//   tidewatch_notifications_dead_total{channel}                    rows dead-lettered
//   tidewatch_notifications_permanent_failures_total{channel}      of which permanent (4xx)
//   tidewatch_notification_outbox_errors_total{channel}            outbox calls that failed
//   tidewatch_notifications_in_flight{channel}                     sends under way
//   tidewatch_notification_breaker_open{channel}                   1 open, 0.5 half open, 0
//   tidewatch_notification_delivery_seconds{channel}               histogram: transition
//                                                                  (outbox row) to done
// and for the whole daemon:
//   tidewatch_notifications_unrouted_dead_total  rows dead-lettered for want of a channel
//   tidewatch_channel_build_errors               channels left out (cannot be built)
//   tidewatch_cq_kafka_records_total, tidewatch_cq_kafka_errors_total
//                                                CQ output records produced / failed batches
//
// Thread safety: a pure function of its arguments.
#ifndef TIDEWATCH_DAEMON_NOTIFIER_METRICS_H_
#define TIDEWATCH_DAEMON_NOTIFIER_METRICS_H_

#include "daemon/notifier.h"
#include "daemon/prometheus_text.h"

namespace tidewatch::daemon {

void WriteNotifierMetrics(PrometheusTextWriter& w, const NotifierStats& stats);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_NOTIFIER_METRICS_H_
