// SeriesIndex: interns every series — (db, measurement, sorted tag set, field) — once
// into a dense SeriesId, answers the reverse lookup, and keeps the inverted index
// (measurement, tag key=value → sorted posting lists of ids) behind InfluxQL's SHOW
// statements and WHERE clauses.
//
// Thread safety: every member function may be called concurrently from any number of
// threads. Intern() and Find() of an existing series take one shared lock of one of
// 16 shards (chosen by the key's hash) and do not allocate: the key is hashed and
// compared straight from the caller's string_views. Creating a series takes that
// shard's lock and the index lock exclusively. Listings, posting lists, Info() and the
// counters take the index lock shared and return copies, so nothing returned refers
// into the index. Remove() and DropDatabase() take every lock exclusively; they are
// meant for retention and DROP statements, not for the per-point path.
// No lock is held while user code runs (ForEach() and SeriesWhereTagValue() call
// their function between locked steps).
//
// Ids. Ids are dense from 0. Removing a series frees its id, and a later new series
// may get it: an id names a series only while that series lives, so whoever keeps ids
// (the window store) must drop them when it removes the series.
#ifndef TIDEWATCH_STORE_SERIES_INDEX_H_
#define TIDEWATCH_STORE_SERIES_INDEX_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store {

namespace internal {
class InvertedIndex;
}  // namespace internal

struct TagView {
  std::string_view key;
  std::string_view value;
};

struct Tag {
  std::string key;
  std::string value;

  friend bool operator==(const Tag&, const Tag&) = default;
};

// A series key as borrowed views, e.g. from a decoded line-protocol point. The views
// only need to live for the duration of the call they are passed to.
// Canonical form: `tags` sorted by key (byte order), each key once, no part empty;
// functions taking a key answer kInvalidArgument otherwise. Sorting is the caller's
// job: "cpu,region=x,host=a usage" must be passed as host=a, region=x.
struct SeriesKeyView {
  std::string_view db;
  std::string_view measurement;
  std::span<const TagView> tags;
  std::string_view field;
};

// A series key with its own storage, plus the type the series was created with.
struct SeriesInfo {
  std::string db;
  std::string measurement;
  std::vector<Tag> tags;  // sorted by key
  std::string field;
  FieldType type = FieldType::kFloat;

  friend bool operator==(const SeriesInfo&, const SeriesInfo&) = default;
};

struct SeriesIndexOptions {
  // Upper bound on live series per database, InfluxDB's max-series-per-database: an
  // Intern() that would create one more fails with kResourceExhausted, so one tenant's
  // cardinality explosion (a timestamp or request id written as a tag) cannot exhaust
  // the daemon's memory. A series costs about 200 bytes of heap in this index with
  // two tags (measured: 1M series like "cpu,host=server1234,region=us-west-3
  // usage_idle" took 200 MB; longer keys and more tags cost more) plus its window in
  // the store, so the default of 1,000,000 bounds the index at about 200-300 MB per
  // database. Lower it for many small tenants; raise it only with the memory budget.
  // Must be at least 1.
  std::size_t max_series_per_db = 1'000'000;
};

// A sorted list of distinct ids.
using PostingList = std::vector<SeriesId>;

// Set operations on posting lists for the query planner (AND, OR, != / !~).
// REQUIRES: each input sorted ascending without duplicates; so is the result.
inline PostingList Intersect(std::span<const SeriesId> a, std::span<const SeriesId> b) {
  PostingList out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
inline PostingList Union(std::span<const SeriesId> a, std::span<const SeriesId> b) {
  PostingList out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
// The ids of `a` that are not in `b`.
inline PostingList Difference(std::span<const SeriesId> a, std::span<const SeriesId> b) {
  PostingList out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

class SeriesIndex {
 public:
  // Throws std::invalid_argument if options.max_series_per_db is 0 (configuration is
  // validated at startup).
  explicit SeriesIndex(SeriesIndexOptions options = {});
  ~SeriesIndex();

  SeriesIndex(const SeriesIndex&) = delete;
  SeriesIndex& operator=(const SeriesIndex&) = delete;

  // The id of the series `key`, created with `type` on first sight.
  // Errors, each counted per database:
  //   kResourceExhausted  creating it would exceed max_series_per_db: "db 'x' has
  //                       reached max_series_per_db=N; series <key> rejected"
  //                       (rejected_series(db)). Existing series still resolve.
  //   kInvalidArgument    the field already exists on this measurement with another
  //                       type, through this series or another one: "field type
  //                       conflict: input field "f" on measurement "m" is type float,
  //                       already exists as type integer" (type_conflicts(db)). As in
  //                       InfluxDB, a field has one type per measurement.
  //   kInvalidArgument    the key is not canonical (see SeriesKeyView); not counted.
  //   kResourceExhausted  all 2^32 - 1 ids are in use; not counted.
  // Allocation-free when the series exists and the type matches.
  StatusOr<SeriesId> Intern(const SeriesKeyView& key, FieldType type);

  // The id of an existing series; kNotFound if there is none, kInvalidArgument if the
  // key is not canonical. Never creates. Allocation-free when found.
  StatusOr<SeriesId> Find(const SeriesKeyView& key) const;

  // A copy of the series' key and type; nullopt if `id` names no live series (never
  // handed out, or removed). A removed id may since have been reused by another series.
  std::optional<SeriesInfo> Info(SeriesId id) const;

  // Listings. Each is sorted and lists only names that at least one live series has;
  // an unknown db, measurement or tag key gives an empty result.
  std::vector<std::string> Databases() const;
  std::vector<std::string> Measurements(std::string_view db) const;
  std::vector<std::string> TagKeys(std::string_view db, std::string_view measurement) const;
  std::vector<std::string> TagValues(std::string_view db, std::string_view measurement,
                                     std::string_view key) const;
  std::vector<std::pair<std::string, FieldType>> FieldKeys(std::string_view db,
                                                           std::string_view measurement) const;

  // Posting lists (sorted, distinct): every series of a measurement, and those of a
  // measurement having tag key=value.
  PostingList SeriesOf(std::string_view db, std::string_view measurement) const;
  PostingList SeriesWithTag(std::string_view db, std::string_view measurement,
                            std::string_view key, std::string_view value) const;
  // The series whose tag `key` has any of `values` (duplicates and unknown values are
  // fine).
  PostingList SeriesWithTagValues(std::string_view db, std::string_view measurement,
                                  std::string_view key,
                                  std::span<const std::string> values) const;
  // The series whose tag `key` has a value for which pred(std::string_view) is true,
  // e.g. a regex for `=~`. Scans the distinct values of `key`, not the series. `pred`
  // runs without a lock, on a copy of the values; a series created meanwhile may or may
  // not be included, as with any query concurrent with ingest.
  template <class Pred>
  PostingList SeriesWhereTagValue(std::string_view db, std::string_view measurement,
                                  std::string_view key, Pred pred) const {
    std::vector<std::string> values = TagValues(db, measurement, key);
    std::erase_if(values, [&pred](const std::string& v) { return !pred(std::string_view(v)); });
    return SeriesWithTagValues(db, measurement, key, values);
  }

  // Removes the live series among `ids` (others, and duplicates, are ignored): their
  // keys, postings and memory go, their ids become free for later series, counts drop,
  // and a measurement, tag key, tag value or field no series has any more leaves the
  // listings. The id table keeps 12 bytes per id (the peak number of live series).
  // Cost: each posting list the series were on is rewritten once per call, so remove
  // in batches; on top of that about 2 us per removed series, all of it with every
  // lock held (100,000 series out of 1,000,000: 0.2 s), which stalls the creation of
  // series and all listings, not lookups served by callers' caches.
  void Remove(std::span<const SeriesId> ids);

  // Removes every series of `db`, as Remove() would, forgets the database and its
  // counters, and returns the removed ids, sorted (for the window store to free).
  PostingList DropDatabase(std::string_view db);

  std::size_t series_count() const;
  std::size_t series_count(std::string_view db) const;
  // How many removals (Remove, DropDatabase) have happened;
  // increases before a removed id can be handed out again. A cache keyed by SeriesId
  // is valid while this is unchanged. One relaxed atomic load, no lock.
  std::uint64_t removal_generation() const {
    return removal_generation_.load(std::memory_order_acquire);
  }
  // Intern() calls refused by max_series_per_db (points, not distinct series: every
  // point of a refused series counts), since the db's first series or last drop.
  std::uint64_t rejected_series(std::string_view db) const;
  // Intern() calls refused for a field type conflict, counted the same way.
  std::uint64_t type_conflicts(std::string_view db) const;

  // Estimated heap bytes held by the index (keys, hash tables, id table, listings and
  // posting lists), for the memory budget and /metrics. Within tens of percent.
  std::size_t MemoryBytesApprox() const;

  // Snapshot support. Re-creates a series under a given id. Does not apply
  // max_series_per_db, so a snapshot restores whole even if the limit was lowered
  // (new series are then refused until the count is below it). Ids below `id` that are
  // not taken become free ids; the id table grows to id + 1 slots (8 bytes each).
  // Errors (kInvalidArgument): the id or the key is taken, the field exists with
  // another type, the key is not canonical, or id is 2^32 - 1.
  Status Restore(SeriesId id, const SeriesInfo& info);

  // Calls fn(SeriesId, const SeriesInfo&) for the live series in increasing id order.
  // Copies the series in batches (1024 per lock hold) under the shared lock and calls
  // `fn` with no lock held, so `fn` may use the index. Series live throughout the call are visited
  // exactly once; series created or removed meanwhile may or may not be.
  template <class Fn>
  void ForEach(Fn&& fn) const {
    std::vector<std::pair<SeriesId, SeriesInfo>> batch;
    std::size_t next = 0;
    bool more = true;
    while (more) {
      more = CopyBatch(next, batch);
      for (const auto& [id, info] : batch) fn(id, info);
    }
  }

 private:
  struct Series;
  struct Shard;
  struct HashedKey;
  class AllShardsLock;

  Shard& ShardFor(std::size_t hash) const;
  // The id of `series` if it has type `type`, else the counted conflict error.
  // REQUIRES: the series' shard lock is held; index_mu_ is not.
  StatusOr<SeriesId> CheckType(const Series& series, const SeriesKeyView& key,
                               FieldType type) const;
  // OK if a new series `key` of `type` may be created: its db is below the limit and
  // the field has no other type on its measurement; else the error, counted.
  // REQUIRES: index_mu_ held, shared or exclusive.
  Status CheckNewSeries(const SeriesKeyView& key, FieldType type) const;
  // A free id, or nullopt if all are in use. REQUIRES: index_mu_ held exclusively.
  std::optional<SeriesId> TakeFreeId();
  // REQUIRES: `shard`'s lock and index_mu_ held exclusively; `id` free and its slot
  // present; the key absent.
  void Insert(Shard& shard, const HashedKey& key, FieldType type, SeriesId id);
  // Removes live series `ids` (sorted, distinct). REQUIRES: every lock held exclusively.
  void RemoveLocked(std::span<const SeriesId> ids);
  // Copies live series with ids >= next into `out`, up to a batch, and advances `next`
  // past them; false once every id has been looked at.
  bool CopyBatch(std::size_t& next, std::vector<std::pair<SeriesId, SeriesInfo>>& out) const;
  static SeriesInfo InfoOf(const Series& series);

  // Constant after construction.
  const SeriesIndexOptions options_;
  // Lock order: a shard's mutex before index_mu_; several shards in increasing index.
  // Each shard's mutex guards that shard's key → series table. A Series object is
  // immutable; it is freed only with its shard's lock and index_mu_ held exclusively,
  // so holding either lock keeps it alive.
  const std::unique_ptr<Shard[]> shards_;

  mutable std::shared_mutex index_mu_;
  // Guarded by index_mu_ (the pointer itself is constant).
  const std::unique_ptr<internal::InvertedIndex> inverted_;
  std::vector<std::unique_ptr<Series>> series_;  // by id; null for a free id
  // A stack of the free ids below series_.size(): the last freed is reused first (of
  // those one call frees, the smallest). Restore() may take an id that is still
  // listed; such entries are skipped when popped.
  std::vector<SeriesId> free_ids_;
  std::size_t live_count_ = 0;
  std::size_t series_bytes_ = 0;  // Series objects, their keys and their table nodes
  std::atomic<std::uint64_t> removal_generation_{0};  // see removal_generation()
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_SERIES_INDEX_H_
