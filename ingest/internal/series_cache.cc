#include "ingest/internal/series_cache.h"

#include <cstdint>
#include <cstring>

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

// Fields of one series part searched in order; more get an index.
constexpr std::size_t kScanLimit = 16;

}  // namespace

void SeriesCache::BeginLine(std::string_view db, std::string_view measurement,
                            std::span<const store::TagView> tags) {
  // A length-prefixed sequence parses one way only, and the number of parts fixes the
  // number of tags, so distinct series parts never share an encoding.
  key_.clear();
  AppendPart(db, key_);
  AppendPart(measurement, key_);
  for (const store::TagView& tag : tags) {
    AppendPart(tag.key, key_);
    AppendPart(tag.value, key_);
  }
  db_ = db;
  measurement_ = measurement;
  tags_ = tags;
  next_ = 0;
  FindLine();
}

void SeriesCache::FindLine() {
  auto it = map_.find(key_);
  if (it == map_.end()) {
    // Lines whose every field is refused leave empty entries: bound those too.
    if (map_.size() >= max_entries_) Clear();
    // Created empty: the line's fields fill it as they are resolved.
    it = map_.emplace(key_, Line()).first;
  }
  line_ = &it->second;
}

SeriesCache::Field* SeriesCache::Find(Line& line, std::string_view field) {
  std::vector<Field>& fields = line.fields;
  if (next_ < fields.size() && fields[next_].name == field) return &fields[next_];
  if (!line.index.empty()) {
    const auto it = line.index.find(field);
    return it != line.index.end() ? &fields[it->second] : nullptr;
  }
  for (Field& f : fields) {
    if (f.name == field) return &f;
  }
  return nullptr;
}

StatusOr<ResolvedField> SeriesCache::Resolve(store::Store& store, store::FieldRings& rings,
                                             std::string_view field, store::FieldType type) {
  Field* found = Find(*line_, field);
  if (found != nullptr) {
    next_ = static_cast<std::size_t>(found - line_->fields.data()) + 1;
    if (found->type == type) return found->ids;
  }
  // Missed, or cached with another type: the store decides (and reports a conflict).
  const StatusOr<store::FieldId> ring = rings.FieldFor(measurement_, field);
  if (!ring.ok()) return ring.status();
  const StatusOr<store::SeriesId> id = store.Intern({db_, measurement_, tags_, field}, type);
  if (!id.ok()) return id.status();
  const ResolvedField ids{*id, *ring};
  if (found != nullptr) {
    found->type = type;
    found->ids = ids;
    return ids;
  }
  if (size_ >= max_entries_) {
    Clear();
    FindLine();  // the line's entry went with the rest
  }
  std::vector<Field>& fields = line_->fields;
  fields.push_back(Field{std::string(field), type, ids});
  ++size_;
  next_ = fields.size();
  if (fields.size() > kScanLimit) {
    if (line_->index.empty()) {
      for (std::size_t i = 0; i + 1 < fields.size(); ++i) line_->index.emplace(fields[i].name, i);
    }
    line_->index.emplace(fields.back().name, fields.size() - 1);
  }
  return ids;
}

void SeriesCache::Clear() {
  map_.clear();
  size_ = 0;
  line_ = nullptr;
  next_ = 0;
}

}  // namespace tidewatch::ingest::internal
