#include "store/store.h"

#include <limits>
#include <utility>

#include "store/internal/payload.h"
#include "store/snapshot_file.h"

namespace tidewatch::store {

using internal::PayloadReader;
using internal::PayloadWriter;
using internal::SealedChunk;
using internal::SealedRef;

namespace {

// Block types inside the snapshot container (store/snapshot_file.h).
constexpr std::uint32_t kMetaBlock = 1;    // offsets and databases; exactly one, first
constexpr std::uint32_t kSeriesBlock = 2;  // up to kSeriesPerBlock series with their chunks
constexpr std::size_t kSeriesPerBlock = 1024;

void PutSummary(PayloadWriter& w, const ChunkSummary& s) {
  w.PutI64(s.min_ts);
  w.PutI64(s.max_ts);
  w.PutU32(s.count);
  w.PutF64(s.sum);
  w.PutF64(s.min);
  w.PutF64(s.max);
  w.PutF64(s.first);
  w.PutF64(s.last);
}

bool ReadSummary(PayloadReader& r, ChunkSummary& s) {
  return r.ReadI64(&s.min_ts) && r.ReadI64(&s.max_ts) && r.ReadU32(&s.count) &&
         r.ReadF64(&s.sum) && r.ReadF64(&s.min) && r.ReadF64(&s.max) && r.ReadF64(&s.first) &&
         r.ReadF64(&s.last);
}

void PutSeries(PayloadWriter& w, SeriesId id, const SeriesInfo& info, const SeriesSnapshot& s,
               bool compress) {
  w.PutU32(id);
  w.PutLengthPrefixed(info.db);
  w.PutLengthPrefixed(info.measurement);
  w.PutVarint64(info.tags.size());
  for (const Tag& tag : info.tags) {
    w.PutLengthPrefixed(tag.key);
    w.PutLengthPrefixed(tag.value);
  }
  w.PutLengthPrefixed(info.field);
  w.PutU8(static_cast<std::uint8_t>(info.type));
  // The head is written sealed: a snapshot holds compressed chunks only.
  SealedRef head;
  if (s.head) head = SealedChunk::Seal(s.head->ts, s.head->values, s.head_count, compress);
  w.PutVarint64(s.sealed.size() + (head ? 1 : 0));
  auto put_chunk = [&w](const SealedChunk& c) {
    PutSummary(w, c.summary());
    w.PutU8(static_cast<std::uint8_t>(c.encoding()));
    w.PutLengthPrefixed(c.data());
  };
  for (const SealedRef& c : s.sealed) put_chunk(*c);
  if (head) put_chunk(*head);
}

Status Corrupt(const std::string& path, std::string_view what) {
  return Status(StatusCode::kDataLoss, "snapshot " + path + ": " + std::string(what));
}

}  // namespace

Store::Store(StoreOptions options)
    : options_(std::move(options)), index_(options_.index), windows_(options_.windows) {}

StatusOr<DbSlot> Store::SlotFor(std::string_view db) {
  std::lock_guard lock(db_mu_);
  if (auto it = db_slots_.find(db); it != db_slots_.end()) return it->second;
  if (db_slots_.size() >= kMaxDbs) {
    return Status(StatusCode::kResourceExhausted,
                  "too many databases (" + std::to_string(kMaxDbs) + "); cannot add '" +
                      std::string(db) + "'");
  }
  const auto slot = static_cast<DbSlot>(db_slots_.size());
  db_slots_.emplace(std::string(db), slot);
  return slot;
}

std::vector<std::pair<std::string, DbSlot>> Store::Databases() const {
  std::lock_guard lock(db_mu_);
  return {db_slots_.begin(), db_slots_.end()};
}

StatusOr<SeriesId> Store::Intern(const SeriesKeyView& key, FieldType type) {
  StatusOr<SeriesId> id = index_.Intern(key, type);
  if (!id.ok() || windows_.HasSeries(*id)) return id;
  StatusOr<DbSlot> slot = SlotFor(key.db);
  if (!slot.ok()) return slot.status();
  if (*id >= options_.windows.max_series_id) {
    return Status(StatusCode::kResourceExhausted,
                  "series id " + std::to_string(*id) + " beyond the window store's max_series_id");
  }
  windows_.CreateSeries(*id, *slot);
  return id;
}

Timestamp Store::newest_ts(std::string_view db) const {
  std::lock_guard lock(db_mu_);
  auto it = db_slots_.find(db);
  return it == db_slots_.end() ? std::numeric_limits<Timestamp>::min() : windows_.newest_ts(it->second);
}

std::int64_t Store::retention_ns(std::string_view db) const {
  auto it = options_.retention_by_db.find(db);
  return it == options_.retention_by_db.end() ? options_.default_retention_ns : it->second;
}

std::uint64_t Store::Delete(std::span<const SeriesId> series, Timestamp start, Timestamp end) {
  std::uint64_t removed = 0;
  for (const SeriesId id : series) removed += windows_.Delete(id, start, end);
  return removed;
}

std::uint64_t Store::Delete(std::string_view db, std::string_view measurement,
                            std::span<const TagView> tags, Timestamp start, Timestamp end) {
  PostingList series = index_.SeriesOf(db, measurement);
  for (const TagView& tag : tags) {
    series = Intersect(series, index_.SeriesWithTag(db, measurement, tag.key, tag.value));
  }
  return Delete(series, start, end);
}

MaintenanceStats Store::RunMaintenance() {
  MaintenanceStats stats;
  std::vector<SeriesId> idle;
  for (const auto& [name, slot] : Databases()) {
    const Timestamp newest = windows_.newest_ts(slot);
    if (newest == std::numeric_limits<Timestamp>::min()) continue;
    const std::int64_t retention = retention_ns(name);
    // Saturate: a retention longer than the time since INT64_MIN keeps everything.
    if (newest < std::numeric_limits<Timestamp>::min() + retention) continue;
    stats.points_expired += windows_.DropBefore(slot, newest - retention, idle);
  }
  // Windows first, then index entries: an id is free for reuse only once no window
  // holds it.
  windows_.RemoveSeries(idle);
  index_.Remove(idle);
  stats.series_evicted = idle.size();
  if (options_.memory_budget_bytes > 0) {
    stats.points_over_budget = windows_.EnforceBudget(options_.memory_budget_bytes);
  }
  return stats;
}

Status Store::Snapshot(const std::string& path, const SnapshotOffsets& offsets) const {
  StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
  if (!writer.ok()) return writer.status();
  PayloadWriter meta;
  meta.PutVarint64(offsets.size());
  for (const auto& [key, offset] : offsets) {
    meta.PutLengthPrefixed(key);
    meta.PutI64(offset);
  }
  const auto dbs = Databases();
  meta.PutVarint64(dbs.size());
  for (const auto& [name, slot] : dbs) {
    meta.PutLengthPrefixed(name);
    meta.PutI64(windows_.newest_ts(slot));
  }
  Status status = writer->AppendBlock(kMetaBlock, meta.data());

  PayloadWriter block;
  std::size_t in_block = 0;
  auto flush = [&] {
    if (in_block == 0 || !status.ok()) return;
    PayloadWriter framed;
    framed.PutVarint64(in_block);
    status = writer->AppendBlock(kSeriesBlock, framed.data() + block.data());
    block.Clear();
    in_block = 0;
  };
  windows_.ForEachSeries([&](SeriesId id, DbSlot, const SeriesSnapshot& snapshot) {
    if (!status.ok()) return;
    std::optional<SeriesInfo> info = index_.Info(id);
    if (!info) return;  // evicted meanwhile
    PutSeries(block, id, *info, snapshot, options_.windows.compress_sealed_chunks);
    if (++in_block == kSeriesPerBlock) flush();
  });
  flush();
  if (!status.ok()) return status;
  return writer->Commit();
}

StatusOr<SnapshotOffsets> Store::Restore(const std::string& path) {
  StatusOr<SnapshotReader> reader = SnapshotReader::Open(path);
  if (!reader.ok()) return reader.status();
  if (reader->block_count() == 0 || reader->block_type(0) != kMetaBlock) {
    return Corrupt(path, "first block is not the metadata block");
  }
  SnapshotOffsets offsets;
  PayloadReader meta(reader->block(0));
  std::uint64_t n = 0;
  bool ok = meta.ReadVarint64(&n);
  for (std::uint64_t i = 0; ok && i < n; ++i) {
    std::string_view key;
    std::int64_t offset = 0;
    ok = meta.ReadLengthPrefixed(&key) && meta.ReadI64(&offset);
    if (ok) offsets[std::string(key)] = offset;
  }
  std::vector<std::pair<std::string, Timestamp>> dbs;
  ok = ok && meta.ReadVarint64(&n);
  for (std::uint64_t i = 0; ok && i < n; ++i) {
    std::string_view name;
    Timestamp newest = 0;
    ok = meta.ReadLengthPrefixed(&name) && meta.ReadI64(&newest);
    if (ok) dbs.emplace_back(name, newest);
  }
  if (!ok) return Corrupt(path, "metadata block: " + meta.status().ToString());

  std::vector<SeriesId> restored;
  for (std::size_t b = 1; b < reader->block_count(); ++b) {
    Status s = reader->block_type(b) == kSeriesBlock
                   ? RestoreSeriesBlock(reader->block(b), restored)
                   : Status(StatusCode::kDataLoss, "unknown block type");
    if (!s.ok()) {
      Clear(restored);
      return Corrupt(path, "block " + std::to_string(b) + ": " + s.message());
    }
  }
  for (const auto& [name, newest] : dbs) {
    StatusOr<DbSlot> slot = SlotFor(name);
    if (slot.ok()) windows_.RaiseNewest(*slot, newest);
  }
  return offsets;
}

Status Store::RestoreSeriesBlock(std::string_view payload, std::vector<SeriesId>& restored) {
  PayloadReader r(payload);
  std::uint64_t count = 0;
  if (!r.ReadVarint64(&count)) return r.status();
  for (std::uint64_t i = 0; i < count; ++i) {
    SeriesId id = 0;
    SeriesInfo info;
    std::string_view db, measurement, field;
    std::uint64_t tags = 0;
    if (!r.ReadU32(&id) || !r.ReadLengthPrefixed(&db) || !r.ReadLengthPrefixed(&measurement) ||
        !r.ReadVarint64(&tags)) {
      return r.status();
    }
    for (std::uint64_t t = 0; t < tags; ++t) {
      std::string_view key, value;
      if (!r.ReadLengthPrefixed(&key) || !r.ReadLengthPrefixed(&value)) return r.status();
      info.tags.push_back({std::string(key), std::string(value)});
    }
    std::uint8_t type = 0;
    std::uint64_t chunks = 0;
    if (!r.ReadLengthPrefixed(&field) || !r.ReadU8(&type) || !r.ReadVarint64(&chunks)) {
      return r.status();
    }
    if (type > static_cast<std::uint8_t>(FieldType::kBoolean)) {
      return Status(StatusCode::kDataLoss, "series " + std::to_string(id) + ": bad field type");
    }
    std::vector<SealedRef> sealed;
    for (std::uint64_t c = 0; c < chunks; ++c) {
      ChunkSummary summary;
      std::uint8_t encoding = 0;
      std::string_view data;
      if (!ReadSummary(r, summary) || !r.ReadU8(&encoding) || !r.ReadLengthPrefixed(&data)) {
        return r.status();
      }
      StatusOr<SealedRef> chunk = SealedChunk::FromEncoded(
          static_cast<internal::ChunkEncoding>(encoding), std::string(data), summary);
      if (!chunk.ok()) return chunk.status();
      if (!sealed.empty() && sealed.back()->summary().max_ts >= summary.min_ts) {
        return Status(StatusCode::kDataLoss, "series " + std::to_string(id) + ": chunks overlap");
      }
      sealed.push_back(std::move(*chunk));
    }
    info.db = db;
    info.measurement = measurement;
    info.field = field;
    info.type = static_cast<FieldType>(type);
    if (Status s = index_.Restore(id, info); !s.ok()) return s;
    restored.push_back(id);
    StatusOr<DbSlot> slot = SlotFor(info.db);
    if (!slot.ok()) return slot.status();
    if (id >= options_.windows.max_series_id) {
      return Status(StatusCode::kDataLoss, "series id " + std::to_string(id) + " out of range");
    }
    windows_.CreateSeries(id, *slot);
    windows_.InstallChunks(id, std::move(sealed));
  }
  if (r.remaining() != 0) return Status(StatusCode::kDataLoss, "trailing bytes in series block");
  return Status::Ok();
}

void Store::Clear(std::span<const SeriesId> restored) {
  windows_.RemoveSeries(restored);
  index_.Remove(restored);
}

}  // namespace tidewatch::store
