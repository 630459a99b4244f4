// Plain value types shared by the whole store (and by every module above it).
#ifndef TIDEWATCH_STORE_TYPES_H_
#define TIDEWATCH_STORE_TYPES_H_

#include <cstdint>

namespace tidewatch::store {

// Dense id of a series: (db, measurement, sorted tag set, field). Assigned by
// SeriesIndex; an evicted series' id may be reused by a later series.
using SeriesId = std::uint32_t;

// Dense id of a field ring in FieldRings, in creation order.
using FieldId = std::uint32_t;

// Event time: nanoseconds since the Unix epoch (negative before 1970).
using Timestamp = std::int64_t;

// The type a field was written with; windows hold every value as a double and answer
// queries in this type, as InfluxDB does. Strings are counted, never stored.
enum class FieldType : std::uint8_t { kFloat = 0, kInteger = 1, kBoolean = 2 };

// One point of one series, as appended to the window store.
struct Point {
  SeriesId series = 0;
  Timestamp ts = 0;
  double value = 0;
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_TYPES_H_
