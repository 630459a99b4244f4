// BucketGrid: the buckets of `GROUP BY time(interval, offset)` over a range
// [start, end), and the arithmetic that maps a timestamp to its bucket.
//
// Bucket starts are the t with (t - offset) mod interval == 0 (floor mod), the first
// bucket is the one holding `start`, the last the one holding end - 1; bucket i starts
// at first_start + i * interval. Without an interval there is one bucket [start, end)
// stamped `start`. Arithmetic runs in uint64 where a difference of two timestamps could
// exceed int64 (the range may span the whole timeline).
//
// Thread safety: an immutable value.
#ifndef TIDEWATCH_STORE_INTERNAL_BUCKET_GRID_H_
#define TIDEWATCH_STORE_INTERNAL_BUCKET_GRID_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store::internal {

class BucketGrid {
 public:
  // Errors (kInvalidArgument): interval < 0; more than max_buckets buckets; the first
  // bucket starting before the smallest int64.
  static StatusOr<BucketGrid> Create(Timestamp start, Timestamp end, Timestamp interval,
                                     Timestamp offset, std::size_t max_buckets) {
    if (interval < 0) return Invalid("negative GROUP BY time() interval");
    if (start >= end) return BucketGrid(start, end, interval, start, 0);
    if (interval == 0) return BucketGrid(start, end, 0, start, 1);
    const Timestamp phase = FloorMod(offset, interval);
    // Distance from `start` down to its bucket start, computed without forming
    // start - phase, which could overflow.
    const Timestamp back = FloorMod(FloorMod(start, interval) - phase, interval);
    if (start < std::numeric_limits<Timestamp>::min() + back) {
      return Invalid("the first bucket would start before the smallest timestamp");
    }
    const Timestamp first_start = start - back;
    const Timestamp last = end - 1;
    const Timestamp last_start = last - FloorMod(FloorMod(last, interval) - phase, interval);
    const std::uint64_t span = Unsigned(last_start) - Unsigned(first_start);
    const std::uint64_t steps = span / Unsigned(interval);
    if (steps >= max_buckets) {
      return Invalid("too many buckets: " + std::to_string(steps + 1) + " > max " +
                     std::to_string(max_buckets) + " (widen the interval or narrow the range)");
    }
    return BucketGrid(start, end, interval, first_start, static_cast<std::size_t>(steps) + 1);
  }

  std::size_t size() const { return size_; }
  Timestamp start() const { return start_; }
  Timestamp end() const { return end_; }

  // REQUIRES: i < size().
  Timestamp BucketStart(std::size_t i) const {
    return static_cast<Timestamp>(Unsigned(first_start_) + i * Unsigned(interval_));
  }

  // The exclusive end of bucket i's part of the range: min(next bucket start, end).
  // REQUIRES: i < size().
  Timestamp BucketEnd(std::size_t i) const {
    if (interval_ == 0 || i + 1 == size_) return end_;
    return BucketStart(i + 1);
  }

  // REQUIRES: start() <= t < end().
  std::size_t IndexOf(Timestamp t) const {
    assert(start_ <= t && t < end_);
    if (interval_ == 0) return 0;
    return static_cast<std::size_t>((Unsigned(t) - Unsigned(first_start_)) / Unsigned(interval_));
  }

  friend bool operator==(const BucketGrid&, const BucketGrid&) = default;

 private:
  BucketGrid(Timestamp start, Timestamp end, Timestamp interval, Timestamp first_start,
             std::size_t size)
      : start_(start), end_(end), interval_(interval), first_start_(first_start), size_(size) {}

  static Status Invalid(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  // a mod m in [0, m). REQUIRES: m > 0.
  static Timestamp FloorMod(Timestamp a, Timestamp m) {
    const Timestamp r = a % m;
    return r < 0 ? r + m : r;
  }
  static std::uint64_t Unsigned(Timestamp t) { return static_cast<std::uint64_t>(t); }

  Timestamp start_;
  Timestamp end_;
  Timestamp interval_;
  Timestamp first_start_;
  std::size_t size_;
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_BUCKET_GRID_H_
