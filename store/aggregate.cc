#include "store/aggregate.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <exception>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "store/internal/fold_kernel.h"

namespace tidewatch::store {
namespace {

// The debug-build check of AddPoints' preconditions.
[[maybe_unused]] bool AscendingAndFinite(const Timestamp* ts, const double* values,
                                         std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i]) || (i > 0 && ts[i - 1] >= ts[i])) return false;
  }
  return true;
}

// The first index in [lo, hi) with ts >= limit (hi if none). Probes lo, lo+2, lo+6,
// lo+14, ... then binary-searches the last gap: O(log(result - lo)), so a run of six
// points costs a few probes and a run of ten million about fifty.
std::size_t GallopLowerBound(const Timestamp* ts, std::size_t lo, std::size_t hi,
                             Timestamp limit) {
  std::size_t step = 1;
  while (step <= hi - lo && ts[lo + step - 1] < limit) {
    lo += step;
    step *= 2;
  }
  return static_cast<std::size_t>(std::lower_bound(ts + lo, ts + std::min(hi, lo + step), limit) -
                                  ts);
}

Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// Boundaries of contiguous series ranges of about equal estimated points: range k is
// [cuts[k], cuts[k + 1]). Always at least one range, possibly empty.
std::vector<std::size_t> CutRanges(std::span<const std::uint64_t> points,
                                   const ParallelOptions& options) {
  const std::uint64_t total = std::accumulate(points.begin(), points.end(), std::uint64_t{0});
  const std::uint64_t worth = total / std::max<std::uint64_t>(options.min_points_per_thread, 1);
  const std::uint64_t ranges = std::max<std::uint64_t>(
      1, std::min<std::uint64_t>({options.max_threads, points.size(), worth}));
  const std::uint64_t share = (total + ranges - 1) / ranges;
  std::vector<std::size_t> cuts = {0};
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < points.size() && cuts.size() < ranges; ++i) {
    seen += points[i];
    if (seen >= share * cuts.size()) cuts.push_back(i + 1);
  }
  if (cuts.size() == 1 || cuts.back() != points.size()) cuts.push_back(points.size());
  return cuts;
}

}  // namespace

void AggregateState::Merge(const AggregateState& other, bool with_m2) {
  if (other.count == 0) return;
  if (count == 0) {
    *this = other;
    return;
  }
  // Chan, Golub & LeVeque: M2 = M2a + M2b + δ² · na · nb / n, δ the difference of the
  // means. Symmetric in a and b, so merging is commutative bit for bit.
  if (with_m2) {
    const double na = static_cast<double>(count);
    const double nb = static_cast<double>(other.count);
    const double delta = other.Sum() / nb - Sum() / na;
    m2 = m2 + other.m2 + delta * delta * (na * nb / (na + nb));
  }
  count += other.count;
  // TwoSum: new_sum + rounding == sum + other.sum exactly (needs IEEE arithmetic as
  // written: no -ffast-math).
  const double new_sum = sum + other.sum;
  const double other_part = new_sum - sum;
  const double rounding = (sum - (new_sum - other_part)) + (other.sum - other_part);
  sum = new_sum;
  sum_error = (sum_error + other.sum_error) + rounding;
  if (other.min < min || (other.min == min && other.min_ts < min_ts)) {
    min = other.min;
    min_ts = other.min_ts;
  }
  if (other.max > max || (other.max == max && other.max_ts < max_ts)) {
    max = other.max;
    max_ts = other.max_ts;
  }
  if (other.first_ts < first_ts || (other.first_ts == first_ts && other.first > first)) {
    first = other.first;
    first_ts = other.first_ts;
  }
  if (other.last_ts > last_ts || (other.last_ts == last_ts && other.last > last)) {
    last = other.last;
    last_ts = other.last_ts;
  }
}

StatusOr<BucketAggregator> BucketAggregator::Create(const AggregateSpec& spec) {
  if (spec.functions.empty()) return InvalidArgument("no aggregate function requested");
  StatusOr<internal::BucketGrid> grid = internal::BucketGrid::Create(
      spec.start, spec.end, spec.interval, spec.offset, spec.max_buckets);
  if (!grid.ok()) return grid.status();
  return BucketAggregator(spec, *grid);
}

BucketAggregator::BucketAggregator(const AggregateSpec& spec, internal::BucketGrid grid)
    : spec_(spec), grid_(grid), states_(grid.size()) {
  if (spec.functions.needs_values()) values_.resize(grid.size());
}

void BucketAggregator::AddPoints(const Timestamp* ts, const double* values, std::size_t n) {
  assert(AscendingAndFinite(ts, values, n) && "REQUIRES: ts strictly ascending, values finite");
  const PointSpan in = ClipToRange({ts, values, n}, grid_.start(), grid_.end());
  const bool with_m2 = spec_.functions.contains(AggregateFn::kStddev);
  std::size_t i = 0;
  while (i < in.size) {
    const std::size_t bucket = grid_.IndexOf(in.ts[i]);
    const std::size_t run_end = GallopLowerBound(in.ts, i + 1, in.size, grid_.BucketEnd(bucket));
    internal::FoldRun(in.ts + i, in.values + i, run_end - i, with_m2, states_[bucket]);
    if (!values_.empty()) KeepValues(bucket, in.ts + i, in.values + i, run_end - i);
    i = run_end;
  }
}

void BucketAggregator::KeepValues(std::size_t bucket, const Timestamp* ts, const double* values,
                                  std::size_t n) {
  std::vector<TimedValue>& kept = values_[bucket];
  // One resize per run (it grows geometrically) instead of a push_back per point.
  const std::size_t old_size = kept.size();
  kept.resize(old_size + n);
  for (std::size_t k = 0; k < n; ++k) kept[old_size + k] = {values[k], ts[k]};
}

bool BucketAggregator::TryAddSummary(const ChunkSummary& summary) {
  if (summary.count == 0) return true;
  const AggregateFnSet fns = spec_.functions;
  if (fns.needs_values() || fns.contains(AggregateFn::kStddev)) return false;
  if (summary.min_ts < grid_.start() || summary.max_ts >= grid_.end()) return false;
  const std::size_t bucket = grid_.IndexOf(summary.min_ts);
  if (summary.max_ts >= grid_.BucketEnd(bucket)) return false;
  AggregateState& state = states_[bucket];
  const bool may_hold_min = state.empty() || !(summary.min > state.min);
  const bool may_hold_max = state.empty() || !(summary.max < state.max);
  if ((may_hold_min && fns.contains(AggregateFn::kMin)) ||
      (may_hold_max && fns.contains(AggregateFn::kMax))) {
    return false;
  }
  // The timestamps of the chunk's extremes are unknown; min_ts stands in for them.
  // Harmless: with min (max) requested the chunk's extreme loses every merge (checked
  // above), and without it min_ts (max_ts) is never reported. m2 stays 0: no stddev.
  state.Merge({.count = summary.count,
               .sum = summary.sum,
               .min = summary.min,
               .min_ts = summary.min_ts,
               .max = summary.max,
               .max_ts = summary.min_ts,
               .first = summary.first,
               .first_ts = summary.min_ts,
               .last = summary.last,
               .last_ts = summary.max_ts});
  return true;
}

void BucketAggregator::Merge(const BucketAggregator& other) {
  assert(&other != this && grid_ == other.grid_ && spec_.functions == other.spec_.functions);
  for (std::size_t i = 0; i < states_.size(); ++i) states_[i].Merge(other.states_[i]);
  for (std::size_t i = 0; i < values_.size(); ++i) {
    const std::vector<TimedValue>& theirs = other.values_[i];
    if (theirs.empty()) continue;
    values_[i].insert(values_[i].end(), theirs.begin(), theirs.end());
  }
}

StatusOr<std::vector<AggregateValue>> BucketAggregator::Evaluate(AggregateFn fn,
                                                                 double percentile) {
  if (!spec_.functions.contains(fn)) {
    return InvalidArgument("aggregate function " + std::to_string(static_cast<int>(fn)) +
                           " was not requested when the aggregator was created");
  }
  if (fn == AggregateFn::kPercentile && !(percentile >= 0 && percentile <= 100)) {
    return InvalidArgument("percentile must be within [0, 100], got " +
                           std::to_string(percentile));
  }
  std::vector<AggregateValue> out(bucket_count());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = EvaluateBucket(i, fn, percentile);
  return out;
}

const BucketAggregator::TimedValue& BucketAggregator::SelectRank(std::size_t bucket,
                                                                 std::size_t rank) {
  std::vector<TimedValue>& kept = values_[bucket];
  assert(rank < kept.size());
  const auto nth = kept.begin() + static_cast<std::ptrdiff_t>(rank);
  std::nth_element(kept.begin(), nth, kept.end(), ValueThenTime);
  return *nth;
}

AggregateValue BucketAggregator::EvaluateBucket(std::size_t i, AggregateFn fn, double percentile) {
  const AggregateState& s = states_[i];
  const Timestamp start = grid_.BucketStart(i);
  const AggregateValue none = {false, 0, start};
  if (s.empty()) return none;
  const double count = static_cast<double>(s.count);
  switch (fn) {
    case AggregateFn::kCount:
      return {true, count, start};
    case AggregateFn::kSum:
      return {true, s.Sum(), start};
    case AggregateFn::kMean:
      return {true, s.Sum() / count, start};
    case AggregateFn::kMin:
      return {true, s.min, s.min_ts};
    case AggregateFn::kMax:
      return {true, s.max, s.max_ts};
    case AggregateFn::kFirst:
      return {true, s.first, s.first_ts};
    case AggregateFn::kLast:
      return {true, s.last, s.last_ts};
    case AggregateFn::kSpread:
      return {true, s.max - s.min, start};
    case AggregateFn::kStddev:
      if (s.count < 2) return none;
      return {true, std::sqrt(s.m2 / (count - 1)), start};
    case AggregateFn::kMedian: {
      const std::size_t size = values_[i].size();
      const std::size_t mid = size / 2;
      const double hi = SelectRank(i, mid).value;
      if (size % 2 == 1) return {true, hi, start};
      // After the selection every entry below `mid` precedes it: rank mid - 1 is the
      // largest of them.
      const auto below_end = values_[i].begin() + static_cast<std::ptrdiff_t>(mid);
      const double lo = std::max_element(values_[i].begin(), below_end, ValueThenTime)->value;
      return {true, lo + (hi - lo) / 2, start};
    }
    case AggregateFn::kPercentile: {
      // InfluxDB's nearest rank, evaluated in the same order of operations.
      const double rank = std::floor(count * percentile / 100.0 + 0.5) - 1;
      if (rank < 0 || rank >= count) return none;
      const TimedValue& picked = SelectRank(i, static_cast<std::size_t>(rank));
      return {true, picked.value, picked.ts};
    }
  }
  return none;
}

PointSpan ClipToRange(PointSpan points, Timestamp start, Timestamp end) {
  if (points.size == 0) return {};
  const Timestamp* lo = std::lower_bound(points.ts, points.ts + points.size, start);
  const Timestamp* hi = std::lower_bound(lo, points.ts + points.size, end);
  return {lo, points.values + (lo - points.ts), static_cast<std::size_t>(hi - lo)};
}

StatusOr<BucketAggregator> AggregateParallel(const AggregateSpec& spec,
                                             std::span<const std::uint64_t> points_per_series,
                                             const SeriesFeeder& feed,
                                             const ParallelOptions& options) {
  const std::vector<std::size_t> cuts = CutRanges(points_per_series, options);
  const std::size_t ranges = cuts.size() - 1;
  std::vector<BucketAggregator> partials;
  partials.reserve(ranges);
  for (std::size_t k = 0; k < ranges; ++k) {
    StatusOr<BucketAggregator> partial = BucketAggregator::Create(spec);
    if (!partial.ok()) return partial.status();
    partials.push_back(std::move(partial).value());
  }
  std::vector<Status> statuses(ranges);
  std::vector<std::exception_ptr> thrown(ranges);
  auto run = [&](std::size_t k) {
    try {
      for (std::size_t i = cuts[k]; i < cuts[k + 1] && statuses[k].ok(); ++i) {
        statuses[k] = feed(i, partials[k]);
      }
    } catch (...) {
      thrown[k] = std::current_exception();  // rethrown below, after every join
    }
  };
  {
    // Declared after what the workers touch, so they are joined before it goes away,
    // also when starting a thread throws.
    std::vector<std::jthread> workers;
    workers.reserve(ranges - 1);
    for (std::size_t k = 1; k < ranges; ++k) workers.emplace_back(run, k);
    run(0);
  }
  for (const std::exception_ptr& e : thrown) {
    if (e) std::rethrow_exception(e);
  }
  // Each range stopped at its first failure, so the first failing range holds the
  // failure of the lowest-index series.
  for (const Status& s : statuses) {
    if (!s.ok()) return s;
  }
  for (std::size_t k = 1; k < ranges; ++k) partials[0].Merge(partials[k]);
  return std::move(partials[0]);
}

}  // namespace tidewatch::store
