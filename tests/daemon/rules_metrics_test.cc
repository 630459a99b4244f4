// The rule engine's metrics: every family rendered, hostile label values escaped, and
// the page accepted by promtool.
#include "daemon/rules_metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/daemon/promtool_check.h"

namespace tidewatch::daemon {
namespace {

rules::EngineStats Stats() {
  rules::EngineStats s;
  s.rules = 3;
  s.rules_enabled = 2;
  s.points_evaluated = 12345;
  s.transitions = 17;
  s.notifications = 9;
  s.instances_refused = 4;
  s.commit_errors = 1;
  s.transitions_dropped = 2;
  s.window_query_errors = 5;
  s.alarms_last_10m_by_db = {{"plant", 12}, {"a\"b\\c\nd", 1}};
  s.flood_time_ratio = 0.25;
  s.standing = 1;
  s.stale = 2;
  s.shelved = 3;
  s.suppressed = 4;
  s.out_of_service = 5;
  s.chattering = 6;
  s.bad_actors = {{"high-pressure", "sensor=pt-001,site=site1", 7}, {"r", "k=\"v\"\xff", 1}};
  return s;
}

std::string Render(const rules::EngineStats& stats) {
  PrometheusTextWriter w;
  WriteRuleMetrics(w, stats);
  return std::move(w).Finish();
}

TEST(RulesMetricsTest, RendersEveryFamily) {
  const std::string page = Render(Stats());
  for (const char* line : {
           "tidewatch_rules 3\n",
           "tidewatch_rules_enabled 2\n",
           "tidewatch_rule_points_evaluated_total 12345\n",
           "tidewatch_alert_transitions_total 17\n",
           "tidewatch_alert_notifications_total 9\n",
           "tidewatch_alert_instances_refused_total 4\n",
           "tidewatch_alert_commit_errors_total 1\n",
           "tidewatch_alert_transitions_dropped_total 2\n",
           "tidewatch_alert_window_query_errors_total 5\n",
           "tidewatch_alarms_last_10m{db=\"plant\"} 12\n",
           "tidewatch_alarms_last_10m{db=\"a\\\"b\\\\c\\nd\"} 1\n",
           "tidewatch_alarm_flood_time_ratio 0.25\n",
           "tidewatch_alarms_standing 1\n",
           "tidewatch_alarms_stale 2\n",
           "tidewatch_alarms_shelved 3\n",
           "tidewatch_alarms_suppressed 4\n",
           "tidewatch_alarms_out_of_service 5\n",
           "tidewatch_alarms_chattering 6\n",
           "tidewatch_alarm_bad_actor_alarms_last_10m{rule=\"high-pressure\","
           "instance=\"sensor=pt-001,site=site1\"} 7\n",
           "tidewatch_alarm_bad_actor_alarms_last_10m{rule=\"r\",instance=\"k="
           "\\\"v\\\"\xEF\xBF\xBD\"} 1\n",
           "# TYPE tidewatch_alert_transitions_total counter\n",
           "# TYPE tidewatch_alarms_last_10m gauge\n",
       }) {
    EXPECT_NE(page.find(line), std::string::npos) << line << "\npage:\n" << page;
  }
  test_promtool::ExpectPromtoolAccepts(page);
}

TEST(RulesMetricsTest, AnIdleEngineRendersZerosAndNoLabelledSamples) {
  const std::string page = Render(rules::EngineStats{});
  EXPECT_NE(page.find("tidewatch_rules 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("tidewatch_alarm_flood_time_ratio 0\n"), std::string::npos) << page;
  EXPECT_EQ(page.find("tidewatch_alarms_last_10m"), std::string::npos) << page;
  EXPECT_EQ(page.find("bad_actor"), std::string::npos) << page;
  test_promtool::ExpectPromtoolAccepts(page);
}

}  // namespace
}  // namespace tidewatch::daemon
