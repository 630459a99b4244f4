#include "daemon/cq_metrics.h"

#include <cstdint>
#include <limits>
#include <string_view>

namespace tidewatch::daemon {
namespace {

struct Counter {
  std::string_view name;
  std::string_view help;
  std::uint64_t rules::ContinuousQueryStats::*value;
};

constexpr Counter kCounters[] = {
    {"tidewatch_cq_buckets_emitted_total", "Continuous query buckets computed and written.",
     &rules::ContinuousQueryStats::buckets_emitted},
    {"tidewatch_cq_reemissions_total", "Buckets written again after a late point.",
     &rules::ContinuousQueryStats::reemissions},
    {"tidewatch_cq_late_ignored_total",
     "Late points inside the lateness bound left out (LATE IGNORE).",
     &rules::ContinuousQueryStats::late_ignored},
    {"tidewatch_cq_too_late_total", "Points later than the lateness bound, left out.",
     &rules::ContinuousQueryStats::too_late},
    {"tidewatch_cq_lines_written_total", "Output lines written by continuous queries.",
     &rules::ContinuousQueryStats::lines_written},
    {"tidewatch_cq_run_errors_total", "Continuous query runs that failed.",
     &rules::ContinuousQueryStats::run_errors},
};

}  // namespace

void WriteContinuousQueryMetrics(PrometheusTextWriter& w,
                                 const std::vector<rules::ContinuousQueryStats>& stats) {
  for (const Counter& counter : kCounters) {
    w.Family(counter.name, counter.help, MetricType::kCounter);
    for (const rules::ContinuousQueryStats& cq : stats) {
      w.Sample({{"db", cq.db}, {"cq", cq.name}}, cq.*counter.value);
    }
  }
  w.Family("tidewatch_cq_watermark_seconds",
           "Highest input event time minus the allowed lateness, per continuous query.",
           MetricType::kGauge);
  for (const rules::ContinuousQueryStats& cq : stats) {
    if (cq.watermark == std::numeric_limits<store::Timestamp>::min()) continue;  // no input yet
    w.Sample({{"db", cq.db}, {"cq", cq.name}}, static_cast<double>(cq.watermark) / 1e9);
  }
}

}  // namespace tidewatch::daemon
