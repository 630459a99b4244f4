#include "store/internal/series_key.h"

#include <cassert>
#include <cstdint>
#include <functional>

namespace tidewatch::store::internal {
namespace {

static_assert(sizeof(std::size_t) == 8, "the hash mixing below assumes 64-bit size_t");

// Folds one part's hash into the running hash. The finaliser (murmur3's fmix64) makes
// the result depend on the order of the parts, not just on their multiset, so swapping
// a tag's key and value, or moving bytes across a boundary, changes the hash.
std::size_t Combine(std::size_t h, std::string_view part) {
  h += std::hash<std::string_view>{}(part) + 0x9e3779b97f4a7c15u;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdu;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53u;
  h ^= h >> 33;
  return h;
}

void PutPart(std::string& out, std::string_view part) {
  std::size_t n = part.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(part);
}

// Reads the parts of an encoded key in order.
class PartReader {
 public:
  explicit PartReader(std::string_view encoded) : rest_(encoded) {}

  bool done() const { return rest_.empty(); }

  // REQUIRES: !done() and the buffer came from EncodeSeriesKey.
  std::string_view Next() {
    std::size_t n = 0;
    int shift = 0;
    std::uint8_t byte;
    do {
      byte = static_cast<std::uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      n |= static_cast<std::size_t>(byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    assert(n <= rest_.size());
    const std::string_view part = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return part;
  }

 private:
  std::string_view rest_;
};

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kFloat:
      return "float";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kBoolean:
      return "boolean";
  }
  return "unknown";
}

Status ValidateSeriesKey(const SeriesKeyView& key) {
  const auto invalid = [&key](std::string_view what) {
    return Status(StatusCode::kInvalidArgument,
                  std::string(what) + " in series key '" + FormatSeriesKey(key) + "'");
  };
  if (key.db.empty()) return invalid("empty db");
  if (key.measurement.empty()) return invalid("empty measurement");
  if (key.field.empty()) return invalid("empty field");
  for (std::size_t i = 0; i < key.tags.size(); ++i) {
    if (key.tags[i].key.empty()) return invalid("empty tag key");
    if (key.tags[i].value.empty()) return invalid("empty tag value");
    if (i > 0 && key.tags[i - 1].key >= key.tags[i].key) {
      return invalid(key.tags[i - 1].key == key.tags[i].key ? "duplicate tag key"
                                                            : "tags not sorted by key");
    }
  }
  return Status::Ok();
}

std::size_t HashSeriesKey(const SeriesKeyView& key) {
  std::size_t h = key.tags.size();
  h = Combine(h, key.db);
  h = Combine(h, key.measurement);
  h = Combine(h, key.field);
  for (const TagView& tag : key.tags) {
    h = Combine(h, tag.key);
    h = Combine(h, tag.value);
  }
  return h;
}

std::string EncodeSeriesKey(const SeriesKeyView& key) {
  std::size_t size = key.db.size() + key.measurement.size() + key.field.size() + 3;
  for (const TagView& tag : key.tags) size += tag.key.size() + tag.value.size() + 2;
  std::string out;
  out.reserve(size);  // exact unless a part is 128 bytes or longer
  PutPart(out, key.db);
  PutPart(out, key.measurement);
  PutPart(out, key.field);
  for (const TagView& tag : key.tags) {
    PutPart(out, tag.key);
    PutPart(out, tag.value);
  }
  return out;
}

bool EncodedKeyEquals(std::string_view encoded, const SeriesKeyView& key) {
  PartReader reader(encoded);
  if (reader.Next() != key.db || reader.Next() != key.measurement ||
      reader.Next() != key.field) {
    return false;
  }
  for (const TagView& tag : key.tags) {
    if (reader.done() || reader.Next() != tag.key || reader.Next() != tag.value) return false;
  }
  return reader.done();
}

void DecodedSeriesKey::Decode(std::string_view encoded) {
  PartReader reader(encoded);
  db = reader.Next();
  measurement = reader.Next();
  field = reader.Next();
  tags.clear();
  while (!reader.done()) {
    const std::string_view k = reader.Next();
    tags.push_back({k, reader.Next()});
  }
}

std::string FormatSeriesKey(const SeriesKeyView& key) {
  std::string out(key.measurement);
  for (const TagView& tag : key.tags) {
    out += ',';
    out += tag.key;
    out += '=';
    out += tag.value;
  }
  out += ' ';
  out += key.field;
  return out;
}

}  // namespace tidewatch::store::internal
