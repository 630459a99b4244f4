// InfluxQL transformations over a sequence of timed values, computed as InfluxDB 1.x
// computes them: derivative(unit), non_negative_derivative(unit), difference,
// non_negative_difference, moving_average(n) and cumulative_sum.
//
// The input is a series' rows in output order (ascending time, or descending under
// ORDER BY time DESC): GROUP BY time() buckets after fill, or raw points. Null inputs
// (empty buckets under fill(null)) are skipped, so a transform bridges gaps from the
// last non-null value, as InfluxDB does. Each output row carries the time of the input
// row that produced it; rows that produce nothing (the first row of a derivative, a
// negative rate under non_negative_*, the first n-1 rows of a moving average) are
// absent, not null.
//
// Per function:
//   derivative         (v - v_prev) / ((t - t_prev) / unit); under descending order the
//                      elapsed time is negated (InfluxDB's ascending flag). A row with
//                      the same time as the previous one is ignored (derivative and
//                      difference only). Always a float.
//   difference         v - v_prev; keeps the input's type (integers stay integers).
//   non_negative_*     as above, rows with a negative difference dropped.
//   moving_average(n)  the mean of the last n values (running sum, as InfluxDB keeps
//                      it), emitted from the n-th value on. Always a float.
//   cumulative_sum     the running sum; keeps the input's type.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_RULES_TRANSFORMS_H_
#define TIDEWATCH_RULES_TRANSFORMS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "store/types.h"

namespace tidewatch::rules {

enum class TransformKind {
  kDerivative,
  kNonNegativeDerivative,
  kDifference,
  kNonNegativeDifference,
  kMovingAverage,
  kCumulativeSum,
};

// The kind named `name` (InfluxQL's lower-case function name), if it is a transform.
std::optional<TransformKind> TransformByName(std::string_view name);

// Whether the transform answers in its input's type (difference, cumulative_sum) rather
// than always as a float (derivative, moving_average).
bool TransformKeepsType(TransformKind kind);

struct TransformSpec {
  TransformKind kind = TransformKind::kDerivative;
  // derivative: the rate's unit in ns (> 0). InfluxDB's default is the GROUP BY time()
  // interval when there is one, else 1s; the caller resolves it.
  std::int64_t unit_ns = 1'000'000'000;
  // moving_average: the window in values (> 1, InfluxDB's own requirement).
  std::int64_t window = 2;
  // False under ORDER BY time DESC (input in descending time).
  bool ascending = true;
};

struct TimedSample {
  store::Timestamp time = 0;
  std::optional<double> value;  // nullopt: a null row (skipped)

  friend bool operator==(const TimedSample&, const TimedSample&) = default;
};

// The transform of `input` (see the header comment); every output value is set.
// REQUIRES: spec.unit_ns > 0 for derivatives, spec.window > 0 for moving_average.
std::vector<TimedSample> ApplyTransform(const TransformSpec& spec,
                                        std::span<const TimedSample> input);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_TRANSFORMS_H_
