#include "daemon/notifier_metrics.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace tidewatch::daemon {
namespace {

struct ChannelCounter {
  std::string_view name;
  std::string_view help;
  std::uint64_t sinks::ChannelStats::*value;
};

constexpr ChannelCounter kChannelCounters[] = {
    {"tidewatch_notifications_delivered_total", "Notifications delivered (outbox rows done).",
     &sinks::ChannelStats::delivered},
    {"tidewatch_notifications_delivered_via_fallback_total",
     "Notifications delivered through the channel's fallback.",
     &sinks::ChannelStats::delivered_via_fallback},
    {"tidewatch_notification_retries_total", "Failed delivery attempts scheduled again.",
     &sinks::ChannelStats::retries},
    {"tidewatch_notifications_dead_total",
     "Notifications dead-lettered (attempts or age exhausted, or a permanent failure).",
     &sinks::ChannelStats::dead},
    {"tidewatch_notifications_permanent_failures_total",
     "Notifications dead-lettered at once for a permanent failure (a 4xx other than 408/429).",
     &sinks::ChannelStats::permanent_failures},
    {"tidewatch_notification_outbox_errors_total",
     "Outbox calls (claim, mark done, ...) of the channel's senders that failed.",
     &sinks::ChannelStats::outbox_errors},
};

double BreakerValue(sinks::BreakerState state) {
  switch (state) {
    case sinks::BreakerState::kOpen:
      return 1;
    case sinks::BreakerState::kHalfOpen:
      return 0.5;
    case sinks::BreakerState::kClosed:
      break;
  }
  return 0;
}

constexpr std::array<double, sinks::kDeliveryLatencyBoundsNs.size()> kLatencyBoundsSeconds = [] {
  std::array<double, sinks::kDeliveryLatencyBoundsNs.size()> bounds{};
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    bounds[i] = static_cast<double>(sinks::kDeliveryLatencyBoundsNs[i]) / 1e9;
  }
  return bounds;
}();

}  // namespace

void WriteNotifierMetrics(PrometheusTextWriter& w, const NotifierStats& stats) {
  constexpr MetricType kCounter = MetricType::kCounter;
  constexpr MetricType kGauge = MetricType::kGauge;
  for (const ChannelCounter& c : kChannelCounters) {
    w.Family(c.name, c.help, kCounter);
    for (const sinks::ChannelStats& s : stats.channels) {
      w.Sample({{"channel", s.channel}}, s.*c.value);
    }
  }
  w.Family("tidewatch_notifications_in_flight", "Notifications being sent now.", kGauge);
  for (const sinks::ChannelStats& s : stats.channels) {
    w.Sample({{"channel", s.channel}}, s.in_flight);
  }
  w.Family("tidewatch_notification_breaker_open",
           "The channel's circuit breaker: 1 open, 0.5 half open (probing), 0 closed.", kGauge);
  for (const sinks::ChannelStats& s : stats.channels) {
    w.Sample({{"channel", s.channel}}, BreakerValue(s.breaker));
  }
  w.Family("tidewatch_notification_delivery_seconds",
           "From the alert transition (the outbox row) to its delivery.", MetricType::kHistogram);
  for (const sinks::ChannelStats& s : stats.channels) {
    w.Histogram({{"channel", s.channel}},
                HistogramSample{kLatencyBoundsSeconds, s.latency_cumulative, s.latency_count,
                                s.latency_sum_seconds});
  }
  w.Family("tidewatch_notifications_unrouted_dead_total",
           "Notifications dead-lettered because no channel of their name exists.", kCounter);
  w.Sample({}, stats.unrouted_dead);
  w.Family("tidewatch_notifications_pruned_total",
           "Delivered notifications deleted from the outbox after rules.outbox_retention.",
           kCounter);
  w.Sample({}, stats.outbox_pruned);
  w.Family("tidewatch_channel_build_errors",
           "Channels left out because their emitter cannot be built (their rows wait).", kGauge);
  w.Sample({}, stats.build_errors);
  w.Family("tidewatch_cq_kafka_records_total",
           "Continuous query output records produced to Kafka channels.", kCounter);
  w.Sample({}, stats.cq_records_produced);
  w.Family("tidewatch_cq_kafka_errors_total",
           "Continuous query output batches a Kafka channel did not take (the range is retried).",
           kCounter);
  w.Sample({}, stats.cq_produce_errors);
}

}  // namespace tidewatch::daemon
