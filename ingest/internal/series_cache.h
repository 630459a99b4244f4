// SeriesCache: a source's private map from series key to SeriesId in front of
// Store::Intern, so that the steady state resolves a point's series with one hash lookup
// and no shared lock.
//
// Staleness. The store frees the ids of evicted series and may hand them to new series,
// so a cached id is only right while its series lives. The cache cannot see evictions;
// its owner clears it when told that the store evicted series (KafkaSource::
// InvalidateSeriesCache(), called by the daemon after maintenance evicted any). The type
// is cached with the id and checked on every hit, so a cached series never lets a point
// of another type around the store's type-conflict check.
//
// Bounded: when `max_entries` would be exceeded the cache is cleared and refills from
// the store (a simple policy: a source writing more distinct series than that pays the
// store's price for the extra ones, never more memory).
//
// Thread safety: not thread-safe; one per consumer thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_
#define TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_

#include <cstddef>
#include <string>
#include <unordered_map>

#include "store/series_index.h"
#include "store/status.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::ingest::internal {

class SeriesCache {
 public:
  // REQUIRES: max_entries >= 1.
  explicit SeriesCache(std::size_t max_entries = 65536) : max_entries_(max_entries) {}

  // The id of `key` with `type`: cached, or from store.Intern() (and then cached).
  // Errors: those of Store::Intern (series limit, type conflict, bad key), not cached.
  StatusOr<store::SeriesId> Intern(store::Store& store, const store::SeriesKeyView& key,
                                   store::FieldType type);

  void Clear() { map_.clear(); }
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    store::SeriesId id;
    store::FieldType type;
  };

  // Writes `key` into scratch_ with every part length-prefixed, so that no two keys
  // share an encoding whatever bytes their names hold.
  void Encode(const store::SeriesKeyView& key);

  const std::size_t max_entries_;
  std::string scratch_;  // reused: no allocation per lookup once large enough
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_
