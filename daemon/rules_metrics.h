// The rule engine's metrics on /metrics: rules, evaluation and notification counters,
// and the alarm-system KPIs of ISA-18.2 / EEMUA 191 (rules::EngineStats). Rendered into
// /metrics through MetricsSources::extra (daemon/metrics.h).
//
//   tidewatch_rules, tidewatch_rules_enabled
//   tidewatch_rule_points_evaluated_total, tidewatch_alert_transitions_total,
//   tidewatch_alert_notifications_total, tidewatch_alert_instances_refused_total,
//   tidewatch_alert_commit_errors_total, tidewatch_alert_transitions_dropped_total,
//   tidewatch_alert_window_query_errors_total
//   tidewatch_alarms_last_10m{db}          alarms announced in the last 10 minutes
//   tidewatch_alarm_flood_time_ratio       share of the time in alarm flood (> 10 / 10 min)
//   tidewatch_alarms_standing, _stale, _shelved, _suppressed, _out_of_service,
//   _chattering                             instances in each condition now
//   tidewatch_alarm_bad_actor_alarms_last_10m{rule,instance}  the top bad actors
//
// Thread safety: a pure function of its arguments.
#ifndef TIDEWATCH_DAEMON_RULES_METRICS_H_
#define TIDEWATCH_DAEMON_RULES_METRICS_H_

#include "daemon/prometheus_text.h"
#include "rules/rule_engine.h"

namespace tidewatch::daemon {

void WriteRuleMetrics(PrometheusTextWriter& w, const rules::EngineStats& stats);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_RULES_METRICS_H_
