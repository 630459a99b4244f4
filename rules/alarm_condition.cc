#include "rules/alarm_condition.h"

#include <cmath>
#include <string>

namespace tidewatch::rules {
namespace {

// Whether `value` is on the alarm side of the bound `low` (ranges: outside [low, high]).
bool Holds(Comparison comparison, double value, double low, double high) {
  switch (comparison) {
    case Comparison::kGreater:
      return value > low;
    case Comparison::kGreaterEqual:
      return value >= low;
    case Comparison::kLess:
      return value < low;
    case Comparison::kLessEqual:
      return value <= low;
    case Comparison::kEqual:
      return value == low;
    case Comparison::kNotEqual:
      return value != low;
    case Comparison::kOutsideRange:
      return value < low || value > high;
  }
  return false;
}

Status LevelError(std::size_t index, std::string_view what) {
  return Status(StatusCode::kInvalidArgument,
                "severity level " + std::to_string(index + 1) + ": " + std::string(what));
}

Status ValidateLevel(Comparison comparison, const SeverityLevel& level, std::size_t index) {
  if (!std::isfinite(level.trip) || !std::isfinite(level.reset) ||
      !std::isfinite(level.trip_high) || !std::isfinite(level.reset_high)) {
    return LevelError(index, "trip and reset values must be finite numbers");
  }
  switch (comparison) {
    case Comparison::kGreater:
    case Comparison::kGreaterEqual:
      if (level.reset > level.trip) return LevelError(index, "reset must be <= trip");
      break;
    case Comparison::kLess:
    case Comparison::kLessEqual:
      if (level.reset < level.trip) return LevelError(index, "reset must be >= trip");
      break;
    case Comparison::kEqual:
    case Comparison::kNotEqual:
      if (level.reset != level.trip) {
        return LevelError(index, "== and != take no deadband: reset must equal trip");
      }
      break;
    case Comparison::kOutsideRange:
      if (!(level.trip <= level.reset && level.reset <= level.reset_high &&
            level.reset_high <= level.trip_high)) {
        return LevelError(index, "range needs trip <= reset <= reset_high <= trip_high");
      }
      break;
  }
  return Status::Ok();
}

}  // namespace

std::string_view ComparisonSymbol(Comparison comparison) {
  switch (comparison) {
    case Comparison::kGreater:
      return ">";
    case Comparison::kGreaterEqual:
      return ">=";
    case Comparison::kLess:
      return "<";
    case Comparison::kLessEqual:
      return "<=";
    case Comparison::kEqual:
      return "==";
    case Comparison::kNotEqual:
      return "!=";
    case Comparison::kOutsideRange:
      return "outside";
  }
  return "?";
}

Status ValidateCondition(const AlarmCondition& condition) {
  if (condition.levels.empty() || condition.levels.size() > kMaxSeverityLevels) {
    return Status(StatusCode::kInvalidArgument,
                  "a condition needs 1 to " + std::to_string(kMaxSeverityLevels) +
                      " severity levels, got " + std::to_string(condition.levels.size()));
  }
  for (std::size_t i = 0; i < condition.levels.size(); ++i) {
    Status status = ValidateLevel(condition.comparison, condition.levels[i], i);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

LevelMask UpdateTripped(const AlarmCondition& condition, LevelMask tripped, double value) {
  const std::size_t n = condition.levels.size();
  tripped &= (LevelMask{1} << n) - 1;
  if (std::isnan(value)) return tripped;
  LevelMask next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const SeverityLevel& level = condition.levels[i];
    const LevelMask bit = LevelMask{1} << i;
    const bool on = (tripped & bit) != 0
                        ? Holds(condition.comparison, value, level.reset, level.reset_high)
                        : Holds(condition.comparison, value, level.trip, level.trip_high);
    if (on) next |= bit;
  }
  return next;
}

int HighestSeverity(LevelMask tripped) {
  int severity = 0;
  for (int i = 0; tripped != 0; ++i, tripped >>= 1) {
    if ((tripped & 1) != 0) severity = i + 1;
  }
  return severity;
}

double ReportedThreshold(const AlarmCondition& condition, int severity, double value,
                         bool tripping) {
  const SeverityLevel& level = condition.levels[static_cast<std::size_t>(severity - 1)];
  const double low = tripping ? level.trip : level.reset;
  if (condition.comparison != Comparison::kOutsideRange) return low;
  const double high = tripping ? level.trip_high : level.reset_high;
  return std::abs(value - low) <= std::abs(value - high) ? low : high;
}

}  // namespace tidewatch::rules
