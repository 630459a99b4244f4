#include "rules/transforms.h"

#include <cstddef>

namespace tidewatch::rules {

std::optional<TransformKind> TransformByName(std::string_view name) {
  if (name == "derivative") return TransformKind::kDerivative;
  if (name == "non_negative_derivative") return TransformKind::kNonNegativeDerivative;
  if (name == "difference") return TransformKind::kDifference;
  if (name == "non_negative_difference") return TransformKind::kNonNegativeDifference;
  if (name == "moving_average") return TransformKind::kMovingAverage;
  if (name == "cumulative_sum") return TransformKind::kCumulativeSum;
  return std::nullopt;
}

bool TransformKeepsType(TransformKind kind) {
  return kind == TransformKind::kDifference || kind == TransformKind::kNonNegativeDifference ||
         kind == TransformKind::kCumulativeSum;
}

namespace {

// derivative and difference: pairs of successive rows with distinct times.
std::vector<TimedSample> Successive(const TransformSpec& spec, std::span<const TimedSample> input) {
  const bool rate =
      spec.kind == TransformKind::kDerivative || spec.kind == TransformKind::kNonNegativeDerivative;
  const bool non_negative = spec.kind == TransformKind::kNonNegativeDerivative ||
                            spec.kind == TransformKind::kNonNegativeDifference;
  std::vector<TimedSample> out;
  std::optional<TimedSample> prev;
  for (const TimedSample& row : input) {
    if (!row.value) continue;
    // InfluxDB keeps the first of several rows at one time and ignores the others.
    if (prev && prev->time == row.time) continue;
    if (prev) {
      const double diff = *row.value - *prev->value;
      if (!non_negative || diff >= 0) {
        double value = diff;
        if (rate) {
          std::int64_t elapsed = row.time - prev->time;
          if (!spec.ascending) elapsed = -elapsed;
          value = diff / (static_cast<double>(elapsed) / static_cast<double>(spec.unit_ns));
        }
        out.push_back({row.time, value});
      }
    }
    prev = row;
  }
  return out;
}

std::vector<TimedSample> MovingAverage(std::int64_t window, std::span<const TimedSample> input) {
  const auto n = static_cast<std::size_t>(window);
  std::vector<double> ring;
  ring.reserve(n);
  std::size_t pos = 0;
  double sum = 0;
  std::vector<TimedSample> out;
  for (const TimedSample& row : input) {
    if (!row.value) continue;
    if (ring.size() < n) {
      ring.push_back(*row.value);
    } else {
      sum -= ring[pos];
      ring[pos] = *row.value;
    }
    sum += *row.value;
    pos = (pos + 1) % n;
    if (ring.size() == n) out.push_back({row.time, sum / static_cast<double>(n)});
  }
  return out;
}

}  // namespace

std::vector<TimedSample> ApplyTransform(const TransformSpec& spec,
                                        std::span<const TimedSample> input) {
  switch (spec.kind) {
    case TransformKind::kDerivative:
    case TransformKind::kNonNegativeDerivative:
    case TransformKind::kDifference:
    case TransformKind::kNonNegativeDifference:
      return Successive(spec, input);
    case TransformKind::kMovingAverage:
      return MovingAverage(spec.window, input);
    case TransformKind::kCumulativeSum: {
      std::vector<TimedSample> out;
      double sum = 0;
      for (const TimedSample& row : input) {
        if (!row.value) continue;
        sum += *row.value;
        out.push_back({row.time, sum});
      }
      return out;
    }
  }
  return {};
}

}  // namespace tidewatch::rules
