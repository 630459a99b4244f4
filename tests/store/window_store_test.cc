#include "store/window_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace tidewatch::store {
namespace {

constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
constexpr std::uint32_t kChunk = internal::kChunkPoints;

std::map<Timestamp, double> ReadAll(const WindowStore& store, SeriesId series,
                                    Timestamp start = kMin, Timestamp end = kMax) {
  SeriesSnapshot snapshot;
  std::map<Timestamp, double> out;
  if (!store.Read(series, start, end, snapshot)) return out;
  internal::ChunkBuffer scratch;
  Timestamp previous = kMin;
  bool first = true;
  ForEachRun(snapshot, start, end, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(first || ts[i] > previous) << "points out of order at " << ts[i];
      first = false;
      previous = ts[i];
      out[ts[i]] = v[i];
    }
  });
  return out;
}

std::string Render(const std::map<Timestamp, double>& points) {
  std::string out;
  for (const auto& [ts, v] : points) out += std::to_string(ts) + "=" + std::to_string(static_cast<int>(v)) + " ";
  return out;
}

TEST(WindowStoreTest, AppendsAndReadsBack) {
  WindowStore store;
  store.CreateSeries(7, 0);
  const std::vector<Point> points = {{7, 10, 1}, {7, 20, 2}, {7, 30, 3}};
  const AppendStats stats = store.Append(points);
  EXPECT_EQ(stats.appended, 3u);
  EXPECT_EQ(Render(ReadAll(store, 7)), "10=1 20=2 30=3 ");
  EXPECT_EQ(Render(ReadAll(store, 7, 15, 30)), "20=2 ");
  EXPECT_EQ(store.point_count(), 3u);
  EXPECT_EQ(store.newest_ts(0), 30);
}

TEST(WindowStoreTest, OutOfOrderPointsArePlacedAndDuplicatesReplace) {
  WindowStore store;
  store.CreateSeries(1, 0);
  AppendStats stats = store.Append(std::vector<Point>{{1, 30, 3}, {1, 10, 1}, {1, 20, 2}});
  stats += store.Append(std::vector<Point>{{1, 15, 5}, {1, 20, 9}, {1, 5, 0}});
  EXPECT_EQ(Render(ReadAll(store, 1)), "5=0 10=1 15=5 20=9 30=3 ");
  EXPECT_EQ(stats.appended, 5u);
  EXPECT_EQ(stats.replaced, 1u);
  EXPECT_EQ(store.point_count(), 5u);
}

TEST(WindowStoreTest, LaterDuplicateInOneBatchWins) {
  WindowStore store;
  store.CreateSeries(1, 0);
  store.Append(std::vector<Point>{{1, 10, 1}, {1, 10, 2}, {1, 10, 3}});
  EXPECT_EQ(Render(ReadAll(store, 1)), "10=3 ");
}

TEST(WindowStoreTest, RefusesNonFiniteAndUnknownSeries) {
  WindowStore store;
  store.CreateSeries(1, 0);
  const double inf = std::numeric_limits<double>::infinity();
  const AppendStats stats = store.Append(std::vector<Point>{
      {1, 1, std::nan("")}, {1, 2, inf}, {1, 3, -inf}, {2, 4, 1}, {1, 5, 5}});
  EXPECT_EQ(stats.non_finite, 3u);
  EXPECT_EQ(stats.unknown_series, 1u);
  EXPECT_EQ(stats.appended, 1u);
  EXPECT_EQ(Render(ReadAll(store, 1)), "5=5 ");
}

TEST(WindowStoreTest, ManyChunksInAndOutOfOrder) {
  WindowStore store;
  store.CreateSeries(3, 0);
  std::map<Timestamp, double> expected;
  std::vector<Point> batch;
  for (Timestamp t = 0; t < 5 * kChunk; ++t) {  // even timestamps, in order: 5 chunks' worth
    batch.push_back({3, 2 * t, static_cast<double>(t)});
    expected[2 * t] = static_cast<double>(t);
  }
  store.Append(batch);
  batch.clear();
  for (Timestamp t = 0; t < 5 * kChunk; t += 3) {  // odd ones into sealed chunks: splits
    batch.push_back({3, 2 * t + 1, -1.0});
    expected[2 * t + 1] = -1.0;
  }
  store.Append(batch);
  EXPECT_EQ(ReadAll(store, 3), expected);
  EXPECT_EQ(store.point_count(), expected.size());
  SeriesSnapshot snapshot;
  ASSERT_TRUE(store.Read(3, kMin, kMax, snapshot));
  EXPECT_GE(snapshot.sealed.size(), 5u);
  for (std::size_t i = 1; i < snapshot.sealed.size(); ++i) {
    EXPECT_LT(snapshot.sealed[i - 1]->summary().max_ts, snapshot.sealed[i]->summary().min_ts);
    EXPECT_LE(snapshot.sealed[i]->summary().count, kChunk);
  }
}

TEST(WindowStoreTest, SnapshotIsUnaffectedByLaterWrites) {
  WindowStore store;
  store.CreateSeries(1, 0);
  store.Append(std::vector<Point>{{1, 10, 1}, {1, 20, 2}});
  SeriesSnapshot held;
  ASSERT_TRUE(store.Read(1, kMin, kMax, held));
  store.Append(std::vector<Point>{{1, 20, 7}, {1, 15, 5}, {1, 30, 3}});  // replace, insert, append
  internal::ChunkBuffer scratch;
  std::string seen;
  ForEachRun(held, kMin, kMax, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) seen += std::to_string(ts[i]) + "=" + std::to_string(static_cast<int>(v[i])) + " ";
  });
  EXPECT_EQ(seen, "10=1 20=2 ");
  EXPECT_EQ(Render(ReadAll(store, 1)), "10=1 15=5 20=7 30=3 ");
}

TEST(WindowStoreTest, DeleteRemovesARange) {
  WindowStore store;
  store.CreateSeries(1, 0);
  std::vector<Point> batch;
  for (Timestamp t = 0; t < 3 * kChunk; ++t) batch.push_back({1, t, 1});
  store.Append(batch);
  EXPECT_EQ(store.Delete(1, 100, 2500), 2400u);
  const auto left = ReadAll(store, 1);
  EXPECT_EQ(left.size(), 3 * kChunk - 2400);
  EXPECT_EQ(left.count(99), 1u);
  EXPECT_EQ(left.count(100), 0u);
  EXPECT_EQ(left.count(2499), 0u);
  EXPECT_EQ(left.count(2500), 1u);
  EXPECT_EQ(store.point_count(), left.size());
  EXPECT_EQ(store.Delete(1, 5, 5), 0u);
  EXPECT_EQ(store.Delete(99, 0, 10), 0u);
}

TEST(WindowStoreTest, DropBeforeFreesOldChunksAndReportsIdleSeries) {
  WindowStore store;
  store.CreateSeries(1, 0);
  store.CreateSeries(2, 0);
  store.CreateSeries(3, 1);  // another db: untouched
  std::vector<Point> batch;
  for (Timestamp t = 0; t < 2 * kChunk + 10; ++t) batch.push_back({1, t, 1});
  batch.push_back({2, 5, 1});
  batch.push_back({3, 5, 1});
  store.Append(batch);
  const std::size_t before = store.MemoryBytes();
  std::vector<SeriesId> idle;
  const std::uint64_t freed = store.DropBefore(0, kChunk + 1, idle);
  EXPECT_EQ(freed, kChunk + 1u);  // series 1's first chunk and series 2's point
  EXPECT_EQ(idle, std::vector<SeriesId>{2});
  EXPECT_LT(store.MemoryBytes(), before);
  EXPECT_EQ(ReadAll(store, 1).begin()->first, static_cast<Timestamp>(kChunk));
  EXPECT_EQ(ReadAll(store, 3).size(), 1u);
  store.RemoveSeries(idle);
  EXPECT_FALSE(store.HasSeries(2));
  EXPECT_EQ(store.series_count(), 2u);
  EXPECT_EQ(store.point_count(), 2 * kChunk + 10 - kChunk + 1);
}

TEST(WindowStoreTest, BudgetEvictsOldestChunksFirst) {
  WindowStore store;
  for (SeriesId s = 0; s < 4; ++s) store.CreateSeries(s, 0);
  std::vector<Point> batch;
  for (SeriesId s = 0; s < 4; ++s) {
    // Series s covers [s * 10 * kChunk, ...): series 0 holds the oldest data.
    for (Timestamp t = 0; t < 4 * kChunk; ++t) batch.push_back({s, s * 10 * kChunk + t, std::sin(t)});
  }
  store.Append(batch);
  const std::size_t full = store.MemoryBytes();
  const std::uint64_t freed = store.EnforceBudget(full - 1);
  EXPECT_GT(freed, 0u);
  EXPECT_LE(store.MemoryBytes(), full - 1);
  EXPECT_EQ(store.budget_evicted(), freed);
  EXPECT_LT(ReadAll(store, 0).size(), 4 * kChunk);  // the oldest went
  EXPECT_EQ(ReadAll(store, 3).size(), 4 * kChunk);  // the newest stayed
  EXPECT_EQ(store.EnforceBudget(store.MemoryBytes()), 0u);
}

TEST(WindowStoreTest, RemovedSeriesReleaseTheirMemory) {
  WindowStore store;
  const std::size_t empty = store.MemoryBytes();
  store.CreateSeries(1, 0);
  std::vector<Point> batch;
  for (Timestamp t = 0; t < 3 * kChunk; ++t) batch.push_back({1, t, 1});
  store.Append(batch);
  const std::vector<SeriesId> ids = {1};
  store.RemoveSeries(ids);
  EXPECT_EQ(store.MemoryBytes(), empty);
  EXPECT_EQ(store.point_count(), 0u);
}

// Random writes of every kind against a std::map, over many seeds.
TEST(WindowStoreTest, MatchesAReferenceOnRandomWrites) {
#ifdef TIDEWATCH_SANITIZED
  constexpr std::uint32_t kSeeds = 8;
#else
  constexpr std::uint32_t kSeeds = 30;
#endif
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    WindowStoreOptions options;  // compressed and raw chunks, alternately
    options.compress_sealed_chunks = seed % 2 == 0;
    WindowStore store(options);
    std::map<SeriesId, std::map<Timestamp, double>> expected;
    for (SeriesId s = 0; s < 3; ++s) store.CreateSeries(s, 0);
    for (int round = 0; round < 20; ++round) {
      std::vector<Point> batch;
      const int n = static_cast<int>(rng() % 600);
      for (int i = 0; i < n; ++i) {
        const auto s = static_cast<SeriesId>(rng() % 3);
        const auto ts = static_cast<Timestamp>(rng() % 5000) - 1000;
        const double v = static_cast<double>(rng() % 1000);
        batch.push_back({s, ts, v});
        expected[s][ts] = v;
      }
      store.Append(batch);
      if (rng() % 5 == 0) {
        const auto s = static_cast<SeriesId>(rng() % 3);
        const auto a = static_cast<Timestamp>(rng() % 5000) - 1000;
        const Timestamp b = a + static_cast<Timestamp>(rng() % 800);
        store.Delete(s, a, b);
        auto& m = expected[s];
        m.erase(m.lower_bound(a), m.lower_bound(b));
      }
    }
    std::size_t total = 0;
    for (SeriesId s = 0; s < 3; ++s) {
      ASSERT_EQ(ReadAll(store, s), expected[s]) << "seed " << seed << " series " << s;
      total += expected[s].size();
    }
    ASSERT_EQ(store.point_count(), total) << "seed " << seed;
  }
}

}  // namespace
}  // namespace tidewatch::store
