// WindowTracker: decides when the GROUP BY time() buckets of one continuous query or
// aggregate alert rule close, in event time.
//
// The watermark is the highest event time seen on the input minus the allowed
// lateness. A bucket [start, start + interval) closes once the watermark reaches its end,
// and is then handed out exactly once by TakeReady(). A bucket also closes after the
// input has been idle for idle_timeout (processing time): then every bucket up to and
// including the one holding the highest event time closes, so output never waits for
// the next point.
//
// A point whose bucket has already closed is late:
//   - ts >= watermark (possible only after an idle close): inside the lateness bound.
//     LatePolicy::kReemit hands the bucket out again (a corrected re-emission);
//     kIgnore counts it (late_ignored).
//   - ts < watermark: beyond the lateness bound; counted (too_late). The point is
//     still stored; only the window output ignores it.
// Buckets are aligned as InfluxDB aligns GROUP BY time(interval, offset): start =
// floor((ts - offset) / interval) * interval + offset.
//
// The first point opens the tracker at its bucket. Until the first range is handed out,
// an earlier point moves that start back to its own bucket (points of several series
// rarely arrive in event-time order); afterwards nothing before the frontier is emitted
// except as a re-emission. Prime() fixes the start instead, after a restart.
//
// Callers observe a point only after it is stored, and query a range only after
// TakeReady() returned it: then a point Observe() did not find late is visible to the
// query of the range that holds it (the store's locks order the two), and a point it
// found late is re-emitted or counted. Either way no point is silently missed.
//
// Thread safety: Observe() may be called from any number of threads at once (in the
// common case an atomic max on the highest event time, a load and rarely a store of the
// arrival time, one load of the frontier; the mutex only for the first point, late
// points and points before the start). TakeReady(), Prime() and stats() may be called
// from any thread; they take the mutex.
#ifndef TIDEWATCH_RULES_WINDOW_TRACKER_H_
#define TIDEWATCH_RULES_WINDOW_TRACKER_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <set>
#include <vector>

#include "store/types.h"

namespace tidewatch::rules {

enum class LatePolicy : std::uint8_t { kReemit, kIgnore };

struct WindowPolicy {
  std::int64_t interval_ns = 0;      // > 0
  std::int64_t offset_ns = 0;        // 0 <= offset < interval
  std::int64_t lateness_ns = 0;      // >= 0
  std::int64_t idle_timeout_ns = 0;  // 0: no idle close
  LatePolicy late = LatePolicy::kReemit;
};

// A half-open event-time range [start, end) of whole buckets.
struct BucketRange {
  store::Timestamp start = 0;
  store::Timestamp end = 0;
  bool reemit = false;  // a correction of buckets handed out before
  friend bool operator==(const BucketRange&, const BucketRange&) = default;
};

struct WindowStats {
  std::uint64_t buckets_closed = 0;  // by watermark or idle close
  std::uint64_t idle_closes = 0;     // TakeReady calls that closed by idle timeout
  std::uint64_t reemissions = 0;     // buckets handed out again
  std::uint64_t late_ignored = 0;    // late points inside the bound, kIgnore
  std::uint64_t too_late = 0;        // late points beyond the bound
  store::Timestamp watermark = 0;    // std::numeric_limits<int64_t>::min() before any point
  // End of the buckets handed out so far (the start of the next range); min() before
  // the first point or Prime().
  store::Timestamp frontier = 0;
};

class WindowTracker {
 public:
  // REQUIRES: policy.interval_ns > 0, 0 <= offset < interval, lateness >= 0.
  explicit WindowTracker(WindowPolicy policy);

  // An input point with event time `ts` arrived at processing time `now`.
  void Observe(store::Timestamp ts, store::Timestamp now);

  // Appends to `out` the ranges that are ready at `now`: newly closed buckets as one
  // range (possibly many buckets), each bucket to re-emit as its own range (reemit
  // set), in increasing start order. Appends nothing when nothing is ready.
  void TakeReady(store::Timestamp now, std::vector<BucketRange>& out);

  // After a restart: buckets ending at or before `frontier` count as handed out (their
  // output is in the restored state); the next range starts at `frontier` (rounded down
  // to a bucket start), and earlier points are late. No effect once a range was handed
  // out or Prime() was called before.
  void Prime(store::Timestamp frontier);

  // The bucket start of `ts` under this policy.
  store::Timestamp BucketStart(store::Timestamp ts) const;

  WindowStats stats() const;
  const WindowPolicy& policy() const { return policy_; }

 private:
  static constexpr store::Timestamp kNone = std::numeric_limits<store::Timestamp>::min();

  // Observe()'s rare path: opening, points before the start, late points.
  void ObserveSlow(store::Timestamp ts);
  // max_event_ - lateness, saturating; kNone before any point.
  store::Timestamp Watermark() const;

  const WindowPolicy policy_;
  std::atomic<store::Timestamp> max_event_{kNone};
  std::atomic<store::Timestamp> last_arrival_{kNone};  // processing time
  // Copy of frontier_ for Observe()'s lock-free check (written under mu_): points
  // before it take the slow path; kNone until the tracker is opened or primed.
  std::atomic<store::Timestamp> closed_before_{kNone};

  mutable std::mutex mu_;
  // Guarded by mu_.
  store::Timestamp frontier_ = kNone;  // buckets before it were handed out
  bool fixed_ = false;                 // a range was handed out, or Prime() ran
  std::set<store::Timestamp> reemit_;  // bucket starts to hand out again
  WindowStats stats_;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_WINDOW_TRACKER_H_
