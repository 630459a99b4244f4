#include "store/internal/chunks.h"

#include <cassert>

#include "store/internal/gorilla.h"

namespace tidewatch::store::internal {

ChunkPool::~ChunkPool() {
  assert(in_use() == 0 && "a HeadRef outlived its ChunkPool");
  for (HeadChunk* chunk : free_) delete chunk;
}

HeadRef ChunkPool::Acquire() {
  HeadChunk* chunk = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      chunk = free_.back();
      free_.pop_back();
    }
  }
  if (chunk == nullptr) {
    chunk = new HeadChunk;
    chunk->pool = this;
  }
  chunk->count = 0;
  chunk->summary = ChunkSummary{};
  in_use_.fetch_add(1, std::memory_order_relaxed);
  return HeadRef(chunk);
}

void ChunkPool::Release(HeadChunk* chunk) {
  in_use_.fetch_sub(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    if (free_.size() < max_free_) {
      free_.push_back(chunk);
      return;
    }
  }
  delete chunk;
}

SealedRef SealedChunk::Seal(const Timestamp* ts, const double* values, std::uint32_t n) {
  assert(n >= 1 && n <= kChunkPoints);
  std::string data;
  GorillaEncode(ts, values, n, data);
  data.shrink_to_fit();
  return std::make_shared<const SealedChunk>(ChunkSummary::Of(ts, values, n), std::move(data));
}

StatusOr<SealedRef> SealedChunk::FromCompressed(std::string data, const ChunkSummary& summary) {
  ChunkBuffer buffer;
  StatusOr<std::size_t> n = GorillaDecode(data, buffer.ts, buffer.values, kChunkPoints);
  if (!n.ok()) return n.status();
  const ChunkSummary actual =
      ChunkSummary::Of(buffer.ts, buffer.values, static_cast<std::uint32_t>(*n));
  if (*n == 0 || !(actual == summary)) {
    return Status(StatusCode::kDataLoss, "chunk summary does not match its points");
  }
  return std::make_shared<const SealedChunk>(summary, std::move(data));
}

std::uint32_t SealedChunk::Decode(Timestamp* ts, double* values) const {
  StatusOr<std::size_t> n = GorillaDecode(data_, ts, values, kChunkPoints);
  // The block was made by Seal() or checked by FromCompressed(): failing here is a bug.
  assert(n.ok());
  return n.ok() ? static_cast<std::uint32_t>(*n) : 0;
}

}  // namespace tidewatch::store::internal
