// LatencyHistogram under concurrent Observe() and TakeSnapshot() (TSan reruns it).
#include "daemon/latency_histogram.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace tidewatch::daemon {
namespace {

#ifdef TIDEWATCH_SANITIZED
constexpr std::int64_t kPerThread = 20'000;
#else
constexpr std::int64_t kPerThread = 200'000;
#endif
constexpr int kThreads = 4;

// Thread t observes t+1 ms, kPerThread times: each thread fills one known bucket.
TEST(LatencyHistogramConcurrencyTest, ConcurrentObservationsAreAllCounted) {
  LatencyHistogram h;
  std::atomic<bool> done{false};
  std::uint64_t snapshots = 0;
  std::thread reader([&] {
    // Snapshots taken meanwhile are internally consistent and never go backwards.
    LatencyHistogram::Snapshot previous;
    do {
      const LatencyHistogram::Snapshot s = h.TakeSnapshot();
      for (std::size_t i = 0; i < LatencyHistogram::kBounds; ++i) {
        ASSERT_GE(s.cumulative[i], previous.cumulative[i]);
        if (i > 0) {
          ASSERT_GE(s.cumulative[i], s.cumulative[i - 1]);
        }
      }
      ASSERT_GE(s.count, s.cumulative.back());
      previous = s;
      ++snapshots;
    } while (!done.load(std::memory_order_acquire));
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&h, t] {
      for (std::int64_t i = 0; i < kPerThread; ++i) h.Observe(std::chrono::milliseconds(t + 1));
    });
  }
  for (std::thread& w : writers) w.join();
  done.store(true, std::memory_order_release);
  reader.join();

  const LatencyHistogram::Snapshot s = h.TakeSnapshot();
  const auto cumulative_at = [&s](double le) {
    for (std::size_t i = 0; i < LatencyHistogram::kBounds; ++i) {
      if (s.upper_bounds_seconds[i] == le) return s.cumulative[i];
    }
    ADD_FAILURE() << "no bound " << le;
    return std::uint64_t{0};
  };
  // 1 ms -> le=0.001; 2 ms -> le=0.0025; 3 and 4 ms -> le=0.005.
  EXPECT_EQ(cumulative_at(0.0005), 0u);
  EXPECT_EQ(cumulative_at(0.001), static_cast<std::uint64_t>(kPerThread));
  EXPECT_EQ(cumulative_at(0.0025), static_cast<std::uint64_t>(2 * kPerThread));
  EXPECT_EQ(cumulative_at(0.005), static_cast<std::uint64_t>(4 * kPerThread));
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_DOUBLE_EQ(s.sum_seconds, static_cast<double>((1 + 2 + 3 + 4) * kPerThread) / 1000);
  EXPECT_GT(snapshots, 0u);
}

}  // namespace
}  // namespace tidewatch::daemon
