// ConsumerLoop, part two: assignment changes (rebalances) and closing.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "ingest/internal/consumer_loop.h"

namespace tidewatch::ingest::internal {

void ConsumerLoop::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<ConsumerLoop*>(opaque)->Rebalance(rk, err, partitions);
}

// Runs inside rd_kafka_consumer_poll() or rd_kafka_consumer_close(), on the consumer
// thread.
void ConsumerLoop::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* partitions) {
  SourceCounters::Add(deps_.shared->counters.rebalances, 1);
  // cooperative-sticky is ours; a user may override the assignor with an eager one.
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  KafkaError error;
  rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
      Assign(partitions);
      if (cooperative) {
        error.reset(rd_kafka_incremental_assign(rk, partitions));
      } else {
        assign_err = rd_kafka_assign(rk, partitions);
      }
      if (draining_) PauseAssignment();  // new partitions too: nothing more is staged
      break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
      Revoke(PipelinesOf(*partitions), rd_kafka_assignment_lost(rk) != 0);
      if (cooperative) {
        error.reset(rd_kafka_incremental_unassign(rk, partitions));
      } else {
        assign_err = rd_kafka_assign(rk, nullptr);
      }
      break;
    default:
      // The group state is unknown: treat everything as lost and clear the assignment, as
      // librdkafka's documentation prescribes; the group will assign again.
      spdlog::error("{}: rebalance failed: {}", options_.name, rd_kafka_err2str(err));
      Revoke(AllPipelines(), /*lost=*/true);
      assign_err = rd_kafka_assign(rk, nullptr);
      break;
  }
  if (error) {
    spdlog::error("{}: changing the assignment failed: {}", options_.name,
                  rd_kafka_error_string(error.get()));
  } else if (assign_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::error("{}: changing the assignment failed: {}", options_.name,
                  rd_kafka_err2str(assign_err));
  }
}

void ConsumerLoop::Assign(rd_kafka_topic_partition_list_t* partitions) {
  std::vector<std::pair<std::string, std::int64_t>> started;
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = partitions->elems[i];
    std::string key = PartitionKey(tp.topic, tp.partition);
    if (pipelines_.contains(key)) continue;  // already ours (an eager re-assignment)
    auto pipeline =
        std::make_unique<PartitionPipeline>(tp.topic, tp.partition, *deps_.rings, *deps_.tickets,
                                            deps_.dead_letters, deps_.shared->counters);
    // A partition covered by the restored snapshot starts where the snapshot ends,
    // whatever the group committed. Used once: after that the committed offsets rule.
    if (const auto it = start_offsets_.find(key); it != start_offsets_.end()) {
      tp.offset = it->second;
      pipeline->snapshot_start = it->second;
      started.emplace_back(key, it->second);
      start_offsets_.erase(it);
    }
    spdlog::info("{}: assigned {} at {}", options_.name, key,
                 tp.offset >= 0 ? std::to_string(tp.offset) : std::string("the committed offset"));
    pipelines_.emplace(std::move(key), std::move(pipeline));
  }
  if (!started.empty()) deps_.shared->SetProcessed(started);
}

void ConsumerLoop::Revoke(const std::vector<PartitionPipeline*>& pipelines, bool lost) {
  // Offsets the daemon made durable meanwhile go out with the revocation (librdkafka
  // commits the stored offsets of removed partitions).
  if (!lost) ApplyCommitRequests();
  // After a drain whatever is still in flight is stuck (or the workers are gone).
  const Clock::time_point deadline = closing_   ? close_deadline_
                                     : drained_ ? Clock::now()
                                                : Clock::now() + options_.drain_timeout;
  Drain(pipelines, deadline);
  for (PartitionPipeline* pipeline : pipelines) {
    spdlog::info("{}: revoked {}/{}{}", options_.name, pipeline->topic(), pipeline->partition(),
                 lost ? " (lost)" : "");
    Finish(*pipeline, options_.commit_without_snapshot && !lost);
  }
}

std::vector<PartitionPipeline*> ConsumerLoop::PipelinesOf(
    const rd_kafka_topic_partition_list_t& partitions) {
  std::vector<PartitionPipeline*> out;
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto it =
        pipelines_.find(PartitionKey(partitions.elems[i].topic, partitions.elems[i].partition));
    if (it != pipelines_.end()) out.push_back(it->second.get());
  }
  return out;
}

std::vector<PartitionPipeline*> ConsumerLoop::AllPipelines() {
  std::vector<PartitionPipeline*> out;
  out.reserve(pipelines_.size());
  for (auto& [key, pipeline] : pipelines_) out.push_back(pipeline.get());
  return out;
}

void ConsumerLoop::Close() {
  if (closed_ || !consumer_) return;
  closed_ = true;
  closing_ = true;
  // A drain already waited: what it left in flight is stuck.
  close_deadline_ = Clock::now() + (drained_ ? Clock::duration(0) : options_.drain_timeout);
  // Finish what is in flight first, so the revocation below finds it done.
  Drain(AllPipelines(), close_deadline_);
  Advance();
  ApplyCommitRequests();
  // Leaves the group. The revocation it serves (Rebalance) finishes every partition and,
  // with commit_without_snapshot, stores its final offset, which librdkafka commits as
  // the partitions are removed.
  if (const rd_kafka_resp_err_t err = rd_kafka_consumer_close(consumer_.get())) {
    spdlog::warn("{}: closing the consumer: {}", options_.name, rd_kafka_err2str(err));
  }
  consumer_closed_ = true;
  // Whatever the close did not revoke (no coordinator reachable) ends here, unstored.
  for (PartitionPipeline* pipeline : AllPipelines()) Finish(*pipeline, false);
  if (deps_.dead_letters != nullptr) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(close_deadline_ - Clock::now());
    deps_.dead_letters->Close(std::max(left, std::chrono::milliseconds(0)));
  }
}

}  // namespace tidewatch::ingest::internal
