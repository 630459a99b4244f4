// store_bench: the window store's append rate, aggregation scan speed against this
// machine's single-core memory bandwidth (measured in the same run), and resident
// bytes per point, for both chunk encodings. Prints a Markdown table.
//
// Dataset: 1000 series (4 sites x 250 sensors) x 10,000 points at exact 10 s
// intervals, values a slow random walk quantised to 0.01 like a pressure sensor:
// 10M points.
//
// Usage: store_bench [points_per_series]
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/series_aggregate.h"
#include "store/window_store.h"

namespace {

using tidewatch::store::AggregateFn;
using tidewatch::store::AggregateSpec;
using tidewatch::store::Point;
using tidewatch::store::SeriesId;
using tidewatch::store::Timestamp;
using tidewatch::store::WindowStore;
using tidewatch::store::WindowStoreOptions;

constexpr SeriesId kSeries = 1000;
constexpr Timestamp kInterval = 10'000'000'000;  // 10 s
constexpr int kRepetitions = 5;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

template <class Fn>
double MedianSeconds(Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < kRepetitions; ++i) {
    const auto start = Clock::now();
    fn();
    times.push_back(Seconds(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// Points of series s, in time order.
std::vector<Point> SeriesPoints(SeriesId s, Timestamp points) {
  std::mt19937_64 rng(s + 1);
  std::normal_distribution<double> step(0, 0.02);
  std::vector<Point> out;
  out.reserve(static_cast<std::size_t>(points));
  double v = 1000 + s;
  for (Timestamp i = 0; i < points; ++i) {
    v += step(rng);
    out.push_back({s, i * kInterval, static_cast<double>(static_cast<std::int64_t>(v * 100)) / 100});
  }
  return out;
}

// Appends every series' points in batches of 1024 interleaved across the series, as
// evaluation workers would, from `threads` threads owning disjoint series.
double LoadStore(WindowStore& store, const std::vector<std::vector<Point>>& data, int threads) {
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<Point> batch;
      const std::size_t per_series = data[0].size();
      for (std::size_t offset = 0; offset < per_series; offset += 8) {
        for (SeriesId s = static_cast<SeriesId>(t); s < kSeries; s += static_cast<SeriesId>(threads)) {
          for (std::size_t i = offset; i < std::min(per_series, offset + 8); ++i) batch.push_back(data[s][i]);
          if (batch.size() >= 1024) {
            store.Append(batch);
            batch.clear();
          }
        }
      }
      store.Append(batch);
    });
  }
  for (std::thread& w : workers) w.join();
  return Seconds(start);
}

// The single-core memory bandwidth a columnar scan can reach: summing both columns of
// 16-byte points, far larger than the caches.
double MemoryBandwidth(std::size_t points) {
  std::vector<Timestamp> ts(points);
  std::vector<double> values(points);
  for (std::size_t i = 0; i < points; ++i) {
    ts[i] = static_cast<Timestamp>(i);
    values[i] = static_cast<double>(i & 1023);
  }
  volatile double sink = 0;
  const double seconds = MedianSeconds([&] {
    double sum = 0;
    Timestamp tsum = 0;
    for (std::size_t i = 0; i < points; ++i) {
      sum += values[i];
      tsum += ts[i];
    }
    sink = sink + sum + static_cast<double>(tsum);
  });
  return static_cast<double>(points) * 16 / seconds;
}

struct ScanResult {
  double points_per_s;
  double bytes_per_s;
};

ScanResult Scan(const WindowStore& store, std::uint64_t points, Timestamp interval, std::size_t threads) {
  std::vector<SeriesId> ids(kSeries);
  for (SeriesId s = 0; s < kSeries; ++s) ids[s] = s;
  AggregateSpec spec;
  spec.start = 0;
  spec.end = static_cast<Timestamp>(points / kSeries) * kInterval;
  spec.interval = interval;
  spec.functions = {AggregateFn::kCount, AggregateFn::kSum, AggregateFn::kMin, AggregateFn::kMax};
  tidewatch::store::ParallelOptions parallel;
  parallel.max_threads = threads;
  std::uint64_t counted = 0;
  const double seconds = MedianSeconds([&] {
    auto result = tidewatch::store::AggregateSeries(store, ids, spec, parallel);
    if (!result.ok()) std::abort();
    counted = 0;
    for (std::size_t b = 0; b < result->bucket_count(); ++b) counted += result->state(b).count;
  });
  if (counted != points) {
    std::fprintf(stderr, "scan counted %llu of %llu points\n", static_cast<unsigned long long>(counted),
                 static_cast<unsigned long long>(points));
    std::abort();
  }
  return {static_cast<double>(points) / seconds, static_cast<double>(points) * 16 / seconds};
}

}  // namespace

int main(int argc, char** argv) {
  const Timestamp per_series = argc > 1 ? std::atoll(argv[1]) : 10'000;
  const std::uint64_t points = static_cast<std::uint64_t>(per_series) * kSeries;
  std::vector<std::vector<Point>> data;
  for (SeriesId s = 0; s < kSeries; ++s) data.push_back(SeriesPoints(s, per_series));

  const double bandwidth = MemoryBandwidth(points);
  std::printf("store_bench: %llu points (%u series x %lld), %u hardware threads\n\n",
              static_cast<unsigned long long>(points), kSeries, static_cast<long long>(per_series),
              std::thread::hardware_concurrency());
  std::printf("single-core memory bandwidth (summing loop over both columns): %.2f GB/s\n\n",
              bandwidth / 1e9);
  std::printf("| chunks | append 1 thread (M pts/s) | append 2 threads (M pts/s) | store bytes/pt | RSS bytes/pt | scan, 1h buckets, 1 thread (M pts/s, GB/s, %% of bandwidth) | scan, 1m buckets, 1 thread (M pts/s, %% of bandwidth) | scan, 1m buckets, 2 threads (M pts/s) | whole-chunk summaries (M pts/s) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const bool compress : {true, false}) {
    WindowStoreOptions options;
    options.compress_sealed_chunks = compress;
    double append1 = 0, append2 = 0;
    {
      WindowStore store(options);
      for (SeriesId s = 0; s < kSeries; ++s) store.CreateSeries(s, 0);
      append1 = static_cast<double>(points) / LoadStore(store, data, 1);
    }
    malloc_trim(0);  // hand freed memory back so the RSS difference is the store's
    const std::size_t rss_before = ResidentBytes();
    WindowStore store(options);
    for (SeriesId s = 0; s < kSeries; ++s) store.CreateSeries(s, 0);
    append2 = static_cast<double>(points) / LoadStore(store, data, 2);
    const std::size_t rss_after = ResidentBytes();
    if (store.point_count() != points) std::abort();

    // GROUP BY time(1h) and time(1m) over 10 s points: buckets are smaller than a
    // chunk (1024 points span 2.8 h), so every chunk is decoded and folded point by
    // point, in runs of 360 and of 6 points.
    const ScanResult hourly = Scan(store, points, 3'600'000'000'000, 1);
    const ScanResult decode1 = Scan(store, points, 60'000'000'000, 1);
    const ScanResult decode2 = Scan(store, points, 60'000'000'000, 2);
    // No GROUP BY time(): every chunk folds from its summary.
    const ScanResult summaries = Scan(store, points, 0, 1);
    std::printf("| %s | %.1f | %.1f | %.2f | %.2f | %.0f, %.2f, %.0f %% | %.0f, %.0f %% | %.0f | %.0f |\n",
                compress ? "compressed" : "raw", append1 / 1e6, append2 / 1e6,
                static_cast<double>(store.MemoryBytes()) / static_cast<double>(points),
                static_cast<double>(rss_after - std::min(rss_after, rss_before)) / static_cast<double>(points),
                hourly.points_per_s / 1e6, hourly.bytes_per_s / 1e9, 100 * hourly.bytes_per_s / bandwidth,
                decode1.points_per_s / 1e6, 100 * decode1.bytes_per_s / bandwidth,
                decode2.points_per_s / 1e6, summaries.points_per_s / 1e6);
  }
  return 0;
}
