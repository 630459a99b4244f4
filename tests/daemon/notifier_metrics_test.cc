// The delivery side's metrics: every family rendered per channel, the latency histogram
// in seconds, and the page accepted by promtool.
#include "daemon/notifier_metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/daemon/promtool_check.h"

namespace tidewatch::daemon {
namespace {

NotifierStats Stats() {
  NotifierStats s;
  sinks::ChannelStats hook;
  hook.channel = "ops-webhook";
  hook.delivered = 40;
  hook.delivered_via_fallback = 3;
  hook.retries = 7;
  hook.dead = 2;
  hook.permanent_failures = 1;
  hook.outbox_errors = 5;
  hook.in_flight = 4;
  hook.breaker = sinks::BreakerState::kOpen;
  hook.latency_cumulative.fill(40);
  hook.latency_cumulative[0] = 10;  // 10 within 10 ms, the rest within 50 ms
  hook.latency_count = 40;
  hook.latency_sum_seconds = 1.25;
  sinks::ChannelStats am;
  am.channel = "a\"m";
  am.breaker = sinks::BreakerState::kHalfOpen;
  s.channels = {hook, am};
  s.unrouted_dead = 6;
  s.build_errors = 1;
  s.cq_records_produced = 1000;
  s.cq_produce_errors = 2;
  s.outbox_pruned = 17;
  return s;
}

std::string Render(const NotifierStats& stats) {
  PrometheusTextWriter w;
  WriteNotifierMetrics(w, stats);
  return std::move(w).Finish();
}

TEST(NotifierMetricsTest, RendersEveryFamilyPerChannel) {
  const std::string page = Render(Stats());
  for (const char* line : {
           "tidewatch_notifications_delivered_total{channel=\"ops-webhook\"} 40\n",
           "tidewatch_notifications_delivered_via_fallback_total{channel=\"ops-webhook\"} 3\n",
           "tidewatch_notification_retries_total{channel=\"ops-webhook\"} 7\n",
           "tidewatch_notifications_dead_total{channel=\"ops-webhook\"} 2\n",
           "tidewatch_notifications_permanent_failures_total{channel=\"ops-webhook\"} 1\n",
           "tidewatch_notification_outbox_errors_total{channel=\"ops-webhook\"} 5\n",
           "tidewatch_notifications_in_flight{channel=\"ops-webhook\"} 4\n",
           "tidewatch_notification_breaker_open{channel=\"ops-webhook\"} 1\n",
           "tidewatch_notification_breaker_open{channel=\"a\\\"m\"} 0.5\n",
           "tidewatch_notification_delivery_seconds_bucket{channel=\"ops-webhook\",le=\"0.01\"} "
           "10\n",
           "tidewatch_notification_delivery_seconds_bucket{channel=\"ops-webhook\",le=\"0.05\"} "
           "40\n",
           "tidewatch_notification_delivery_seconds_count{channel=\"ops-webhook\"} 40\n",
           "tidewatch_notification_delivery_seconds_sum{channel=\"ops-webhook\"} 1.25\n",
           "tidewatch_notifications_unrouted_dead_total 6\n",
           "tidewatch_notifications_pruned_total 17\n",
           "tidewatch_channel_build_errors 1\n",
           "tidewatch_cq_kafka_records_total 1000\n",
           "tidewatch_cq_kafka_errors_total 2\n",
       }) {
    EXPECT_NE(page.find(line), std::string::npos) << line << "\nin\n" << page;
  }
}

TEST(NotifierMetricsTest, PromtoolAcceptsThePage) {
  test_promtool::ExpectPromtoolAccepts(Render(Stats()));
  test_promtool::ExpectPromtoolAccepts(Render(NotifierStats{}));
}

}  // namespace
}  // namespace tidewatch::daemon
