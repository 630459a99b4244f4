#include "ingest/internal/consumer_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "ingest/line_protocol.h"

namespace tidewatch::ingest::internal {

namespace {

// Messages handled per iteration before retries, offsets and dead-letter reports get
// their turn: bounds the latency of those at about one batch.
constexpr int kMaxMessagesPerIteration = 500;
// Poll timeouts: idle, and while a partition waits for room in the rings.
constexpr int kIdlePollMs = 100;
constexpr int kBlockedPollMs = 1;
constexpr std::int64_t kNsPerMs = 1'000'000;
// How often the high watermarks are published: often enough for a lag gauge scraped
// every few seconds, seldom enough that the map copy is negligible.
constexpr std::chrono::seconds kWatermarkInterval{1};

// The message's timestamp in ns; the wall clock when it has none (or an absurd one),
// as InfluxDB stamps lines that carry no time.
std::int64_t MessageTimeNs(const rd_kafka_message_t& m) {
  const std::int64_t ms = rd_kafka_message_timestamp(&m, nullptr);
  if (ms >= 0 && ms <= kMaxTimestampNs / kNsPerMs) return ms * kNsPerMs;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ConsumerLoop::ConsumerLoop(ConsumerLoopOptions options, ConsumerLoopDeps deps)
    : options_(std::move(options)), deps_(deps) {}

StatusOr<std::unique_ptr<ConsumerLoop>> ConsumerLoop::Create(KafkaConf conf,
                                                             ConsumerLoopOptions options,
                                                             ConsumerLoopDeps deps) {
  std::unique_ptr<ConsumerLoop> loop(new ConsumerLoop(std::move(options), deps));
  rd_kafka_conf_set_rebalance_cb(conf.get(), &ConsumerLoop::OnRebalance);
  rd_kafka_conf_set_error_cb(conf.get(), &ConsumerLoop::OnError);
  rd_kafka_conf_set_opaque(conf.get(), loop.get());
  StatusOr<KafkaHandle> client = NewClient(RD_KAFKA_CONSUMER, std::move(conf));
  if (!client.ok()) return client.status();
  loop->consumer_ = std::move(*client);
  // One queue for messages, errors and rebalance events, all served by consumer_poll.
  rd_kafka_poll_set_consumer(loop->consumer_.get());
  return loop;
}

ConsumerLoop::~ConsumerLoop() {
  Close();
  // Destroyed here, while the members its callbacks use still exist.
  consumer_.reset();
}

Status ConsumerLoop::Subscribe(const std::vector<std::string>& topics) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), list.get())) {
    return Status(StatusCode::kInvalidArgument, std::string("subscribe: ") + rd_kafka_err2str(err));
  }
  return Status::Ok();
}

void ConsumerLoop::RunOnce() {
  CheckSeriesGeneration();
  for (int i = 0; i < kMaxMessagesPerIteration; ++i) {
    const bool waiting = blocked_ || (draining_ && !drained_);
    const int timeout_ms = i > 0 ? 0 : (waiting ? kBlockedPollMs : kIdlePollMs);
    const KafkaMessage message(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
    if (!message) break;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      HandleError(*message);
    } else {
      Handle(*message);
    }
  }
  if (deps_.dead_letters != nullptr) deps_.dead_letters->Poll();
  // After the drain the rings get nothing more (the workers may be stopping).
  if (!drained_) blocked_ = RetryBlocked();
  Advance();
  ApplyCommitRequests();
  if (draining_ && !drained_) CheckDrained();
  RefreshWatermarks();
}

void ConsumerLoop::StartDrain() {
  if (draining_ || consumer_closed_) return;
  draining_ = true;
  drain_deadline_ = Clock::now() + options_.drain_timeout;
  PauseAssignment();
}

void ConsumerLoop::PauseAssignment() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (const rd_kafka_resp_err_t err = rd_kafka_assignment(consumer_.get(), &raw)) {
    spdlog::warn("{}: draining: reading the assignment: {}", options_.name, rd_kafka_err2str(err));
    return;
  }
  const PartitionList assignment(raw);
  if (assignment->cnt == 0) return;
  // Staging stops regardless (Handle); the pause only spares fetching what is dropped.
  if (const rd_kafka_resp_err_t err =
          rd_kafka_pause_partitions(consumer_.get(), assignment.get())) {
    spdlog::warn("{}: draining: pausing the assignment: {}", options_.name, rd_kafka_err2str(err));
  }
}

void ConsumerLoop::CheckDrained() {
  const bool idle = std::all_of(pipelines_.begin(), pipelines_.end(),
                                [](const auto& entry) { return entry.second->idle(); });
  if (!idle && Clock::now() < drain_deadline_) return;
  drained_ = true;
  if (idle) {
    spdlog::info("{}: drained", options_.name);
  } else {
    spdlog::warn("{}: drain timed out; the processed offsets stop where they are", options_.name);
  }
}

void ConsumerLoop::Handle(const rd_kafka_message_t& m) {
  PartitionKeyInto(rd_kafka_topic_name(m.rkt), m.partition, key_scratch_);
  const auto it = pipelines_.find(key_scratch_);
  // Not (or no longer) assigned here: its owner consumes it, and nothing of it is ours
  // to commit, so ignoring it loses nothing. Likewise while draining: an unstaged
  // message is never in any processed offset, so it is consumed again after a restart.
  if (it == pipelines_.end() || draining_) return;
  PartitionPipeline& pipeline = *it->second;
  // librdkafka may deliver again what it delivered just before a pause took effect;
  // that message is already in the pipeline.
  if (m.offset < pipeline.next_offset) return;
  if (!pipeline.first_offset) pipeline.first_offset = m.offset;
  pipeline.next_offset = m.offset + 1;

  SourceCounters& counters = deps_.shared->counters;
  SourceCounters::Add(counters.messages, 1);
  std::optional<std::string_view> value;
  if (m.payload != nullptr) value.emplace(static_cast<const char*>(m.payload), m.len);
  StageOutcome outcome = deps_.stager->Stage(value, MessageTimeNs(m), scratch_.points);
  CountTopic(pipeline.topic(), m.len, scratch_.points.size());
  SourceCounters::Add(counters.string_fields, outcome.string_fields);
  SourceCounters::Add(counters.bad_lines, outcome.bad_lines);
  SourceCounters::Add(counters.points_refused, outcome.points_refused);
  scratch_.offset = m.offset;
  if (outcome.reasons != 0) {
    SourceCounters::Add(counters.messages_rejected, 1);
    deps_.shared->CountRejected(pipeline.topic(), outcome.reasons);
    LogRejected(pipeline, m.offset, outcome.error);
    if (deps_.dead_letters != nullptr) {
      scratch_.dead_letter_owed = true;
      scratch_.error = std::move(outcome.error);
    }
  }
  if (pipeline.Submit(scratch_, m)) {
    scratch_.Reset();
  } else {
    Pause(pipeline, true);
    blocked_ = true;
  }
}

void ConsumerLoop::CountTopic(const std::string& topic, std::size_t bytes, std::size_t points) {
  if (topic_counters_ == nullptr || topic != counted_topic_) {
    topic_counters_ = &deps_.shared->Topic(topic);
    counted_topic_ = topic;  // reuses its buffer once it fits the longest topic name
  }
  SourceCounters::Add(topic_counters_->messages, 1);
  SourceCounters::Add(topic_counters_->points, points);
  SourceCounters::Add(topic_counters_->bytes, bytes);
}

void ConsumerLoop::RefreshWatermarks() {
  const Clock::time_point now = Clock::now();
  if (now < next_watermarks_ || consumer_closed_) return;
  next_watermarks_ = now + kWatermarkInterval;
  store::SnapshotOffsets watermarks;
  for (const auto& [key, pipeline] : pipelines_) {
    std::int64_t low = RD_KAFKA_OFFSET_INVALID;
    std::int64_t high = RD_KAFKA_OFFSET_INVALID;
    const rd_kafka_resp_err_t err = rd_kafka_get_watermark_offsets(
        consumer_.get(), pipeline->topic().c_str(), pipeline->partition(), &low, &high);
    // Not fetched yet: RD_KAFKA_OFFSET_INVALID (negative); left out as unknown.
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0) watermarks.emplace(key, high);
  }
  deps_.shared->SetHighWatermarks(std::move(watermarks));
}

void ConsumerLoop::HandleError(const rd_kafka_message_t& m) {
  if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;  // only if a user enabled it
  SourceCounters::Add(deps_.shared->counters.consumer_errors, 1);
  std::uint64_t suppressed = 0;
  if (!error_log_.Allow(suppressed)) return;
  const std::string where =
      m.rkt != nullptr ? " on " + PartitionKey(rd_kafka_topic_name(m.rkt), m.partition) : "";
  spdlog::warn("{}: consumer error{}: {} ({} similar suppressed)", options_.name, where,
               rd_kafka_message_errstr(&m), suppressed);
}

void ConsumerLoop::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* loop = static_cast<ConsumerLoop*>(opaque);
  SourceCounters::Add(loop->deps_.shared->counters.consumer_errors, 1);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    // The consumer cannot go on; Stop() still closes it. Always logged.
    std::array<char, 512> fatal{};
    rd_kafka_fatal_error(rk, fatal.data(), fatal.size());
    spdlog::error("{}: fatal consumer error: {}", loop->options_.name, fatal.data());
    return;
  }
  std::uint64_t suppressed = 0;
  if (!loop->error_log_.Allow(suppressed)) return;
  spdlog::warn("{}: {} ({} similar suppressed)", loop->options_.name, reason, suppressed);
}

void ConsumerLoop::LogRejected(const PartitionPipeline& pipeline, std::int64_t offset,
                               const std::string& error) {
  std::uint64_t suppressed = 0;
  if (!reject_log_.Allow(suppressed)) return;
  spdlog::warn("{}: rejected {}/{}@{}{}: {} ({} similar suppressed)", options_.name,
               pipeline.topic(), pipeline.partition(), offset,
               deps_.dead_letters != nullptr ? " (dead-lettered)" : "", error, suppressed);
}

void ConsumerLoop::Pause(PartitionPipeline& pipeline, bool pause) {
  if (pipeline.paused == pause || consumer_closed_) return;
  if (!pause && draining_) {  // the whole assignment stays paused
    pipeline.paused = false;
    return;
  }
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), pipeline.topic().c_str(), pipeline.partition());
  rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(consumer_.get(), list.get())
                                  : rd_kafka_resume_partitions(consumer_.get(), list.get());
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::uint64_t suppressed = 0;
    if (error_log_.Allow(suppressed)) {
      spdlog::warn("{}: {} {}/{} failed: {} ({} similar suppressed)", options_.name,
                   pause ? "pausing" : "resuming", pipeline.topic(), pipeline.partition(),
                   rd_kafka_err2str(err), suppressed);
    }
  }
  pipeline.paused = pause;
  if (pause) SourceCounters::Add(deps_.shared->counters.pauses, 1);
}

bool ConsumerLoop::RetryBlocked() {
  bool any = false;
  for (auto& [key, pipeline] : pipelines_) {
    if (!pipeline->blocked()) continue;
    if (pipeline->Retry()) {
      Pause(*pipeline, false);
    } else {
      any = true;
    }
  }
  return any;
}

void ConsumerLoop::Advance() {
  std::vector<std::pair<std::string, std::int64_t>> moved;
  std::vector<std::pair<PartitionPipeline*, std::int64_t>> to_store;
  for (auto& [key, pipeline] : pipelines_) {
    const std::optional<std::int64_t> offset = pipeline->Advance();
    if (!offset) continue;
    moved.emplace_back(key, *offset);
    if (options_.commit_without_snapshot) to_store.emplace_back(pipeline.get(), *offset);
  }
  std::erase_if(orphans_, [this](PartitionProgress& progress) {
    progress.Advance(*deps_.tickets);
    return progress.in_flight() == 0;
  });
  if (!moved.empty() && !drained_) deps_.shared->SetProcessed(moved);
  StoreOffsets(to_store);
}

void ConsumerLoop::ApplyCommitRequests() {
  const store::SnapshotOffsets requests = deps_.shared->TakeCommitRequests();
  std::vector<std::pair<PartitionPipeline*, std::int64_t>> to_store;
  for (const auto& [key, requested] : requests) {
    const auto it = pipelines_.find(key);
    if (it == pipelines_.end()) continue;  // not assigned here: not ours to commit
    PartitionPipeline& pipeline = *it->second;
    const std::optional<std::int64_t> processed = pipeline.committable();
    if (!processed) continue;
    // Never past what this assignment has processed, and never behind where it started
    // (a request from an earlier assignment would move the group's offset back).
    const std::int64_t offset = std::min(requested, *processed);
    const std::optional<std::int64_t> start =
        pipeline.first_offset ? pipeline.first_offset : pipeline.snapshot_start;
    if (start && offset < *start) continue;
    to_store.emplace_back(&pipeline, offset);
  }
  StoreOffsets(to_store);
}

void ConsumerLoop::StoreOffsets(
    const std::vector<std::pair<PartitionPipeline*, std::int64_t>>& offsets) {
  if (offsets.empty() || consumer_closed_) return;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  std::vector<PartitionPipeline*> listed;
  for (const auto& [pipeline, offset] : offsets) {
    if (pipeline->stored && offset <= *pipeline->stored) continue;  // monotonic
    rd_kafka_topic_partition_list_add(list.get(), pipeline->topic().c_str(), pipeline->partition())
        ->offset = offset;
    listed.push_back(pipeline);
  }
  if (listed.empty()) return;
  // Per-partition results are in the list; the call's own error only summarises them.
  static_cast<void>(rd_kafka_offsets_store(consumer_.get(), list.get()));
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      listed[static_cast<std::size_t>(i)]->stored = tp.offset;
      continue;
    }
    std::uint64_t suppressed = 0;
    if (error_log_.Allow(suppressed)) {
      spdlog::warn("{}: storing offset {} of {}/{} failed: {} ({} similar suppressed)",
                   options_.name, tp.offset, tp.topic, tp.partition, rd_kafka_err2str(tp.err),
                   suppressed);
    }
  }
}

void ConsumerLoop::Drain(const std::vector<PartitionPipeline*>& pipelines,
                         Clock::time_point deadline) {
  for (;;) {
    bool busy = false;
    for (PartitionPipeline* pipeline : pipelines) {
      if (!drained_) pipeline->Retry();
      pipeline->Advance();
      busy = busy || !pipeline->idle();
    }
    if (!busy || Clock::now() >= deadline) return;
    // The workers drain the rings and the broker acknowledges dead letters meanwhile:
    // look again shortly (serving dead-letter reports while waiting).
    if (deps_.dead_letters != nullptr) {
      deps_.dead_letters->Poll(std::chrono::milliseconds(1));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void ConsumerLoop::Finish(PartitionPipeline& pipeline, bool store_offset) {
  const std::optional<std::int64_t> processed = pipeline.committable();
  if (store_offset && processed) StoreOffsets({{&pipeline, *processed}});
  // librdkafka keeps a partition's pause flag across assignments: clear ours, or a
  // later assignment of the partition would never be fetched.
  Pause(pipeline, false);
  PartitionProgress progress = pipeline.Abandon();
  if (progress.in_flight() > 0) {
    spdlog::warn(
        "{}: {}/{} abandoned with {} messages in flight; the next owner consumes "
        "them again from the committed offset{}",
        options_.name, pipeline.topic(), pipeline.partition(), progress.in_flight(),
        processed ? " (processed up to " + std::to_string(*processed) + ")" : std::string());
    orphans_.push_back(std::move(progress));
  }
  const std::string key = PartitionKey(pipeline.topic(), pipeline.partition());
  if (!closing_) {
    deps_.shared->ForgetProcessed(key);
  } else if (processed && !drained_) {
    deps_.shared->SetProcessed({{key, *processed}});  // kept for the shutdown snapshot
  }
  pipelines_.erase(key);  // destroys `pipeline`
}

void ConsumerLoop::CheckSeriesGeneration() {
  const std::uint64_t generation = deps_.shared->series_generation.load(std::memory_order_acquire);
  if (generation == series_generation_) return;
  series_generation_ = generation;
  deps_.stager->InvalidateSeriesCache();
}

}  // namespace tidewatch::ingest::internal
