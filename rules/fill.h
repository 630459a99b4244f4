// fill() for GROUP BY time() results, as InfluxDB 1.x fills: a column of bucket values
// in output order (ascending, or descending under ORDER BY time DESC), null where the
// bucket had no points.
//
//   null      leaves nulls (the default).
//   none      leaves nulls too; the caller drops the null cells (and a row whose cells
//             are all dropped).
//   previous  the last non-null value before it in output order; leading nulls stay.
//   linear    interpolated at the bucket's time between the nearest non-null values
//             on both sides; nulls without a value on both sides stay. Integer columns
//             interpolate as InfluxDB does: int64(slope * dt) + previous.
//   value     the number (truncated towards zero for integer columns).
// count() answers 0 for an empty bucket under fill(null): EffectiveFill() turns that
// into fill(0), the way InfluxDB does it, so fill(previous) etc. apply to counts too.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_RULES_FILL_H_
#define TIDEWATCH_RULES_FILL_H_

#include <optional>
#include <span>
#include <vector>

#include "store/types.h"

namespace tidewatch::rules {

enum class FillMode { kNull, kNone, kPrevious, kLinear, kValue };

struct FillSpec {
  FillMode mode = FillMode::kNull;
  double value = 0;  // kValue only
};

// The fill to apply to a column: `spec`, except fill(null) of a count() is fill(0).
FillSpec EffectiveFill(FillSpec spec, bool is_count);

// Fills the nulls of `cells` in place. times[i] is the time of cells[i].
// REQUIRES: times.size() == cells.size().
void FillColumn(const FillSpec& spec, std::span<const store::Timestamp> times,
                std::vector<std::optional<double>>& cells, bool integer);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_FILL_H_
