#include "rules/alarm_kpis.h"

#include <algorithm>
#include <iterator>
#include <numeric>

namespace tidewatch::rules {
namespace {

std::int64_t MinuteOf(Timestamp t) {
  std::int64_t m = t / AlarmKpis::kMinuteNs;
  if (t % AlarmKpis::kMinuteNs < 0) --m;  // floor for times before the epoch
  return m;
}

template <class Map>
void ClearSlot(Map& rings, std::size_t slot) {
  for (auto it = rings.begin(); it != rings.end();) {
    it->second[slot] = 0;
    const bool empty =
        std::all_of(it->second.begin(), it->second.end(), [](std::uint64_t c) { return c == 0; });
    it = empty ? rings.erase(it) : std::next(it);
  }
}

}  // namespace

bool IsNewAlarm(const Transition& t) {
  if (!t.announce || t.to_state != AlarmState::kUnacked || t.severity <= 0) return false;
  // Staying UNACKED is a severity change: only an escalation asks for new attention.
  return t.from_state != AlarmState::kUnacked || t.severity > t.from_severity;
}

AlarmKpis::AlarmKpis(Timestamp start, std::uint64_t flood_threshold)
    : flood_threshold_(flood_threshold), start_minute_(MinuteOf(start)), minute_(start_minute_) {}

std::uint64_t AlarmKpis::Sum(const Ring& ring) {
  return std::accumulate(ring.begin(), ring.end(), std::uint64_t{0});
}

std::size_t AlarmKpis::Slot() const {
  const auto n = static_cast<std::int64_t>(kWindowMinutes);
  return static_cast<std::size_t>(((minute_ % n) + n) % n);
}

void AlarmKpis::Advance(Timestamp now) {
  const std::int64_t target = MinuteOf(now);
  while (minute_ < target) {
    if (by_db_.empty() && by_instance_.empty()) {
      minute_ = target;  // nothing in the window: the skipped minutes are quiet
      break;
    }
    const bool flooded = std::any_of(by_db_.begin(), by_db_.end(), [this](const auto& entry) {
      return Sum(entry.second) > flood_threshold_;
    });
    if (flooded) ++flooded_minutes_;
    ++minute_;
    ClearSlot(by_db_, Slot());
    ClearSlot(by_instance_, Slot());
  }
}

void AlarmKpis::Record(std::string_view db, std::string_view rule, std::string_view instance_key,
                       Timestamp now) {
  Advance(now);
  auto db_it = by_db_.find(db);
  if (db_it == by_db_.end()) db_it = by_db_.emplace(std::string(db), Ring{}).first;
  ++db_it->second[Slot()];
  auto key = std::make_pair(std::string(rule), std::string(instance_key));
  auto inst_it = by_instance_.find(key);
  if (inst_it == by_instance_.end()) inst_it = by_instance_.emplace(std::move(key), Ring{}).first;
  ++inst_it->second[Slot()];
}

std::vector<std::pair<std::string, std::uint64_t>> AlarmKpis::AlarmsByDb() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  out.reserve(by_db_.size());
  for (const auto& [db, ring] : by_db_) out.emplace_back(db, Sum(ring));
  return out;
}

double AlarmKpis::FloodTimeRatio() const {
  const std::int64_t closed = minute_ - start_minute_;
  if (closed <= 0) return 0;
  return static_cast<double>(flooded_minutes_) / static_cast<double>(closed);
}

std::vector<AlarmKpis::Actor> AlarmKpis::TopActors(std::size_t n) const {
  std::vector<Actor> all;
  all.reserve(by_instance_.size());
  for (const auto& [key, ring] : by_instance_) all.push_back({key.first, key.second, Sum(ring)});
  // by_instance_ is ordered by (rule, key), so a stable sort by count keeps ties in order.
  std::stable_sort(all.begin(), all.end(),
                   [](const Actor& a, const Actor& b) { return a.alarms > b.alarms; });
  if (all.size() > n) all.resize(n);
  return all;
}

}  // namespace tidewatch::rules
