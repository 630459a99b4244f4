// EvaluationWorkers: the threads between the field rings and the store.
//
// Each worker pops batches from every field ring, appends them to the store, hands
// the stored batch to the after-store hook (the rules engine, once it exists), and
// only then completes the batch's tickets — so a source's offset moves past a message
// only once all its points are stored and have been seen by the rules.
//
// Order: a ring is popped by one worker at a time, and that worker keeps it until its
// batch has been through the hook. So the hook sees each ring's entries in ring order:
// the points of a series pushed by one producer (a Kafka partition's consumer) reach
// the rules in the order they were pushed, and a rule never sees a point after a later
// one of the same series (it would skip it as late, missing a one-sample excursion).
// Workers run different rings in parallel; a worker that finds a ring taken skips it.
//
// Batching: a worker whose pass over the rings found only small batches (fewer than 64
// entries per ring popped, on average) sleeps briefly, doubling from 20 us up to 1 ms,
// so that entries accumulate into larger batches and the producers keep the CPU; a pass
// with full enough batches goes straight on. Stop() drains without sleeping.
//
// Thread safety: construction starts the threads; Stop() (or the destructor) drains
// the rings and joins them. stats() may be called from any thread.
#ifndef TIDEWATCH_INGEST_EVALUATION_WORKERS_H_
#define TIDEWATCH_INGEST_EVALUATION_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "ingest/ticket_table.h"
#include "store/field_rings.h"
#include "store/store.h"

namespace tidewatch::ingest {

struct EvaluationWorkerStats {
  std::uint64_t points_stored = 0;
  std::uint64_t points_refused = 0;  // non-finite or unknown series (see AppendStats)
  std::uint64_t batches = 0;
};

class EvaluationWorkers {
 public:
  // Called once per stored batch, on the worker's thread, before the batch's tickets
  // complete. Must be thread-safe (several workers call it concurrently).
  using AfterStore = std::function<void(std::span<const store::Point>)>;

  // `tables[i]` is the ticket table with index i (nullptr where none); ticket 0 means
  // "not tracked". REQUIRES: rings, store and every table outlive the workers.
  EvaluationWorkers(store::FieldRings& rings, store::Store& store, std::vector<TicketTable*> tables,
                    int threads, AfterStore after_store = {});
  ~EvaluationWorkers();
  EvaluationWorkers(const EvaluationWorkers&) = delete;
  EvaluationWorkers& operator=(const EvaluationWorkers&) = delete;

  // Lets the workers empty the rings, then joins them. Idempotent. REQUIRES: nothing
  // pushes into the rings any more (sources are stopped).
  void Stop();

  EvaluationWorkerStats stats() const;

 private:
  // One worker's statistics: written by that worker only, on a cache line of its own
  // (no sharing between workers), summed by stats().
  struct alignas(64) WorkerCounters {
    std::atomic<std::uint64_t> stored{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> batches{0};
  };

  struct Pass {
    std::size_t entries = 0;  // processed
    std::size_t batches = 0;  // ring pops that found entries
    std::size_t skipped = 0;  // rings another worker held
  };

  void Run(int worker);
  // Pops from every ring once and adds to `counters` once.
  Pass DrainOnce(int worker, std::vector<store::FieldEntry>& entries,
                 std::vector<store::Point>& points, WorkerCounters& counters);
  void CompleteTickets(std::span<const store::FieldEntry> entries);

  // Constant after construction.
  store::FieldRings& rings_;
  store::Store& store_;
  const std::vector<TicketTable*> tables_;
  const AfterStore after_store_;

  // One flag per possible ring: set while a worker pops the ring and hooks its batch.
  const std::unique_ptr<std::atomic<bool>[]> ring_taken_;

  std::atomic<bool> stopping_{false};
  std::vector<WorkerCounters> counters_;  // one per worker, sized at construction
  std::vector<std::thread> threads_;
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_EVALUATION_WORKERS_H_
