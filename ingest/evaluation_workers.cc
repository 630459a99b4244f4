#include "ingest/evaluation_workers.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace tidewatch::ingest {

namespace {
// Entries popped from one ring at a time: a few KiB, so a batch stays in L1/L2 and
// one store lock round covers many points.
constexpr std::size_t kBatch = 512;
}  // namespace

EvaluationWorkers::EvaluationWorkers(store::FieldRings& rings, store::Store& store,
                                     std::vector<TicketTable*> tables, int threads,
                                     AfterStore after_store)
    : rings_(rings), store_(store), tables_(std::move(tables)), after_store_(std::move(after_store)) {
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
  return {stored_.load(std::memory_order_relaxed), refused_.load(std::memory_order_relaxed),
          batches_.load(std::memory_order_relaxed)};
}

void EvaluationWorkers::Run(int worker) {
  std::vector<store::FieldEntry> entries(kBatch);
  std::vector<store::Point> points;
  points.reserve(kBatch);
  auto idle = std::chrono::microseconds(0);
  for (;;) {
    // Read the flag before draining: if it was set and a whole pass finds nothing,
    // every entry pushed before Stop() has been processed.
    const bool stopping = stopping_.load(std::memory_order_acquire);
    if (DrainOnce(worker, entries, points) > 0) {
      idle = std::chrono::microseconds(0);
      continue;
    }
    if (stopping) return;
    // Idle backoff: spin-yield first, then sleep up to 1 ms, so an idle daemon costs
    // nothing and a busy one reacts within microseconds.
    if (idle < std::chrono::microseconds(50)) {
      std::this_thread::yield();
      idle += std::chrono::microseconds(5);
    } else {
      idle = std::min<std::chrono::microseconds>(idle * 2, std::chrono::milliseconds(1));
      std::this_thread::sleep_for(idle);
    }
  }
}

std::size_t EvaluationWorkers::DrainOnce(int worker, std::vector<store::FieldEntry>& entries,
                                         std::vector<store::Point>& points) {
  const std::size_t fields = rings_.field_count();
  std::size_t processed = 0;
  for (std::size_t k = 0; k < fields; ++k) {
    // Each worker starts at a different ring so they do not all contend on the first.
    const auto field = static_cast<store::FieldId>((k + static_cast<std::size_t>(worker)) % fields);
    const std::size_t n = rings_.ring(field).TryPopN(entries.data(), entries.size());
    if (n == 0) continue;
    points.clear();
    for (std::size_t i = 0; i < n; ++i) points.push_back({entries[i].series, entries[i].ts, entries[i].value});
    const store::AppendStats stats = store_.Append(points);
    if (after_store_) after_store_(points);
    CompleteTickets({entries.data(), n});
    stored_.fetch_add(stats.appended + stats.replaced, std::memory_order_relaxed);
    refused_.fetch_add(stats.non_finite + stats.unknown_series, std::memory_order_relaxed);
    batches_.fetch_add(1, std::memory_order_relaxed);
    processed += n;
  }
  return processed;
}

void EvaluationWorkers::CompleteTickets(std::span<const store::FieldEntry> entries) {
  // Points of one message sit together in a ring: one atomic per run, not per point.
  std::size_t i = 0;
  while (i < entries.size()) {
    const Ticket ticket = entries[i].ticket;
    std::size_t j = i + 1;
    while (j < entries.size() && entries[j].ticket == ticket) ++j;
    if (ticket != 0) tables_[TicketTableIndex(ticket)]->Complete(ticket, static_cast<std::uint32_t>(j - i));
    i = j;
  }
}

}  // namespace tidewatch::ingest
