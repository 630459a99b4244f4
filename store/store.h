// Store: the series index and the window store behind one door, with what spans both:
// databases, retention against event time, the memory budget, idle-series eviction,
// and snapshots.
//
// Retention is measured per database against the newest event time the store has
// seen for it, never the wall clock, so replays and historical backfills keep their
// data. Maintenance (RunMaintenance) is explicit: the daemon calls it periodically.
//
// Thread safety: every member function may be called concurrently, except Restore(),
// which requires a store nobody else uses yet.
#ifndef TIDEWATCH_STORE_STORE_H_
#define TIDEWATCH_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/series_index.h"
#include "store/status.h"
#include "store/types.h"
#include "store/window_store.h"

namespace tidewatch::store {

struct StoreOptions {
  SeriesIndexOptions index;
  WindowStoreOptions windows;
  // How much event time each database keeps, in ns: points older than the newest
  // point of their database minus this are freed (chunk by chunk), and series with
  // nothing newer are evicted. Default 1 h. Longer keeps more history in memory.
  std::int64_t default_retention_ns = 3'600'000'000'000;
  // Per-database overrides of default_retention_ns.
  std::map<std::string, std::int64_t, std::less<>> retention_by_db;
  // Upper bound on chunk memory across all databases; past it the oldest sealed chunks
  // go first (counted in budget_evicted()). 0 disables the budget. Default 1 GiB.
  std::size_t memory_budget_bytes = std::size_t{1} << 30;
};

struct MaintenanceStats {
  std::uint64_t points_expired = 0;   // past retention
  std::uint64_t series_evicted = 0;   // idle longer than retention
  std::uint64_t points_over_budget = 0;  // evicted by the memory budget
};

// Per-partition offsets a snapshot covers, opaque to the store ("topic/partition" →
// next offset to consume, as the ingest layer chooses).
using SnapshotOffsets = std::map<std::string, std::int64_t>;

class Store {
 public:
  explicit Store(StoreOptions options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The id of a series, created (index entry and window) on first sight.
  // Errors: those of SeriesIndex::Intern, and kResourceExhausted past kMaxDbs
  // databases.
  StatusOr<SeriesId> Intern(const SeriesKeyView& key, FieldType type);

  // Stores points of any series. A point whose series was evicted between Intern and
  // Append is counted in unknown_series, not stored: the caller re-interns and retries.
  AppendStats Append(std::span<const Point> points) { return windows_.Append(points); }

  // Removes the points of `series` in [start, end); returns how many.
  std::uint64_t Delete(std::span<const SeriesId> series, Timestamp start, Timestamp end);
  // Removes the points in [start, end) of every series of `measurement` in `db` that
  // carries all of `tags` (none: every series of the measurement); returns how many.
  std::uint64_t Delete(std::string_view db, std::string_view measurement,
                       std::span<const TagView> tags, Timestamp start, Timestamp end);

  // Applies retention to every database, evicts idle series, then the memory budget.
  MaintenanceStats RunMaintenance();

  // Writes the whole store and `offsets` to `path` (temp file, fsync, atomic rename).
  // Appends may continue meanwhile: the snapshot holds at least what was stored when
  // it started, so offsets taken before the call are covered.
  Status Snapshot(const std::string& path, const SnapshotOffsets& offsets) const;

  // Loads a snapshot into this store and returns its offsets. REQUIRES: the store is
  // empty and not yet shared with other threads. The whole file is validated before
  // anything is loaded. Errors: kNotFound (no file), kInvalidArgument (another
  // format version), kDataLoss (truncated or corrupt, with where and what). On error
  // the store is left empty.
  StatusOr<SnapshotOffsets> Restore(const std::string& path);

  SeriesIndex& index() { return index_; }
  const SeriesIndex& index() const { return index_; }
  WindowStore& windows() { return windows_; }
  const WindowStore& windows() const { return windows_; }

  // Newest event time of `db` (min() if the db is unknown or empty).
  Timestamp newest_ts(std::string_view db) const;
  std::int64_t retention_ns(std::string_view db) const;
  // Bytes held by windows and the index.
  std::size_t MemoryBytes() const { return windows_.MemoryBytes() + index_.MemoryBytesApprox(); }

 private:
  StatusOr<DbSlot> SlotFor(std::string_view db);
  std::vector<std::pair<std::string, DbSlot>> Databases() const;
  Status RestoreSeriesBlock(std::string_view payload, std::vector<SeriesId>& restored);
  void Clear(std::span<const SeriesId> restored);

  const StoreOptions options_;
  SeriesIndex index_;
  WindowStore windows_;

  mutable std::mutex db_mu_;
  std::map<std::string, DbSlot, std::less<>> db_slots_;  // guarded by db_mu_
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_STORE_H_
