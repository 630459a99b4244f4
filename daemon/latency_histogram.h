// LatencyHistogram: a lock-free histogram of durations with fixed buckets, for
// latencies such as query execution, rendered as a Prometheus histogram.
//
// Buckets (upper bounds, inclusive as Prometheus' `le`): 100 us, 250 us, 500 us, 1 ms,
// 2.5 ms, 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s, 30 s
// (the default query timeout), and +Inf. Steps of x2 and x2.5 keep the relative error of
// a quantile estimate bounded across five orders of magnitude with 18 counters.
//
// Thread safety: Observe() and TakeSnapshot() may be called concurrently from any
// number of threads. Observe() is wait-free: two relaxed atomic additions, no lock, no
// allocation. Each bucket count and the sum are exact; a snapshot taken during
// observations may include an observation in its buckets but not yet in its sum (or the
// reverse). The count is the sum of the bucket counts, so `_count` always equals the
// +Inf bucket, as Prometheus requires.
#ifndef TIDEWATCH_DAEMON_LATENCY_HISTOGRAM_H_
#define TIDEWATCH_DAEMON_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "daemon/prometheus_text.h"

namespace tidewatch::daemon {

class LatencyHistogram {
 public:
  // Finite bucket bounds in nanoseconds, ascending.
  static constexpr std::array<std::int64_t, 17> kBoundsNs = {
      100'000,       250'000,       500'000,       1'000'000,      2'500'000,     5'000'000,
      10'000'000,    25'000'000,    50'000'000,    100'000'000,    250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000};
  static constexpr std::size_t kBounds = kBoundsNs.size();

  struct Snapshot {
    std::array<double, kBounds> upper_bounds_seconds{};
    std::array<std::uint64_t, kBounds> cumulative{};  // observations <= each bound
    std::uint64_t count = 0;                          // all observations
    double sum_seconds = 0;

    // A view for PrometheusTextWriter::Histogram(); valid while this snapshot lives.
    HistogramSample sample() const {
      return HistogramSample{upper_bounds_seconds, cumulative, count, sum_seconds};
    }
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Records one duration; negative durations count as 0.
  void Observe(std::chrono::nanoseconds duration) {
    const std::int64_t ns = duration.count() > 0 ? duration.count() : 0;
    std::size_t bucket = 0;
    while (bucket < kBounds && ns > kBoundsNs[bucket]) ++bucket;
    // Relaxed: the counters are statistics; nothing else is published through them.
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }

  Snapshot TakeSnapshot() const;

 private:
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

  // Non-cumulative: counts_[i] holds observations in (bound[i-1], bound[i]];
  // counts_[kBounds] those above the last bound.
  std::array<std::atomic<std::uint64_t>, kBounds + 1> counts_{};
  // Nanoseconds, unsigned so that wrapping (after 584 years of summed latency) is
  // defined.
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_LATENCY_HISTOGRAM_H_
