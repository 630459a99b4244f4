// The listings and posting lists of SeriesIndex: db → measurement → (all its series,
// tag key → tag value → series, field → type). Ordered maps, so every listing comes
// out sorted; posting lists are sorted vectors of ids (new ids mostly append).
//
// Thread safety: none of its own. SeriesIndex calls const members under its index
// lock held shared and the others under it held exclusively. The per-db counters are
// atomics so that Count*() can run under the shared lock.
#ifndef TIDEWATCH_STORE_INTERNAL_INVERTED_INDEX_H_
#define TIDEWATCH_STORE_INTERNAL_INVERTED_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/series_index.h"
#include "store/types.h"

namespace tidewatch::store::internal {

class InvertedIndex {
 public:
  // A series leaving the index: its id and its key as EncodeSeriesKey() made it.
  struct Removed {
    SeriesId id;
    std::string_view encoded_key;
  };

  // Live series of `db`; 0 for an unknown db.
  std::size_t series_count(std::string_view db) const;
  // The type field `key.field` has on `key.measurement`, if any series has it.
  std::optional<FieldType> FieldTypeOf(const SeriesKeyView& key) const;

  // REQUIRES: `db` has had a series since it was last dropped.
  void CountRejected(std::string_view db) const;
  void CountTypeConflict(std::string_view db) const;
  std::uint64_t rejected_series(std::string_view db) const;
  std::uint64_t type_conflicts(std::string_view db) const;

  // REQUIRES: `id` is not in the index; FieldTypeOf(key) is empty or `type`.
  void Add(SeriesId id, const SeriesKeyView& key, FieldType type);
  // Updates postings, counts and listings. REQUIRES: `series` sorted by id, distinct,
  // each in the index under that key.
  void Remove(std::span<const Removed> series);
  // Every series of `db`, sorted.
  PostingList SeriesOfDb(std::string_view db) const;
  // Forgets `db` and its counters. REQUIRES: series_count(db) == 0.
  void EraseDb(std::string_view db);

  std::vector<std::string> Databases() const;
  std::vector<std::string> Measurements(std::string_view db) const;
  std::vector<std::string> TagKeys(std::string_view db, std::string_view measurement) const;
  std::vector<std::string> TagValues(std::string_view db, std::string_view measurement,
                                     std::string_view key) const;
  std::vector<std::pair<std::string, FieldType>> FieldKeys(std::string_view db,
                                                           std::string_view measurement) const;
  PostingList SeriesOf(std::string_view db, std::string_view measurement) const;
  // The posting list of key=value, nullptr if none. Valid until the next non-const call.
  const PostingList* Postings(std::string_view db, std::string_view measurement,
                              std::string_view key, std::string_view value) const;

  std::size_t memory_bytes() const { return bytes_; }

 private:
  struct Field {
    FieldType type;
    std::size_t series_count;
  };
  using ValueMap = std::map<std::string, PostingList, std::less<>>;
  using TagMap = std::map<std::string, ValueMap, std::less<>>;
  using FieldMap = std::map<std::string, Field, std::less<>>;
  struct Measurement {
    PostingList series;
    TagMap tags;
    FieldMap fields;
  };
  using MeasurementMap = std::map<std::string, Measurement, std::less<>>;
  // Kept while it has no series, for its counters, until DropDatabase().
  struct Db {
    MeasurementMap measurements;
    std::size_t series_count = 0;
    mutable std::atomic<std::uint64_t> rejected{0};
    mutable std::atomic<std::uint64_t> type_conflicts{0};
  };
  using DbMap = std::map<std::string, Db, std::less<>>;

  const Db* FindDb(std::string_view db) const;
  const Measurement* FindMeasurement(std::string_view db, std::string_view measurement) const;
  // Node of `map` for `key`, created (and its bytes counted) if missing.
  template <class Map>
  typename Map::mapped_type& Emplace(Map& map, std::string_view key);
  // Erases `it` from `map`, uncounting its node. REQUIRES: the mapped value owns no
  // heap memory (empty maps; posting lists released first).
  template <class Map>
  void Erase(Map& map, typename Map::iterator it);
  void InsertPosting(PostingList& list, SeriesId id);
  // Erases from each list the ids in `ids` (sorted), then shrinks it if mostly empty.
  void ErasePostings(std::span<PostingList* const> lists, std::span<const SeriesId> ids);
  // Frees the list's buffer. REQUIRES: it is empty.
  void ReleasePostings(PostingList& list);
  // Erases the tag values, tag keys, fields and measurement `key` left empty.
  void EraseEmptyNodes(const SeriesKeyView& key);

  DbMap dbs_;
  std::size_t bytes_ = 0;  // estimated heap bytes of all of the above
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_INVERTED_INDEX_H_
