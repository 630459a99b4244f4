// FieldRings: one bounded MPMC ring per measurement field, the hop between the
// sources (Kafka, HTTP, simulator) and the evaluation workers.
//
// Each (measurement, field) gets its own ring, with its own capacity and overflow
// policy (defaults plus per-field overrides from config), created the first time the
// field is seen, up to `max_fields` rings; past that FieldFor() fails with
// kResourceExhausted and the refusal is counted.
//
// Multi-field records. A line such as `boiler,unit=1 temp=81.5,pressure=2.1 <ts>` puts
// one entry into the `temp` ring and one into the `pressure` ring. Consumers pop rings
// independently and several consumers pop the same ring, so the n-th entry of one ring
// is in general NOT from the same record as the n-th entry of another (the seed's
// mis-pairing flaw). Every entry therefore carries its record's sequence number, unique
// across all writers, and the number of values in its record; RecordAssembler groups
// entries by that number and so can never pair values of different records.
//
// Thread safety: FieldRings is safe for concurrent use. FieldFor() is lock-free and
// allocation-free for a field that exists; creating a field takes a mutex that lookups
// never wait on. The rings are MpmcRing (any number of producers and consumers).
// RecordWriter and RecordAssembler are per-thread objects: not thread-safe, one per
// producer / consumer thread.
#ifndef TIDEWATCH_STORE_FIELD_RINGS_H_
#define TIDEWATCH_STORE_FIELD_RINGS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/mpmc_ring.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::store {

// One value on its way to the store. 40 bytes, trivially copyable.
struct FieldEntry {
  std::uint64_t record_seq = 0;    // the record it came from; unique across writers
  std::int64_t ts = 0;             // event time, ns since the epoch
  double value = 0;                // floats, integers and booleans as double
  SeriesId series = 0;             // the series this value belongs to
  std::uint32_t record_fields = 0; // how many values its record has, across all rings
  // Opaque to the store: the source's completion ticket for the message the value came
  // from (ingest/ticket_table.h); 0 when the source does not track completion.
  std::uint32_t ticket = 0;
};

struct FieldRingOptions {
  // Entries the ring holds; a power of two. Memory is capacity * 40 bytes, allocated
  // when the field is first seen. Larger absorbs longer stalls of the workers before
  // sources are paused; smaller bounds memory. Default 8192 (320 KiB per field).
  std::size_t capacity = 8192;
  // kReject (default): a full ring makes the source back off (Kafka: pause the
  // partition; HTTP: 503). kDropOldest: for fields configured lossy; drops are counted.
  OverflowPolicy policy = OverflowPolicy::kReject;
};

struct FieldRingOverride {
  std::string measurement;
  std::string field;
  FieldRingOptions options;
};

struct FieldRingsOptions {
  FieldRingOptions defaults;               // for every field without an override
  std::vector<FieldRingOverride> overrides;
  // Upper bound on distinct (measurement, field) rings. Bounds memory at
  // max_fields * capacity * 40 bytes. Default 1024.
  std::size_t max_fields = 1024;
};

class FieldRings {
 public:
  using Ring = MpmcRing<FieldEntry>;

  // Throws std::invalid_argument if a capacity is not a power of two >= 2 or
  // max_fields is 0 (configuration is validated at startup).
  explicit FieldRings(FieldRingsOptions options);
  ~FieldRings();

  FieldRings(const FieldRings&) = delete;
  FieldRings& operator=(const FieldRings&) = delete;

  // The ring id of (measurement, field), creating the ring on first sight.
  // Errors: kResourceExhausted if creating it would exceed max_fields (counted in
  // fields_rejected()). An existing field is found without lock or allocation.
  StatusOr<FieldId> FieldFor(std::string_view measurement, std::string_view field);

  // The ring of a field. REQUIRES: id was returned by FieldFor().
  Ring& ring(FieldId id) { return rings_by_id_[id].load(std::memory_order_acquire)->ring; }

  // The names a field id stands for. REQUIRES: id was returned by FieldFor().
  std::string_view measurement(FieldId id) const;
  std::string_view field(FieldId id) const;

  // Number of rings created so far; ids are 0 .. field_count() - 1.
  std::size_t field_count() const { return field_count_.load(std::memory_order_acquire); }
  // The most rings there can be; every id is below it.
  std::size_t max_fields() const { return options_.max_fields; }
  std::uint64_t fields_rejected() const { return fields_rejected_.load(std::memory_order_relaxed); }

 private:
  friend class RecordWriter;

  struct Field {
    Field(std::string m, std::string f, std::size_t h, FieldId i, const FieldRingOptions& o)
        : measurement(std::move(m)), field(std::move(f)), hash(h), id(i), ring(o.capacity, o.policy) {}

    const std::string measurement;
    const std::string field;
    const std::size_t hash;
    const FieldId id;
    Ring ring;
  };

  static std::size_t Hash(std::string_view measurement, std::string_view field);
  // Lock-free probe of the hash table; nullptr if absent.
  Field* Find(std::string_view measurement, std::string_view field, std::size_t hash) const;
  const FieldRingOptions& OptionsFor(std::string_view measurement, std::string_view field) const;
  std::uint64_t NextWriterId() { return next_writer_id_.fetch_add(1, std::memory_order_relaxed); }

  // Constant after construction.
  const FieldRingsOptions options_;
  const std::size_t table_mask_;
  // Open-addressing hash table (linear probing) of at least 2 * max_fields slots, so
  // it never fills. Slots go from nullptr to a Field exactly once, under create_mu_,
  // with a release store; lookups acquire-load them without locking.
  const std::unique_ptr<std::atomic<Field*>[]> table_;
  // Field by id, published the same way before field_count_ is raised.
  const std::unique_ptr<std::atomic<Field*>[]> rings_by_id_;

  std::mutex create_mu_;  // serialises creation; never taken by lookups
  std::vector<std::unique_ptr<Field>> owned_;  // guarded by create_mu_

  std::atomic<std::size_t> field_count_{0};
  std::atomic<std::uint64_t> fields_rejected_{0};
  std::atomic<std::uint64_t> next_writer_id_{0};
};

// Pushes records into FieldRings with record sequence numbers unique across writers:
// the writer's id in the top 24 bits, its own counter in the low 40 (a trillion
// records per writer). One per producer thread.
class RecordWriter {
 public:
  explicit RecordWriter(FieldRings& rings);

  // Starts a record of `value_count` values, all with event time `ts`, carrying
  // `ticket` (see FieldEntry::ticket).
  // REQUIRES: value_count >= 1, and exactly that many successful Push() calls follow.
  void BeginRecord(std::int64_t ts, std::uint32_t value_count, std::uint32_t ticket = 0);

  // Pushes one value of the current record into `field`'s ring. Returns false when the
  // ring refused it (kReject and full): nothing was written; back off and call again
  // with the same value. The other values of the record are unaffected.
  bool Push(FieldId field, SeriesId series, double value);

  std::uint64_t record_seq() const { return current_.record_seq; }

 private:
  static constexpr int kCounterBits = 40;

  FieldRings& rings_;
  const std::uint64_t writer_bits_;
  std::uint64_t next_counter_ = 0;
  FieldEntry current_;
};

struct AssembledValue {
  FieldId field = 0;
  SeriesId series = 0;
  double value = 0;
};

struct AssembledRecord {
  std::uint64_t record_seq = 0;
  std::int64_t ts = 0;
  // True when every value of the record is here. A partial record (false) holds only
  // values of this record: its other values were popped by another consumer.
  bool complete = false;
  std::vector<AssembledValue> values;  // in arrival order
};

// Rebuilds records from the rings of a set of fields. One per consumer thread.
//
// With one consumer per ring every record comes out complete. With several consumers
// on the same rings a record's values may be split between them; each then holds a
// part that can never complete, and hands it out as a partial record when
// FlushPartial() is called or when more than `max_pending` records are waiting.
// Either way a record never contains a value of another record.
class RecordAssembler {
 public:
  // REQUIRES: every id in `fields` was returned by rings.FieldFor(); max_pending >= 1.
  RecordAssembler(FieldRings& rings, std::vector<FieldId> fields, std::size_t max_pending = 4096);

  // Pops up to `batch` entries from each field's ring and appends every record that
  // became complete to `out`; if more than max_pending records are then incomplete,
  // appends them to `out` as partial records too. Returns the number of entries popped.
  std::size_t Poll(std::vector<AssembledRecord>& out, std::size_t batch = 64);

  // Appends every incomplete record to `out` as partial and forgets it.
  void FlushPartial(std::vector<AssembledRecord>& out);

  std::size_t pending() const { return pending_.size(); }

 private:
  void Add(FieldId field, const FieldEntry& entry, std::vector<AssembledRecord>& out);

  FieldRings& rings_;
  const std::vector<FieldId> fields_;
  const std::size_t max_pending_;
  std::vector<FieldEntry> scratch_;  // pop buffer, reused across polls
  std::unordered_map<std::uint64_t, AssembledRecord> pending_;  // by record_seq
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_FIELD_RINGS_H_
