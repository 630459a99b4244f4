// The two kinds of chunk a series window is made of.
//
// HeadChunk: the open chunk of a series, raw columns appended in place. Drawn from a
// ChunkPool and returned to it when the last HeadRef lets go, so steady-state
// appends allocate nothing. Reference counted because queries keep reading a head
// after the writer has moved on (sealed it, or replaced it by a modified copy).
//
// SealedChunk: a full chunk, compressed (store/internal/gorilla.h) and immutable,
// shared by std::shared_ptr.
//
// Thread safety: ChunkPool is thread-safe. HeadRef copies may be made and dropped
// from any thread. A HeadChunk's contents are protected by the owning series' shard
// lock (see window_store.h); SealedChunk is immutable.
#ifndef TIDEWATCH_STORE_INTERNAL_CHUNKS_H_
#define TIDEWATCH_STORE_INTERNAL_CHUNKS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/chunk_summary.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store::internal {

// Points per chunk. 1024 points: 16 KiB raw, ~1.4 KiB sealed. Larger chunks compress a
// little better and prune worse; smaller ones cost more summaries and more heads.
inline constexpr std::uint32_t kChunkPoints = 1024;

class ChunkPool;

struct HeadChunk {
  Timestamp ts[kChunkPoints];
  double values[kChunkPoints];
  ChunkSummary summary;     // of points [0, count)
  std::uint32_t count = 0;  // points written; strictly ascending ts

  // Owned by HeadRef / ChunkPool.
  std::atomic<std::uint32_t> refs{0};
  ChunkPool* pool = nullptr;
};

// An owning, reference-counted handle to a HeadChunk (an intrusive pointer).
class HeadRef {
 public:
  HeadRef() = default;
  HeadRef(const HeadRef& other) : chunk_(other.chunk_) { Retain(); }
  HeadRef(HeadRef&& other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
  HeadRef& operator=(HeadRef other) noexcept {
    std::swap(chunk_, other.chunk_);
    return *this;
  }
  ~HeadRef() { Drop(); }

  HeadChunk* get() const { return chunk_; }
  HeadChunk* operator->() const { return chunk_; }
  HeadChunk& operator*() const { return *chunk_; }
  explicit operator bool() const { return chunk_ != nullptr; }

  // True when this is the only reference, so the chunk may be modified in place.
  // Only meaningful while new references cannot be made concurrently (the writer
  // holds the shard lock that readers need to copy the reference). Acquire pairs with
  // the release half of the last other holder's decrement: its reads of the chunk
  // happen before our writes.
  bool unique() const { return chunk_->refs.load(std::memory_order_acquire) == 1; }

 private:
  friend class ChunkPool;
  explicit HeadRef(HeadChunk* chunk) : chunk_(chunk) { Retain(); }

  void Retain() {
    // Relaxed: a new reference is made from an existing one, which already keeps the
    // chunk alive and its contents visible.
    if (chunk_ != nullptr) chunk_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void Drop();

  HeadChunk* chunk_ = nullptr;
};

// Recycles HeadChunks. Allocation happens only when the free list is empty; at most
// `max_free` idle chunks are kept, the rest go back to the allocator.
// REQUIRES: the pool outlives every HeadRef it handed out.
class ChunkPool {
 public:
  explicit ChunkPool(std::size_t max_free) : max_free_(max_free) {}
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  // An empty chunk (count 0) with one reference.
  HeadRef Acquire();

  // Chunks currently handed out (live heads and heads still read by queries).
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  friend class HeadRef;
  void Release(HeadChunk* chunk);

  const std::size_t max_free_;
  std::atomic<std::size_t> in_use_{0};
  // A mutex, not a lock-free stack: it is taken once per 1024 points, and a Treiber
  // stack would need tagged pointers against ABA for no measurable gain.
  std::mutex mu_;
  std::vector<HeadChunk*> free_;  // guarded by mu_
};

inline void HeadRef::Drop() {
  // acq_rel: release makes our reads happen-before the chunk's reuse; acquire (for the
  // last holder) makes every other holder's reads happen-before we recycle it.
  if (chunk_ != nullptr && chunk_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    chunk_->pool->Release(chunk_);
  }
  chunk_ = nullptr;
}

// How a sealed chunk holds its points.
enum class ChunkEncoding : std::uint8_t {
  kGorilla = 0,  // delta-of-delta timestamps, XOR'd values (store/internal/gorilla.h)
  kRaw = 1,      // the two columns as is: 16 bytes/point, decoded by a copy
  kDecimal = 2,  // values with few decimals as scaled integers (decimal_codec.h)
};

// A full chunk, compressed. Immutable.
class SealedChunk {
 public:
  // Encodes n ascending points: compressed (kDecimal when every value is a short
  // decimal, which sensor data mostly is, else kGorilla) or kRaw.
  // REQUIRES: 1 <= n <= kChunkPoints.
  static std::shared_ptr<const SealedChunk> Seal(const Timestamp* ts, const double* values,
                                                 std::uint32_t n, bool compress);
  // Adopts already encoded data (snapshot restore), checking that it decodes to
  // ascending points that agree with `summary`. Errors: kDataLoss.
  static StatusOr<std::shared_ptr<const SealedChunk>> FromEncoded(ChunkEncoding encoding,
                                                                  std::string data,
                                                                  const ChunkSummary& summary);

  // Decodes all points into ts/values, which hold kChunkPoints each; returns the count.
  std::uint32_t Decode(Timestamp* ts, double* values) const;

  const ChunkSummary& summary() const { return summary_; }
  ChunkEncoding encoding() const { return encoding_; }
  const std::string& data() const { return data_; }
  // Heap bytes this chunk holds, for the memory budget.
  std::size_t MemoryBytes() const { return sizeof(SealedChunk) + data_.capacity(); }

  SealedChunk(ChunkSummary summary, ChunkEncoding encoding, std::string data)
      : summary_(summary), encoding_(encoding), data_(std::move(data)) {}

 private:
  // Decodes without trusting the data: kDataLoss on any inconsistency.
  static StatusOr<std::size_t> DecodeChecked(ChunkEncoding encoding, std::string_view data,
                                             Timestamp* ts, double* values);

  const ChunkSummary summary_;
  const ChunkEncoding encoding_;
  const std::string data_;
};

using SealedRef = std::shared_ptr<const SealedChunk>;

// Stack-friendly scratch space for one decoded chunk plus one extra point (an insert
// into a full chunk before it is split).
struct ChunkBuffer {
  Timestamp ts[kChunkPoints + 1];
  double values[kChunkPoints + 1];
  std::uint32_t count = 0;
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_CHUNKS_H_
