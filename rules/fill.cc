#include "rules/fill.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace tidewatch::rules {

FillSpec EffectiveFill(FillSpec spec, bool is_count) {
  if (is_count && spec.mode == FillMode::kNull) return {FillMode::kValue, 0};
  return spec;
}

namespace {

double Interpolate(store::Timestamp t, store::Timestamp t0, double v0, store::Timestamp t1,
                   double v1, bool integer) {
  const double dt = static_cast<double>(t - t0);
  if (integer) {
    const double slope =
        static_cast<double>(static_cast<std::int64_t>(v1) - static_cast<std::int64_t>(v0)) /
        static_cast<double>(t1 - t0);
    return static_cast<double>(static_cast<std::int64_t>(slope * dt) +
                               static_cast<std::int64_t>(v0));
  }
  return (v1 - v0) / static_cast<double>(t1 - t0) * dt + v0;
}

}  // namespace

void FillColumn(const FillSpec& spec, std::span<const store::Timestamp> times,
                std::vector<std::optional<double>>& cells, bool integer) {
  switch (spec.mode) {
    case FillMode::kNull:
    case FillMode::kNone:
      return;
    case FillMode::kValue: {
      const double v = integer ? std::trunc(spec.value) : spec.value;
      for (std::optional<double>& cell : cells) {
        if (!cell) cell = v;
      }
      return;
    }
    case FillMode::kPrevious: {
      std::optional<double> previous;
      for (std::optional<double>& cell : cells) {
        if (cell) {
          previous = cell;
        } else {
          cell = previous;
        }
      }
      return;
    }
    case FillMode::kLinear: {
      std::optional<std::size_t> before;  // index of the last non-null cell
      for (std::size_t i = 0; i < cells.size(); ++i) {
        if (!cells[i]) continue;
        if (before && i > *before + 1) {
          const std::size_t b = *before;
          for (std::size_t j = b + 1; j < i; ++j) {
            cells[j] = Interpolate(times[j], times[b], *cells[b], times[i], *cells[i], integer);
          }
        }
        before = i;
      }
      return;
    }
  }
}

}  // namespace tidewatch::rules
