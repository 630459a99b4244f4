// The continuous queries' families on /metrics, labelled by database and CQ name.
//
// Thread safety: a pure function over a stats copy.
#ifndef TIDEWATCH_DAEMON_CQ_METRICS_H_
#define TIDEWATCH_DAEMON_CQ_METRICS_H_

#include <vector>

#include "daemon/prometheus_text.h"
#include "rules/continuous_queries.h"

namespace tidewatch::daemon {

void WriteContinuousQueryMetrics(PrometheusTextWriter& w,
                                 const std::vector<rules::ContinuousQueryStats>& stats);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_CQ_METRICS_H_
