#include "ingest/evaluation_workers.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace tidewatch::ingest {

namespace {
// Entries popped from one ring at a time: a few KiB, so a batch stays in L1/L2 and
// one store lock round covers many points.
constexpr std::size_t kBatch = 512;
// A pass over the rings whose batches held fewer entries than this on average is
// starved: the producers are slower than the workers. Each batch costs a store append
// and ticket completions whatever its size, and a worker spinning on near-empty rings
// takes CPU from the producers (on a small machine the Kafka consumer thread is the one
// it starves), so a starved worker sleeps and lets entries accumulate.
constexpr std::size_t kFewPerBatch = 64;
// Sleeps of a starved or idle worker: doubling from kMinBackoff up to kMaxBackoff, so a
// worker wakes at most 1 ms after entries arrive and an idle daemon costs next to
// nothing.
constexpr auto kMinBackoff = std::chrono::microseconds(20);
constexpr auto kMaxBackoff = std::chrono::microseconds(1000);
}  // namespace

EvaluationWorkers::EvaluationWorkers(store::FieldRings& rings, store::Store& store,
                                     std::vector<TicketTable*> tables, int threads,
                                     AfterStore after_store)
    : rings_(rings),
      store_(store),
      tables_(std::move(tables)),
      after_store_(std::move(after_store)),
      ring_taken_(std::make_unique<std::atomic<bool>[]>(rings.max_fields())),
      counters_(static_cast<std::size_t>(std::max(threads, 1))) {
  for (int w = 0; w < std::max(threads, 1); ++w) threads_.emplace_back([this, w] { Run(w); });
}

EvaluationWorkers::~EvaluationWorkers() { Stop(); }

void EvaluationWorkers::Stop() {
  stopping_.store(true, std::memory_order_release);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

EvaluationWorkerStats EvaluationWorkers::stats() const {
  EvaluationWorkerStats out;
  for (const WorkerCounters& c : counters_) {
    out.points_stored += c.stored.load(std::memory_order_relaxed);
    out.points_refused += c.refused.load(std::memory_order_relaxed);
    out.batches += c.batches.load(std::memory_order_relaxed);
  }
  return out;
}

void EvaluationWorkers::Run(int worker) {
  std::vector<store::FieldEntry> entries(kBatch);
  std::vector<store::Point> points;
  points.reserve(kBatch);
  WorkerCounters& counters = counters_[static_cast<std::size_t>(worker)];
  std::chrono::microseconds backoff(0);
  for (;;) {
    // Read the flag before draining: if it was set and a whole pass finds nothing,
    // every entry pushed before Stop() has been processed.
    const bool stopping = stopping_.load(std::memory_order_acquire);
    const Pass pass = DrainOnce(worker, entries, points, counters);
    // Everything pushed before Stop() is done once a pass finds every ring empty.
    if (stopping && pass.entries == 0 && pass.skipped == 0) return;
    const bool starved = pass.entries == 0 || pass.entries < pass.batches * kFewPerBatch;
    if (stopping || !starved) {
      backoff = std::chrono::microseconds(0);
      continue;
    }
    backoff = std::min<std::chrono::microseconds>(std::max(backoff * 2, kMinBackoff), kMaxBackoff);
    std::this_thread::sleep_for(backoff);
  }
}

EvaluationWorkers::Pass EvaluationWorkers::DrainOnce(int worker,
                                                     std::vector<store::FieldEntry>& entries,
                                                     std::vector<store::Point>& points,
                                                     WorkerCounters& counters) {
  const std::size_t fields = rings_.field_count();
  std::size_t processed = 0;
  std::uint64_t stored = 0;
  std::uint64_t refused = 0;
  std::uint64_t batches = 0;
  std::size_t skipped = 0;
  for (std::size_t k = 0; k < fields; ++k) {
    // Each worker starts at a different ring so they do not all contend on the first.
    const auto field = static_cast<store::FieldId>((k + static_cast<std::size_t>(worker)) % fields);
    std::atomic<bool>& taken = ring_taken_[field];
    if (taken.exchange(true, std::memory_order_acquire)) {
      ++skipped;
      continue;
    }
    const std::size_t n = rings_.ring(field).TryPopN(entries.data(), entries.size());
    if (n == 0) {
      taken.store(false, std::memory_order_release);
      continue;
    }
    points.clear();
    for (std::size_t i = 0; i < n; ++i) {
      points.push_back({entries[i].series, entries[i].ts, entries[i].value});
    }
    const store::AppendStats stats = store_.Append(points);
    if (after_store_) after_store_(points);
    taken.store(false, std::memory_order_release);
    CompleteTickets({entries.data(), n});
    stored += stats.appended + stats.replaced;
    refused += stats.non_finite + stats.unknown_series;
    ++batches;
    processed += n;
  }
  // Published once per pass, each worker on its own cache line.
  if (batches > 0) {
    counters.stored.fetch_add(stored, std::memory_order_relaxed);
    counters.refused.fetch_add(refused, std::memory_order_relaxed);
    counters.batches.fetch_add(batches, std::memory_order_relaxed);
  }
  return {processed, batches, skipped};
}

void EvaluationWorkers::CompleteTickets(std::span<const store::FieldEntry> entries) {
  // Points of one message sit together in a ring: one atomic per run, not per point.
  std::size_t i = 0;
  while (i < entries.size()) {
    const Ticket ticket = entries[i].ticket;
    std::size_t j = i + 1;
    while (j < entries.size() && entries[j].ticket == ticket) ++j;
    if (ticket != 0)
      tables_[TicketTableIndex(ticket)]->Complete(ticket, static_cast<std::uint32_t>(j - i));
    i = j;
  }
}

}  // namespace tidewatch::ingest
