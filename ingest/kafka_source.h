// KafkaSource: consumes measurements from Kafka topics into the field rings, at least
// once (ARCHITECTURE.md, guarantees 1-3).
//
// One librdkafka high-level consumer in a consumer group (cooperative-sticky), one
// consumer thread per source. For each message the thread decodes the payload (InfluxDB
// "line" protocol, or "json" through a JsonMapping), interns each point's series, takes a ticket
// from the source's TicketTable for the message's points and pushes every point into its field's
// ring with that ticket. The evaluation workers store the points and complete the
// ticket; a partition's processed offset moves past a message only when it and every
// earlier message of the partition are complete.
//
// Offsets and durability. The window store is only durable once the daemon snapshots
// it, so by default the source commits nothing on its own: ProcessedOffsets() tells the
// daemon what the store holds, the daemon snapshots it together with those offsets, and
// hands them back with CommitOffsets() once the snapshot is durable. librdkafka's
// auto-committer then sends them (see internal/consumer_loop.h for why there are no
// explicit commits). With commit_without_snapshot the source commits processed offsets
// itself, for tests and deployments without checkpoints: a crash then loses the points
// the store held, as their offsets are committed already. A restart from a snapshot
// calls SetStartOffsets() so that its partitions resume where the snapshot ends.
//
// Backpressure: a full ring, a full ticket table or a full dead-letter queue pauses the
// partition concerned (rd_kafka_pause_partitions) while the thread keeps polling, so the
// consumer stays in its group; the waiting points are retried every iteration and the
// partition resumes once they are in. Nothing is dropped.
//
// Bad input: see RejectReason (ingest/dead_letter.h) and internal/message_stager.h. A
// rejected message is counted per topic and reason, logged at a bounded rate and, if a
// dead-letter topic is configured, written there; its offset becomes committable once
// the dead letter is acknowledged (or definitively failed, counted), so the partition
// moves on.
//
// Thread safety: Start(), Drain(), Stop() and the destructor from one owning thread.
// ProcessedOffsets(), CommitOffsets(), InvalidateSeriesCache() and stats() from any
// thread. SetStartOffsets() before Start().
#ifndef TIDEWATCH_INGEST_KAFKA_SOURCE_H_
#define TIDEWATCH_INGEST_KAFKA_SOURCE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ingest/dead_letter.h"
#include "ingest/internal/source_shared.h"
#include "ingest/json_decoder.h"
#include "ingest/ticket_table.h"
#include "store/field_rings.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::ingest {

namespace internal {
class ConsumerLoop;
class MessageStager;
}  // namespace internal

// One [[kafka.sources]] entry of the TOML config; the field names are the keys.
struct KafkaSourceConfig {
  // bootstrap.servers: "host:port[,host:port...]". Required.
  std::string brokers;
  // The consumer group; scale out by running more daemons in the same group. Required.
  std::string group_id;
  // Topic names, or regular expressions when they start with '^' ("^sensors\\..*"),
  // matched against the cluster's topics as they come and go. At least one.
  std::vector<std::string> topics;
  // Payload format of every topic of this source: "line" (InfluxDB line protocol) or
  // "json" (one object or an array of objects per message, docs/JSON_PAYLOADS.md).
  std::string format = "line";
  // Mapping for format "json" (ingest/json_decoder.h, the [kafka.json] section);
  // required for "json", ignored for "line".
  std::optional<JsonMapping> json;
  // The InfluxDB database (tenant) the points are written to. Default "kafka".
  std::string database = "kafka";
  // Unit of line protocol timestamps, as InfluxDB's precision parameter: "n"/"ns",
  // "u"/"us", "ms", "s", "m", "h". Default "ns" (Telegraf's). Unused for "json" (see
  // JsonMapping::timestamp_unit) but checked all the same.
  std::string precision = "ns";
  // Where rejected messages go (same cluster). Unset: they are only counted and logged.
  std::optional<std::string> dead_letter_topic;
  // Raw librdkafka consumer settings, applied after ours, so they win; e.g. security
  // (sasl.*, ssl.*), session.timeout.ms, fetch.max.bytes, or any of ours
  // (KafkaSourceConsumerDefaults()). Also applied to the dead-letter
  // producer (librdkafka ignores, with a warning, consumer-only ones there).
  // enable.auto.commit and enable.auto.offset.store are refused: the at-least-once
  // scheme depends on them.
  std::map<std::string, std::string> properties;
  // Raw librdkafka settings for the dead-letter producer only, applied after
  // `properties` (e.g. queue.buffering.max.messages).
  std::map<std::string, std::string> dead_letter_properties;
  // Messages with a longer value are rejected unread (kOversized). Bounds the work and
  // memory one message can cost. Default 1 MiB.
  std::size_t max_message_bytes = std::size_t{1} << 20;
  // Messages in flight (consumed, not yet fully stored) at most; more pauses the
  // partitions. 12 bytes each plus the queue entries. Larger rides out longer worker
  // stalls; smaller bounds redelivery after a crash. Default 65536; at most 2^24.
  std::uint32_t ticket_capacity = 65536;
  // True: commit processed offsets without waiting for a snapshot (see the file
  // comment). Default false.
  bool commit_without_snapshot = false;
  // How long a revocation or Stop() waits for in-flight messages before abandoning them
  // to be consumed again (by the next owner, or after a restart). Default 5 s; keep it
  // well below max.poll.interval.ms.
  std::chrono::milliseconds drain_timeout_ms{5000};
};

// The librdkafka consumer settings a source sets for itself besides the connection, the
// group and the offset handling: cooperative-sticky assignment, auto.offset.reset
// earliest, fetch.wait.max.ms 100, queued.min.messages 1,000,000 (see kafka_source.cc
// for why). KafkaSourceConfig::properties override them. Exposed so that a benchmark
// can give a bare consumer the very same settings.
std::map<std::string, std::string> KafkaSourceConsumerDefaults();

// Ingest counts of one topic (KafkaSourceStats::per_topic).
struct TopicCounts {
  std::uint64_t messages = 0;  // consumed, good or bad
  std::uint64_t points = 0;    // decoded and handed to the rings (see KafkaSourceStats)
  std::uint64_t bytes = 0;     // message values (payloads), keys and headers left out
  bool operator==(const TopicCounts&) const = default;
};

// Counters only grow (for the life of the source); the maps are copies taken by stats().
struct KafkaSourceStats {
  std::uint64_t messages = 0;           // consumed, good or bad
  std::uint64_t points = 0;             // pushed into the rings
  std::uint64_t string_fields = 0;      // string values: counted, not stored
  std::uint64_t bad_lines = 0;          // malformed or out-of-range lines
  std::uint64_t points_refused = 0;     // by the store or the rings
  std::uint64_t messages_rejected = 0;  // with at least one reject reason
  std::uint64_t pauses = 0;             // partition pauses for backpressure
  std::uint64_t points_abandoned = 0;   // never pushed (revocation, Stop); consumed again
  std::uint64_t consumer_errors = 0;    // error events from librdkafka
  std::uint64_t rebalances = 0;         // assignment changes served
  DeadLetterStats dead_letters;         // zeros without a dead-letter topic
  // Rejected messages per topic and reason (a message counts once per reason it has).
  std::map<std::string, RejectCounts> rejected;
  // Per topic: its share of `messages`, the points decoded from them for the rings
  // (pushed, unless a revocation or Stop() abandons them first, see points_abandoned),
  // and their payload bytes. Topics appear once a message of theirs is consumed.
  std::map<std::string, TopicCounts> per_topic;
  // "topic/partition" -> high watermark (the offset the next produced message gets) of
  // the partitions assigned to this source, as librdkafka last saw it in a fetch
  // response; refreshed by the consumer thread about once a second, so up to ~1 s
  // plus a fetch behind. Absent while unknown (before the partition's first fetch).
  // The consumer lag of a partition is its high watermark minus its processed offset
  // (KafkaSource::ProcessedOffsets()); the two are read at different moments, so the
  // difference may be briefly negative and is best clamped at 0.
  std::map<std::string, std::int64_t> high_watermarks;
};

class KafkaSource {
 public:
  // A source writing into `store` through `rings`, owning the ticket table with index
  // `ticket_table_index` (wire tickets() into the EvaluationWorkers). Builds the
  // librdkafka clients but does not connect. Errors (kInvalidArgument): a missing
  // required option, an unknown format or precision, format "json" without a `json`
  // mapping or with one JsonDecoder::Create() refuses ("json: <what>"), ticket_capacity
  // or ticket_table_index out of range, max_message_bytes 0, a
  // librdkafka property that is unknown, invalid or refused.
  // REQUIRES: store and rings outlive the source.
  static StatusOr<std::unique_ptr<KafkaSource>> Create(KafkaSourceConfig config,
                                                       store::Store& store,
                                                       store::FieldRings& rings,
                                                       std::uint32_t ticket_table_index);

  // Stop(). REQUIRES: the EvaluationWorkers given tickets() are stopped first (they
  // complete tickets of this table).
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Partitions named here ("topic/partition" -> offset, as from Store::Restore) start at
  // that offset on their first assignment, instead of the group's committed offset.
  // REQUIRES: before Start().
  void SetStartOffsets(store::SnapshotOffsets offsets);

  // Subscribes and starts the consumer thread. Errors: kInvalidArgument if subscribing
  // fails (e.g. a bad regex); kInternal if already started. A source starts once.
  Status Start();

  // The first half of a clean shutdown. Stops taking new messages (pauses every assigned
  // partition, and any assigned later, and stages nothing more) and waits up to
  // drain_timeout_ms for the messages in flight to be processed. The consumer stays in
  // its group and keeps serving rebalances until Stop(). When Drain() returns the source
  // pushes nothing more into the rings (the evaluation workers may be stopped) and
  // ProcessedOffsets() is final: should the drain time out, messages still in flight are
  // left out of it even if they complete later, and are consumed again after a restart.
  // The shutdown sequence is then: Drain() every source, stop the workers, snapshot the
  // store with ProcessedOffsets(), CommitOffsets() with them, Stop(): the group's
  // committed offsets then equal the snapshot's. Returns at once if not started or
  // already stopped; idempotent. Owner thread only.
  void Drain();

  // Stops polling, waits up to drain_timeout_ms for in-flight messages (abandoning the
  // rest, counted in points_abandoned; no second wait after Drain()), stores final
  // offsets if commit_without_snapshot, leaves the group and joins the thread. Offsets
  // handed to CommitOffsets() before Stop() are stored and committed as the consumer
  // closes (librdkafka's auto-committer commits the stored offsets of the partitions it
  // revokes while leaving the group); none past unprocessed data ever are.
  // ProcessedOffsets() keeps its last value for the shutdown snapshot. Idempotent.
  void Stop();

  // A copy of "topic/partition" -> next offset, for the partitions assigned to this
  // source (and, after Stop(), those it had): every message before that offset is fully
  // processed (stored and seen by the rules) or rejected and dead-lettered.
  store::SnapshotOffsets ProcessedOffsets() const;

  // Offsets the daemon made durable (a snapshot taken after ProcessedOffsets()). The
  // consumer thread stores them within one loop iteration for the partitions still
  // assigned, capped at what they processed; auto-commit sends them. Returns at once.
  void CommitOffsets(const store::SnapshotOffsets& offsets);

  // Tells the source that the store evicted or removed series (after
  // Store::RunMaintenance reported series_evicted > 0, a Delete or a DROP): the consumer
  // thread drops its cached series ids before its next batch. Until then a point of an
  // evicted series may still carry the old id (the store then counts it as an unknown
  // series, as for any Intern/Append race).
  void InvalidateSeriesCache();

  KafkaSourceStats stats() const;

  // The table this source takes tickets from; for EvaluationWorkers.
  TicketTable& tickets() { return tickets_; }

 private:
  KafkaSource(KafkaSourceConfig config, std::uint32_t ticket_table_index);
  void Run();

  // Constant after construction.
  const KafkaSourceConfig config_;

  // Destroyed in reverse order: the loop uses all of these, the producer's delivery
  // reports complete tickets.
  TicketTable tickets_;
  internal::SourceShared shared_;
  std::unique_ptr<internal::MessageStager> stager_;
  std::unique_ptr<DeadLetterProducer> dead_letters_;
  std::unique_ptr<internal::ConsumerLoop> loop_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> drain_requested_{false};  // set by Drain()
  std::atomic<bool> drained_{false};          // set by the consumer thread, then notified
  std::thread thread_;                        // owner thread only
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_KAFKA_SOURCE_H_
