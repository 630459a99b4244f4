// Aggregation over series of the window store: the bridge between WindowStore's
// snapshots and the kernels of store/aggregate.h. Chunks outside the range are never
// touched (the snapshot holds only overlapping ones), whole chunks inside one bucket
// fold from their summaries without decoding, and large queries are split across a
// few threads.
//
// Thread safety: safe to call concurrently with appends and with each other; each
// series is read from one consistent snapshot taken at the start of the call.
#ifndef TIDEWATCH_STORE_SERIES_AGGREGATE_H_
#define TIDEWATCH_STORE_SERIES_AGGREGATE_H_

#include <span>

#include "store/aggregate.h"
#include "store/status.h"
#include "store/window_store.h"

namespace tidewatch::store {

// Folds one snapshot's points in [spec.start, spec.end) into `into`.
void FeedSnapshot(const SeriesSnapshot& snapshot, BucketAggregator& into,
                  internal::ChunkBuffer& scratch);

// Aggregates `series` (unknown ids contribute nothing) as one group: the result is as
// if all their points had been fed to one aggregator.
// Errors: those of BucketAggregator::Create.
StatusOr<BucketAggregator> AggregateSeries(const WindowStore& windows,
                                           std::span<const SeriesId> series,
                                           const AggregateSpec& spec,
                                           const ParallelOptions& parallel = {});

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_SERIES_AGGREGATE_H_
