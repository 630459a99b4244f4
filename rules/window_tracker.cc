#include "rules/window_tracker.h"

#include <cassert>

namespace tidewatch::rules {

namespace {

using store::Timestamp;

constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();

Timestamp SaturatingAdd(Timestamp a, Timestamp b) {
  Timestamp out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMax : kMin;
  return out;
}

}  // namespace

WindowTracker::WindowTracker(WindowPolicy policy) : policy_(policy) {
  assert(policy_.interval_ns > 0);
  assert(policy_.offset_ns >= 0 && policy_.offset_ns < policy_.interval_ns);
  assert(policy_.lateness_ns >= 0 && policy_.idle_timeout_ns >= 0);
}

Timestamp WindowTracker::BucketStart(Timestamp ts) const {
  // (ts - offset) mod interval, computed without overflowing near the int64 ends.
  Timestamp rem = ts % policy_.interval_ns - policy_.offset_ns;
  while (rem < 0) rem += policy_.interval_ns;
  Timestamp start = 0;
  if (__builtin_sub_overflow(ts, rem, &start)) return kMin;
  return start;
}

Timestamp WindowTracker::Watermark() const {
  const Timestamp max = max_event_.load(std::memory_order_relaxed);
  return max == kNone ? kNone : SaturatingAdd(max, -policy_.lateness_ns);
}

void WindowTracker::Observe(Timestamp ts, Timestamp now) {
  // Relaxed: TakeReady() reading a slightly stale maximum only closes a bucket later.
  Timestamp max = max_event_.load(std::memory_order_relaxed);
  while (ts > max && !max_event_.compare_exchange_weak(max, ts, std::memory_order_relaxed)) {
  }
  // A batch shares one `now`: after the first point this is a load, not a store.
  if (last_arrival_.load(std::memory_order_relaxed) < now) {
    last_arrival_.store(now, std::memory_order_relaxed);
  }
  // The point is already stored. If this load misses a frontier that TakeReady() just
  // moved past ts, the range's query is ordered after our append by the store's shard
  // lock and sees the point (see the header); if it sees the frontier, the slow path
  // handles the point as late.
  const Timestamp closed_before = closed_before_.load(std::memory_order_acquire);
  if (closed_before == kNone || ts < closed_before) ObserveSlow(ts);
}

void WindowTracker::ObserveSlow(Timestamp ts) {
  std::lock_guard lock(mu_);
  if (frontier_ != kNone && ts >= frontier_) return;  // another thread opened below ts
  if (frontier_ == kNone || !fixed_) {
    frontier_ = BucketStart(ts);
    closed_before_.store(frontier_, std::memory_order_release);
    return;
  }
  if (ts < Watermark()) {
    ++stats_.too_late;
  } else if (policy_.late == LatePolicy::kReemit) {
    reemit_.insert(BucketStart(ts));
  } else {
    ++stats_.late_ignored;
  }
}

void WindowTracker::TakeReady(Timestamp now, std::vector<BucketRange>& out) {
  std::lock_guard lock(mu_);
  if (frontier_ == kNone) return;
  for (const Timestamp start : reemit_) {
    out.push_back({start, SaturatingAdd(start, policy_.interval_ns), true});
  }
  stats_.reemissions += reemit_.size();
  reemit_.clear();

  const Timestamp max = max_event_.load(std::memory_order_relaxed);
  if (max == kNone) return;
  // The buckets ending at or before the watermark.
  Timestamp end = BucketStart(Watermark());
  const Timestamp last = last_arrival_.load(std::memory_order_relaxed);
  if (policy_.idle_timeout_ns > 0 && last != kNone &&
      now >= SaturatingAdd(last, policy_.idle_timeout_ns)) {
    const Timestamp idle_end = SaturatingAdd(BucketStart(max), policy_.interval_ns);
    if (idle_end > end && idle_end > frontier_) {
      end = idle_end;
      ++stats_.idle_closes;
    }
  }
  if (end <= frontier_) return;
  out.push_back({frontier_, end, false});
  stats_.buckets_closed +=
      (static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(frontier_)) /
      static_cast<std::uint64_t>(policy_.interval_ns);
  frontier_ = end;
  fixed_ = true;
  closed_before_.store(end, std::memory_order_release);
}

void WindowTracker::Prime(Timestamp frontier) {
  std::lock_guard lock(mu_);
  if (fixed_) return;
  frontier_ = BucketStart(frontier);
  fixed_ = true;
  closed_before_.store(frontier_, std::memory_order_release);
}

WindowStats WindowTracker::stats() const {
  std::lock_guard lock(mu_);
  WindowStats out = stats_;
  out.watermark = Watermark();
  out.frontier = frontier_;
  return out;
}

}  // namespace tidewatch::rules
