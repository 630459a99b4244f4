#include "store/field_rings.h"

#include <bit>
#include <cassert>
#include <functional>
#include <stdexcept>
#include <utility>

namespace tidewatch::store {

namespace {

void ValidateRingOptions(const FieldRingOptions& o, std::string_view what) {
  if (o.capacity < 2 || !std::has_single_bit(o.capacity)) {
    throw std::invalid_argument(std::string(what) + ": ring capacity " +
                                std::to_string(o.capacity) + " is not a power of two >= 2");
  }
}

const FieldRingsOptions& Validated(const FieldRingsOptions& options) {
  if (options.max_fields == 0) throw std::invalid_argument("max_fields must be at least 1");
  ValidateRingOptions(options.defaults, "default field ring");
  for (const FieldRingOverride& o : options.overrides) {
    ValidateRingOptions(o.options, "field ring " + o.measurement + "." + o.field);
  }
  return options;
}

}  // namespace

FieldRings::FieldRings(FieldRingsOptions options)
    : options_(Validated(options)),
      table_mask_(std::bit_ceil(2 * options_.max_fields) - 1),
      table_(std::make_unique<std::atomic<Field*>[]>(table_mask_ + 1)),
      rings_by_id_(std::make_unique<std::atomic<Field*>[]>(options_.max_fields)) {}

FieldRings::~FieldRings() = default;

std::size_t FieldRings::Hash(std::string_view measurement, std::string_view field) {
  const std::hash<std::string_view> h;
  // boost::hash_combine; hashing the halves separately keeps ("ab","c") != ("a","bc").
  const std::size_t a = h(measurement);
  return a ^ (h(field) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

FieldRings::Field* FieldRings::Find(std::string_view measurement, std::string_view field,
                                    std::size_t hash) const {
  for (std::size_t i = hash & table_mask_;; i = (i + 1) & table_mask_) {
    // Acquire: pairs with the release store in FieldFor() so the Field's contents are
    // visible before we read them.
    Field* f = table_[i].load(std::memory_order_acquire);
    if (f == nullptr) return nullptr;  // the table is never full, so probing ends here
    if (f->hash == hash && f->measurement == measurement && f->field == field) return f;
  }
}

const FieldRingOptions& FieldRings::OptionsFor(std::string_view measurement,
                                               std::string_view field) const {
  for (const FieldRingOverride& o : options_.overrides) {
    if (o.measurement == measurement && o.field == field) return o.options;
  }
  return options_.defaults;
}

StatusOr<FieldId> FieldRings::FieldFor(std::string_view measurement, std::string_view field) {
  const std::size_t hash = Hash(measurement, field);
  if (const Field* f = Find(measurement, field, hash)) return f->id;

  std::lock_guard lock(create_mu_);
  // Another thread may have created it while we waited.
  if (const Field* f = Find(measurement, field, hash)) return f->id;
  const std::size_t count = field_count_.load(std::memory_order_relaxed);
  if (count >= options_.max_fields) {
    fields_rejected_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kResourceExhausted,
                  "field limit reached: " + std::to_string(options_.max_fields) +
                      " field rings exist, cannot add " + std::string(measurement) + "." +
                      std::string(field) + " (raise max_fields)");
  }
  const auto id = static_cast<FieldId>(count);
  auto owned = std::make_unique<Field>(std::string(measurement), std::string(field), hash, id,
                                       OptionsFor(measurement, field));
  Field* f = owned.get();
  owned_.push_back(std::move(owned));

  std::size_t i = hash & table_mask_;
  while (table_[i].load(std::memory_order_relaxed) != nullptr) i = (i + 1) & table_mask_;
  // Release (all three): the Field is fully constructed before any reader can reach it
  // through the table, by id, or by seeing the raised count.
  rings_by_id_[id].store(f, std::memory_order_release);
  table_[i].store(f, std::memory_order_release);
  field_count_.store(count + 1, std::memory_order_release);
  return id;
}

std::string_view FieldRings::measurement(FieldId id) const {
  return rings_by_id_[id].load(std::memory_order_acquire)->measurement;
}

std::string_view FieldRings::field(FieldId id) const {
  return rings_by_id_[id].load(std::memory_order_acquire)->field;
}

RecordWriter::RecordWriter(FieldRings& rings)
    : rings_(rings), writer_bits_(rings.NextWriterId() << kCounterBits) {
  assert(writer_bits_ >> kCounterBits < (std::uint64_t{1} << (64 - kCounterBits)));
}

void RecordWriter::BeginRecord(std::int64_t ts, std::uint32_t value_count, std::uint32_t ticket) {
  assert(value_count >= 1);
  assert(next_counter_ < (std::uint64_t{1} << kCounterBits));
  current_.record_seq = writer_bits_ | next_counter_++;
  current_.ts = ts;
  current_.record_fields = value_count;
  current_.ticket = ticket;
}

bool RecordWriter::Push(FieldId field, SeriesId series, double value) {
  current_.series = series;
  current_.value = value;
  return rings_.ring(field).TryPush(current_);
}

RecordAssembler::RecordAssembler(FieldRings& rings, std::vector<FieldId> fields,
                                 std::size_t max_pending)
    : rings_(rings), fields_(std::move(fields)), max_pending_(max_pending) {
  assert(max_pending_ >= 1);
}

std::size_t RecordAssembler::Poll(std::vector<AssembledRecord>& out, std::size_t batch) {
  scratch_.resize(batch);
  std::size_t popped = 0;
  for (const FieldId field : fields_) {
    const std::size_t n = rings_.ring(field).TryPopN(scratch_.data(), batch);
    for (std::size_t i = 0; i < n; ++i) Add(field, scratch_[i], out);
    popped += n;
  }
  if (pending_.size() > max_pending_) FlushPartial(out);
  return popped;
}

void RecordAssembler::FlushPartial(std::vector<AssembledRecord>& out) {
  for (auto& [seq, record] : pending_) out.push_back(std::move(record));
  pending_.clear();
}

void RecordAssembler::Add(FieldId field, const FieldEntry& entry,
                          std::vector<AssembledRecord>& out) {
  auto [it, inserted] = pending_.try_emplace(entry.record_seq);
  AssembledRecord& record = it->second;
  if (inserted) {
    record.record_seq = entry.record_seq;
    record.ts = entry.ts;
  }
  // One record has one timestamp; a mismatch would mean two records share a sequence
  // number, which RecordWriter rules out.
  assert(record.ts == entry.ts);
  record.values.push_back({field, entry.series, entry.value});
  if (record.values.size() == entry.record_fields) {
    record.complete = true;
    out.push_back(std::move(record));
    pending_.erase(it);
  }
}

}  // namespace tidewatch::store
