// Observe() from several threads while another thread takes ready ranges (TSan reruns
// this): every bucket is handed out exactly once, in order, without gaps.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "rules/window_tracker.h"

namespace tidewatch::rules {
namespace {

constexpr std::int64_t kPointsPerThread = 200'000;
constexpr int kThreads = 4;
constexpr std::int64_t kInterval = 100;

// Point i of thread t.
std::int64_t EventTime(std::int64_t i, int t) {
  const std::int64_t ts = i * 3 + (i % 7 == 0 ? -120 : 0) + t;
  return ts < 0 ? 0 : ts;
}

TEST(WindowTrackerConcurrencyTest, EveryBucketHandedOutExactlyOnce) {
  for (const LatePolicy late : {LatePolicy::kReemit, LatePolicy::kIgnore}) {
    WindowTracker tracker({kInterval, 0, /*lateness=*/50, /*idle=*/1'000, late});
    tracker.Observe(0, 0);  // fixes the first bucket at 0
    std::atomic<int> running{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&tracker, &running, t] {
        // Each thread walks event time forward with some jitter back, so points arrive
        // out of order across threads and some are late.
        for (std::int64_t i = 0; i < kPointsPerThread; ++i) {
          tracker.Observe(EventTime(i, t), i / 1000);
        }
        running.fetch_sub(1);
      });
    }
    std::vector<BucketRange> ranges;
    // Every 16th call is past the idle timeout: idle closes race with the observers, so
    // points land in closed buckets inside the bound and are re-emitted (or ignored).
    for (std::int64_t call = 0; running.load() > 0; ++call) {
      tracker.TakeReady(call % 16 == 0 ? 10'000 : 0, ranges);
    }
    for (std::thread& thread : threads) thread.join();
    tracker.TakeReady(std::numeric_limits<std::int64_t>::max() / 2, ranges);  // idle close

    std::int64_t next = 0;
    std::uint64_t buckets = 0;
    std::uint64_t reemits = 0;
    for (const BucketRange& r : ranges) {
      ASSERT_EQ(r.start % kInterval, 0);
      ASSERT_EQ(r.end % kInterval, 0);
      ASSERT_LT(r.start, r.end);
      if (r.reemit) {
        ASSERT_EQ(r.end - r.start, kInterval);
        ASSERT_LT(r.start, next);  // only buckets handed out before
        ++reemits;
        continue;
      }
      ASSERT_EQ(r.start, next);  // contiguous: no gap, no overlap
      next = r.end;
      buckets += static_cast<std::uint64_t>((r.end - r.start) / kInterval);
    }
    std::int64_t max_ts = 0;
    for (std::int64_t i = 0; i < kPointsPerThread; ++i) {
      for (int t = 0; t < kThreads; ++t) max_ts = std::max(max_ts, EventTime(i, t));
    }
    EXPECT_EQ(next, (max_ts / kInterval + 1) * kInterval);
    const WindowStats stats = tracker.stats();
    EXPECT_EQ(stats.buckets_closed, buckets);
    EXPECT_EQ(stats.reemissions, reemits);
    EXPECT_EQ(stats.watermark, max_ts - 50);
    const std::string policy = late == LatePolicy::kReemit ? "reemit_" : "ignore_";
    RecordProperty(policy + "late_inside_bound",
                   std::to_string(late == LatePolicy::kReemit ? reemits : stats.late_ignored));
    RecordProperty(policy + "too_late", std::to_string(stats.too_late));
    if (late == LatePolicy::kIgnore) {
      EXPECT_EQ(reemits, 0u);
    }
  }
}

}  // namespace
}  // namespace tidewatch::rules
