// PartitionPipeline: one assigned Kafka partition's way into the field rings, in offset
// order, surviving full rings, a full ticket table and a full dead-letter queue.
//
// A staged message (PendingMessage) goes through three steps, each of which may have to
// wait: take a ticket for its points (+1 if it owes a dead letter) and record it in the
// partition's progress; hand its dead letter to the producer; push its points through
// the partition's RecordWriter. Submit() runs the steps at once when nothing of the
// partition is waiting; otherwise, or if a step is refused, the message joins the
// partition's queue and the caller pauses the partition (backpressure without blocking
// the poll loop). Retry() resumes the queue in order. Nothing is dropped: a queued
// message keeps all its unpushed points, and its key and value if its dead letter has
// not been accepted yet.
//
// Each partition has its own RecordWriter: a record interrupted by a full ring must be
// finished on the writer that began it, while other partitions keep writing records.
//
// Abandon() is for revocation and shutdown when the queue cannot drain in time: it
// completes the never-pushed share of every queued ticket, so the ticket table stays
// consistent, and hands back the partition's progress so its remaining tickets can be
// released once the workers are done with the points already pushed.
//
// Thread safety: not thread-safe; owned by the source's consumer thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_PARTITION_PIPELINE_H_
#define TIDEWATCH_INGEST_INTERNAL_PARTITION_PIPELINE_H_

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ingest/dead_letter.h"
#include "ingest/internal/message_stager.h"
#include "ingest/internal/source_shared.h"
#include "ingest/partition_progress.h"
#include "ingest/ticket_table.h"
#include "store/field_rings.h"

namespace tidewatch::ingest::internal {

// A consumed message on its way into the rings.
struct PendingMessage {
  static constexpr std::size_t kNoRecord = std::numeric_limits<std::size_t>::max();

  std::int64_t offset = 0;
  std::vector<StagedPoint> points;
  std::size_t next = 0;                  // points before `next` are in the rings
  std::size_t record_begun = kNoRecord;  // index of the point whose record is begun
  std::optional<Ticket> ticket;          // nullopt until the table had room
  bool dead_letter_owed = false;         // not yet accepted by the producer
  std::string error;                     // the tidewatch-error header when owed
  // Copies of the message's key and value, made when the dead letter has to wait.
  bool copied = false;
  std::optional<std::string> key;
  std::optional<std::string> value;

  // The ticket's count: every point, plus one for the dead letter's delivery.
  std::uint32_t ticket_points() const {
    return static_cast<std::uint32_t>(points.size()) + (dead_letter_owed ? 1u : 0u);
  }
  // Back to empty, keeping the points buffer.
  void Reset();
};

class PartitionPipeline {
 public:
  // `dead_letters` may be null (no dead-letter topic). REQUIRES: every reference outlives
  // the pipeline.
  PartitionPipeline(std::string topic, std::int32_t partition, store::FieldRings& rings,
                    TicketTable& tickets, DeadLetterProducer* dead_letters,
                    SourceCounters& counters);
  PartitionPipeline(const PartitionPipeline&) = delete;
  PartitionPipeline& operator=(const PartitionPipeline&) = delete;

  // Runs `message` (consumed from `live`, which must stay valid during the call) as far
  // as it goes. True: fully handed over (`message` may be reused). False: it waits in
  // the queue (`message` was moved from and reset); the caller pauses the partition.
  bool Submit(PendingMessage& message, const rd_kafka_message_t& live);

  // Runs the queue in order as far as it goes; true when it is empty.
  bool Retry();

  // Retires completed messages; the new committable offset if it moved.
  std::optional<std::int64_t> Advance() { return progress_.Advance(tickets_); }

  // The next offset to consume such that everything before it is fully processed: from
  // the progress, else snapshot_start; nullopt if neither is known.
  std::optional<std::int64_t> committable() const {
    return progress_.committable() ? progress_.committable() : snapshot_start;
  }

  // Nothing waiting and nothing in flight.
  bool idle() const { return queue_.empty() && progress_.in_flight() == 0; }
  bool blocked() const { return !queue_.empty(); }

  // Gives up the queue (see the file comment) and returns the progress, whose in-flight
  // tickets the caller releases as they complete. The pipeline is empty afterwards.
  PartitionProgress Abandon();

  const std::string& topic() const { return topic_; }
  std::int32_t partition() const { return partition_; }

  // Consumer-loop bookkeeping.
  bool paused = false;
  std::optional<std::int64_t> stored;          // last offset given to rd_kafka_offsets_store
  std::optional<std::int64_t> snapshot_start;  // started here from a snapshot's offsets
  std::int64_t next_offset = -1;               // one past the last message consumed
  std::optional<std::int64_t> first_offset;    // of the first message consumed

 private:
  bool Drive(PendingMessage& message, const rd_kafka_message_t* live);
  void CopyPayload(PendingMessage& message, const rd_kafka_message_t& live);

  const std::string topic_;
  const std::int32_t partition_;
  TicketTable& tickets_;
  DeadLetterProducer* const dead_letters_;
  SourceCounters& counters_;

  store::RecordWriter writer_;
  PartitionProgress progress_;
  std::deque<PendingMessage> queue_;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_PARTITION_PIPELINE_H_
