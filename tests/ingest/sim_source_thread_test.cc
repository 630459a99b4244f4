// SimSource's ticking thread with real evaluation workers: the backfill ends where
// wall-clock ticking starts, everything is stored, and Stop() returns at once even
// though the next tick is up to an hour away. TSan reruns it (label concurrency).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "ingest/evaluation_workers.h"
#include "ingest/sim_source.h"

namespace tidewatch::ingest {
namespace {

constexpr store::Timestamp kHour = 3'600'000'000'000;

TEST(SimSourceThreadTest, BackfillsTicksAndStopsPromptly) {
  store::Store db;
  store::FieldRingsOptions ring_options;
  ring_options.defaults.capacity = 256;  // small: the backfill meets full rings
  store::FieldRings rings(ring_options);
  EvaluationWorkers workers(rings, db, {}, 2);
  SimOptions options;
  options.sites = 2;
  options.sensors_per_site = 10;  // 60 series
  options.excursion_probability = 0.01;
  options.interval = std::chrono::hours(1);
  options.backfill = std::chrono::hours(200);
  options.ring_wait = std::chrono::seconds(30);
  SimSource sim(options, db, rings);
  sim.Start();

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sim.stats().ticks < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(sim.stats().ticks, 200u);

  auto stopped = std::async(std::launch::async, [&] { sim.Stop(); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  workers.Stop();

  // 200 backfill steps, and a wall-clock tick if an hour boundary passed meanwhile.
  const SimStats stats = sim.stats();
  ASSERT_LE(stats.ticks, 201u);
  EXPECT_EQ(stats.points_generated, 60u * stats.ticks);
  EXPECT_EQ(stats.points_dropped, 0u);
  EXPECT_EQ(workers.stats().points_stored, 60u * stats.ticks);
  EXPECT_EQ(db.windows().series_count(), 60u);
  EXPECT_EQ(db.windows().point_count(), 60u * stats.ticks);
  // Event times are on the interval's grid, the newest within the last hour.
  const store::Timestamp newest = db.newest_ts("plant");
  const store::Timestamp now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  EXPECT_EQ(newest % kHour, 0);
  EXPECT_LE(newest, now);
  EXPECT_GT(newest, now - kHour);

  // Stop() is idempotent.
  sim.Stop();
}

}  // namespace
}  // namespace tidewatch::ingest
