#include "ingest/internal/series_cache.h"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tidewatch::ingest::internal {

namespace {

void AppendPart(std::string_view part, std::string& out) {
  // Names are far below 4 GiB (the decoders bound a line at 64 KiB).
  const auto length = static_cast<std::uint32_t>(part.size());
  char bytes[sizeof(length)];
  std::memcpy(bytes, &length, sizeof(length));
  out.append(bytes, sizeof(bytes));
  out.append(part);
}

}  // namespace

void SeriesCache::Encode(const store::SeriesKeyView& key) {
  scratch_.clear();
  AppendPart(key.db, scratch_);
  AppendPart(key.measurement, scratch_);
  for (const store::TagView& tag : key.tags) {
    AppendPart(tag.key, scratch_);
    AppendPart(tag.value, scratch_);
  }
  // The field last: a length-prefixed sequence parses one way only, and the number of
  // parts fixes the number of tags, so distinct keys never share an encoding.
  AppendPart(key.field, scratch_);
}

StatusOr<store::SeriesId> SeriesCache::Intern(store::Store& store, const store::SeriesKeyView& key,
                                              store::FieldType type) {
  Encode(key);
  if (auto it = map_.find(scratch_); it != map_.end() && it->second.type == type) {
    return it->second.id;
  }
  StatusOr<store::SeriesId> id = store.Intern(key, type);
  if (!id.ok()) return id;
  if (map_.size() >= max_entries_ && map_.find(scratch_) == map_.end()) map_.clear();
  map_.insert_or_assign(scratch_, Entry{*id, type});
  return id;
}

}  // namespace tidewatch::ingest::internal
