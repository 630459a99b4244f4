#include "store/internal/chunks.h"

#include <cassert>
#include <cstring>

#include "store/internal/decimal_codec.h"
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

SealedRef SealedChunk::Seal(const Timestamp* ts, const double* values, std::uint32_t n,
                           bool compress) {
  assert(n >= 1 && n <= kChunkPoints);
  std::string data;
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  if (compress) {
    if (const std::optional<int> digits = DecimalDigits(values, n)) {
      encoding = ChunkEncoding::kDecimal;
      DecimalEncode(ts, values, n, *digits, data);
    } else {
      encoding = ChunkEncoding::kGorilla;
      GorillaEncode(ts, values, n, data);
    }
    data.shrink_to_fit();
  } else {
    data.resize(n * (sizeof(Timestamp) + sizeof(double)));
    std::memcpy(data.data(), ts, n * sizeof(Timestamp));
    std::memcpy(data.data() + n * sizeof(Timestamp), values, n * sizeof(double));
  }
  return std::make_shared<const SealedChunk>(ChunkSummary::Of(ts, values, n), encoding,
                                             std::move(data));
}

StatusOr<std::size_t> SealedChunk::DecodeChecked(ChunkEncoding encoding, std::string_view data,
                                                 Timestamp* ts, double* values) {
  if (encoding == ChunkEncoding::kGorilla) return GorillaDecode(data, ts, values, kChunkPoints);
  if (encoding == ChunkEncoding::kDecimal) return DecimalDecode(data, ts, values, kChunkPoints);
  constexpr std::size_t kPointBytes = sizeof(Timestamp) + sizeof(double);
  const std::size_t n = data.size() / kPointBytes;
  if (data.size() % kPointBytes != 0 || n == 0 || n > kChunkPoints) {
    return Status(StatusCode::kDataLoss, "raw chunk of " + std::to_string(data.size()) + " bytes");
  }
  std::memcpy(ts, data.data(), n * sizeof(Timestamp));
  std::memcpy(values, data.data() + n * sizeof(Timestamp), n * sizeof(double));
  for (std::size_t i = 1; i < n; ++i) {
    if (ts[i] <= ts[i - 1]) return Status(StatusCode::kDataLoss, "raw chunk: timestamps do not ascend");
  }
  return n;
}

StatusOr<SealedRef> SealedChunk::FromEncoded(ChunkEncoding encoding, std::string data,
                                             const ChunkSummary& summary) {
  if (encoding != ChunkEncoding::kGorilla && encoding != ChunkEncoding::kRaw &&
      encoding != ChunkEncoding::kDecimal) {
    return Status(StatusCode::kDataLoss, "unknown chunk encoding");
  }
  ChunkBuffer buffer;
  StatusOr<std::size_t> n = DecodeChecked(encoding, data, buffer.ts, buffer.values);
  if (!n.ok()) return n.status();
  const ChunkSummary actual =
      ChunkSummary::Of(buffer.ts, buffer.values, static_cast<std::uint32_t>(*n));
  if (!(actual == summary)) {
    return Status(StatusCode::kDataLoss, "chunk summary does not match its points");
  }
  return std::make_shared<const SealedChunk>(summary, encoding, std::move(data));
}

std::uint32_t SealedChunk::Decode(Timestamp* ts, double* values) const {
  if (encoding_ == ChunkEncoding::kRaw) {
    // Made by Seal() or checked by FromEncoded(): a copy is the whole decode.
    const std::size_t n = data_.size() / (sizeof(Timestamp) + sizeof(double));
    std::memcpy(ts, data_.data(), n * sizeof(Timestamp));
    std::memcpy(values, data_.data() + n * sizeof(Timestamp), n * sizeof(double));
    return static_cast<std::uint32_t>(n);
  }
  StatusOr<std::size_t> n = DecodeChecked(encoding_, data_, ts, values);
  // The data was made by Seal() or checked by FromEncoded(): failing here is a bug.
  assert(n.ok());
  return n.ok() ? static_cast<std::uint32_t>(*n) : 0;
}

}  // namespace tidewatch::store::internal
