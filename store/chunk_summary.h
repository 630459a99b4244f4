// ChunkSummary: what a chunk knows about its points without decoding them, so
// whole-chunk aggregates and time pruning need no scan.
#ifndef TIDEWATCH_STORE_CHUNK_SUMMARY_H_
#define TIDEWATCH_STORE_CHUNK_SUMMARY_H_

#include <cstdint>

#include "store/types.h"

namespace tidewatch::store {

struct ChunkSummary {
  Timestamp min_ts = 0;  // first point's time (points are strictly ascending)
  Timestamp max_ts = 0;  // last point's time
  std::uint32_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double first = 0;  // value at min_ts
  double last = 0;   // value at max_ts

  friend bool operator==(const ChunkSummary&, const ChunkSummary&) = default;

  // Folds in a point later than every point folded so far.
  void AddLater(Timestamp ts, double value) {
    if (count == 0) {
      min_ts = ts;
      min = max = first = value;
    }
    max_ts = ts;
    last = value;
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
    ++count;
  }

  // Recomputes the summary of n ascending points.
  static ChunkSummary Of(const Timestamp* ts, const double* values, std::uint32_t n) {
    ChunkSummary s;
    for (std::uint32_t i = 0; i < n; ++i) s.AddLater(ts[i], values[i]);
    return s;
  }
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_CHUNK_SUMMARY_H_
