#include "rules/window_tracker.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace tidewatch::rules {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// Event and processing times in seconds; ranges rendered as "[0,10) [10,20)r".
class Tracker {
 public:
  explicit Tracker(WindowPolicy policy) : tracker_(policy) {}

  void Observe(std::int64_t ts_sec, std::int64_t now_sec) {
    tracker_.Observe(ts_sec * kSec, now_sec * kSec);
  }

  std::string Take(std::int64_t now_sec) {
    std::vector<BucketRange> ranges;
    tracker_.TakeReady(now_sec * kSec, ranges);
    std::string out;
    for (const BucketRange& r : ranges) {
      if (!out.empty()) out += ' ';
      out += "[" + std::to_string(r.start / kSec) + "," + std::to_string(r.end / kSec) + ")";
      if (r.reemit) out += 'r';
    }
    return out;
  }

  WindowTracker& get() { return tracker_; }

 private:
  WindowTracker tracker_;
};

WindowPolicy Policy(std::int64_t interval_sec, std::int64_t lateness_sec = 0,
                    std::int64_t idle_sec = 0, LatePolicy late = LatePolicy::kReemit,
                    std::int64_t offset_sec = 0) {
  return {interval_sec * kSec, offset_sec * kSec, lateness_sec * kSec, idle_sec * kSec, late};
}

TEST(WindowTrackerTest, NothingBeforeTheFirstPoint) {
  Tracker t(Policy(10));
  EXPECT_EQ(t.Take(100), "");
  const WindowStats stats = t.get().stats();
  EXPECT_EQ(stats.watermark, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(stats.frontier, std::numeric_limits<std::int64_t>::min());
}

TEST(WindowTrackerTest, WatermarkClosesBucketsOnceEach) {
  Tracker t(Policy(10));
  t.Observe(3, 0);
  t.Observe(9, 0);
  EXPECT_EQ(t.Take(0), "");  // watermark 9: [0,10) still open
  t.Observe(10, 0);
  EXPECT_EQ(t.Take(0), "[0,10)");  // the end is reached exactly
  EXPECT_EQ(t.Take(0), "");
  t.Observe(47, 0);
  EXPECT_EQ(t.Take(0), "[10,40)");  // several buckets as one range
  const WindowStats stats = t.get().stats();
  EXPECT_EQ(stats.buckets_closed, 4u);
  EXPECT_EQ(stats.watermark, 47 * kSec);
  EXPECT_EQ(stats.frontier, 40 * kSec);
}

TEST(WindowTrackerTest, LatenessDelaysTheClose) {
  Tracker t(Policy(10, /*lateness=*/5));
  t.Observe(1, 0);
  t.Observe(14, 0);
  EXPECT_EQ(t.Take(0), "");  // watermark 9
  t.Observe(12, 0);          // out of order, but inside the open bucket: no effect
  t.Observe(15, 0);
  EXPECT_EQ(t.Take(0), "[0,10)");
  t.Observe(8, 0);  // bucket closed, 8 < watermark 10: too late
  EXPECT_EQ(t.Take(0), "");
  EXPECT_EQ(t.get().stats().too_late, 1u);
}

TEST(WindowTrackerTest, IdleTimeoutClosesTheNewestBucket) {
  Tracker t(Policy(10, 0, /*idle=*/30));
  t.Observe(5, 100);
  t.Observe(23, 101);
  EXPECT_EQ(t.Take(101), "[0,20)");
  EXPECT_EQ(t.Take(130), "");  // idle for 29 s
  EXPECT_EQ(t.Take(131), "[20,30)");
  EXPECT_EQ(t.Take(500), "");  // nothing more to close
  EXPECT_EQ(t.get().stats().idle_closes, 1u);
  t.Observe(31, 600);  // the stream resumes
  t.Observe(40, 600);
  EXPECT_EQ(t.Take(600), "[30,40)");
}

TEST(WindowTrackerTest, LateInsideBoundReemitsEachBucketOnce) {
  Tracker t(Policy(10, /*lateness=*/5, /*idle=*/30));
  t.Observe(2, 0);
  t.Observe(21, 0);
  EXPECT_EQ(t.Take(0), "[0,10)");    // watermark 16
  EXPECT_EQ(t.Take(30), "[10,30)");  // idle close past the watermark
  t.Observe(25, 40);                 // closed bucket, >= watermark 20: re-emit
  t.Observe(27, 40);                 // same bucket: one re-emission
  t.Observe(18, 40);                 // [10,20) too, 18 >= watermark 22? no: too late
  t.Observe(29, 40);                 // raises the maximum: watermark 24
  EXPECT_EQ(t.Take(41), "[20,30)r");
  EXPECT_EQ(t.Take(42), "");
  const WindowStats stats = t.get().stats();
  EXPECT_EQ(stats.reemissions, 1u);
  EXPECT_EQ(stats.too_late, 1u);
  EXPECT_EQ(stats.late_ignored, 0u);
}

TEST(WindowTrackerTest, LateInsideBoundIgnored) {
  Tracker t(Policy(10, 5, 30, LatePolicy::kIgnore));
  t.Observe(2, 0);
  t.Observe(21, 0);
  EXPECT_EQ(t.Take(30), "[0,30)");
  t.Observe(25, 40);
  t.Observe(3, 40);
  EXPECT_EQ(t.Take(41), "");
  const WindowStats stats = t.get().stats();
  EXPECT_EQ(stats.late_ignored, 1u);
  EXPECT_EQ(stats.too_late, 1u);
  EXPECT_EQ(stats.reemissions, 0u);
}

TEST(WindowTrackerTest, ReemitsComeFirstInStartOrder) {
  Tracker t(Policy(10, 100, 1));
  t.Observe(0, 0);
  t.Observe(35, 0);
  EXPECT_EQ(t.Take(5), "[0,40)");
  t.Observe(22, 6);
  t.Observe(5, 6);
  t.Observe(60, 6);
  EXPECT_EQ(t.Take(100), "[0,10)r [20,30)r [40,70)");
}

TEST(WindowTrackerTest, EarlierPointsMoveTheStartUntilTheFirstRange) {
  Tracker t(Policy(10));
  t.Observe(25, 0);
  t.Observe(3, 0);  // series arrive out of order: the start moves back to 0
  t.Observe(31, 0);
  EXPECT_EQ(t.Take(0), "[0,30)");
  t.Observe(1, 0);  // now it is late
  EXPECT_EQ(t.get().stats().too_late, 1u);
}

TEST(WindowTrackerTest, OffsetsAlignBuckets) {
  Tracker t(Policy(10, 0, 0, LatePolicy::kReemit, /*offset=*/3));
  EXPECT_EQ(t.get().BucketStart(5 * kSec), 3 * kSec);
  EXPECT_EQ(t.get().BucketStart(2 * kSec), -7 * kSec);
  EXPECT_EQ(t.get().BucketStart(13 * kSec), 13 * kSec);
  t.Observe(5, 0);
  t.Observe(24, 0);
  EXPECT_EQ(t.Take(0), "[3,23)");
}

TEST(WindowTrackerTest, NegativeTimestamps) {
  Tracker t(Policy(10));
  EXPECT_EQ(t.get().BucketStart(-1), -10 * kSec);
  EXPECT_EQ(t.get().BucketStart(-10 * kSec), -10 * kSec);
  EXPECT_EQ(t.get().BucketStart(-11 * kSec), -20 * kSec);
  t.Observe(-25, 0);
  t.Observe(1, 0);
  EXPECT_EQ(t.Take(0), "[-30,0)");
  // The int64 ends do not overflow.
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  EXPECT_LE(t.get().BucketStart(min), min + 10 * kSec);
  EXPECT_EQ(t.get().BucketStart(std::numeric_limits<std::int64_t>::max()) % (10 * kSec), 0);
}

TEST(WindowTrackerTest, PrimeFixesTheFrontier) {
  Tracker t(Policy(10, 0, 0));
  t.get().Prime(25 * kSec);  // rounded down to 20
  EXPECT_EQ(t.Take(0), "");
  t.Observe(21, 0);
  t.Observe(12, 0);  // before the primed frontier, watermark 21: too late
  t.Observe(30, 0);
  EXPECT_EQ(t.Take(0), "[20,30)");
  EXPECT_EQ(t.get().stats().too_late, 1u);
  t.get().Prime(0);  // no effect any more
  t.Observe(40, 0);
  EXPECT_EQ(t.Take(0), "[30,40)");
}

TEST(WindowTrackerTest, PrimeThenLateInsideBoundReemits) {
  Tracker t(Policy(10, /*lateness=*/20));
  t.get().Prime(30 * kSec);
  t.Observe(45, 0);
  t.Observe(28, 0);  // in a bucket emitted before the restart, watermark 25: re-emit
  EXPECT_EQ(t.Take(0), "[20,30)r");
}

}  // namespace
}  // namespace tidewatch::rules
