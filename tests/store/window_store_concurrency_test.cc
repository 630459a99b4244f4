// Appends (in order, out of order, duplicates), deletes and retention run while
// queries read: no reader sees a torn point, points stay ordered, and the final state
// is exactly what was written. Run under ThreadSanitizer by the test command.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <vector>

#include "store/window_store.h"

namespace tidewatch::store {
namespace {

#ifdef TIDEWATCH_SANITIZED
constexpr Timestamp kPointsPerSeries = 6'400;
#else
constexpr Timestamp kPointsPerSeries = 64'000;
#endif
constexpr SeriesId kSeries = 8;
constexpr int kWriters = 2;  // writer w owns series s with s % kWriters == w
constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();

// Every value written encodes its own timestamp and series: a torn or mis-placed point
// fails the check. The second write of a point (a duplicate) adds 0.5.
double ValueOf(SeriesId s, Timestamp ts) { return static_cast<double>(ts * 16 + s); }
bool Plausible(SeriesId s, Timestamp ts, double v) {
  return v == ValueOf(s, ts) || v == ValueOf(s, ts) + 0.5;
}

TEST(WindowStoreConcurrencyTest, ReadersNeverSeeTornOrUnorderedPoints) {
  WindowStore store;
  for (SeriesId s = 0; s < kSeries; ++s) store.CreateSeries(s, 0);
  std::atomic<int> writers_done{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::vector<Point> batch;
      for (Timestamp base = 0; base < kPointsPerSeries; base += 64) {
        batch.clear();
        for (SeriesId s = static_cast<SeriesId>(w); s < kSeries; s += kWriters) {
          // Even timestamps in order now; the odd ones of the previous block late;
          // and a duplicate of a recent point.
          for (Timestamp t = base; t < base + 64; t += 2) batch.push_back({s, t, ValueOf(s, t)});
          if (base >= 64) {
            for (Timestamp t = base - 63; t < base; t += 2) batch.push_back({s, t, ValueOf(s, t)});
            batch.push_back({s, base - 64, ValueOf(s, base - 64) + 0.5});
          }
        }
        store.Append(batch);
      }
      writers_done.fetch_add(1);
    });
  }
  std::atomic<std::uint64_t> reads{0};
  std::atomic<bool> failed{false};
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      SeriesSnapshot snapshot;
      internal::ChunkBuffer scratch;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (writers_done.load() < kWriters && std::chrono::steady_clock::now() < deadline) {
        for (SeriesId s = static_cast<SeriesId>(r); s < kSeries; s += 2) {
          if (!store.Read(s, kMin, kMax, snapshot)) failed = true;
          Timestamp previous = kMin;
          ForEachRun(snapshot, kMin, kMax, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) {
              if (ts[i] <= previous && previous != kMin) failed = true;
              if (!Plausible(s, ts[i], v[i])) failed = true;
              previous = ts[i];
            }
          });
          reads.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed);
  EXPECT_GT(reads.load(), 0u);

  // Everything up to the last block's odd points (never sent late) is there.
  SeriesSnapshot snapshot;
  internal::ChunkBuffer scratch;
  for (SeriesId s = 0; s < kSeries; ++s) {
    ASSERT_TRUE(store.Read(s, kMin, kMax, snapshot));
    std::int64_t count = 0;
    ForEachRun(snapshot, kMin, kMax, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(Plausible(s, ts[i], v[i])) << ts[i];
      count += static_cast<std::int64_t>(n);
    });
    EXPECT_EQ(count, kPointsPerSeries - 32) << "series " << s;
  }
}

TEST(WindowStoreConcurrencyTest, MaintenanceRunsBesideWritersAndReaders) {
  WindowStore store;
  for (SeriesId s = 0; s < kSeries; ++s) store.CreateSeries(s, 0);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::vector<Point> batch;
    for (Timestamp base = 0; base < kPointsPerSeries; base += 128) {
      batch.clear();
      for (SeriesId s = 0; s < kSeries; ++s) {
        for (Timestamp t = base; t < base + 128; ++t) batch.push_back({s, t, ValueOf(s, t)});
      }
      store.Append(batch);
    }
    stop = true;
  });
  std::thread maintenance([&] {
    std::vector<SeriesId> idle;
    while (!stop) {
      const Timestamp newest = store.newest_ts(0);
      if (newest == kMin) continue;  // nothing written yet
      store.DropBefore(0, newest - 4096, idle);
      store.Delete(3, newest - 2000, newest - 1000);
      store.EnforceBudget(std::size_t{1} << 20);
      std::this_thread::yield();
    }
  });
  std::thread reader([&] {
    SeriesSnapshot snapshot;
    internal::ChunkBuffer scratch;
    while (!stop) {
      for (SeriesId s = 0; s < kSeries; ++s) {
        store.Read(s, kMin, kMax, snapshot);
        ForEachRun(snapshot, kMin, kMax, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], ValueOf(s, ts[i]));
        });
      }
    }
  });
  writer.join();
  maintenance.join();
  reader.join();
  EXPECT_EQ(store.newest_ts(0), kPointsPerSeries - 1);
}

}  // namespace
}  // namespace tidewatch::store
