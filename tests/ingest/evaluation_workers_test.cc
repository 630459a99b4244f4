// Workers drain rings into the store and complete tickets only after storing: a
// message's ticket is done exactly when all its points can be read back.
#include "ingest/evaluation_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/partition_progress.h"

namespace tidewatch::ingest {
namespace {

#ifdef TIDEWATCH_SANITIZED
constexpr std::int64_t kMessages = 2'000;
#else
constexpr std::int64_t kMessages = 20'000;
#endif
constexpr std::uint32_t kPointsPerMessage = 5;

TEST(EvaluationWorkersTest, TicketsCompleteOnlyAfterPointsAreStored) {
  store::Store db;
  store::FieldRingsOptions ring_options;
  ring_options.defaults.capacity = 64;  // small: the producer meets full rings
  store::FieldRings rings(ring_options);
  TicketTable table(1, 256);
  std::atomic<std::uint64_t> seen_by_hook{0};
  EvaluationWorkers workers(rings, db, {nullptr, &table}, 2, [&](std::span<const store::Point> p) {
    seen_by_hook.fetch_add(p.size(), std::memory_order_relaxed);
  });

  std::vector<store::SeriesId> series;
  std::vector<store::FieldId> fields;
  for (std::uint32_t f = 0; f < kPointsPerMessage; ++f) {
    const std::string name = "f" + std::to_string(f);
    series.push_back(*db.Intern({"db", "m", {}, name}, store::FieldType::kFloat));
    fields.push_back(*rings.FieldFor("m", name));
  }
  store::RecordWriter writer(rings);
  PartitionProgress progress;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (std::int64_t offset = 0; offset < kMessages; ++offset) {
    std::optional<Ticket> ticket;
    while (!(ticket = table.Take(kPointsPerMessage))) {  // table full: backpressure
      progress.Advance(table);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::yield();
    }
    writer.BeginRecord(offset, kPointsPerMessage, *ticket);
    for (std::uint32_t f = 0; f < kPointsPerMessage; ++f) {
      while (!writer.Push(fields[f], series[f], static_cast<double>(offset))) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
        std::this_thread::yield();
      }
    }
    progress.Add(offset, *ticket);
    if (const std::optional<std::int64_t> committable = progress.Advance(table)) {
      // Everything before the committable offset must be readable in the store.
      store::SeriesSnapshot snapshot;
      ASSERT_TRUE(db.windows().Read(series[kPointsPerMessage - 1], *committable - 1, *committable,
                                    snapshot));
      ASSERT_GT(snapshot.sealed.size() + snapshot.head_count, 0u) << "offset " << *committable - 1;
    }
  }
  while (progress.in_flight() > 0) {
    progress.Advance(table);
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  workers.Stop();
  EXPECT_EQ(progress.committable(), kMessages);
  EXPECT_EQ(db.windows().point_count(), static_cast<std::uint64_t>(kMessages * kPointsPerMessage));
  EXPECT_EQ(workers.stats().points_stored,
            static_cast<std::uint64_t>(kMessages * kPointsPerMessage));
  EXPECT_EQ(seen_by_hook.load(), static_cast<std::uint64_t>(kMessages * kPointsPerMessage));
  EXPECT_EQ(table.in_use(), 0u);
}

// Points trickling in a few at a time (the workers back off between them) are all
// stored, and Stop() right after the last push still stores every point: the statistics
// of both workers add up.
TEST(EvaluationWorkersTest, TrickleIsStoredAndStopDrainsEverything) {
  store::Store db;
  store::FieldRings rings(store::FieldRingsOptions{});
  TicketTable table(1, 1024);
  EvaluationWorkers workers(rings, db, {nullptr, &table}, 2);
  const store::SeriesId series = *db.Intern({"db", "m", {}, "v"}, store::FieldType::kFloat);
  const store::FieldId field = *rings.FieldFor("m", "v");
  store::RecordWriter writer(rings);
  constexpr std::int64_t kTrickle = 200;
  for (std::int64_t ts = 0; ts < kTrickle; ++ts) {
    writer.BeginRecord(ts, 1, 0);
    ASSERT_TRUE(writer.Push(field, series, 1.0));
    if (ts % 10 == 9) {  // let the workers catch up now and then
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (workers.stats().points_stored < static_cast<std::uint64_t>(ts + 1)) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
        std::this_thread::yield();
      }
    }
  }
  constexpr std::int64_t kBurst = 5000;  // below the ring capacity: no push fails
  for (std::int64_t ts = kTrickle; ts < kTrickle + kBurst; ++ts) {
    writer.BeginRecord(ts, 1, 0);
    ASSERT_TRUE(writer.Push(field, series, 2.0));
  }
  workers.Stop();
  EXPECT_EQ(workers.stats().points_stored, static_cast<std::uint64_t>(kTrickle + kBurst));
  EXPECT_EQ(workers.stats().points_refused, 0u);
  EXPECT_EQ(db.windows().point_count(), static_cast<std::uint64_t>(kTrickle + kBurst));
  EXPECT_GE(workers.stats().batches, 1u);
}

// Several workers, two rings: the hook still sees the points of each series in the
// order one producer pushed them (a rule would skip a point older than one it has seen,
// and miss a one-sample excursion).
TEST(EvaluationWorkersTest, HookSeesEachSeriesInPushOrder) {
  store::Store db;
  store::FieldRingsOptions ring_options;
  ring_options.defaults.capacity = 1024;  // many small batches
  store::FieldRings rings(ring_options);
  constexpr int kSeriesPerField = 8;
  std::vector<store::SeriesId> series;
  std::vector<store::FieldId> fields;
  for (const char* name : {"a", "b"}) {
    for (int s = 0; s < kSeriesPerField; ++s) {
      // Series of one field share its ring whatever their database.
      const std::string database = "db" + std::to_string(s);
      series.push_back(*db.Intern({database, "m", {}, name}, store::FieldType::kFloat));
      fields.push_back(*rings.FieldFor("m", name));
    }
  }
  std::mutex mu;
  std::map<store::SeriesId, std::int64_t> last_seen;  // guarded by mu
  std::uint64_t seen = 0;                              // guarded by mu
  std::uint64_t out_of_order = 0;                      // guarded by mu
  EvaluationWorkers workers(rings, db, {}, 4, [&](std::span<const store::Point> points) {
    std::this_thread::yield();  // widen the window in which another batch could overtake
    const std::lock_guard lock(mu);
    for (const store::Point& p : points) {
      auto [it, first] = last_seen.try_emplace(p.series, p.ts);
      if (!first && p.ts <= it->second) ++out_of_order;
      it->second = std::max(it->second, p.ts);
      ++seen;
    }
  });
  store::RecordWriter writer(rings);
  const std::int64_t total = kMessages * kPointsPerMessage;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (std::int64_t ts = 1; ts <= total; ++ts) {
    const std::size_t i = static_cast<std::size_t>(ts) % series.size();
    writer.BeginRecord(ts, 1, 0);
    while (!writer.Push(fields[i], series[i], 1.0)) {  // ring full: wait for the workers
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::yield();
    }
  }
  workers.Stop();
  const std::lock_guard lock(mu);
  EXPECT_EQ(seen, static_cast<std::uint64_t>(total));
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(last_seen.size(), series.size());
}

}  // namespace
}  // namespace tidewatch::ingest
