// SeriesCache: a source's private map from series key to SeriesId (and the field's ring
// id) in front of Store::Intern and FieldRings::FieldFor, so that the steady state
// resolves a point's series without a shared lock and a line's series part (database,
// measurement, tags) is encoded and hashed once per line, not once per field.
//
// Use: BeginLine() with the line's series part, then Resolve() for each of its fields.
// The cache is two-level: the encoded series part finds the line's entry with one hash
// lookup, and the line's fields are found in that entry's short list, in the order
// they were seen (the next field is tried first, as lines of a series usually repeat
// their fields in order).
//
// Staleness. The store frees the ids of evicted series and may hand them to new series,
// so a cached id is only right while its series lives. The cache cannot see evictions;
// its owner clears it when told that the store evicted series (KafkaSource::
// InvalidateSeriesCache(), called by the daemon after maintenance evicted any). The type
// is cached with the id and checked on every hit, so a cached series never lets a point
// of another type around the store's type-conflict check. Ring ids never change.
//
// Bounded: when `max_entries` series would be exceeded the cache is cleared and refills
// from the store (a simple policy: a source writing more distinct series than that pays
// the store's price for the extra ones, never more memory).
//
// Thread safety: not thread-safe; one per consumer thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_
#define TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/field_rings.h"
#include "store/series_index.h"
#include "store/status.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::ingest::internal {

struct ResolvedField {
  store::SeriesId series = 0;
  store::FieldId field = 0;
};

class SeriesCache {
 public:
  // REQUIRES: max_entries >= 1.
  explicit SeriesCache(std::size_t max_entries = 65536) : max_entries_(max_entries) {}

  // Starts a line: the series part of the next Resolve() calls. The views must stay
  // valid until the line's last Resolve().
  void BeginLine(std::string_view db, std::string_view measurement,
                 std::span<const store::TagView> tags);

  // The series of the current line's `field` with `type`, and the field's ring: cached,
  // or from rings.FieldFor() and store.Intern() (and then cached). Errors: those of
  // FieldFor (too many fields) and of Store::Intern (series limit, type conflict, bad
  // key), not cached. REQUIRES: BeginLine() was called.
  StatusOr<ResolvedField> Resolve(store::Store& store, store::FieldRings& rings,
                                  std::string_view field, store::FieldType type);

  void Clear();
  // Series cached.
  std::size_t size() const { return size_; }

 private:
  struct Field {
    std::string name;
    store::FieldType type;
    ResolvedField ids;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // One series part's fields. Up to kScanLimit fields they are searched in order; a
  // wider line gets an index too, so a hostile line of thousands of fields costs one
  // hash lookup per field, not a scan.
  struct Line {
    std::vector<Field> fields;
    std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> index;
  };
  using Map = std::unordered_map<std::string, Line>;

  Field* Find(Line& line, std::string_view field);

  // Finds or creates the current line's entry (key_ holds its encoding).
  void FindLine();

  const std::size_t max_entries_;
  Map map_;
  std::size_t size_ = 0;  // Fields over all entries of map_

  // The current line. key_: its series part with every part length-prefixed, so that no
  // two series parts share an encoding whatever bytes their names hold; reused, so no
  // allocation per line once large enough.
  std::string key_;
  std::string_view db_;
  std::string_view measurement_;
  std::span<const store::TagView> tags_;
  Line* line_ = nullptr;  // map_'s entry for key_
  std::size_t next_ = 0;  // index in line_->fields where the next field likely is
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_SERIES_CACHE_H_
