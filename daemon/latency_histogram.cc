#include "daemon/latency_histogram.h"

namespace tidewatch::daemon {

LatencyHistogram::Snapshot LatencyHistogram::TakeSnapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kBounds; ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
    s.upper_bounds_seconds[i] = static_cast<double>(kBoundsNs[i]) / 1e9;
  }
  s.count = running + counts_[kBounds].load(std::memory_order_relaxed);
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

}  // namespace tidewatch::daemon
