// Aggregation kernels: InfluxQL aggregate functions over the buckets of
// `GROUP BY time(interval, offset)`, fed from decoded chunks or from chunk summaries,
// mergeable across series (GROUP BY tag) and across threads.
//
// Semantics (InfluxDB 1.x):
//   - Range [start, end). With an interval, a bucket starts at every t with
//     (t - offset) mod interval == 0, mod taken with floor semantics (so before 1970
//     too); only offset mod interval matters, any sign or size is accepted. The first
//     bucket is the one holding `start`, so its timestamp may lie before `start`, as
//     InfluxDB prints it; points outside [start, end) never count. Without an interval
//     (interval == 0) there is one bucket, [start, end), stamped `start`.
//   - count, sum, mean (sum / count), spread (max - min).
//   - min / max: the smallest / largest value; of equal values the earliest point.
//   - first / last: the value with the earliest / latest timestamp; on equal
//     timestamps (possible across series) the larger value. These are InfluxDB's
//     reducer tie-breaks, and they make every result independent of input order.
//   - stddev: sample standard deviation (n - 1); fewer than two points → no value.
//   - median: the middle value, or for an even count lo + (hi - lo) / 2 of the two
//     middle ones (InfluxDB's formula). Not a selector.
//   - percentile(p), p in [0, 100]: nearest rank over the values sorted ascending
//     (equal values: earliest first), i = floor(n * p / 100 + 0.5) - 1; i outside
//     [0, n) → no value.
//   - Selectors (min, max, first, last, percentile) also report the timestamp of the
//     point they picked; the query layer prints it when there is no GROUP BY time(),
//     and the bucket start otherwise, as InfluxDB does. Every other function reports
//     the bucket start.
//   - An empty bucket has no value for any function. InfluxDB shows count() of an
//     empty interval as 0 under fill(null); fill policy is the query layer's job.
//
// Non-finite values. The store refuses NaN and ±Inf at the door, so the kernels
// REQUIRE finite inputs and do not test for them on the hot path. Debug builds
// (NDEBUG unset, so the sanitizer builds too) assert on every value. In release
// builds a non-finite value that slipped through is not dropped: it propagates through
// IEEE arithmetic into sum, mean, spread and stddev of its bucket (NaN or ±Inf), so
// the violation shows in the results; the selectors are then unspecified. Finite
// values whose sum or squared deviations exceed DBL_MAX give NaN or ±Inf likewise.
//
// Floating-point order. count, min, max, first, last, median and percentile are exact
// and independent of the order in which points, chunks, summaries and partial results
// arrive. sum, mean and stddev depend on it only through rounding: points are summed
// in blocks of up to 1024 with several lanes, and blocks, summaries and partial
// results are added with compensation (TwoSum), so rounding does not accumulate
// across blocks: a bucket's sum is about as accurate as one block's. stddev uses a
// corrected two-pass M2 per block, merged with Chan et al.'s formula (never a sum of
// squares), so it stays accurate for values around 1e9 with tiny variance, however the
// points are split. The kernels rely on IEEE arithmetic as written: do not build them
// with -ffast-math. See AggregateParallel for reproducibility.
#ifndef TIDEWATCH_STORE_AGGREGATE_H_
#define TIDEWATCH_STORE_AGGREGATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include "store/chunk_summary.h"
#include "store/internal/bucket_grid.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store {

enum class AggregateFn : std::uint8_t {
  kCount,
  kSum,
  kMean,
  kMin,
  kMax,
  kFirst,
  kLast,
  kSpread,
  kStddev,
  kMedian,
  kPercentile,
};

// The set of functions one pass serves (`SELECT mean(v), max(v), count(v)`): a bitmask.
class AggregateFnSet {
 public:
  constexpr AggregateFnSet() = default;
  constexpr AggregateFnSet(std::initializer_list<AggregateFn> fns) {
    for (AggregateFn fn : fns) Add(fn);
  }

  constexpr void Add(AggregateFn fn) { bits_ |= Bit(fn); }
  constexpr bool contains(AggregateFn fn) const { return (bits_ & Bit(fn)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  // median and percentile need every value of a bucket kept until evaluation.
  constexpr bool needs_values() const {
    return contains(AggregateFn::kMedian) || contains(AggregateFn::kPercentile);
  }

  friend constexpr bool operator==(AggregateFnSet, AggregateFnSet) = default;

 private:
  static constexpr std::uint16_t Bit(AggregateFn fn) {
    return static_cast<std::uint16_t>(1u << static_cast<unsigned>(fn));
  }

  std::uint16_t bits_ = 0;
};

// The mergeable accumulator of one bucket (of one aggregator, or of a partial result
// for some of the series). When count == 0 the other fields are meaningless.
// Tie-breaks are those of the header comment.
struct AggregateState {
  std::uint64_t count = 0;
  // The sum is kept as an unevaluated pair, sum + sum_error (Knuth's TwoSum at every
  // merge), so adding up many partial sums costs ~1 ulp in total, not per addition.
  // That matters beyond sum(): the means that stddev merges compare come from it, and
  // for values near 1e9 a plain running sum loses more than their spread. Use Sum().
  double sum = 0;
  double sum_error = 0;
  // Σ (x - mean)², merged with Chan et al.'s parallel formula. Maintained only when
  // stddev is requested (its pass over the values costs ~40% of a fold); otherwise
  // meaningless.
  double m2 = 0;
  double min = 0;
  Timestamp min_ts = 0;  // the earliest point holding `min`
  double max = 0;
  Timestamp max_ts = 0;  // the earliest point holding `max`
  double first = 0;
  Timestamp first_ts = 0;  // the earliest timestamp
  double last = 0;
  Timestamp last_ts = 0;  // the latest timestamp

  bool empty() const { return count == 0; }
  double Sum() const { return sum + sum_error; }

  // Folds `other` in, as if its points had been added here. with_m2 == false skips
  // the M2 update (three divisions: most of a merge's cost on short runs) and leaves
  // m2 meaningless, for aggregations that do not compute stddev.
  void Merge(const AggregateState& other, bool with_m2 = true);
};

// The default cap on buckets per query (InfluxDB's max-select-buckets). A bucket
// costs 96 bytes (plus 16 per point when median or percentile is asked for).
inline constexpr std::size_t kDefaultMaxBuckets = 1'000'000;

struct AggregateSpec {
  Timestamp start = 0;     // inclusive
  Timestamp end = 0;       // exclusive; start >= end is an empty range: no buckets
  Timestamp interval = 0;  // GROUP BY time(interval), ns; 0: no GROUP BY time()
  Timestamp offset = 0;    // GROUP BY time(interval, offset); ignored without interval
  AggregateFnSet functions;
  std::size_t max_buckets = kDefaultMaxBuckets;
};

// One function's result for one bucket.
struct AggregateValue {
  bool has_value = false;
  double value = 0;
  // Selectors: the timestamp of the point picked. Other functions: the bucket start.
  Timestamp time = 0;

  friend bool operator==(const AggregateValue&, const AggregateValue&) = default;
};

// Per-bucket aggregation of one query over any number of series.
//
// Feed it decoded runs (AddPoints) and chunk summaries (TryAddSummary) in any order,
// from any number of series; merge partial aggregators of the same spec (Merge); then
// read one column per function (Evaluate).
//
// Thread safety: not thread-safe; one thread at a time per object. Distinct objects
// are independent. Merge only reads `other`, which must not change meanwhile.
class BucketAggregator {
 public:
  // Errors (kInvalidArgument): interval < 0; no functions; more buckets than
  // spec.max_buckets ("too many buckets"); a bucket start before the smallest
  // representable timestamp.
  static StatusOr<BucketAggregator> Create(const AggregateSpec& spec);

  // Movable, not copyable: it may hold a million buckets.
  BucketAggregator(BucketAggregator&&) = default;
  BucketAggregator& operator=(BucketAggregator&&) = default;
  BucketAggregator(const BucketAggregator&) = delete;
  BucketAggregator& operator=(const BucketAggregator&) = delete;

  // Folds points[0, n) that lie in [start, end); the others are the range filter's to
  // drop. Each bucket's run is found by galloping search and folded by a tight loop
  // over the contiguous arrays (no per-point call). Allocates only when median or
  // percentile keeps values.
  // REQUIRES: ts strictly ascending; values finite (asserted in debug builds).
  void AddPoints(const Timestamp* ts, const double* values, std::size_t n);

  // Folds a whole chunk from its summary, without decoding, when that gives exactly
  // the result its points would (up to the rounding of sums). Returns false otherwise,
  // having changed nothing: decode the chunk and call AddPoints. It folds when
  //   - the chunk lies in [start, end) and inside one bucket;
  //   - neither median, percentile (they need the values) nor stddev (a summary has
  //     no M2) is requested;
  //   - for min (max): the chunk cannot hold the bucket's min (max), i.e. the bucket
  //     already has a strictly smaller (larger) value. A summary does not say which
  //     point holds its extremes, so it cannot supply a selector timestamp or break
  //     a tie. Feeding first the chunks whose summaries hold the extremes lets the
  //     others fold; in any order only the chunks that improve on the running
  //     extreme are refused.
  // An empty summary (count 0) is folded trivially (true).
  bool TryAddSummary(const ChunkSummary& summary);

  // Folds in a partial result, as if its inputs had been added here.
  // REQUIRES: other was created from an equal spec; &other != this.
  void Merge(const BucketAggregator& other);

  // One value per bucket, in bucket order. Not const: a median/percentile evaluation
  // reorders each bucket's kept values in place (std::nth_element by (value, ts), O(n)
  // per bucket and rank, no full sort). Any sequence of evaluations, of any functions
  // and percentiles, gives the results a full sort would, bit for bit.
  // Errors (kInvalidArgument): fn was not in spec.functions; for kPercentile,
  // percentile outside [0, 100] (or NaN). `percentile` is ignored for other functions.
  StatusOr<std::vector<AggregateValue>> Evaluate(AggregateFn fn, double percentile = 0);

  std::size_t bucket_count() const { return grid_.size(); }
  // The bucket's timestamp. REQUIRES: i < bucket_count().
  Timestamp bucket_start(std::size_t i) const { return grid_.BucketStart(i); }
  // The bucket's accumulated state; state(i).empty() flags an empty bucket.
  // REQUIRES: i < bucket_count().
  const AggregateState& state(std::size_t i) const { return states_[i]; }
  const AggregateSpec& spec() const { return spec_; }

 private:
  struct TimedValue {
    double value;
    Timestamp ts;
  };

  // The total order of kept values: by value, equal values earliest first. Entries
  // equal under it are equal in both fields, so a selection picks exactly what a full
  // sort would put at that rank.
  static bool ValueThenTime(const TimedValue& a, const TimedValue& b) {
    return a.value < b.value || (a.value == b.value && a.ts < b.ts);
  }

  BucketAggregator(const AggregateSpec& spec, internal::BucketGrid grid);

  // Appends a run of bucket `bucket` to its kept values (median, percentile).
  void KeepValues(std::size_t bucket, const Timestamp* ts, const double* values, std::size_t n);
  // The kept value of `bucket` at `rank` in (value, ts) order, by selection; reorders
  // values_[bucket] so that the entries before it precede it and the ones after follow.
  // REQUIRES: rank < values_[bucket].size().
  const TimedValue& SelectRank(std::size_t bucket, std::size_t rank);
  AggregateValue EvaluateBucket(std::size_t i, AggregateFn fn, double percentile);

  // Constant after construction.
  AggregateSpec spec_;
  internal::BucketGrid grid_;

  std::vector<AggregateState> states_;  // one per bucket
  // One per bucket when spec_.functions.needs_values(), else empty; in no particular
  // order (Evaluate reorders them).
  std::vector<std::vector<TimedValue>> values_;
};

// A decoded run of points, borrowed: ts strictly ascending, values finite.
struct PointSpan {
  const Timestamp* ts = nullptr;
  const double* values = nullptr;
  std::size_t size = 0;
};

// The part of `points` with start <= ts < end, by binary search; no copy.
PointSpan ClipToRange(PointSpan points, Timestamp start, Timestamp end);

// Raw scan for transformations (derivative, difference, moving averages, computed by
// the query layer): calls emit(ts, value) for every point of `runs` in [start, end),
// run by run. Give the runs in time order to get the points in time order.
template <class Emit>
void ScanRange(std::span<const PointSpan> runs, Timestamp start, Timestamp end, Emit&& emit) {
  for (const PointSpan& run : runs) {
    const PointSpan in = ClipToRange(run, start, end);
    for (std::size_t i = 0; i < in.size; ++i) emit(in.ts[i], in.values[i]);
  }
}

// Feeds series `index` into `into` (decodes its chunks in the range, calling
// TryAddSummary / AddPoints). Called exactly once per index, from the calling thread or
// a worker, possibly concurrently for different indices, so it must only read shared
// state. A non-OK status stops that worker's remaining series.
using SeriesFeeder = std::function<Status(std::size_t index, BucketAggregator& into)>;

struct ParallelOptions {
  // Threads, the caller's included; 1 (or 0) runs everything on the calling thread.
  // Default 4. Each thread costs one aggregator (96 bytes per bucket) and a merge.
  std::size_t max_threads = 4;
  // A thread is started only per this many estimated points (1-4 ms of folding alone
  // here, more with decoding), so small queries stay single-threaded. Larger gives up
  // parallelism on mid-size queries; smaller spends more on thread start-up and merges.
  // Default 2^20.
  std::uint64_t min_points_per_thread = 1u << 20;
};

// Aggregates series 0 .. points_per_series.size() - 1 and merges them into one result,
// as if all had been fed to one aggregator.
//
// The series are cut into at most max_threads contiguous ranges of about equal
// estimated points (points_per_series is only an estimate used for that cut); each
// range is fed in series order into its own aggregator, and the partial results are
// merged in range order. So the result depends only on the inputs and the options:
// repeated runs are bit-identical, and a different thread count changes sum, mean and
// stddev by rounding only (every other function is exact). Threads are started and
// joined inside the call; an exception from `feed` (or std::system_error from starting
// a thread) propagates after every started thread has been joined.
// Errors: those of BucketAggregator::Create; otherwise the status of the lowest-index
// series whose feed failed.
StatusOr<BucketAggregator> AggregateParallel(const AggregateSpec& spec,
                                             std::span<const std::uint64_t> points_per_series,
                                             const SeriesFeeder& feed,
                                             const ParallelOptions& options = {});

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_AGGREGATE_H_
