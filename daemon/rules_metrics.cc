#include "daemon/rules_metrics.h"

#include <cstdint>
#include <string_view>

namespace tidewatch::daemon {
namespace {

constexpr MetricType kCounter = MetricType::kCounter;
constexpr MetricType kGauge = MetricType::kGauge;

struct Counter {
  std::string_view name;
  std::string_view help;
  std::uint64_t rules::EngineStats::*value;
};

constexpr Counter kCounters[] = {
    {"tidewatch_rule_points_evaluated_total", "Points evaluated by raw alert rules.",
     &rules::EngineStats::points_evaluated},
    {"tidewatch_alert_transitions_total", "Alert state transitions recorded.",
     &rules::EngineStats::transitions},
    {"tidewatch_alert_notifications_total", "Notifications queued in the outbox.",
     &rules::EngineStats::notifications},
    {"tidewatch_alert_instances_refused_total",
     "Points not evaluated because their rule reached max_instances_per_rule.",
     &rules::EngineStats::instances_refused},
    {"tidewatch_alert_commit_errors_total",
     "Catalog commits of alert transitions that failed (retried with the next commit).",
     &rules::EngineStats::commit_errors},
    {"tidewatch_alert_transitions_dropped_total",
     "Alert transitions given up after commit errors (not persisted, not notified).",
     &rules::EngineStats::transitions_dropped},
    {"tidewatch_alert_window_query_errors_total",
     "Window queries of aggregate rules that answered an error.",
     &rules::EngineStats::window_query_errors},
};

struct Gauge {
  std::string_view name;
  std::string_view help;
  std::size_t rules::EngineStats::*value;
};

constexpr Gauge kGauges[] = {
    {"tidewatch_rules", "Alert rules defined.", &rules::EngineStats::rules},
    {"tidewatch_rules_enabled", "Alert rules enabled.", &rules::EngineStats::rules_enabled},
    {"tidewatch_alarms_standing", "Alarms in alarm for longer than 24 hours.",
     &rules::EngineStats::standing},
    {"tidewatch_alarms_stale", "Alarms in alarm whose series sends no data (no_data_after).",
     &rules::EngineStats::stale},
    {"tidewatch_alarms_shelved", "Alert instances shelved by an operator.",
     &rules::EngineStats::shelved},
    {"tidewatch_alarms_suppressed", "Alert instances suppressed by design or for chatter.",
     &rules::EngineStats::suppressed},
    {"tidewatch_alarms_out_of_service", "Alert instances taken out of service.",
     &rules::EngineStats::out_of_service},
    {"tidewatch_alarms_chattering", "Alert instances chattering now.",
     &rules::EngineStats::chattering},
};

}  // namespace

void WriteRuleMetrics(PrometheusTextWriter& w, const rules::EngineStats& stats) {
  for (const Gauge& g : kGauges) {
    w.Family(g.name, g.help, kGauge);
    w.Sample({}, stats.*g.value);
  }
  for (const Counter& c : kCounters) {
    w.Family(c.name, c.help, kCounter);
    w.Sample({}, stats.*c.value);
  }
  w.Family("tidewatch_alarms_last_10m",
           "Alarms announced in the last 10 minutes, per database (EEMUA 191: about 1 is "
           "manageable, more than 10 is a flood).",
           kGauge);
  for (const auto& [db, alarms] : stats.alarms_last_10m_by_db) w.Sample({{"db", db}}, alarms);
  w.Family("tidewatch_alarm_flood_time_ratio",
           "Share of the time since start during which more than 10 alarms were announced "
           "per 10 minutes.",
           kGauge);
  w.Sample({}, stats.flood_time_ratio);
  w.Family("tidewatch_alarm_bad_actor_alarms_last_10m",
           "Alarms announced in the last 10 minutes by the instances that announced the most.",
           kGauge);
  for (const rules::EngineStats::BadActor& actor : stats.bad_actors) {
    w.Sample({{"rule", actor.rule}, {"instance", actor.instance_key}}, actor.alarms);
  }
}

}  // namespace tidewatch::daemon
