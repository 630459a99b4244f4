#include "store/series_index.h"

#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "store/internal/inverted_index.h"
#include "store/internal/memory_estimate.h"
#include "store/internal/series_key.h"
#include "store/mpmc_ring.h"  // kFalseSharingRange

namespace tidewatch::store {
namespace {

// 16 shards: enough that ingest threads on a few cores rarely meet on one shard's
// lock word, few enough that Remove() locking them all stays cheap.
constexpr int kShardBits = 4;
constexpr std::size_t kShardCount = std::size_t{1} << kShardBits;
// Ids are below this; the largest SeriesId is never handed out.
constexpr std::size_t kIdLimit = std::numeric_limits<SeriesId>::max();
// Series copied per lock hold in ForEach(): bounds how long it blocks writers.
constexpr std::size_t kForEachBatch = 1024;

Status TypeConflict(const SeriesKeyView& key, FieldType wanted, FieldType existing) {
  // InfluxDB's wording, so clients and dashboards that match on it keep working.
  return Status(StatusCode::kInvalidArgument,
                "field type conflict: input field \"" + std::string(key.field) +
                    "\" on measurement \"" + std::string(key.measurement) + "\" is type " +
                    std::string(internal::FieldTypeName(wanted)) + ", already exists as type " +
                    std::string(internal::FieldTypeName(existing)));
}

}  // namespace

// Immutable once created (see shards_ in the header for its lifetime).
struct SeriesIndex::Series {
  // Estimated heap bytes: the object, its key's buffer, and its node in a shard table
  // (next pointer, value, cached hash).
  std::size_t bytes() const {
    return internal::BlockBytes(sizeof(Series)) + internal::StringHeapBytes(key.capacity()) +
           internal::BlockBytes(3 * sizeof(void*));
  }

  std::string key;   // internal::EncodeSeriesKey
  std::size_t hash;  // internal::HashSeriesKey
  SeriesId id;
  FieldType type;
};

// A lookup key: the caller's views with their hash, computed once per call and used
// both to pick the shard and inside the shard's table.
struct SeriesIndex::HashedKey {
  const SeriesKeyView& key;
  std::size_t hash;
};

struct alignas(kFalseSharingRange) SeriesIndex::Shard {
  // Transparent, so the table is probed with a HashedKey and no key is built.
  // Deliberately not noexcept: that makes libstdc++ keep each hash in its node, so
  // rehashing and erasing do not touch (cache-miss on) every Series. It costs nothing:
  // a 24-byte node takes the same 32-byte malloc chunk as a 16-byte one.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Series* s) const { return s->hash; }
    std::size_t operator()(const HashedKey& k) const { return k.hash; }
  };
  struct Equal {
    using is_transparent = void;
    // Stored series have distinct keys, so identity is key equality among them.
    bool operator()(const Series* a, const Series* b) const noexcept { return a == b; }
    bool operator()(const HashedKey& k, const Series* s) const noexcept {
      return s->hash == k.hash && internal::EncodedKeyEquals(s->key, k.key);
    }
    bool operator()(const Series* s, const HashedKey& k) const noexcept { return (*this)(k, s); }
  };

  const Series* Find(const HashedKey& k) const {
    const auto it = table.find(k);
    return it == table.end() ? nullptr : *it;
  }

  mutable std::shared_mutex mu;
  std::unordered_set<const Series*, Hash, Equal> table;  // guarded by mu
};

// Every shard's lock, exclusively, taken in the documented order.
class SeriesIndex::AllShardsLock {
 public:
  explicit AllShardsLock(const SeriesIndex& index) : shards_(index.shards_.get()) {
    for (std::size_t i = 0; i < kShardCount; ++i) shards_[i].mu.lock();
  }
  ~AllShardsLock() {
    for (std::size_t i = kShardCount; i-- > 0;) shards_[i].mu.unlock();
  }
  AllShardsLock(const AllShardsLock&) = delete;
  AllShardsLock& operator=(const AllShardsLock&) = delete;

 private:
  Shard* const shards_;
};

SeriesIndex::SeriesIndex(SeriesIndexOptions options)
    : options_(options),
      shards_(std::make_unique<Shard[]>(kShardCount)),
      inverted_(std::make_unique<internal::InvertedIndex>()) {
  if (options_.max_series_per_db == 0) {
    throw std::invalid_argument("SeriesIndex: max_series_per_db must be at least 1");
  }
}

SeriesIndex::~SeriesIndex() = default;

StatusOr<SeriesId> SeriesIndex::Intern(const SeriesKeyView& key, FieldType type) {
  if (Status s = internal::ValidateSeriesKey(key); !s.ok()) return s;
  const HashedKey hashed{key, internal::HashSeriesKey(key)};
  Shard& shard = ShardFor(hashed.hash);
  {
    std::shared_lock lock(shard.mu);
    if (const Series* s = shard.Find(hashed)) return CheckType(*s, key, type);
  }
  {
    // Refuse under shared locks: a tenant over its limit keeps sending points of new
    // series, and taking the exclusive locks for each would stall everyone else.
    std::shared_lock lock(index_mu_);
    if (Status s = CheckNewSeries(key, type); !s.ok()) return s;
  }
  std::unique_lock shard_lock(shard.mu);
  if (const Series* s = shard.Find(hashed)) return CheckType(*s, key, type);  // raced
  std::unique_lock index_lock(index_mu_);
  // Again: the check above may have raced with another new series of this db.
  if (Status s = CheckNewSeries(key, type); !s.ok()) return s;
  const std::optional<SeriesId> id = TakeFreeId();
  if (!id) {
    return Status(StatusCode::kResourceExhausted, "series index: all series ids are in use");
  }
  Insert(shard, hashed, type, *id);
  return *id;
}

StatusOr<SeriesId> SeriesIndex::Find(const SeriesKeyView& key) const {
  if (Status s = internal::ValidateSeriesKey(key); !s.ok()) return s;
  const HashedKey hashed{key, internal::HashSeriesKey(key)};
  Shard& shard = ShardFor(hashed.hash);
  std::shared_lock lock(shard.mu);
  if (const Series* s = shard.Find(hashed)) return s->id;
  return Status(StatusCode::kNotFound, "series '" + internal::FormatSeriesKey(key) +
                                           "' not found in db '" + std::string(key.db) + "'");
}

std::optional<SeriesInfo> SeriesIndex::Info(SeriesId id) const {
  std::shared_lock lock(index_mu_);
  if (id >= series_.size() || series_[id] == nullptr) return std::nullopt;
  return InfoOf(*series_[id]);
}

std::vector<std::string> SeriesIndex::Databases() const {
  std::shared_lock lock(index_mu_);
  return inverted_->Databases();
}

std::vector<std::string> SeriesIndex::Measurements(std::string_view db) const {
  std::shared_lock lock(index_mu_);
  return inverted_->Measurements(db);
}

std::vector<std::string> SeriesIndex::TagKeys(std::string_view db,
                                              std::string_view measurement) const {
  std::shared_lock lock(index_mu_);
  return inverted_->TagKeys(db, measurement);
}

std::vector<std::string> SeriesIndex::TagValues(std::string_view db, std::string_view measurement,
                                                std::string_view key) const {
  std::shared_lock lock(index_mu_);
  return inverted_->TagValues(db, measurement, key);
}

std::vector<std::pair<std::string, FieldType>> SeriesIndex::FieldKeys(
    std::string_view db, std::string_view measurement) const {
  std::shared_lock lock(index_mu_);
  return inverted_->FieldKeys(db, measurement);
}

PostingList SeriesIndex::SeriesOf(std::string_view db, std::string_view measurement) const {
  std::shared_lock lock(index_mu_);
  return inverted_->SeriesOf(db, measurement);
}

PostingList SeriesIndex::SeriesWithTag(std::string_view db, std::string_view measurement,
                                       std::string_view key, std::string_view value) const {
  std::shared_lock lock(index_mu_);
  const PostingList* list = inverted_->Postings(db, measurement, key, value);
  return list == nullptr ? PostingList() : *list;
}

PostingList SeriesIndex::SeriesWithTagValues(std::string_view db, std::string_view measurement,
                                             std::string_view key,
                                             std::span<const std::string> values) const {
  PostingList out;
  {
    std::shared_lock lock(index_mu_);
    for (const std::string& value : values) {
      const PostingList* list = inverted_->Postings(db, measurement, key, value);
      if (list != nullptr) out.insert(out.end(), list->begin(), list->end());
    }
  }
  // A series has one value per key, so only a value given twice yields duplicates.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void SeriesIndex::Remove(std::span<const SeriesId> ids) {
  AllShardsLock shards_lock(*this);
  std::unique_lock lock(index_mu_);
  PostingList live;
  live.reserve(ids.size());
  for (const SeriesId id : ids) {
    if (id < series_.size() && series_[id] != nullptr) live.push_back(id);
  }
  std::sort(live.begin(), live.end());
  live.erase(std::unique(live.begin(), live.end()), live.end());
  RemoveLocked(live);
}

PostingList SeriesIndex::DropDatabase(std::string_view db) {
  AllShardsLock shards_lock(*this);
  std::unique_lock lock(index_mu_);
  PostingList ids = inverted_->SeriesOfDb(db);
  RemoveLocked(ids);
  inverted_->EraseDb(db);
  return ids;
}

std::size_t SeriesIndex::series_count() const {
  std::shared_lock lock(index_mu_);
  return live_count_;
}

std::size_t SeriesIndex::series_count(std::string_view db) const {
  std::shared_lock lock(index_mu_);
  return inverted_->series_count(db);
}

std::uint64_t SeriesIndex::rejected_series(std::string_view db) const {
  std::shared_lock lock(index_mu_);
  return inverted_->rejected_series(db);
}

std::uint64_t SeriesIndex::type_conflicts(std::string_view db) const {
  std::shared_lock lock(index_mu_);
  return inverted_->type_conflicts(db);
}

std::size_t SeriesIndex::MemoryBytesApprox() const {
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < kShardCount; ++i) {
    std::shared_lock lock(shards_[i].mu);
    bytes += internal::BlockBytes(shards_[i].table.bucket_count() * sizeof(void*));
  }
  std::shared_lock lock(index_mu_);
  return bytes + series_bytes_ + inverted_->memory_bytes() + internal::VectorHeapBytes(series_) +
         internal::VectorHeapBytes(free_ids_);
}

Status SeriesIndex::Restore(SeriesId id, const SeriesInfo& info) {
  std::vector<TagView> tags;
  tags.reserve(info.tags.size());
  for (const Tag& tag : info.tags) tags.push_back({tag.key, tag.value});
  const SeriesKeyView key{info.db, info.measurement, tags, info.field};
  if (Status s = internal::ValidateSeriesKey(key); !s.ok()) return s;
  const auto invalid = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument, "cannot restore series '" +
                                                    internal::FormatSeriesKey(key) + "' in db '" +
                                                    info.db + "' as id " + std::to_string(id) +
                                                    ": " + why);
  };
  if (id >= kIdLimit) return invalid("id out of range");
  const HashedKey hashed{key, internal::HashSeriesKey(key)};
  Shard& shard = ShardFor(hashed.hash);
  std::unique_lock shard_lock(shard.mu);
  if (const Series* s = shard.Find(hashed)) {
    return invalid("it exists as id " + std::to_string(s->id));
  }
  std::unique_lock index_lock(index_mu_);
  if (id < series_.size() && series_[id] != nullptr) return invalid("the id is taken");
  const std::optional<FieldType> existing = inverted_->FieldTypeOf(key);
  if (existing && *existing != info.type) return TypeConflict(key, info.type, *existing);
  // Descending, so that the smallest of the new free ids is handed out first.
  for (std::size_t gap = id; gap-- > series_.size();) {
    free_ids_.push_back(static_cast<SeriesId>(gap));
  }
  if (id >= series_.size()) series_.resize(std::size_t{id} + 1);
  Insert(shard, hashed, info.type, id);
  return Status::Ok();
}

SeriesIndex::Shard& SeriesIndex::ShardFor(std::size_t hash) const {
  return shards_[hash >> (64 - kShardBits)];
}

StatusOr<SeriesId> SeriesIndex::CheckType(const Series& series, const SeriesKeyView& key,
                                          FieldType type) const {
  if (series.type == type) return series.id;
  std::shared_lock lock(index_mu_);
  inverted_->CountTypeConflict(key.db);
  return TypeConflict(key, type, series.type);
}

Status SeriesIndex::CheckNewSeries(const SeriesKeyView& key, FieldType type) const {
  if (inverted_->series_count(key.db) >= options_.max_series_per_db) {
    // The db exists: max_series_per_db >= 1, so it holds series.
    inverted_->CountRejected(key.db);
    return Status(StatusCode::kResourceExhausted,
                  "db '" + std::string(key.db) + "' has reached max_series_per_db=" +
                      std::to_string(options_.max_series_per_db) + "; series " +
                      internal::FormatSeriesKey(key) + " rejected");
  }
  const std::optional<FieldType> existing = inverted_->FieldTypeOf(key);
  if (existing && *existing != type) {
    inverted_->CountTypeConflict(key.db);
    return TypeConflict(key, type, *existing);
  }
  return Status::Ok();
}

std::optional<SeriesId> SeriesIndex::TakeFreeId() {
  while (!free_ids_.empty()) {
    const SeriesId id = free_ids_.back();
    free_ids_.pop_back();
    if (series_[id] == nullptr) return id;  // else Restore() took it
  }
  if (series_.size() >= kIdLimit) return std::nullopt;
  series_.emplace_back();
  return static_cast<SeriesId>(series_.size() - 1);
}

void SeriesIndex::Insert(Shard& shard, const HashedKey& key, FieldType type, SeriesId id) {
  auto series =
      std::make_unique<Series>(Series{internal::EncodeSeriesKey(key.key), key.hash, id, type});
  inverted_->Add(id, key.key, type);
  shard.table.insert(series.get());
  series_bytes_ += series->bytes();
  series_[id] = std::move(series);
  ++live_count_;
}

void SeriesIndex::RemoveLocked(std::span<const SeriesId> ids) {
  removal_generation_.fetch_add(1, std::memory_order_acq_rel);
  std::vector<internal::InvertedIndex::Removed> removed;
  removed.reserve(ids.size());
  for (const SeriesId id : ids) removed.push_back({id, series_[id]->key});
  inverted_->Remove(removed);
  // Descending, so that the smallest freed id is handed out first.
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    std::unique_ptr<Series>& series = series_[*it];
    ShardFor(series->hash).table.erase(series.get());
    series_bytes_ -= series->bytes();
    series.reset();
    free_ids_.push_back(*it);
    --live_count_;
  }
  // Hash tables never shrink by themselves; give back buckets after large removals.
  for (std::size_t i = 0; i < kShardCount; ++i) {
    auto& table = shards_[i].table;
    if (table.size() < table.bucket_count() / 4) table.rehash(0);
  }
}

bool SeriesIndex::CopyBatch(std::size_t& next,
                            std::vector<std::pair<SeriesId, SeriesInfo>>& out) const {
  out.clear();
  std::shared_lock lock(index_mu_);
  for (; next < series_.size() && out.size() < kForEachBatch; ++next) {
    if (series_[next] != nullptr) {
      out.emplace_back(static_cast<SeriesId>(next), InfoOf(*series_[next]));
    }
  }
  return next < series_.size();
}

SeriesInfo SeriesIndex::InfoOf(const Series& series) {
  internal::DecodedSeriesKey key;
  key.Decode(series.key);
  SeriesInfo info{std::string(key.db), std::string(key.measurement), {}, std::string(key.field),
                  series.type};
  info.tags.reserve(key.tags.size());
  for (const TagView& tag : key.tags) {
    info.tags.push_back({std::string(tag.key), std::string(tag.value)});
  }
  return info;
}

}  // namespace tidewatch::store
