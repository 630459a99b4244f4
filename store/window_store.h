// WindowStore: the rolling in-memory window of every series, as time-ordered columnar
// chunks.
//
// Per series: a list of sealed chunks (compressed, immutable, time-ordered and
// non-overlapping) followed by one head chunk (raw, appended in place). Points may
// arrive in any order: in-order points append to the head; older ones are placed in
// time order; a duplicate (series, ts) replaces the old value (last write wins, as in
// InfluxDB), which makes replay after a crash idempotent.
//
// Concurrency scheme. Series are spread over kShards shards by id; each shard has a
// reader-writer lock. Writers (evaluation workers) take a shard's lock exclusively
// once per batch, not per point. Readers (queries, rules, snapshots) take it shared
// only to copy a SeriesSnapshot: references to the chunks overlapping their time range
// plus the head's current point count. They then read without any lock:
//   - sealed chunks are immutable and kept alive by shared_ptr;
//   - a head is kept alive by its reference count; the writer appends only past the
//     count a reader copied, and changes points below it only when it holds the sole
//     reference (HeadRef::unique(), checked under the exclusive lock, so no reader can
//     take a new reference meanwhile); otherwise it modifies a copy and swaps it in.
// So no reader ever sees a torn or half-written point, and a reader never holds a lock
// an append waits on for longer than copying a few references (a "chunk swap").
//
// Non-finite values (NaN, ±Inf) are refused at the door and counted: InfluxDB's line
// protocol cannot carry them either, and the aggregation kernels assume finite input.
//
// Thread safety: all public member functions are safe to call concurrently.
#ifndef TIDEWATCH_STORE_WINDOW_STORE_H_
#define TIDEWATCH_STORE_WINDOW_STORE_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <vector>

#include "store/chunk_summary.h"
#include "store/internal/chunks.h"
#include "store/mpmc_ring.h"  // kFalseSharingRange
#include "store/types.h"

namespace tidewatch::store {

// Dense id of a database (the tenant namespace), assigned by the owner of the store.
using DbSlot = std::uint16_t;
inline constexpr std::size_t kMaxDbs = 1024;

struct WindowStoreOptions {
  // Upper bound on series ids the store can hold (ids are dense). Default 2^24.
  std::size_t max_series_id = std::size_t{1} << 24;
  // Idle head chunks kept for reuse (16 KiB each). Default 1024 (16 MiB).
  std::size_t max_free_chunks = 1024;
  // Whether full chunks are compressed (default): ~0.7 bytes/point for sensor values
  // with a few decimals, ~1.4-5 for arbitrary doubles, at the cost of a decode per
  // read. Uncompressed chunks take 16 bytes/point and read at memory speed.
  bool compress_sealed_chunks = true;
};

struct AppendStats {
  std::uint64_t appended = 0;      // new points stored
  std::uint64_t replaced = 0;      // duplicates (series, ts) that overwrote a value
  std::uint64_t non_finite = 0;    // refused: NaN or ±Inf
  std::uint64_t unknown_series = 0;  // refused: no window for the series id

  AppendStats& operator+=(const AppendStats& o) {
    appended += o.appended;
    replaced += o.replaced;
    non_finite += o.non_finite;
    unknown_series += o.unknown_series;
    return *this;
  }
};

// The chunks of one series overlapping a time range, as of one instant. Holds
// references, not copies; valid as long as the WindowStore lives.
struct SeriesSnapshot {
  std::vector<internal::SealedRef> sealed;  // in time order
  internal::HeadRef head;                   // null if the head does not overlap
  std::uint32_t head_count = 0;             // head points visible to this snapshot
  ChunkSummary head_summary;                // of head points [0, head_count)

  void Clear() {
    sealed.clear();
    head = internal::HeadRef();
    head_count = 0;
  }
};

// Calls fn(ts, values, n) with the snapshot's points in [start, end), in time order, in
// runs of at most one chunk. `scratch` holds decoded chunks; the arrays passed to fn
// are valid only during the call.
template <class Fn>
void ForEachRun(const SeriesSnapshot& snapshot, Timestamp start, Timestamp end,
                internal::ChunkBuffer& scratch, Fn&& fn);

class WindowStore {
 public:
  explicit WindowStore(WindowStoreOptions options = {});
  ~WindowStore();
  WindowStore(const WindowStore&) = delete;
  WindowStore& operator=(const WindowStore&) = delete;

  // Creates an empty window for `series` in database `db`. No-op if it exists.
  // REQUIRES: series < max_series_id, db < kMaxDbs.
  void CreateSeries(SeriesId series, DbSlot db);
  bool HasSeries(SeriesId series) const;
  // Frees the windows of `series` (and their memory). Unknown ids are ignored.
  void RemoveSeries(std::span<const SeriesId> series);

  // Stores points of any series in any order. Points of one series in one call are
  // applied in time order; for equal (series, ts) the later point in `points` wins.
  AppendStats Append(std::span<const Point> points);

  // Fills `out` with the chunks of `series` overlapping [start, end). Returns false if
  // the series has no window.
  bool Read(SeriesId series, Timestamp start, Timestamp end, SeriesSnapshot& out) const;

  // Removes the points of `series` in [start, end). Returns how many were removed.
  std::uint64_t Delete(SeriesId series, Timestamp start, Timestamp end);

  // Frees every chunk of database `db` whose newest point is older than `cutoff`
  // (retention works at chunk granularity: a chunk straddling the cutoff stays until
  // all its points are older). Appends to `idle` the series of `db` left with no
  // points newer than `cutoff`. Returns the number of points freed.
  std::uint64_t DropBefore(DbSlot db, Timestamp cutoff, std::vector<SeriesId>& idle);

  // Frees the oldest sealed chunks across all series until chunk memory is at most
  // `budget_bytes`. Returns the number of points freed.
  std::uint64_t EnforceBudget(std::size_t budget_bytes);

  // Newest event time ever appended to database `db` (min() if none).
  Timestamp newest_ts(DbSlot db) const { return newest_ts_[db].load(std::memory_order_relaxed); }
  // Raises newest_ts(db) to at least ts (snapshot restore).
  void RaiseNewest(DbSlot db, Timestamp ts);

  // Bytes held by chunks (heads at full size, sealed at their compressed size) and
  // series bookkeeping.
  std::size_t MemoryBytes() const {
    return static_cast<std::size_t>(memory_bytes_.load(std::memory_order_relaxed));
  }
  std::uint64_t point_count() const { return points_.load(std::memory_order_relaxed); }
  std::size_t series_count() const { return series_count_.load(std::memory_order_relaxed); }
  // Points freed by EnforceBudget() so far (over budget, oldest first).
  std::uint64_t budget_evicted() const { return budget_evicted_.load(std::memory_order_relaxed); }

  // Visits every series window as (series, db, snapshot of all its chunks). For
  // snapshots and maintenance; takes each shard's lock shared while copying.
  template <class Fn>
  void ForEachSeries(Fn&& fn) const;

  // Installs restored chunks for a series created with CreateSeries. Replaces its
  // current contents; does not touch newest_ts (see RaiseNewest).
  // REQUIRES: chunks time-ordered and non-overlapping.
  void InstallChunks(SeriesId series, std::vector<internal::SealedRef> sealed);

 private:
  struct Window;
  struct alignas(kFalseSharingRange) Shard {
    mutable std::shared_mutex mu;  // guards every Window of this shard
  };
  static constexpr std::size_t kShards = 256;
  static constexpr std::size_t kPageBits = 12;  // 4096 windows per directory page
  static constexpr std::size_t kPageSize = std::size_t{1} << kPageBits;
  using Page = std::array<Window*, kPageSize>;

  Shard& ShardOf(SeriesId series) const { return shards_[series % kShards]; }
  // REQUIRES: the series' shard lock is held (shared or exclusive).
  Window* Find(SeriesId series) const;
  Window*& Slot(SeriesId series);  // REQUIRES: shard lock exclusive; page exists

  // All REQUIRE the window's shard lock held exclusively.
  void Insert(Window& w, Timestamp ts, double value, AppendStats& stats);
  void AppendToHead(Window& w, Timestamp ts, double value);
  void InsertIntoHead(Window& w, Timestamp ts, double value, AppendStats& stats);
  void InsertIntoSealed(Window& w, Timestamp ts, double value, AppendStats& stats);
  void SealHead(Window& w);
  void MakeHeadWritable(Window& w);
  void ReplaceSealed(Window& w, std::size_t index, const internal::ChunkBuffer& points);
  void FreeWindow(Window* w);
  // Frees the leading sealed chunks whose newest point is older than `limit`; returns
  // the points freed. REQUIRES: shard lock exclusive.
  std::uint64_t DropSealedEndingBefore(Window& w, Timestamp limit);
  // Calls fn(series, window) for every window, holding its shard lock exclusively.
  template <class Fn>
  void ForEachWindowExclusive(Fn&& fn);
  std::size_t page_count() const { return (options_.max_series_id + kPageSize - 1) >> kPageBits; }
  void AddMemory(std::ptrdiff_t delta);

  const WindowStoreOptions options_;
  mutable internal::ChunkPool pool_;
  const std::unique_ptr<Shard[]> shards_;

  // Directory of windows: pages allocated on demand under dir_mu_, never freed before
  // destruction. Page pointers are atomics (readers load them without dir_mu_); the
  // Window* slots inside are guarded by the owning series' shard lock.
  std::mutex dir_mu_;
  const std::unique_ptr<std::atomic<Page*>[]> pages_;

  std::array<std::atomic<Timestamp>, kMaxDbs> newest_ts_;
  std::atomic<std::int64_t> memory_bytes_{0};
  std::atomic<std::uint64_t> points_{0};
  std::atomic<std::size_t> series_count_{0};
  std::atomic<std::uint64_t> budget_evicted_{0};
};

// ---- implementation of the template member ----

struct WindowStore::Window {
  DbSlot db = 0;
  std::vector<internal::SealedRef> sealed;  // time-ordered, non-overlapping
  internal::HeadRef head;                   // after every sealed chunk; may be null
  std::size_t sealed_bytes = 0;             // sum of sealed[i]->MemoryBytes()

  bool empty() const { return sealed.empty() && (!head || head->count == 0); }
  Timestamp last_ts() const {
    if (head && head->count > 0) return head->ts[head->count - 1];
    if (!sealed.empty()) return sealed.back()->summary().max_ts;
    return std::numeric_limits<Timestamp>::min();
  }
  // Every chunk as a snapshot.
  void SnapshotAll(SeriesSnapshot& out) const {
    out.Clear();
    out.sealed = sealed;
    if (head && head->count > 0) {
      out.head = head;
      out.head_count = head->count;
      out.head_summary = head->summary;
    }
  }
};

namespace internal {
// Calls fn on the part of ascending ts[0, n) that lies in [start, end), if any.
template <class Fn>
void ForRange(const Timestamp* ts, const double* values, std::uint32_t n, Timestamp start,
              Timestamp end, Fn& fn) {
  const Timestamp* lo = std::lower_bound(ts, ts + n, start);
  const Timestamp* hi = std::lower_bound(lo, ts + n, end);
  if (hi > lo) fn(lo, values + (lo - ts), static_cast<std::size_t>(hi - lo));
}
}  // namespace internal

template <class Fn>
void ForEachRun(const SeriesSnapshot& snapshot, Timestamp start, Timestamp end,
                internal::ChunkBuffer& scratch, Fn&& fn) {
  for (const internal::SealedRef& chunk : snapshot.sealed) {
    scratch.count = chunk->Decode(scratch.ts, scratch.values);
    internal::ForRange(scratch.ts, scratch.values, scratch.count, start, end, fn);
  }
  if (snapshot.head) {
    internal::ForRange(snapshot.head->ts, snapshot.head->values, snapshot.head_count, start, end, fn);
  }
}

template <class Fn>
void WindowStore::ForEachSeries(Fn&& fn) const {
  SeriesSnapshot snapshot;
  for (std::size_t p = 0; p < page_count(); ++p) {
    const Page* page = pages_[p].load(std::memory_order_acquire);
    if (page == nullptr) continue;
    for (std::size_t i = 0; i < kPageSize; ++i) {
      const auto series = static_cast<SeriesId>((p << kPageBits) | i);
      DbSlot db = 0;
      {
        std::shared_lock lock(ShardOf(series).mu);
        const Window* w = (*page)[i];
        if (w == nullptr) continue;
        db = w->db;
        w->SnapshotAll(snapshot);
      }
      fn(series, db, snapshot);  // outside the lock: fn may take its time
    }
  }
}

template <class Fn>
void WindowStore::ForEachWindowExclusive(Fn&& fn) {
  for (std::size_t p = 0; p < page_count(); ++p) {
    Page* page = pages_[p].load(std::memory_order_acquire);
    if (page == nullptr) continue;
    for (std::size_t i = 0; i < kPageSize; ++i) {
      const auto series = static_cast<SeriesId>((p << kPageBits) | i);
      std::unique_lock lock(ShardOf(series).mu);
      if (Window* w = (*page)[i]) fn(series, *w);
    }
  }
}

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_WINDOW_STORE_H_
