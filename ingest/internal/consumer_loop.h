// ConsumerLoop: the body of a Kafka source's consumer thread. It owns the librdkafka
// high-level consumer and the pipelines of the partitions assigned to it, and does, once
// per RunOnce(): poll a batch of messages (serving rebalances), stage and submit each to
// its partition's pipeline, retry what waits, advance every partition's committable
// offset, and store offsets for auto-commit.
//
// Offsets. enable.auto.offset.store=false and enable.auto.commit=true: librdkafka's
// committer commits, every auto.commit.interval.ms and when partitions are revoked, only
// offsets this loop stored with rd_kafka_offsets_store(), and the loop stores nothing
// that is not fully processed. Which offsets it stores:
//   - commit_without_snapshot=false (default): only offsets the daemon hands back through
//     SourceShared::RequestCommit() after a durable snapshot, capped at what the
//     partition has processed in its current assignment;
//   - commit_without_snapshot=true: every partition's processed offset as it moves.
// No explicit rd_kafka_commit() anywhere. In librdkafka 2.0.2 an OffsetCommit sent
// while a cooperative rebalance bumps the generation fails with ILLEGAL_GENERATION and
// makes the consumer rejoin and lose its assignment (confluentinc/librdkafka#4059, fixed
// in 2.10); application commits timed by our own loop, or issued from the rebalance
// callback as manual-commit code usually does, hit that window the most. The commits
// are left to librdkafka: its timer, and the commit of a revoked partition's stored
// offset it makes itself while unassigning. Should one of those still lose the
// assignment, the loss is served as a revocation with lost=true (nothing stored, work
// drained or abandoned) and the next assignment resumes from the committed offsets:
// redelivery, never a gap.
//
// Rebalances (cooperative-sticky, so incremental_assign/unassign; the eager protocols
// are handled too if a user overrides the assignor). On assignment a partition starts at
// its offset from SetStartOffsets() if it has one (used once), else at the committed
// offset. On revocation its in-flight work is drained, bounded by drain_timeout; what is
// still stuck after that is abandoned (PartitionPipeline::Abandon) and will be consumed
// again by the next owner from the last committed offset, which never passes it.
//
// Statistics. Each staged message is also counted under its topic (SourceShared::Topic;
// the counters of the last topic are kept at hand, so a message costs no lookup while
// the topic repeats). At most once per kWatermarkInterval an iteration publishes the
// high watermark of every assigned partition as librdkafka last saw it in a fetch
// response (rd_kafka_get_watermark_offsets: cached, no broker round trip; unknown until
// the partition's first fetch, and not updated while it is paused), for the lag metric.
//
// Thread safety: every member function runs on the consumer thread, except Create() and
// Subscribe(), which run before it starts.
#ifndef TIDEWATCH_INGEST_INTERNAL_CONSUMER_LOOP_H_
#define TIDEWATCH_INGEST_INTERNAL_CONSUMER_LOOP_H_

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ingest/dead_letter.h"
#include "ingest/internal/log_limiter.h"
#include "ingest/internal/message_stager.h"
#include "ingest/internal/partition_pipeline.h"
#include "ingest/internal/rdkafka_handles.h"
#include "ingest/internal/source_shared.h"
#include "ingest/partition_progress.h"
#include "ingest/ticket_table.h"
#include "store/field_rings.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::ingest::internal {

struct ConsumerLoopOptions {
  std::string name;  // for logs: "kafka source <group_id>#<ticket table index>"
  bool commit_without_snapshot = false;
  std::chrono::milliseconds drain_timeout{5000};
};

// What the loop works with; everything must outlive it. dead_letters may be null.
struct ConsumerLoopDeps {
  MessageStager* stager = nullptr;
  store::FieldRings* rings = nullptr;
  TicketTable* tickets = nullptr;
  DeadLetterProducer* dead_letters = nullptr;
  SourceShared* shared = nullptr;
};

class ConsumerLoop {
 public:
  // Creates the consumer from `conf` (which must hold every setting but the callbacks).
  // Errors: kInvalidArgument from librdkafka.
  static StatusOr<std::unique_ptr<ConsumerLoop>> Create(KafkaConf conf, ConsumerLoopOptions options,
                                                        ConsumerLoopDeps deps);
  ~ConsumerLoop();
  ConsumerLoop(const ConsumerLoop&) = delete;
  ConsumerLoop& operator=(const ConsumerLoop&) = delete;

  // Partitions found here start at the given offset on their first assignment.
  // REQUIRES: before the consumer thread starts.
  void SetStartOffsets(store::SnapshotOffsets offsets) { start_offsets_ = std::move(offsets); }

  // Subscribes to `topics` (names, or regexes starting with '^'). Errors: kInvalidArgument
  // with librdkafka's reason.
  Status Subscribe(const std::vector<std::string>& topics);

  // One iteration; returns within about 100 ms when nothing happens.
  void RunOnce();

  // Starts draining: pauses every assigned partition (and any assigned later) and
  // stages no more messages; RunOnce() goes on polling, serving rebalances, and waits
  // for the work in flight, up to drain_timeout. Idempotent.
  void StartDrain();
  // Draining is over: everything in flight is processed, or drain_timeout passed. From
  // then on nothing more is pushed into the rings and the processed offsets published
  // through SourceShared no longer move (stragglers after a timeout are not counted).
  bool drained() const { return drained_; }

  // Drains (bounded by drain_timeout; not again after StartDrain()), stores final
  // offsets if allowed, closes the consumer (leaving the group; librdkafka commits the
  // stored offsets as it revokes the partitions) and the dead-letter producer. The loop
  // is done after.
  void Close();

 private:
  using Clock = std::chrono::steady_clock;

  ConsumerLoop(ConsumerLoopOptions options, ConsumerLoopDeps deps);

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  // Client-level errors (brokers down, authentication, fatal): counted and logged.
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);
  void Assign(rd_kafka_topic_partition_list_t* partitions);
  // Drains, then finishes the pipelines; offsets are stored unless the assignment was
  // lost (another member may own the partitions already).
  void Revoke(const std::vector<PartitionPipeline*>& pipelines, bool lost);
  std::vector<PartitionPipeline*> PipelinesOf(const rd_kafka_topic_partition_list_t& partitions);
  std::vector<PartitionPipeline*> AllPipelines();

  void Handle(const rd_kafka_message_t& message);
  void HandleError(const rd_kafka_message_t& message);
  void LogRejected(const PartitionPipeline& pipeline, std::int64_t offset,
                   const std::string& error);

  void Pause(PartitionPipeline& pipeline, bool pause);
  // Pauses the whole current assignment (draining).
  void PauseAssignment();
  // Ends the drain once every pipeline is idle or the deadline has passed.
  void CheckDrained();
  // Retries every blocked pipeline, resuming those that drained; true if any still waits.
  bool RetryBlocked();
  // Advances every pipeline and the orphaned progress; publishes moved offsets.
  void Advance();
  void ApplyCommitRequests();
  // Hands (pipeline, offset) pairs to rd_kafka_offsets_store.
  void StoreOffsets(const std::vector<std::pair<PartitionPipeline*, std::int64_t>>& offsets);
  // Runs the pipelines until they are idle or the deadline passes.
  void Drain(const std::vector<PartitionPipeline*>& pipelines, Clock::time_point deadline);
  // Final offsets, resume, abandon, forget: the pipeline is gone afterwards.
  void Finish(PartitionPipeline& pipeline, bool store_offset);
  void CheckSeriesGeneration();
  // Counts a staged message of `topic` in SourceShared's per-topic counters.
  void CountTopic(const std::string& topic, std::size_t bytes, std::size_t points);
  // Publishes the assigned partitions' cached high watermarks, at most once per
  // kWatermarkInterval.
  void RefreshWatermarks();

  // Constant after construction.
  const ConsumerLoopOptions options_;
  const ConsumerLoopDeps deps_;

  KafkaHandle consumer_;
  store::SnapshotOffsets start_offsets_;  // consumed as partitions are assigned
  std::unordered_map<std::string, std::unique_ptr<PartitionPipeline>> pipelines_;  // by key
  std::vector<PartitionProgress> orphans_;  // abandoned progress awaiting its tickets
  PendingMessage scratch_;                  // the message being staged, reused
  std::string key_scratch_;
  std::uint64_t series_generation_ = 0;
  bool blocked_ = false;   // some pipeline waits: poll briefly
  bool draining_ = false;  // StartDrain() was called: stage nothing more
  bool drained_ = false;   // the drain is over: push nothing, publish no offsets
  Clock::time_point drain_deadline_{};
  bool closing_ = false;          // Close() runs: keep processed offsets
  bool consumer_closed_ = false;  // rd_kafka_consumer_close() returned
  bool closed_ = false;
  Clock::time_point close_deadline_{};
  LogLimiter reject_log_;
  LogLimiter error_log_;

  std::string counted_topic_;                // the topic topic_counters_ belongs to
  TopicCounters* topic_counters_ = nullptr;  // SourceShared's; null before the first
  Clock::time_point next_watermarks_{};      // when RefreshWatermarks() may run again
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_CONSUMER_LOOP_H_
