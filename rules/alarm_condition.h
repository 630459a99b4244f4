// Alarm conditions: a comparison of one value against per-severity trip and reset values
// (deadband, also called hysteresis). The stateful lifecycle around a condition lives in
// rules/alarm_state.h; this file only decides which severity levels a value trips.
//
// Thread safety: plain values and pure functions.
#ifndef TIDEWATCH_RULES_ALARM_CONDITION_H_
#define TIDEWATCH_RULES_ALARM_CONDITION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"

namespace tidewatch::rules {

enum class Comparison : std::uint8_t {
  kGreater,       // >
  kGreaterEqual,  // >=
  kLess,          // <
  kLessEqual,     // <=
  kEqual,         // ==
  kNotEqual,      // !=
  kOutsideRange,  // outside [low, high]
};

// ">", ">=", "<", "<=", "==", "!=", "outside".
std::string_view ComparisonSymbol(Comparison comparison);

// One severity level. A level *trips* when the value satisfies the comparison against
// `trip`, and once tripped *stays* tripped while the value satisfies it against `reset`:
// the reset value lies on the normal side of the trip value, so noise smaller than
// |trip - reset| around the trip value cannot flap the alarm. reset == trip: no deadband.
//
//   kGreater       trips at v >  trip, resets at v <= reset     REQUIRES reset <= trip
//   kGreaterEqual  trips at v >= trip, resets at v <  reset     REQUIRES reset <= trip
//   kLess          trips at v <  trip, resets at v >= reset     REQUIRES reset >= trip
//   kLessEqual     trips at v <= trip, resets at v >  reset     REQUIRES reset >= trip
//   kEqual         trips at v == trip, resets at v != trip      REQUIRES reset == trip
//   kNotEqual      trips at v != trip, resets at v == trip      REQUIRES reset == trip
//   kOutsideRange  the normal band is [trip, trip_high]: trips at v < trip or
//                  v > trip_high, resets once v is inside [reset, reset_high]
//                  REQUIRES trip <= reset <= reset_high <= trip_high
//
// Every number must be finite. Each level is evaluated on its own; a value that trips
// "critical" normally trips "warning" too, but nothing requires it.
struct SeverityLevel {
  std::string name;  // "warning", "critical", ... (for people; not interpreted)
  double trip = 0;
  double reset = 0;
  double trip_high = 0;   // kOutsideRange only
  double reset_high = 0;  // kOutsideRange only

  friend bool operator==(const SeverityLevel&, const SeverityLevel&) = default;
};

inline constexpr std::size_t kMaxSeverityLevels = 8;

// Severity k (1-based) is levels[k - 1]; levels are listed from the least to the most
// severe. Severity 0 is "normal".
struct AlarmCondition {
  Comparison comparison = Comparison::kGreater;
  std::vector<SeverityLevel> levels;  // 1..kMaxSeverityLevels entries

  friend bool operator==(const AlarmCondition&, const AlarmCondition&) = default;
};

// OK, or kInvalidArgument naming the first level that breaks a rule above.
[[nodiscard]] Status ValidateCondition(const AlarmCondition& condition);

// Bit i set: levels[i] is tripped.
using LevelMask = std::uint32_t;

// The levels tripped after `value`, given those tripped before (bits at or past
// levels.size() are dropped). A NaN value changes nothing. No allocation.
// REQUIRES: ValidateCondition(condition).ok().
LevelMask UpdateTripped(const AlarmCondition& condition, LevelMask tripped, double value);

// The highest tripped severity (1-based), 0 when no level is tripped.
int HighestSeverity(LevelMask tripped);

// The threshold a transition reports (for `{{ .Threshold }}`). tripping: the trip value
// of `severity`'s level; otherwise its reset value. For kOutsideRange the bound of the
// range nearer to `value`. REQUIRES: 1 <= severity <= levels.size().
double ReportedThreshold(const AlarmCondition& condition, int severity, double value,
                         bool tripping);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_ALARM_CONDITION_H_
