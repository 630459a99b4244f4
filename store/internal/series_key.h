// The canonical form of a series key, shared by SeriesIndex and its inverted index:
// validation, hashing straight from the caller's string_views, and a compact encoding
// in which each interned series keeps its key.
//
// Encoding: every part as a LEB128 varint length followed by its bytes, in the order
// db, measurement, field, tag key 1, tag value 1, tag key 2, ... The length prefixes
// make the parts unambiguous ("ab"+"c" and "a"+"bc" encode differently), and the tag
// count is implied by where the buffer ends. A typical key ("telegraf", "cpu",
// host=..., region=..., "usage_idle") encodes in about 50 bytes.
//
// Thread safety: free functions over values; DecodedSeriesKey is a value type.
#ifndef TIDEWATCH_STORE_INTERNAL_SERIES_KEY_H_
#define TIDEWATCH_STORE_INTERNAL_SERIES_KEY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "store/series_index.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store::internal {

// "float", "integer" or "boolean", as InfluxDB spells them in messages.
std::string_view FieldTypeName(FieldType type);

// OK, or kInvalidArgument naming the problem: an empty part (db, measurement, field,
// tag key or tag value), tags not sorted by key, or a tag key given twice.
Status ValidateSeriesKey(const SeriesKeyView& key);

// A hash of all parts that depends on where each part ends. Allocation-free.
std::size_t HashSeriesKey(const SeriesKeyView& key);

std::string EncodeSeriesKey(const SeriesKeyView& key);

// Whether `encoded` (from EncodeSeriesKey) is the encoding of `key`, without building
// the encoding of `key`. Allocation-free.
bool EncodedKeyEquals(std::string_view encoded, const SeriesKeyView& key);

// Views into an encoded key. `tags` is reused across Decode() calls, so decoding many
// keys into one DecodedSeriesKey allocates only while the tag vector grows.
struct DecodedSeriesKey {
  std::string_view db;
  std::string_view measurement;
  std::string_view field;
  std::vector<TagView> tags;

  // REQUIRES: `encoded` came from EncodeSeriesKey and outlives the views.
  void Decode(std::string_view encoded);
  SeriesKeyView view() const { return {db, measurement, tags, field}; }
};

// Line-protocol-like text for messages: "cpu,host=a,region=x usage" (no escaping).
std::string FormatSeriesKey(const SeriesKeyView& key);

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_SERIES_KEY_H_
