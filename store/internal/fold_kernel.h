// The hot loop of aggregation: folding a decoded run of points into an AggregateState.
//
// Thread safety: pure functions of their arguments.
#ifndef TIDEWATCH_STORE_INTERNAL_FOLD_KERNEL_H_
#define TIDEWATCH_STORE_INTERNAL_FOLD_KERNEL_H_

#include <cstddef>

#include "store/aggregate.h"
#include "store/types.h"

namespace tidewatch::store::internal {

// Runs are folded in blocks of this many points (a chunk's capacity), so a block's
// values stay in L1 between its two passes and a whole chunk is exactly one block.
inline constexpr std::size_t kFoldBlock = 1024;

// Folds points[0, n) into `into`, as AggregateState::Merge of one state per block of
// kFoldBlock points (the last block may be shorter). Per block: one pass with
// independent lanes for sum, min and max; a search for the earliest point holding the
// min and the max; and, if with_m2, a second pass for
// M2 = Σ (x - mean)² - (Σ (x - mean))² / n (the corrected two-pass formula: the second
// term cancels the rounding of the mean). That pass costs about 40% of the fold, so it
// is skipped when no stddev is asked for; the block's m2 is then 0 and `into.m2`
// meaningless.
// REQUIRES: ts strictly ascending; values finite.
void FoldRun(const Timestamp* ts, const double* values, std::size_t n, bool with_m2,
             AggregateState& into);

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_FOLD_KERNEL_H_
