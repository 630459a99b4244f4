#include "store/series_aggregate.h"

#include <memory>
#include <vector>

namespace tidewatch::store {

using internal::ChunkBuffer;
using internal::SealedRef;

void FeedSnapshot(const SeriesSnapshot& snapshot, BucketAggregator& into, ChunkBuffer& scratch) {
  const Timestamp start = into.spec().start;
  const Timestamp end = into.spec().end;
  for (const SealedRef& chunk : snapshot.sealed) {
    if (into.TryAddSummary(chunk->summary())) continue;
    scratch.count = chunk->Decode(scratch.ts, scratch.values);
    const PointSpan in = ClipToRange({scratch.ts, scratch.values, scratch.count}, start, end);
    into.AddPoints(in.ts, in.values, in.size);
  }
  if (snapshot.head && !into.TryAddSummary(snapshot.head_summary)) {
    const PointSpan in =
        ClipToRange({snapshot.head->ts, snapshot.head->values, snapshot.head_count}, start, end);
    into.AddPoints(in.ts, in.values, in.size);
  }
}

StatusOr<BucketAggregator> AggregateSeries(const WindowStore& windows,
                                           std::span<const SeriesId> series,
                                           const AggregateSpec& spec,
                                           const ParallelOptions& parallel) {
  // Take every snapshot first: one consistent view per series, and the point counts
  // AggregateParallel uses to split the work evenly.
  std::vector<SeriesSnapshot> snapshots(series.size());
  std::vector<std::uint64_t> points(series.size(), 0);
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (!windows.Read(series[i], spec.start, spec.end, snapshots[i])) continue;
    for (const SealedRef& c : snapshots[i].sealed) points[i] += c->summary().count;
    points[i] += snapshots[i].head_count;
  }
  const SeriesFeeder feed = [&snapshots](std::size_t i, BucketAggregator& into) {
    // 32 KiB of scratch per worker thread, reused for every chunk it decodes.
    thread_local std::unique_ptr<ChunkBuffer> scratch = std::make_unique<ChunkBuffer>();
    FeedSnapshot(snapshots[i], into, *scratch);
    return Status::Ok();
  };
  return AggregateParallel(spec, points, feed, parallel);
}

}  // namespace tidewatch::store
