#include "store/internal/inverted_index.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <tuple>

#include "store/internal/memory_estimate.h"
#include "store/internal/series_key.h"

namespace tidewatch::store::internal {
namespace {

template <class Map>
std::vector<std::string> Names(const Map& map) {
  std::vector<std::string> out;
  out.reserve(map.size());
  for (const auto& [name, unused] : map) out.push_back(name);
  return out;
}

}  // namespace

std::size_t InvertedIndex::series_count(std::string_view db) const {
  const Db* d = FindDb(db);
  return d == nullptr ? 0 : d->series_count;
}

std::optional<FieldType> InvertedIndex::FieldTypeOf(const SeriesKeyView& key) const {
  const Measurement* m = FindMeasurement(key.db, key.measurement);
  if (m == nullptr) return std::nullopt;
  const auto it = m->fields.find(key.field);
  if (it == m->fields.end()) return std::nullopt;
  return it->second.type;
}

// Relaxed: statistics, read by /metrics, not used to synchronise anything.
void InvertedIndex::CountRejected(std::string_view db) const {
  FindDb(db)->rejected.fetch_add(1, std::memory_order_relaxed);
}

void InvertedIndex::CountTypeConflict(std::string_view db) const {
  FindDb(db)->type_conflicts.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t InvertedIndex::rejected_series(std::string_view db) const {
  const Db* d = FindDb(db);
  return d == nullptr ? 0 : d->rejected.load(std::memory_order_relaxed);
}

std::uint64_t InvertedIndex::type_conflicts(std::string_view db) const {
  const Db* d = FindDb(db);
  return d == nullptr ? 0 : d->type_conflicts.load(std::memory_order_relaxed);
}

void InvertedIndex::Add(SeriesId id, const SeriesKeyView& key, FieldType type) {
  Db& db = Emplace(dbs_, key.db);
  Measurement& m = Emplace(db.measurements, key.measurement);
  ++db.series_count;
  InsertPosting(m.series, id);
  for (const TagView& tag : key.tags) {
    InsertPosting(Emplace(Emplace(m.tags, tag.key), tag.value), id);
  }
  Field& field = Emplace(m.fields, key.field);
  assert(field.series_count == 0 || field.type == type);
  field.type = type;
  ++field.series_count;
}

void InvertedIndex::Remove(std::span<const Removed> series) {
  // Three passes so that each posting list is rewritten once however many of its ids
  // go (retention removes thousands of series of one measurement at a time): count
  // down and collect the lists, rewrite the lists, then drop what is left empty.
  std::vector<SeriesId> ids;
  ids.reserve(series.size());
  std::vector<PostingList*> lists;
  DecodedSeriesKey key;
  for (const Removed& r : series) {
    ids.push_back(r.id);
    key.Decode(r.encoded_key);
    Db& db = dbs_.find(key.db)->second;
    Measurement& m = db.measurements.find(key.measurement)->second;
    --db.series_count;
    --m.fields.find(key.field)->second.series_count;
    lists.push_back(&m.series);
    for (const TagView& tag : key.tags) {
      lists.push_back(&m.tags.find(tag.key)->second.find(tag.value)->second);
    }
  }
  std::sort(lists.begin(), lists.end());
  lists.erase(std::unique(lists.begin(), lists.end()), lists.end());
  ErasePostings(lists, ids);
  for (const Removed& r : series) {
    key.Decode(r.encoded_key);
    EraseEmptyNodes(key.view());
  }
}

PostingList InvertedIndex::SeriesOfDb(std::string_view db) const {
  PostingList ids;
  const Db* d = FindDb(db);
  if (d == nullptr) return ids;
  ids.reserve(d->series_count);
  // A series is on exactly one measurement's list, so concatenating gives no duplicates.
  for (const auto& [name, m] : d->measurements) {
    ids.insert(ids.end(), m.series.begin(), m.series.end());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void InvertedIndex::EraseDb(std::string_view db) {
  const auto it = dbs_.find(db);
  if (it == dbs_.end()) return;
  assert(it->second.series_count == 0 && it->second.measurements.empty());
  Erase(dbs_, it);
}

std::vector<std::string> InvertedIndex::Databases() const {
  std::vector<std::string> out;
  for (const auto& [name, db] : dbs_) {
    if (db.series_count > 0) out.push_back(name);
  }
  return out;
}

std::vector<std::string> InvertedIndex::Measurements(std::string_view db) const {
  const Db* d = FindDb(db);
  return d == nullptr ? std::vector<std::string>() : Names(d->measurements);
}

std::vector<std::string> InvertedIndex::TagKeys(std::string_view db,
                                                std::string_view measurement) const {
  const Measurement* m = FindMeasurement(db, measurement);
  return m == nullptr ? std::vector<std::string>() : Names(m->tags);
}

std::vector<std::string> InvertedIndex::TagValues(std::string_view db,
                                                  std::string_view measurement,
                                                  std::string_view key) const {
  const Measurement* m = FindMeasurement(db, measurement);
  if (m == nullptr) return {};
  const auto it = m->tags.find(key);
  return it == m->tags.end() ? std::vector<std::string>() : Names(it->second);
}

std::vector<std::pair<std::string, FieldType>> InvertedIndex::FieldKeys(
    std::string_view db, std::string_view measurement) const {
  std::vector<std::pair<std::string, FieldType>> out;
  const Measurement* m = FindMeasurement(db, measurement);
  if (m == nullptr) return out;
  out.reserve(m->fields.size());
  for (const auto& [name, field] : m->fields) out.emplace_back(name, field.type);
  return out;
}

PostingList InvertedIndex::SeriesOf(std::string_view db, std::string_view measurement) const {
  const Measurement* m = FindMeasurement(db, measurement);
  return m == nullptr ? PostingList() : m->series;
}

const PostingList* InvertedIndex::Postings(std::string_view db, std::string_view measurement,
                                           std::string_view key, std::string_view value) const {
  const Measurement* m = FindMeasurement(db, measurement);
  if (m == nullptr) return nullptr;
  const auto k = m->tags.find(key);
  if (k == m->tags.end()) return nullptr;
  const auto v = k->second.find(value);
  return v == k->second.end() ? nullptr : &v->second;
}

const InvertedIndex::Db* InvertedIndex::FindDb(std::string_view db) const {
  const auto it = dbs_.find(db);
  return it == dbs_.end() ? nullptr : &it->second;
}

const InvertedIndex::Measurement* InvertedIndex::FindMeasurement(
    std::string_view db, std::string_view measurement) const {
  const Db* d = FindDb(db);
  if (d == nullptr) return nullptr;
  const auto it = d->measurements.find(measurement);
  return it == d->measurements.end() ? nullptr : &it->second;
}

template <class Map>
typename Map::mapped_type& InvertedIndex::Emplace(Map& map, std::string_view key) {
  auto it = map.lower_bound(key);
  if (it == map.end() || it->first != key) {
    // Piecewise, because a Db (atomics) can be neither copied nor moved.
    it = map.emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key),
                          std::forward_as_tuple());
    bytes_ += TreeNodeBytes<Map>(key.size());
  }
  return it->second;
}

template <class Map>
void InvertedIndex::Erase(Map& map, typename Map::iterator it) {
  bytes_ -= TreeNodeBytes<Map>(it->first.size());
  map.erase(it);
}

void InvertedIndex::InsertPosting(PostingList& list, SeriesId id) {
  const std::size_t before = VectorHeapBytes(list);
  // New ids are usually the largest yet; a reused (freed) id goes into the middle.
  if (list.empty() || list.back() < id) {
    list.push_back(id);
  } else {
    list.insert(std::lower_bound(list.begin(), list.end(), id), id);
  }
  bytes_ = bytes_ - before + VectorHeapBytes(list);
}

void InvertedIndex::ErasePostings(std::span<PostingList* const> lists,
                                  std::span<const SeriesId> ids) {
  const auto log_ids = static_cast<std::size_t>(std::bit_width(ids.size()));
  for (PostingList* list : lists) {
    const std::size_t before = VectorHeapBytes(*list);
    if (list->size() * log_ids < list->size() + ids.size()) {
      // A short list (one tag value's): look each of its ids up among the removed.
      std::erase_if(*list, [ids](SeriesId id) {
        return std::binary_search(ids.begin(), ids.end(), id);
      });
    } else {
      // A long one (a measurement's): one merge-like pass over both sorted sequences.
      auto removed = ids.begin();
      auto kept = list->begin();
      for (const SeriesId id : *list) {
        while (removed != ids.end() && *removed < id) ++removed;
        if (removed == ids.end() || *removed != id) *kept++ = id;
      }
      list->erase(kept, list->end());
    }
    // Give memory back after a large removal, without reallocating on every small one.
    if (list->size() < list->capacity() / 4) list->shrink_to_fit();
    bytes_ = bytes_ - before + VectorHeapBytes(*list);
  }
}

void InvertedIndex::ReleasePostings(PostingList& list) {
  assert(list.empty());
  bytes_ -= VectorHeapBytes(list);
  PostingList().swap(list);
}

void InvertedIndex::EraseEmptyNodes(const SeriesKeyView& key) {
  MeasurementMap& measurements = dbs_.find(key.db)->second.measurements;
  const auto m_it = measurements.find(key.measurement);
  if (m_it == measurements.end()) return;  // emptied by an earlier series of the batch
  Measurement& m = m_it->second;
  for (const TagView& tag : key.tags) {
    const auto k_it = m.tags.find(tag.key);
    if (k_it == m.tags.end()) continue;
    ValueMap& values = k_it->second;
    const auto v_it = values.find(tag.value);
    if (v_it != values.end() && v_it->second.empty()) {
      ReleasePostings(v_it->second);
      Erase(values, v_it);
    }
    if (values.empty()) Erase(m.tags, k_it);
  }
  const auto f_it = m.fields.find(key.field);
  if (f_it != m.fields.end() && f_it->second.series_count == 0) Erase(m.fields, f_it);
  // Other series of the batch may still hold empty nodes here; the last one erases it.
  if (m.series.empty() && m.tags.empty() && m.fields.empty()) {
    ReleasePostings(m.series);
    Erase(measurements, m_it);
  }
}

}  // namespace tidewatch::store::internal
