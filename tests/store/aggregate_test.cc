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
    {Fn::kCount, 0},      {Fn::kSum, 0},        {Fn::kMean, 0},         {Fn::kMin, 0},
    {Fn::kMax, 0},        {Fn::kFirst, 0},      {Fn::kLast, 0},         {Fn::kSpread, 0},
    {Fn::kStddev, 0},     {Fn::kMedian, 0},     {Fn::kPercentile, 0},   {Fn::kPercentile, 1},
    {Fn::kPercentile, 33.3}, {Fn::kPercentile, 50}, {Fn::kPercentile, 99.9}, {Fn::kPercentile, 100},
};

AggregateFnSet AllFunctions(bool with_values) {
  AggregateFnSet set;
  for (const Call& c : kCalls) {
    if (with_values || (c.fn != Fn::kMedian && c.fn != Fn::kPercentile)) set.Add(c.fn);
  }
  return set;
}

BucketAggregator Make(const AggregateSpec& spec) { return BucketAggregator::Create(spec).value(); }

// ---- The reference: points grouped per bucket, every function a plain loop. ----

struct RefPoint {
  Timestamp ts;
  double value;
};

struct RefBucket {
  Timestamp start;
  std::vector<RefPoint> points;
};

std::vector<RefBucket> ReferenceBuckets(const AggregateSpec& spec, const std::vector<Series>& all) {
  std::vector<RefBucket> buckets;
  if (spec.start >= spec.end) return buckets;
  if (spec.interval == 0) {
    buckets.push_back({spec.start, {}});
  } else {
    Timestamp into = (spec.start - spec.offset) % spec.interval;
    if (into < 0) into += spec.interval;
    for (Timestamp b = spec.start - into; b < spec.end; b += spec.interval) buckets.push_back({b, {}});
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
  const AggregateValue min = Select(p, [](auto& a, auto& c) {
    return a.value < c.value || (a.value == c.value && a.ts < c.ts);
  });
  const AggregateValue max = Select(p, [](auto& a, auto& c) {
    return a.value > c.value || (a.value == c.value && a.ts < c.ts);
  });
  std::vector<RefPoint> sorted = p;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& c) {
    return a.value < c.value || (a.value == c.value && a.ts < c.ts);
  });
  switch (call.fn) {
    case Fn::kCount: return {true, n, b.start};
    case Fn::kSum: return {true, static_cast<double>(sum), b.start};
    case Fn::kMean: return {true, static_cast<double>(sum / p.size()), b.start};
    case Fn::kMin: return min;
    case Fn::kMax: return max;
    case Fn::kFirst:
      return Select(p, [](auto& a, auto& c) { return a.ts < c.ts || (a.ts == c.ts && a.value > c.value); });
    case Fn::kLast:
      return Select(p, [](auto& a, auto& c) { return a.ts > c.ts || (a.ts == c.ts && a.value > c.value); });
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
      return {true, sorted[mid - 1].value + (sorted[mid].value - sorted[mid - 1].value) / 2, b.start};
    }
    case Fn::kPercentile: {
      const auto i = static_cast<long>(std::floor(n * call.percentile / 100.0 + 0.5)) - 1;
      if (i < 0 || i >= static_cast<long>(sorted.size())) return none;
      return {true, sorted[static_cast<std::size_t>(i)].value, sorted[static_cast<std::size_t>(i)].ts};
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
  c.spec.functions = AllFunctions(/*with_values=*/pick(0, 1) == 1);
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
      series.values.push_back(kind == 0   ? static_cast<double>(pick(-3, 3))
                              : kind == 1 ? static_cast<double>(pick(-1'000'000, 1'000'000)) / 997
                                          : 1e6 + static_cast<double>(pick(0, 1'000'000)) * 1e-6);
      span = std::max(span, t - origin);
    }
    c.series.push_back(std::move(series));
  }
  c.spec.start = origin + pick(-2 * unit, span / 2);
  c.spec.end = c.spec.start + pick(0, span + 2 * unit);  // 0: an empty range
  return c;
}

// Feeds a series in chunks of random size up to 1024: as a summary where the
// aggregator takes it, else as points. Returns how many chunks went in as summaries.
int FeedChunks(BucketAggregator& agg, const Series& s, std::mt19937_64& rng) {
  int summaries = 0;
  for (std::size_t i = 0; i < s.ts.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 1024, s.ts.size() - i);
    if (agg.TryAddSummary(SummarizePoints(&s.ts[i], &s.values[i], n))) {
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

TEST(BucketAggregatorTest, SummaryGivesBitIdenticalStateToItsPoints) {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    std::mt19937_64 rng(seed);
    BucketAggregator by_summary = Make({-1'000'000, 1'000'000, 0, 0, AllFunctions(false)});
    BucketAggregator by_points = Make(by_summary.spec());
    for (int chunk = 0; chunk < 5; ++chunk) {
      Series s;
      for (std::size_t i = 1 + rng() % 1024, t = rng() % 1000; i > 0; --i, t += 1 + rng() % 9) {
        s.ts.push_back(static_cast<Timestamp>(t) - 500'000);
        s.values.push_back(static_cast<double>(rng() % 2001) / 7 - 140);
      }
      ASSERT_TRUE(by_summary.TryAddSummary(SummarizePoints(s.ts.data(), s.values.data(), s.ts.size())));
      by_points.AddPoints(s.ts.data(), s.values.data(), s.ts.size());
    }
    EXPECT_EQ(by_summary.state(0), by_points.state(0)) << "seed " << seed;
  }
}

TEST(BucketAggregatorTest, SummaryIsRefusedWhenItCannotStandForThePoints) {
  const Timestamp ts[] = {15, 19, 25, 105};
  const double values[] = {1, 2, 3, 4};
  BucketAggregator agg = Make({0, 100, 10, 0, {Fn::kSum}});
  EXPECT_FALSE(agg.TryAddSummary(SummarizePoints(ts, values, 3)));      // spans two buckets
  EXPECT_FALSE(agg.TryAddSummary(SummarizePoints(ts + 2, values, 2)));  // leaves the range
  EXPECT_EQ(Render(agg, Fn::kSum), "0=- 10=- 20=- 30=- 40=- 50=- 60=- 70=- 80=- 90=-");
  EXPECT_TRUE(agg.TryAddSummary(SummarizePoints(ts, values, 2)));
  EXPECT_EQ(Render(agg, Fn::kSum), "0=- 10=3 20=- 30=- 40=- 50=- 60=- 70=- 80=- 90=-");
  BucketAggregator median = Make({0, 100, 10, 0, {Fn::kMedian}});
  EXPECT_FALSE(median.TryAddSummary(SummarizePoints(ts, values, 2)));  // needs the values
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

TEST(BucketAggregatorTest, TooManyBucketsIsAnInvalidArgument) {
  const Status s = BucketAggregator::Create({0, 1'000'001, 1, 0, {Fn::kCount}}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("too many buckets: 1000001 > max 1000000"), std::string::npos);
  EXPECT_TRUE(BucketAggregator::Create({0, 1'000'000, 1, 0, {Fn::kCount}}).ok());
}

TEST(BucketAggregatorTest, BadArgumentsAreInvalidArguments) {
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
  EXPECT_EQ(p60[0], (AggregateValue{true, 2, 3}));  // rank floor(2.9) - 1 = 1: 2nd smallest, at ts 3
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
  long double squares = 0;
  for (double x : s.values) squares += (x - 1e9L - exact_sum / kN) * (x - 1e9L - exact_sum / kN);
  const double want = static_cast<double>(std::sqrt(squares / (kN - 1)));  // about 2.9e-4
  const double naive = std::sqrt(std::abs(naive_squares - naive_sum * naive_sum / kN) / (kN - 1));
  BucketAggregator agg = Make({0, static_cast<Timestamp>(kN), 0, 0, {Fn::kStddev}});
  std::mt19937_64 chunking(1);
  FeedChunks(agg, s, chunking);
  // The inputs are 2,400 ulps apart at best, so a few ulps of error in the running
  // mean cost ~1e-6 of relative accuracy (2.4e-6 measured); that is the floor for any
  // double-precision method, Welford's included.
  EXPECT_NEAR(agg.Evaluate(Fn::kStddev).value()[0].value, want, 1e-5 * want);
  EXPECT_GT(std::abs(naive - want), want) << "the data should defeat a sum of squares";
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

// Feeds series by fixed 1024-point chunks; safe to call concurrently.
SeriesFeeder FeederOf(const std::vector<Series>& all) {
  return [&all](std::size_t i, BucketAggregator& into) {
    const Series& s = all[i];
    for (std::size_t k = 0; k < s.ts.size(); k += 1024) {
      const std::size_t n = std::min<std::size_t>(1024, s.ts.size() - k);
      if (!into.TryAddSummary(SummarizePoints(&s.ts[k], &s.values[k], n))) {
        into.AddPoints(&s.ts[k], &s.values[k], n);
      }
    }
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
    for (const AggregateFnSet fns : {AggregateFnSet{Fn::kMean, Fn::kMax, Fn::kCount},
                                     AllFunctions(false), AllFunctions(true)}) {
      AggregateSpec spec = {0, end, interval, 0, fns};
      spec.max_buckets = 2'000'000;
      BucketAggregator agg = Make(spec);
      // CPU time as well as wall time: the build machine is shared.
      const std::clock_t cpu0 = std::clock();
      const auto wall0 = std::chrono::steady_clock::now();
      agg.AddPoints(s.ts.data(), s.values.data(), kN);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
      const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
      const double points = static_cast<double>(kN);
      std::printf("interval %2llds, %-26s cpu %5.0f Mpoints/s %5.2f GB/s, wall %5.0f Mpoints/s\n",
                  static_cast<long long>(interval / kSecond),
                  fns == AllFunctions(true)    ? "all:"
                  : fns == AllFunctions(false) ? "all but median/percentile:"
                                               : "mean, max, count:",
                  points / cpu / 1e6, points * 16 / cpu / 1e9, points / wall / 1e6);
      const std::vector<AggregateValue> counts = agg.Evaluate(Fn::kCount).value();
      double counted = 0;
      for (const AggregateValue& v : counts) counted += v.value;
      EXPECT_EQ(counted, points);
    }
  }
}

}  // namespace
}  // namespace tidewatch::store
