// AlarmKpis: the rate-based alarm-system KPIs of ISA-18.2 / EEMUA 191 over a sliding
// ten-minute window: alarms announced per database, the share of time in flood, and
// the instances announcing the most alarms ("bad actors").
//
// Time is bucketed into whole minutes of processing time. Each counter is a ring of
// ten per-minute counts, so "the last 10 minutes" means the current minute and the nine
// before it. A minute counts as flooded when, at its end, some database had more than
// flood_threshold alarms in its ten-minute window; FloodTimeRatio() is flooded minutes
// over the minutes closed since construction.
//
// An "alarm" here is what an operator is newly asked to look at: an announced
// transition into UNACKED that is not a de-escalation (IsNewAlarm below).
//
// Thread safety: none; the engine calls it under its mutex.
#ifndef TIDEWATCH_RULES_ALARM_KPIS_H_
#define TIDEWATCH_RULES_ALARM_KPIS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/alarm_state.h"

namespace tidewatch::rules {

// Whether `t` announces a new alarm (a first annunciation, a re-alarm or an escalation).
bool IsNewAlarm(const Transition& t);

class AlarmKpis {
 public:
  static constexpr std::int64_t kMinuteNs = 60'000'000'000;
  static constexpr std::size_t kWindowMinutes = 10;

  // `start`: processing time at which the KPIs start (the engine's construction).
  explicit AlarmKpis(Timestamp start, std::uint64_t flood_threshold = 10);

  // One new alarm of `instance_key` of rule `rule` (reading database `db`) at `now`.
  void Record(std::string_view db, std::string_view rule, std::string_view instance_key,
              Timestamp now);
  // Closes the minutes before `now` (flood accounting, ring expiry). Record() and the
  // readers call it; times going backwards are treated as `now` = the latest seen.
  void Advance(Timestamp now);

  // Alarms per database in the last ten minutes (databases with none are left out),
  // by database name.
  std::vector<std::pair<std::string, std::uint64_t>> AlarmsByDb() const;
  // Flooded minutes / closed minutes since start; 0 before the first minute closes.
  double FloodTimeRatio() const;

  struct Actor {
    std::string rule;
    std::string instance_key;
    std::uint64_t alarms = 0;
  };
  // The `n` instances with the most alarms in the last ten minutes, most first (ties by
  // rule, then instance key).
  std::vector<Actor> TopActors(std::size_t n) const;

 private:
  using Ring = std::array<std::uint64_t, kWindowMinutes>;
  static std::uint64_t Sum(const Ring& ring);
  std::size_t Slot() const;

  const std::uint64_t flood_threshold_;
  const std::int64_t start_minute_;
  std::int64_t minute_;  // the current (open) minute
  std::uint64_t flooded_minutes_ = 0;
  std::map<std::string, Ring, std::less<>> by_db_;
  // Only instances with an alarm in the window; emptied rings are erased.
  std::map<std::pair<std::string, std::string>, Ring, std::less<>> by_instance_;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_ALARM_KPIS_H_
