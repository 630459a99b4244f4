// Grouping a measurement's series for a SELECT: tidewatch keeps one series per field,
// InfluxDB one per tag set. This gathers the selected field series back into tag sets
// (InfluxDB series) and the tag sets into GROUP BY groups, and reads their points.
//
// Thread safety: functions over the store, safe concurrently with ingest; series removed
// meanwhile are skipped.
#ifndef TIDEWATCH_RULES_INTERNAL_SERIES_GROUPS_H_
#define TIDEWATCH_RULES_INTERNAL_SERIES_GROUPS_H_

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/series_index.h"
#include "store/types.h"
#include "store/window_store.h"

namespace tidewatch::rules::internal {

using TagPairs = std::vector<std::pair<std::string, std::string>>;

// One InfluxDB series: a tag set and the id of each of its fields' series.
struct TagSet {
  TagPairs tags;                                                // sorted by key
  std::vector<std::pair<std::string, store::SeriesId>> fields;  // sorted by field name

  // The id of `field`'s series in this tag set, if it has one.
  std::optional<store::SeriesId> Field(std::string_view field) const;
  // The value of tag `key`, or "" (InfluxDB's value for a tag a series lacks).
  std::string_view Tag(std::string_view key) const;
};

struct SeriesGroup {
  TagPairs tags;                // the GROUP BY keys with this group's values, by key
  std::vector<TagSet> tagsets;  // sorted by tags
};

// Groups the series `ids` (of one measurement) by the values of `group_keys` (sorted,
// distinct). Groups come sorted by their tags. Ids no longer live are skipped.
std::vector<SeriesGroup> GroupSeries(const store::SeriesIndex& index,
                                     std::span<const store::SeriesId> ids,
                                     std::span<const std::string> group_keys);

// The points of one series in [start, end), in time order.
struct SeriesPoints {
  std::vector<store::Timestamp> ts;
  std::vector<double> values;
};
SeriesPoints ReadPoints(const store::WindowStore& windows, store::SeriesId id,
                        store::Timestamp start, store::Timestamp end);

// The earliest point time of `ids` before `end`, if any (the start of a GROUP BY time()
// query without a lower time bound, as InfluxDB starts it at the first point).
std::optional<store::Timestamp> EarliestPoint(const store::WindowStore& windows,
                                              std::span<const store::SeriesId> ids,
                                              store::Timestamp end);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_SERIES_GROUPS_H_
