#include "store/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tidewatch::store {
namespace {

using Fn = AggregateFn;

struct Series {
  std::vector<Timestamp> ts;  // strictly ascending
  std::vector<double> values;
};

struct Call {
  Fn fn;
  double percentile;
};

constexpr Call kCalls[] = {
    {Fn::kCount, 0},      {Fn::kSum, 0},          {Fn::kMean, 0},         {Fn::kMin, 0},
    {Fn::kMax, 0},        {Fn::kFirst, 0},        {Fn::kLast, 0},         {Fn::kSpread, 0},
    {Fn::kStddev, 0},     {Fn::kMedian, 0},       {Fn::kPercentile, 0},   {Fn::kPercentile, 1},
    {Fn::kPercentile, 33.3}, {Fn::kPercentile, 50}, {Fn::kPercentile, 99.9},
    {Fn::kPercentile, 100},
};

AggregateFnSet AllFunctions(bool with_values) {
  AggregateFnSet set;
  for (const Call& c : kCalls) {
    if (with_values || (c.fn != Fn::kMedian && c.fn != Fn::kPercentile)) set.Add(c.fn);
  }
  return set;
}

// What the window store keeps per chunk.
ChunkSummary SummaryOf(const Timestamp* ts, const double* values, std::size_t n) {
  return ChunkSummary::Of(ts, values, static_cast<std::uint32_t>(n));
}

BucketAggregator Make(const AggregateSpec& spec) {
  return BucketAggregator::Create(spec).value();
}

// ---- The reference: points grouped per bucket, every function a plain loop. ----

struct RefPoint {
  Timestamp ts;
  double value;
};

struct RefBucket {
  Timestamp start;
  std::vector<RefPoint> points;
};

std::vector<RefBucket> ReferenceBuckets(const AggregateSpec& spec,
                                        const std::vector<Series>& all) {
  std::vector<RefBucket> buckets;
  if (spec.start >= spec.end) return buckets;
  if (spec.interval == 0) {
    buckets.push_back({spec.start, {}});
  } else {
    Timestamp into = (spec.start - spec.offset) % spec.interval;
    if (into < 0) into += spec.interval;
    for (Timestamp b = spec.start - into; b < spec.end; b += spec.interval) {
      buckets.push_back({b, {}});
    }
  }
  for (const Series& s : all) {
    for (std::size_t i = 0; i < s.ts.size(); ++i) {
      if (s.ts[i] < spec.start || s.ts[i] >= spec.end) continue;
      const Timestamp b = spec.interval == 0 ? 0 : (s.ts[i] - buckets[0].start) / spec.interval;
      buckets[static_cast<std::size_t>(b)].points.push_back({s.ts[i], s.values[i]});
    }
  }
  return buckets;
}

template <class Better>
AggregateValue Select(const std::vector<RefPoint>& p, Better better) {
  const RefPoint& best = *std::min_element(p.begin(), p.end(), better);
  return {true, best.value, best.ts};
}

AggregateValue Reference(const RefBucket& b, Call call) {
  const std::vector<RefPoint>& p = b.points;
  const AggregateValue none = {false, 0, b.start};
  if (p.empty()) return none;
  const auto n = static_cast<double>(p.size());
  long double sum = 0;
  for (const RefPoint& x : p) sum += x.value;
  std::vector<RefPoint> sorted = p;  // by value, then time: the min comes first
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& c) {
    return a.value < c.value || (a.value == c.value && a.ts < c.ts);
  });
  const AggregateValue min = {true, sorted.front().value, sorted.front().ts};
  const AggregateValue max = Select(p, [](auto& a, auto& c) {
    return a.value > c.value || (a.value == c.value && a.ts < c.ts);
  });
  switch (call.fn) {
    case Fn::kCount: return {true, n, b.start};
    case Fn::kSum: return {true, static_cast<double>(sum), b.start};
    case Fn::kMean: return {true, static_cast<double>(sum / p.size()), b.start};
    case Fn::kMin: return min;
    case Fn::kMax: return max;
    case Fn::kFirst:
      return Select(p, [](auto& a, auto& c) {
        return a.ts < c.ts || (a.ts == c.ts && a.value > c.value);
      });
    case Fn::kLast:
      return Select(p, [](auto& a, auto& c) {
        return a.ts > c.ts || (a.ts == c.ts && a.value > c.value);
      });
    case Fn::kSpread: return {true, max.value - min.value, b.start};
    case Fn::kStddev: {
      if (p.size() < 2) return none;
      const long double mean = sum / p.size();
      long double squares = 0;
      for (const RefPoint& x : p) squares += (x.value - mean) * (x.value - mean);
      return {true, static_cast<double>(std::sqrt(squares / (p.size() - 1))), b.start};
    }
    case Fn::kMedian: {
      const std::size_t mid = sorted.size() / 2;
      if (sorted.size() % 2 == 1) return {true, sorted[mid].value, b.start};
      const double lo = sorted[mid - 1].value;
      return {true, lo + (sorted[mid].value - lo) / 2, b.start};
    }
    case Fn::kPercentile: {
      const auto i = static_cast<long>(std::floor(n * call.percentile / 100.0 + 0.5)) - 1;
      if (i < 0 || i >= static_cast<long>(sorted.size())) return none;
      const RefPoint& at = sorted[static_cast<std::size_t>(i)];
      return {true, at.value, at.ts};
    }
  }
  return none;
}

// ---- Comparing results. ----

using Columns = std::vector<std::vector<AggregateValue>>;  // one per kCalls entry

Columns EvaluateAll(BucketAggregator& agg) {
  Columns out(std::size(kCalls));
  for (std::size_t c = 0; c < out.size(); ++c) {
    if (agg.spec().functions.contains(kCalls[c].fn)) {
      out[c] = agg.Evaluate(kCalls[c].fn, kCalls[c].percentile).value();
    }
  }
  return out;
}

Columns ReferenceAll(const AggregateSpec& spec, const std::vector<RefBucket>& buckets) {
  Columns out(std::size(kCalls));
  for (std::size_t c = 0; c < out.size(); ++c) {
    if (!spec.functions.contains(kCalls[c].fn)) continue;
    for (const RefBucket& b : buckets) out[c].push_back(Reference(b, kCalls[c]));
  }
  return out;
}

std::string Str(const AggregateValue& v) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s%.17g@%lld", v.has_value ? "" : "none:", v.value,
                static_cast<long long>(v.time));
  return buf;
}

// Tolerated rounding difference of sum, mean and stddev; every other function is exact.
double Tolerance(Fn fn, const RefBucket& b) {
  double abs_sum = 0;
  double abs_max = 0;
  for (const RefPoint& p : b.points) {
    abs_sum += std::abs(p.value);
    abs_max = std::max(abs_max, std::abs(p.value));
  }
  if (fn == Fn::kSum) return 1e-13 * abs_sum;
  if (fn == Fn::kMean || fn == Fn::kStddev) return 1e-13 * abs_max;
  return 0;
}

// "" when equal within tolerance, else the first difference.
std::string FirstDifference(const Columns& got, const Columns& want,
                            const std::vector<RefBucket>& buckets) {
  for (std::size_t c = 0; c < got.size(); ++c) {
    if (got[c].size() != want[c].size()) return "call " + std::to_string(c) + ": bucket count";
    for (std::size_t i = 0; i < got[c].size(); ++i) {
      const AggregateValue& g = got[c][i];
      const AggregateValue& w = want[c][i];
      const bool close = std::abs(g.value - w.value) <= Tolerance(kCalls[c].fn, buckets[i]);
      if (g.has_value != w.has_value || g.time != w.time || !close) {
        return "call " + std::to_string(c) + " bucket " + std::to_string(i) + ": got " + Str(g) +
               " want " + Str(w);
      }
    }
  }
  return "";
}

// "start=value@time ..." for one function, "-" for no value.
std::string Render(BucketAggregator& agg, Fn fn) {
  const std::vector<AggregateValue> values = agg.Evaluate(fn).value();
  std::string out;
  for (const AggregateValue& v : values) {
    out += (out.empty() ? "" : " ") + std::to_string(v.time) + "=";
    out += v.has_value ? std::to_string(static_cast<long long>(v.value)) : "-";
  }
  return out;
}

// ---- Random cases. ----

struct Case {
  AggregateSpec spec;
  std::vector<Series> series;
};

Case RandomCase(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  constexpr Timestamp kIntervals[] = {0, 1, 7, 60, 1000};
  Case c;
  c.spec.interval = kIntervals[pick(0, 4)];
  // All functions, a random subset, or a random subset of those that chunk summaries
  // can serve (not stddev, median, percentile).
  const std::int64_t mode = pick(0, 2);
  for (const Call& call : kCalls) {
    const bool needs_points = call.fn == Fn::kStddev || call.fn == Fn::kMedian ||
                              call.fn == Fn::kPercentile;
    if (mode == 0 || (pick(0, 1) == 1 && !(mode == 2 && needs_points))) {
      c.spec.functions.Add(call.fn);
    }
  }
  if (c.spec.functions.empty()) c.spec.functions.Add(Fn::kCount);
  const Timestamp unit = std::max<Timestamp>(c.spec.interval, 10);
  c.spec.offset = pick(-3 * unit, 3 * unit);
  const Timestamp origin = pick(-40 * unit, 40 * unit);  // before 1970 too
  // Gap 1 makes series share timestamps: ties for first/last across series.
  const std::int64_t max_gap = pick(0, 1) == 1 ? 1 : 20;
  const int kind = static_cast<int>(pick(0, 2));
  Timestamp span = 0;
  for (std::int64_t s = pick(1, 4); s > 0; --s) {
    Series series;
    const std::int64_t n = pick(0, 3) == 0 ? pick(0, 2) : pick(1, 2500);
    for (Timestamp t = origin + pick(0, 5); std::ssize(series.ts) < n; t += pick(1, max_gap)) {
      series.ts.push_back(t);
      // Small integers (ties for min, max, median, percentile), reals, or 1e6 + noise.
      const auto r = static_cast<double>(pick(-1'000'000, 1'000'000));
      series.values.push_back(kind == 0   ? std::round(r / 300'000)
                              : kind == 1 ? r / 997
                                          : 1e6 + r * 1e-6);
      span = std::max(span, t - origin);
    }
    c.series.push_back(std::move(series));
  }
  c.spec.start = origin + pick(-2 * unit, span / 2);
  c.spec.end = c.spec.start + pick(0, span + 2 * unit);  // 0: an empty range
  return c;
}

// Feeds a series in chunks of random size up to 8 .. 1024: as a summary where the
// aggregator takes it, else as points. Returns how many chunks went in as summaries.
int FeedChunks(BucketAggregator& agg, const Series& s, std::mt19937_64& rng) {
  const std::size_t max_chunk = std::size_t{8} << (rng() % 8);
  int summaries = 0;
  for (std::size_t i = 0; i < s.ts.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % max_chunk, s.ts.size() - i);
    if (agg.TryAddSummary(SummaryOf(&s.ts[i], &s.values[i], n))) {
      ++summaries;
    } else {
      agg.AddPoints(&s.ts[i], &s.values[i], n);
    }
    i += n;
  }
  return summaries;
}

TEST(BucketAggregatorTest, MatchesReferenceOnRandomData) {
  int summaries = 0;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    const Case c = RandomCase(seed);
    BucketAggregator agg = Make(c.spec);
    std::mt19937_64 rng(seed);
    for (const Series& s : c.series) summaries += FeedChunks(agg, s, rng);
    const std::vector<RefBucket> buckets = ReferenceBuckets(c.spec, c.series);
    ASSERT_EQ(agg.bucket_count(), buckets.size()) << "seed " << seed;
    EXPECT_EQ(FirstDifference(EvaluateAll(agg), ReferenceAll(c.spec, buckets), buckets), "")
        << "seed " << seed;
  }
  EXPECT_GT(summaries, 30);  // both paths were exercised
}

TEST(BucketAggregatorTest, MergeOfSplitInputsEqualsOnePass) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    const Case c = RandomCase(seed);
    std::mt19937_64 rng(seed);
    BucketAggregator whole = Make(c.spec);
    BucketAggregator part_a = Make(c.spec);
    BucketAggregator part_b = Make(c.spec);
    for (const Series& s : c.series) {
      whole.AddPoints(s.ts.data(), s.values.data(), s.ts.size());
      const std::size_t cut = s.ts.empty() ? 0 : rng() % s.ts.size();
      BucketAggregator& early = rng() % 2 == 0 ? part_a : part_b;
      early.AddPoints(s.ts.data(), s.values.data(), cut);
      (&early == &part_a ? part_b : part_a)
          .AddPoints(s.ts.data() + cut, s.values.data() + cut, s.ts.size() - cut);
    }
    part_b.Merge(part_a);
    const std::vector<RefBucket> buckets = ReferenceBuckets(c.spec, c.series);
    EXPECT_EQ(FirstDifference(EvaluateAll(part_b), EvaluateAll(whole), buckets), "")
        << "seed " << seed;
  }
}

// Median and percentile select in place (no full sort): each evaluation reorders the
// kept values, so results must not depend on the order of evaluations nor on points
// added after one.
TEST(BucketAggregatorTest, RankSelectionsInAnyOrderAndAfterMoreInputAreExact) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    Case c = RandomCase(seed);
    c.spec.functions.Add(Fn::kMedian);
    c.spec.functions.Add(Fn::kPercentile);
    BucketAggregator agg = Make(c.spec);
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> order(std::size(kCalls));
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t k = 0; k < c.series.size(); ++k) {
      const Series& s = c.series[k];
      agg.AddPoints(s.ts.data(), s.values.data(), s.ts.size());
      if (k + 1 == c.series.size()) break;
      std::shuffle(order.begin(), order.end(), rng);
      for (const std::size_t i : order) {
        if (c.spec.functions.contains(kCalls[i].fn)) {
          ASSERT_TRUE(agg.Evaluate(kCalls[i].fn, kCalls[i].percentile).ok());
        }
      }
    }
    const std::vector<RefBucket> buckets = ReferenceBuckets(c.spec, c.series);
    EXPECT_EQ(FirstDifference(EvaluateAll(agg), ReferenceAll(c.spec, buckets), buckets), "")
        << "seed " << seed;
  }
}

TEST(BucketAggregatorTest, SummaryGivesTheSameResultAsItsPoints) {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    const AggregateSpec spec = {-1'000'000, 1'000'000, 0, 0,
                                {Fn::kCount, Fn::kSum, Fn::kMean, Fn::kFirst, Fn::kLast}};
    BucketAggregator by_summary = Make(spec);
    BucketAggregator by_points = Make(spec);
    std::vector<Series> chunks(5);
    for (Series& s : chunks) {
      for (std::size_t i = 1 + rng() % 1024, t = rng() % 1000; i > 0; --i, t += 1 + rng() % 9) {
        s.ts.push_back(static_cast<Timestamp>(t) - 500'000);
        s.values.push_back(static_cast<double>(rng() % 2001) / 7 - 140);
      }
      ASSERT_TRUE(by_summary.TryAddSummary(SummaryOf(s.ts.data(), s.values.data(), s.ts.size())));
      by_points.AddPoints(s.ts.data(), s.values.data(), s.ts.size());
    }
    EXPECT_EQ(FirstDifference(EvaluateAll(by_summary), EvaluateAll(by_points),
                              ReferenceBuckets(spec, chunks)),
              "")
        << "seed " << seed;
  }
}

TEST(BucketAggregatorTest, SummaryIsRefusedWhenItCannotStandForThePoints) {
  const Timestamp ts[] = {15, 17, 19, 25, 105};
  const double values[] = {2, 1, 4, 3, 5};
  BucketAggregator sum = Make({0, 100, 10, 0, {Fn::kSum}});
  EXPECT_FALSE(sum.TryAddSummary(SummaryOf(ts, values, 4)));      // spans two buckets
  EXPECT_FALSE(sum.TryAddSummary(SummaryOf(ts + 3, values, 2)));  // leaves the range
  EXPECT_EQ(Render(sum, Fn::kSum), "0=- 10=- 20=- 30=- 40=- 50=- 60=- 70=- 80=- 90=-");
  EXPECT_TRUE(sum.TryAddSummary(SummaryOf(ts, values, 3)));
  EXPECT_EQ(Render(sum, Fn::kSum), "0=- 10=7 20=- 30=- 40=- 50=- 60=- 70=- 80=- 90=-");
  for (const Fn needs_points : {Fn::kMedian, Fn::kPercentile, Fn::kStddev}) {
    BucketAggregator agg = Make({0, 100, 10, 0, {needs_points}});
    EXPECT_FALSE(agg.TryAddSummary(SummaryOf(ts, values, 3)));
  }
}

TEST(BucketAggregatorTest, SummaryFoldsIntoMinMaxOnlyWhenItCannotHoldTheExtreme) {
  const Timestamp ts[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const double values[] = {3, 2, 5, 6, 2, 9, 9, 1};
  BucketAggregator agg = Make({0, 100, 0, 0, {Fn::kMin, Fn::kMax}});
  EXPECT_FALSE(agg.TryAddSummary(SummaryOf(ts + 4, values + 4, 2)));  // nothing to beat
  agg.AddPoints(ts + 4, values + 4, 2);                                // min 2@5, max 9@6
  EXPECT_TRUE(agg.TryAddSummary(SummaryOf(ts + 2, values + 2, 2)));   // 5, 6: inside
  EXPECT_FALSE(agg.TryAddSummary(SummaryOf(ts, values, 2)));          // 2@2 would win the tie
  EXPECT_FALSE(agg.TryAddSummary(SummaryOf(ts + 6, values + 6, 1)));  // 9: a tie
  EXPECT_FALSE(agg.TryAddSummary(SummaryOf(ts + 7, values + 7, 1)));  // 1: a new min
  EXPECT_EQ(agg.Evaluate(Fn::kMin).value()[0], (AggregateValue{true, 2, 5}));
  EXPECT_EQ(agg.Evaluate(Fn::kMax).value()[0], (AggregateValue{true, 9, 6}));
}

TEST(BucketAggregatorTest, BucketsAlignToEpochPlusOffsetWithFloorSemantics) {
  // (t - offset) mod 10 == 0 for t = -27, -17, ...: offsets 3, -7 and 23 are the same.
  for (Timestamp offset : {3, -7, 23}) {
    BucketAggregator agg = Make({-25, 7, 10, offset, {Fn::kCount}});
    EXPECT_EQ(Render(agg, Fn::kCount), "-27=- -17=- -7=- 3=-") << "offset " << offset;
  }
  BucketAggregator plain = Make({-25, 7, 10, 0, {Fn::kCount}});
  EXPECT_EQ(Render(plain, Fn::kCount), "-30=- -20=- -10=- 0=-");
  BucketAggregator whole = Make({-25, 7, 0, 0, {Fn::kCount}});  // no GROUP BY time()
  EXPECT_EQ(Render(whole, Fn::kCount), "-25=-");
  BucketAggregator empty = Make({7, 7, 10, 0, {Fn::kCount}});
  EXPECT_EQ(empty.bucket_count(), 0u);
}

TEST(BucketAggregatorTest, PointOnAnEdgeBelongsToTheBucketItStarts) {
  const Timestamp ts[] = {-10, -1, 0, 9, 10, 20, 29, 30};
  const double values[] = {1, 2, 3, 4, 5, 6, 7, 8};
  BucketAggregator agg = Make({0, 30, 10, 0, {Fn::kCount, Fn::kFirst}});
  agg.AddPoints(ts, values, std::size(ts));
  EXPECT_EQ(Render(agg, Fn::kCount), "0=2 10=1 20=2");
  EXPECT_EQ(Render(agg, Fn::kFirst), "0=3 10=5 20=6");
  BucketAggregator gap = Make({0, 30, 10, 0, {Fn::kCount}});
  gap.AddPoints(ts + 5, values + 5, 2);
  EXPECT_TRUE(gap.state(0).empty());  // flagged empty, for the query layer's fill()
  EXPECT_TRUE(gap.state(1).empty());
  EXPECT_EQ(gap.state(2).count, 2u);
}

TEST(BucketAggregatorTest, ExtremeTimestampsNeitherOverflowNorWrap) {
  constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  BucketAggregator agg = Make({kMin, kMax, Timestamp{1} << 62, 0, {Fn::kCount}});
  const Timestamp ts[] = {kMin, -1, 0, kMax - 1};
  const double values[] = {1, 1, 1, 1};
  agg.AddPoints(ts, values, std::size(ts));
  EXPECT_EQ(Render(agg, Fn::kCount),
            "-9223372036854775808=1 -4611686018427387904=1 0=1 4611686018427387904=1");
  const StatusOr<BucketAggregator> below = BucketAggregator::Create({kMin, 0, 10, 1, {Fn::kCount}});
  EXPECT_EQ(below.status().code(), StatusCode::kInvalidArgument);
}

TEST(BucketAggregatorTest, BadArgumentsAreInvalidArguments) {
  const Status s = BucketAggregator::Create({0, 1'000'001, 1, 0, {Fn::kCount}}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("too many buckets: 1000001 > max 1000000"), std::string::npos);
  EXPECT_TRUE(BucketAggregator::Create({0, 1'000'000, 1, 0, {Fn::kCount}}).ok());
  EXPECT_FALSE(BucketAggregator::Create({0, 10, -1, 0, {Fn::kCount}}).ok());
  EXPECT_FALSE(BucketAggregator::Create({0, 10, 1, 0, {}}).ok());
  BucketAggregator agg = Make({0, 10, 0, 0, {Fn::kPercentile}});
  EXPECT_TRUE(agg.Evaluate(Fn::kPercentile, 100).ok());
  EXPECT_EQ(agg.Evaluate(Fn::kPercentile, 100.5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(agg.Evaluate(Fn::kPercentile, std::nan("")).ok());
  EXPECT_FALSE(agg.Evaluate(Fn::kMean).ok());  // not requested
}

TEST(BucketAggregatorTest, SmallBucketsFollowInfluxRules) {
  const Timestamp ts[] = {0, 1, 2, 3, 10};
  const double values[] = {4, 1, 3, 2, 5};
  BucketAggregator agg = Make({0, 20, 10, 0, {Fn::kStddev, Fn::kMedian, Fn::kPercentile}});
  agg.AddPoints(ts, values, std::size(ts));
  EXPECT_EQ(Render(agg, Fn::kStddev), "0=1 10=-");  // sqrt(5/3) → 1; one point → none
  const std::vector<AggregateValue> median = agg.Evaluate(Fn::kMedian).value();
  EXPECT_EQ(median[0].value, 2.5);  // even count: mean of the middle two
  EXPECT_EQ(median[1].value, 5);
  const std::vector<AggregateValue> p0 = agg.Evaluate(Fn::kPercentile, 0).value();
  EXPECT_FALSE(p0[0].has_value);  // rank floor(0.5) - 1 = -1
  const std::vector<AggregateValue> p60 = agg.Evaluate(Fn::kPercentile, 60).value();
  // rank floor(2.9) - 1 = 1: the 2nd smallest, at ts 3
  EXPECT_EQ(p60[0], (AggregateValue{true, 2, 3}));
}

TEST(BucketAggregatorTest, StddevStaysAccurateNearOneBillion) {
  constexpr std::size_t kN = 200'000;
  std::mt19937_64 rng(42);
  Series s;
  long double exact_sum = 0;
  double naive_sum = 0;
  double naive_squares = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    s.ts.push_back(static_cast<Timestamp>(i));
    s.values.push_back(1e9 + static_cast<double>(rng() % 1'000'000) * 1e-9);
    exact_sum += s.values.back() - 1e9L;  // exact: long double holds the difference
    naive_sum += s.values.back();
    naive_squares += s.values.back() * s.values.back();
  }
  const long double mean = exact_sum / kN;
  long double squares = 0;
  for (double x : s.values) squares += (x - 1e9L - mean) * (x - 1e9L - mean);
  const double want = static_cast<double>(std::sqrt(squares / (kN - 1)));  // about 2.9e-4
  const double naive = std::sqrt(std::abs(naive_squares - naive_sum * naive_sum / kN) / (kN - 1));
  EXPECT_GT(std::abs(naive - want), want) << "the data should defeat a sum of squares";
  // One point per merge, short runs, whole chunks, one run. The values are only
  // ~2,400 ulps apart, so even the mean is hard: on this data Welford's per-point
  // update is off by 2e-4 and a two-pass over a plain sum by 90%; we measure <= 1.6e-6.
  for (const std::size_t run : {std::size_t{1}, std::size_t{7}, std::size_t{1024}, kN}) {
    BucketAggregator agg = Make({0, static_cast<Timestamp>(kN), 0, 0, {Fn::kStddev}});
    for (std::size_t i = 0; i < kN; i += run) {
      agg.AddPoints(&s.ts[i], &s.values[i], std::min(run, kN - i));
    }
    EXPECT_NEAR(agg.Evaluate(Fn::kStddev).value()[0].value, want, 1e-5 * want) << "run " << run;
  }
}

TEST(BucketAggregatorTest, NonFiniteInputIsNeverSilentlyDropped) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Timestamp ts[] = {1, 2, 3};
  const double values[] = {1, std::numeric_limits<double>::quiet_NaN(), 3};
  BucketAggregator agg = Make({0, 10, 0, 0, {Fn::kSum}});
  // Debug builds stop at the broken precondition; release builds let the NaN reach the
  // sum rather than skip it.
  EXPECT_DEBUG_DEATH(agg.AddPoints(ts, values, 3), "finite");
  const double inf[] = {1, std::numeric_limits<double>::infinity(), 3};
  EXPECT_DEBUG_DEATH(agg.AddPoints(ts, inf, 3), "finite");
  const Timestamp backwards[] = {2, 1};
  EXPECT_DEBUG_DEATH(agg.AddPoints(backwards, values, 2), "ascending");
#ifdef NDEBUG
  EXPECT_TRUE(std::isnan(agg.Evaluate(Fn::kSum).value()[0].value));
#endif
}

TEST(ScanRangeTest, EmitsExactlyThePointsInRangeInOrder) {
  const Timestamp ts1[] = {-5, 0, 4};
  const Timestamp ts2[] = {5, 9, 10, 11};
  const double values[] = {1, 2, 3, 4};
  const PointSpan runs[] = {{ts1, values, 3}, {nullptr, nullptr, 0}, {ts2, values, 4}};
  std::string out;
  ScanRange(runs, 0, 10, [&out](Timestamp t, double v) {
    out += std::to_string(t) + "=" + std::to_string(static_cast<int>(v)) + " ";
  });
  EXPECT_EQ(out, "0=2 4=3 5=1 9=2 ");
}

// Feeds series i in chunks drawn from seed i: deterministic, safe to call concurrently.
SeriesFeeder FeederOf(const std::vector<Series>& all) {
  return [&all](std::size_t i, BucketAggregator& into) {
    std::mt19937_64 rng(i);
    FeedChunks(into, all[i], rng);
    return Status::Ok();
  };
}

TEST(AggregateParallelTest, EqualsSerialAndIsReproducible) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Case c = RandomCase(seed);
    for (std::uint64_t more = 1; more <= 4; ++more) {
      for (Series& s : RandomCase(seed * 100 + more).series) c.series.push_back(std::move(s));
    }
    std::vector<std::uint64_t> sizes;
    for (const Series& s : c.series) sizes.push_back(s.ts.size());
    const ParallelOptions parallel = {4, 1};
    BucketAggregator serial = AggregateParallel(c.spec, sizes, FeederOf(c.series), {1, 1}).value();
    BucketAggregator par1 = AggregateParallel(c.spec, sizes, FeederOf(c.series), parallel).value();
    BucketAggregator par2 = AggregateParallel(c.spec, sizes, FeederOf(c.series), parallel).value();
    const Columns got = EvaluateAll(par1);
    EXPECT_EQ(got, EvaluateAll(par2)) << "seed " << seed;
    const std::vector<RefBucket> buckets = ReferenceBuckets(c.spec, c.series);
    EXPECT_EQ(FirstDifference(got, EvaluateAll(serial), buckets), "") << "seed " << seed;
  }
}

TEST(AggregateParallelTest, SmallQueriesStaySingleThreaded) {
  const AggregateSpec spec = {0, 10, 0, 0, {Fn::kCount}};
  std::vector<std::thread::id> ran_on(8);
  auto record = [&ran_on](std::size_t i, BucketAggregator&) {
    ran_on[i] = std::this_thread::get_id();
    return Status::Ok();
  };
  const std::vector<std::uint64_t> small(8, 1000);
  ASSERT_TRUE(AggregateParallel(spec, small, record).ok());
  EXPECT_EQ(std::count(ran_on.begin(), ran_on.end(), std::this_thread::get_id()), 8);
  const std::vector<std::uint64_t> large(8, 1u << 20);
  ASSERT_TRUE(AggregateParallel(spec, large, record).ok());
  EXPECT_EQ(std::count(ran_on.begin(), ran_on.end(), std::this_thread::get_id()), 2);
}

TEST(AggregateParallelTest, ReportsTheLowestFailingSeriesAndRethrows) {
  const AggregateSpec spec = {0, 10, 0, 0, {Fn::kCount}};
  const std::vector<std::uint64_t> sizes(12, 1);
  auto fail = [](std::size_t i, BucketAggregator&) {
    if (i == 5 || i == 9) return Status(StatusCode::kDataLoss, "series " + std::to_string(i));
    return Status::Ok();
  };
  EXPECT_EQ(AggregateParallel(spec, sizes, fail, {4, 1}).status().message(), "series 5");
  auto thrower = [](std::size_t i, BucketAggregator&) -> Status {
    if (i == 10) throw std::runtime_error("boom");
    return Status::Ok();
  };
  EXPECT_THROW(AggregateParallel(spec, sizes, thrower, {4, 1}).ok(), std::runtime_error);
}

// Manual timing, not a check: run with --gtest_also_run_disabled_tests on a Release build.
TEST(BucketAggregatorTest, DISABLED_Throughput) {
  constexpr std::size_t kN = 10'000'000;
  constexpr Timestamp kSecond = 1'000'000'000;
  Series s;
  for (std::size_t i = 0; i < kN; ++i) {
    s.ts.push_back(static_cast<Timestamp>(i) * 10 * kSecond);
    s.values.push_back(static_cast<double>(i % 1000) * 0.5);
  }
  const Timestamp end = static_cast<Timestamp>(kN) * 10 * kSecond;
  for (const Timestamp interval : {Timestamp{0}, 60 * kSecond}) {
    for (const AggregateFnSet fns :
         {AggregateFnSet{Fn::kMean, Fn::kMax, Fn::kCount}, AllFunctions(true)}) {
      AggregateSpec spec = {0, end, interval, 0, fns};
      spec.max_buckets = 2'000'000;
      BucketAggregator agg = Make(spec);
      // CPU time as well as wall time: the build machine is shared.
      const std::clock_t cpu0 = std::clock();
      const auto wall0 = std::chrono::steady_clock::now();
      agg.AddPoints(s.ts.data(), s.values.data(), kN);
      const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall0;
      const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
      const double points = static_cast<double>(kN);
      std::printf("interval %2llds, %-17s cpu %5.0f Mpoints/s %5.2f GB/s, wall %5.0f Mpoints/s\n",
                  static_cast<long long>(interval / kSecond),
                  fns == AllFunctions(true) ? "all functions:" : "mean, max, count:",
                  points / cpu / 1e6, points * 16 / cpu / 1e9, points / wall.count() / 1e6);
      const std::vector<AggregateValue> counts = agg.Evaluate(Fn::kCount).value();
      double counted = 0;
      for (const AggregateValue& v : counts) counted += v.value;
      EXPECT_EQ(counted, points);
    }
  }
}

}  // namespace
}  // namespace tidewatch::store
