#include "store/window_store.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace tidewatch::store {

using internal::ChunkBuffer;
using internal::HeadChunk;
using internal::HeadRef;
using internal::kChunkPoints;
using internal::SealedChunk;
using internal::SealedRef;

namespace {

constexpr std::ptrdiff_t kHeadBytes = sizeof(HeadChunk);

// Writes the points of `src` with ts in [start, end) removed into `dst`; returns how many
// were removed.
std::uint32_t CopyWithout(const Timestamp* ts, const double* values, std::uint32_t n,
                          Timestamp start, Timestamp end, ChunkBuffer& dst) {
  dst.count = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (ts[i] >= start && ts[i] < end) continue;
    dst.ts[dst.count] = ts[i];
    dst.values[dst.count] = values[i];
    ++dst.count;
  }
  return n - dst.count;
}

// Inserts (ts, value) into the ascending points of `buf`, replacing an equal
// timestamp. Returns true if it replaced. REQUIRES: room for one more point.
bool InsertSorted(Timestamp* ts, double* values, std::uint32_t& count, Timestamp t, double v) {
  const Timestamp* pos = std::lower_bound(ts, ts + count, t);
  const auto i = static_cast<std::uint32_t>(pos - ts);
  if (i < count && ts[i] == t) {
    values[i] = v;
    return true;
  }
  std::memmove(ts + i + 1, ts + i, (count - i) * sizeof(Timestamp));
  std::memmove(values + i + 1, values + i, (count - i) * sizeof(double));
  ts[i] = t;
  values[i] = v;
  ++count;
  return false;
}

}  // namespace

WindowStore::WindowStore(WindowStoreOptions options)
    : options_(options),
      pool_(options.max_free_chunks),
      shards_(std::make_unique<Shard[]>(kShards)),
      pages_(std::make_unique<std::atomic<Page*>[]>(page_count())) {
  for (auto& t : newest_ts_) t.store(std::numeric_limits<Timestamp>::min(), std::memory_order_relaxed);
}

WindowStore::~WindowStore() {
  for (std::size_t p = 0; p < page_count(); ++p) {
    Page* page = pages_[p].load(std::memory_order_relaxed);
    if (page == nullptr) continue;
    for (Window* w : *page) delete w;
    delete page;
  }
}

WindowStore::Window* WindowStore::Find(SeriesId series) const {
  if (series >= options_.max_series_id) return nullptr;
  // Acquire: pairs with the release store that published the page.
  const Page* page = pages_[series >> kPageBits].load(std::memory_order_acquire);
  if (page == nullptr) return nullptr;
  return (*page)[series & (kPageSize - 1)];
}

WindowStore::Window*& WindowStore::Slot(SeriesId series) {
  Page* page = pages_[series >> kPageBits].load(std::memory_order_acquire);
  return (*page)[series & (kPageSize - 1)];
}

void WindowStore::CreateSeries(SeriesId series, DbSlot db) {
  assert(series < options_.max_series_id && db < kMaxDbs);
  std::atomic<Page*>& page = pages_[series >> kPageBits];
  if (page.load(std::memory_order_acquire) == nullptr) {
    std::lock_guard lock(dir_mu_);
    if (page.load(std::memory_order_relaxed) == nullptr) {
      // Release: the zeroed page is visible before anyone can reach it.
      page.store(new Page{}, std::memory_order_release);
    }
  }
  std::unique_lock lock(ShardOf(series).mu);
  Window*& slot = Slot(series);
  if (slot != nullptr) return;
  slot = new Window;
  slot->db = db;
  series_count_.fetch_add(1, std::memory_order_relaxed);
  AddMemory(static_cast<std::ptrdiff_t>(sizeof(Window)));
}

bool WindowStore::HasSeries(SeriesId series) const {
  std::shared_lock lock(ShardOf(series).mu);
  return Find(series) != nullptr;
}

void WindowStore::RemoveSeries(std::span<const SeriesId> series) {
  for (const SeriesId id : series) {
    Window* w = nullptr;
    {
      std::unique_lock lock(ShardOf(id).mu);
      w = Find(id);
      if (w == nullptr) continue;
      Slot(id) = nullptr;
    }
    // Nobody can reach w any more: every access goes through the slot under the lock.
    FreeWindow(w);
  }
}

void WindowStore::FreeWindow(Window* w) {
  std::uint64_t points = 0;
  for (const SealedRef& c : w->sealed) points += c->summary().count;
  std::ptrdiff_t bytes = static_cast<std::ptrdiff_t>(w->sealed_bytes + sizeof(Window));
  if (w->head) {
    points += w->head->count;
    bytes += kHeadBytes;
  }
  points_.fetch_sub(points, std::memory_order_relaxed);
  AddMemory(-bytes);
  series_count_.fetch_sub(1, std::memory_order_relaxed);
  delete w;
}

void WindowStore::AddMemory(std::ptrdiff_t delta) {
  memory_bytes_.fetch_add(delta, std::memory_order_relaxed);
}

void WindowStore::RaiseNewest(DbSlot db, Timestamp ts) {
  std::atomic<Timestamp>& newest = newest_ts_[db];
  Timestamp current = newest.load(std::memory_order_relaxed);
  while (ts > current && !newest.compare_exchange_weak(current, ts, std::memory_order_relaxed)) {
  }
}

AppendStats WindowStore::Append(std::span<const Point> points) {
  // Sort a copy by (shard, series, ts), stable so the later of two equal (series, ts)
  // points is applied last and wins. The buffer is per thread: no allocation per batch
  // once it has grown.
  thread_local std::vector<Point> sorted;
  sorted.assign(points.begin(), points.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const Point& a, const Point& b) {
    const std::size_t sa = a.series % kShards;
    const std::size_t sb = b.series % kShards;
    if (sa != sb) return sa < sb;
    if (a.series != b.series) return a.series < b.series;
    return a.ts < b.ts;
  });

  AppendStats stats;
  std::size_t i = 0;
  while (i < sorted.size()) {
    Shard& shard = ShardOf(sorted[i].series);
    std::unique_lock lock(shard.mu);
    while (i < sorted.size() && &ShardOf(sorted[i].series) == &shard) {
      const SeriesId series = sorted[i].series;
      Window* w = Find(series);
      Timestamp newest = std::numeric_limits<Timestamp>::min();
      for (; i < sorted.size() && sorted[i].series == series; ++i) {
        const Point& p = sorted[i];
        if (w == nullptr) {
          ++stats.unknown_series;
        } else if (!std::isfinite(p.value)) {
          ++stats.non_finite;
        } else {
          Insert(*w, p.ts, p.value, stats);
          newest = std::max(newest, p.ts);
        }
      }
      if (w != nullptr) RaiseNewest(w->db, newest);
    }
  }
  points_.fetch_add(stats.appended, std::memory_order_relaxed);
  return stats;
}

void WindowStore::Insert(Window& w, Timestamp ts, double value, AppendStats& stats) {
  if (ts > w.last_ts()) {
    AppendToHead(w, ts, value);
    ++stats.appended;
  } else if (w.sealed.empty() || (w.head && w.head->count > 0 && ts >= w.head->ts[0])) {
    InsertIntoHead(w, ts, value, stats);
  } else {
    InsertIntoSealed(w, ts, value, stats);
  }
}

void WindowStore::AppendToHead(Window& w, Timestamp ts, double value) {
  if (w.head && w.head->count == kChunkPoints) SealHead(w);
  if (!w.head) {
    w.head = pool_.Acquire();
    AddMemory(kHeadBytes);
  }
  HeadChunk& h = *w.head;
  // Readers read only [0, the count they copied): writing at h.count races with nobody.
  h.ts[h.count] = ts;
  h.values[h.count] = value;
  ++h.count;
  h.summary.AddLater(ts, value);
}

void WindowStore::InsertIntoHead(Window& w, Timestamp ts, double value, AppendStats& stats) {
  if (!w.head) {
    w.head = pool_.Acquire();
    AddMemory(kHeadBytes);
  }
  const HeadChunk& h = *w.head;
  const Timestamp* pos = std::lower_bound(h.ts, h.ts + h.count, ts);
  const bool duplicate = pos != h.ts + h.count && *pos == ts;
  if (!duplicate && h.count == kChunkPoints) {
    // No room: seal the head, and the point now belongs in the last sealed chunk.
    SealHead(w);
    InsertIntoSealed(w, ts, value, stats);
    return;
  }
  MakeHeadWritable(w);
  HeadChunk& writable = *w.head;
  const bool replaced = InsertSorted(writable.ts, writable.values, writable.count, ts, value);
  writable.summary = ChunkSummary::Of(writable.ts, writable.values, writable.count);
  ++(replaced ? stats.replaced : stats.appended);
}

void WindowStore::MakeHeadWritable(Window& w) {
  if (w.head.unique()) return;
  // A query still reads the head: change a copy and swap it in. The old head returns to
  // the pool when the last reader lets go.
  HeadRef copy = pool_.Acquire();
  const HeadChunk& old = *w.head;
  std::memcpy(copy->ts, old.ts, old.count * sizeof(Timestamp));
  std::memcpy(copy->values, old.values, old.count * sizeof(double));
  copy->count = old.count;
  copy->summary = old.summary;
  w.head = std::move(copy);
}

void WindowStore::InsertIntoSealed(Window& w, Timestamp ts, double value, AppendStats& stats) {
  // The chunk whose range covers ts, or else the one before the gap ts falls in (so the
  // new point extends it), or the first chunk if ts precedes everything.
  auto it = std::upper_bound(w.sealed.begin(), w.sealed.end(), ts,
                             [](Timestamp t, const SealedRef& c) { return t < c->summary().min_ts; });
  const std::size_t index = it == w.sealed.begin() ? 0 : static_cast<std::size_t>(it - w.sealed.begin()) - 1;
  ChunkBuffer buf;
  buf.count = w.sealed[index]->Decode(buf.ts, buf.values);
  const bool replaced = InsertSorted(buf.ts, buf.values, buf.count, ts, value);
  ++(replaced ? stats.replaced : stats.appended);
  ReplaceSealed(w, index, buf);
}

void WindowStore::ReplaceSealed(Window& w, std::size_t index, const ChunkBuffer& points) {
  const std::size_t removed_bytes = w.sealed[index]->MemoryBytes();
  w.sealed_bytes -= removed_bytes;
  std::vector<SealedRef> replacement;
  if (points.count > kChunkPoints) {  // split an overfull chunk in two halves
    const std::uint32_t half = points.count / 2;
    replacement.push_back(
        SealedChunk::Seal(points.ts, points.values, half, options_.compress_sealed_chunks));
    replacement.push_back(
        SealedChunk::Seal(points.ts + half, points.values + half, points.count - half,
                          options_.compress_sealed_chunks));
  } else if (points.count > 0) {
    replacement.push_back(
        SealedChunk::Seal(points.ts, points.values, points.count, options_.compress_sealed_chunks));
  }
  const auto pos = w.sealed.begin() + static_cast<std::ptrdiff_t>(index);
  const auto next = w.sealed.erase(pos);
  w.sealed.insert(next, replacement.begin(), replacement.end());
  std::size_t added = 0;
  for (const SealedRef& c : replacement) added += c->MemoryBytes();
  w.sealed_bytes += added;
  AddMemory(static_cast<std::ptrdiff_t>(added) - static_cast<std::ptrdiff_t>(removed_bytes));
}

void WindowStore::SealHead(Window& w) {
  const HeadChunk& h = *w.head;
  if (h.count > 0) {
    SealedRef sealed = SealedChunk::Seal(h.ts, h.values, h.count, options_.compress_sealed_chunks);
    w.sealed_bytes += sealed->MemoryBytes();
    AddMemory(static_cast<std::ptrdiff_t>(sealed->MemoryBytes()));
    w.sealed.push_back(std::move(sealed));
  }
  w.head = HeadRef();  // back to the pool once no query reads it
  AddMemory(-kHeadBytes);
}

bool WindowStore::Read(SeriesId series, Timestamp start, Timestamp end, SeriesSnapshot& out) const {
  out.Clear();
  std::shared_lock lock(ShardOf(series).mu);
  const Window* w = Find(series);
  if (w == nullptr) return false;
  // Sealed chunks are ordered and disjoint: skip those ending before start, stop at
  // the first starting at or after end.
  auto first = std::partition_point(w->sealed.begin(), w->sealed.end(),
                                    [start](const SealedRef& c) { return c->summary().max_ts < start; });
  for (auto it = first; it != w->sealed.end() && (*it)->summary().min_ts < end; ++it) {
    out.sealed.push_back(*it);
  }
  if (w->head && w->head->count > 0 && w->head->summary.min_ts < end &&
      w->head->summary.max_ts >= start) {
    out.head = w->head;
    out.head_count = w->head->count;
    out.head_summary = w->head->summary;
  }
  return true;
}

std::uint64_t WindowStore::Delete(SeriesId series, Timestamp start, Timestamp end) {
  std::unique_lock lock(ShardOf(series).mu);
  Window* w = Find(series);
  if (w == nullptr || start >= end) return 0;
  std::uint64_t removed = 0;
  for (std::size_t i = 0; i < w->sealed.size();) {
    const ChunkSummary& s = w->sealed[i]->summary();
    if (s.max_ts < start || s.min_ts >= end) {
      ++i;
      continue;
    }
    ChunkBuffer all;
    all.count = w->sealed[i]->Decode(all.ts, all.values);
    ChunkBuffer kept;
    removed += CopyWithout(all.ts, all.values, all.count, start, end, kept);
    const bool emptied = kept.count == 0;
    ReplaceSealed(*w, i, kept);
    if (!emptied) ++i;
  }
  if (w->head && w->head->count > 0) {
    MakeHeadWritable(*w);
    HeadChunk& h = *w->head;
    ChunkBuffer kept;
    const std::uint32_t gone = CopyWithout(h.ts, h.values, h.count, start, end, kept);
    if (gone > 0) {
      std::memcpy(h.ts, kept.ts, kept.count * sizeof(Timestamp));
      std::memcpy(h.values, kept.values, kept.count * sizeof(double));
      h.count = kept.count;
      h.summary = ChunkSummary::Of(h.ts, h.values, h.count);
      removed += gone;
    }
  }
  points_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

std::uint64_t WindowStore::DropSealedEndingBefore(Window& w, Timestamp limit) {
  std::uint64_t freed = 0;
  std::size_t drop = 0;
  std::size_t bytes = 0;
  while (drop < w.sealed.size() && w.sealed[drop]->summary().max_ts < limit) {
    freed += w.sealed[drop]->summary().count;
    bytes += w.sealed[drop]->MemoryBytes();
    ++drop;
  }
  w.sealed.erase(w.sealed.begin(), w.sealed.begin() + static_cast<std::ptrdiff_t>(drop));
  w.sealed_bytes -= bytes;
  AddMemory(-static_cast<std::ptrdiff_t>(bytes));
  return freed;
}

std::uint64_t WindowStore::DropBefore(DbSlot db, Timestamp cutoff, std::vector<SeriesId>& idle) {
  std::uint64_t freed = 0;
  ForEachWindowExclusive([&](SeriesId series, Window& w) {
    if (w.db != db) return;
    freed += DropSealedEndingBefore(w, cutoff);
    if (w.head && w.head->count > 0 && w.head->summary.max_ts < cutoff) {
      freed += w.head->count;
      w.head = HeadRef();
      AddMemory(-kHeadBytes);
    }
    if (w.empty()) idle.push_back(series);
  });
  points_.fetch_sub(freed, std::memory_order_relaxed);
  return freed;
}

std::uint64_t WindowStore::EnforceBudget(std::size_t budget_bytes) {
  if (MemoryBytes() <= budget_bytes) return 0;
  // Find how far back to cut: the end times of all sealed chunks, oldest first, taken
  // until enough bytes would be freed.
  struct Candidate {
    Timestamp max_ts;
    std::size_t bytes;
  };
  std::vector<Candidate> candidates;
  ForEachSeries([&](SeriesId, DbSlot, const SeriesSnapshot& s) {
    for (const SealedRef& c : s.sealed) candidates.push_back({c->summary().max_ts, c->MemoryBytes()});
  });
  if (candidates.empty()) return 0;
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.max_ts < b.max_ts; });
  std::size_t excess = MemoryBytes() - budget_bytes;
  Timestamp cutoff = candidates.front().max_ts;
  for (const Candidate& c : candidates) {
    cutoff = c.max_ts;
    if (c.bytes >= excess) break;
    excess -= c.bytes;
  }
  // Drop sealed chunks ending at or before the cutoff, in every db. Heads stay: they
  // hold the newest data and are bounded by the series count.
  const Timestamp limit = cutoff == std::numeric_limits<Timestamp>::max() ? cutoff : cutoff + 1;
  std::uint64_t freed = 0;
  ForEachWindowExclusive([&](SeriesId, Window& w) { freed += DropSealedEndingBefore(w, limit); });
  points_.fetch_sub(freed, std::memory_order_relaxed);
  budget_evicted_.fetch_add(freed, std::memory_order_relaxed);
  return freed;
}

void WindowStore::InstallChunks(SeriesId series, std::vector<SealedRef> sealed) {
  std::unique_lock lock(ShardOf(series).mu);
  Window* w = Find(series);
  assert(w != nullptr);
  std::uint64_t old_points = 0;
  for (const SealedRef& c : w->sealed) old_points += c->summary().count;
  std::ptrdiff_t delta = -static_cast<std::ptrdiff_t>(w->sealed_bytes);
  if (w->head) {
    old_points += w->head->count;
    w->head = HeadRef();
    delta -= kHeadBytes;
  }
  std::uint64_t new_points = 0;
  w->sealed_bytes = 0;
  for (const SealedRef& c : sealed) {
    new_points += c->summary().count;
    w->sealed_bytes += c->MemoryBytes();
  }
  delta += static_cast<std::ptrdiff_t>(w->sealed_bytes);
  w->sealed = std::move(sealed);
  AddMemory(delta);
  points_.fetch_add(new_points - old_points, std::memory_order_relaxed);
}

}  // namespace tidewatch::store
