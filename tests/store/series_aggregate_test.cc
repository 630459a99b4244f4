#include "store/series_aggregate.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <vector>

namespace tidewatch::store {
namespace {

constexpr Timestamp kSecond = 1'000'000'000;

// The store's answer must equal feeding every point, decoded, to one aggregator: the
// summary shortcut and the chunk pruning change nothing but the work done.
TEST(SeriesAggregateTest, EqualsFoldingEveryPoint) {
  for (std::uint32_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    WindowStore windows;
    std::map<Timestamp, double> all;  // merged view of every series, for the reference
    std::vector<SeriesId> ids;
    std::vector<Point> batch;
    for (SeriesId s = 0; s < 5; ++s) {
      windows.CreateSeries(s, 0);
      ids.push_back(s);
      for (Timestamp t = 0; t < 5000; ++t) {
        // Distinct timestamps across series keep the reference a single sorted run.
        const Timestamp ts = (t * 5 + s) * kSecond + static_cast<Timestamp>(rng() % 1000);
        const double v = static_cast<double>(static_cast<int>(rng() % 2000) - 1000) / 8;
        batch.push_back({s, ts, v});
        all[ts] = v;
      }
    }
    std::shuffle(batch.begin(), batch.end(), rng);  // out of order on purpose
    windows.Append(batch);

    AggregateSpec spec;
    spec.start = static_cast<Timestamp>(rng() % 5000) * kSecond;
    spec.end = spec.start + static_cast<Timestamp>(rng() % 20000 + 1) * kSecond;
    spec.interval = static_cast<Timestamp>(rng() % 4 == 0 ? 0 : (rng() % 10000 + 1)) * kSecond;
    spec.offset = static_cast<Timestamp>(rng() % 100) * kSecond;
    spec.functions = {AggregateFn::kCount, AggregateFn::kSum,   AggregateFn::kMin,
                      AggregateFn::kMax,   AggregateFn::kFirst, AggregateFn::kLast,
                      AggregateFn::kMedian};
    ParallelOptions parallel;
    parallel.min_points_per_thread = 1000;  // exercise the split
    StatusOr<BucketAggregator> got = AggregateSeries(windows, ids, spec, parallel);
    ASSERT_TRUE(got.ok()) << got.status().ToString();

    StatusOr<BucketAggregator> want = BucketAggregator::Create(spec);
    ASSERT_TRUE(want.ok());
    std::vector<Timestamp> ts;
    std::vector<double> vs;
    for (const auto& [t, v] : all) {
      ts.push_back(t);
      vs.push_back(v);
    }
    want->AddPoints(ts.data(), vs.data(), ts.size());
    for (AggregateFn fn : {AggregateFn::kCount, AggregateFn::kMin, AggregateFn::kMax,
                           AggregateFn::kFirst, AggregateFn::kLast, AggregateFn::kMedian}) {
      ASSERT_EQ(*got->Evaluate(fn), *want->Evaluate(fn)) << "seed " << seed << " fn " << int(fn);
    }
    const auto got_sum = *got->Evaluate(AggregateFn::kSum);
    const auto want_sum = *want->Evaluate(AggregateFn::kSum);
    ASSERT_EQ(got_sum.size(), want_sum.size());
    for (std::size_t i = 0; i < got_sum.size(); ++i) {
      ASSERT_EQ(got_sum[i].has_value, want_sum[i].has_value);
      ASSERT_NEAR(got_sum[i].value, want_sum[i].value, 1e-6) << "seed " << seed;
    }
  }
}

TEST(SeriesAggregateTest, UnknownSeriesContributeNothing) {
  WindowStore windows;
  windows.CreateSeries(1, 0);
  windows.Append(std::vector<Point>{{1, 10, 2.5}});
  AggregateSpec spec;
  spec.start = 0;
  spec.end = 100;
  spec.functions = {AggregateFn::kCount, AggregateFn::kSum};
  const std::vector<SeriesId> ids = {1, 99};
  StatusOr<BucketAggregator> got = AggregateSeries(windows, ids, spec);
  ASSERT_TRUE(got.ok());
  const auto sum = *got->Evaluate(AggregateFn::kSum);
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].value, 2.5);
  EXPECT_EQ(got->state(0).count, 1u);
}

}  // namespace
}  // namespace tidewatch::store
