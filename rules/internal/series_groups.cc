#include "rules/internal/series_groups.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>

namespace tidewatch::rules::internal {

std::optional<store::SeriesId> TagSet::Field(std::string_view field) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), field,
                             [](const auto& f, std::string_view name) { return f.first < name; });
  if (it == fields.end() || it->first != field) return std::nullopt;
  return it->second;
}

std::string_view TagSet::Tag(std::string_view key) const {
  for (const auto& [k, v] : tags) {
    if (k == key) return v;
  }
  return {};
}

std::vector<SeriesGroup> GroupSeries(const store::SeriesIndex& index,
                                     std::span<const store::SeriesId> ids,
                                     std::span<const std::string> group_keys) {
  // group tags → (tag set → fields); std::map keeps both levels sorted.
  std::map<TagPairs, std::map<TagPairs, std::vector<std::pair<std::string, store::SeriesId>>>>
      groups;
  for (const store::SeriesId id : ids) {
    std::optional<store::SeriesInfo> info = index.Info(id);
    if (!info) continue;
    TagPairs tags;
    tags.reserve(info->tags.size());
    for (store::Tag& t : info->tags) tags.emplace_back(std::move(t.key), std::move(t.value));
    TagPairs group;
    group.reserve(group_keys.size());
    for (const std::string& key : group_keys) {
      auto it =
          std::find_if(tags.begin(), tags.end(), [&key](const auto& t) { return t.first == key; });
      group.emplace_back(key, it == tags.end() ? std::string() : it->second);
    }
    groups[std::move(group)][std::move(tags)].emplace_back(std::move(info->field), id);
  }
  std::vector<SeriesGroup> out;
  out.reserve(groups.size());
  for (auto& [group_tags, tagsets] : groups) {
    SeriesGroup g{group_tags, {}};
    g.tagsets.reserve(tagsets.size());
    for (auto& [tags, fields] : tagsets) {
      std::sort(fields.begin(), fields.end());
      g.tagsets.push_back({tags, std::move(fields)});
    }
    out.push_back(std::move(g));
  }
  return out;
}

SeriesPoints ReadPoints(const store::WindowStore& windows, store::SeriesId id,
                        store::Timestamp start, store::Timestamp end) {
  SeriesPoints out;
  store::SeriesSnapshot snapshot;
  if (start >= end || !windows.Read(id, start, end, snapshot)) return out;
  auto scratch = std::make_unique<store::internal::ChunkBuffer>();
  store::ForEachRun(snapshot, start, end, *scratch,
                    [&out](const store::Timestamp* ts, const double* values, std::size_t n) {
                      out.ts.insert(out.ts.end(), ts, ts + n);
                      out.values.insert(out.values.end(), values, values + n);
                    });
  return out;
}

std::optional<store::Timestamp> EarliestPoint(const store::WindowStore& windows,
                                              std::span<const store::SeriesId> ids,
                                              store::Timestamp end) {
  std::optional<store::Timestamp> earliest;
  store::SeriesSnapshot snapshot;
  for (const store::SeriesId id : ids) {
    snapshot.Clear();
    if (!windows.Read(id, std::numeric_limits<store::Timestamp>::min(), end, snapshot)) continue;
    // Chunks are time-ordered and the snapshot holds only those overlapping the range,
    // so the first chunk's first point is the series' earliest, and it is before `end`.
    std::optional<store::Timestamp> first;
    if (!snapshot.sealed.empty()) {
      first = snapshot.sealed.front()->summary().min_ts;
    } else if (snapshot.head && snapshot.head_count > 0) {
      first = snapshot.head->ts[0];
    }
    if (first && *first < end && (!earliest || *first < *earliest)) earliest = first;
  }
  return earliest;
}

}  // namespace tidewatch::rules::internal
