#include "ingest/kafka_source.h"

#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "ingest/internal/consumer_loop.h"
#include "ingest/internal/message_stager.h"
#include "ingest/internal/payload_decoder.h"
#include "ingest/internal/rdkafka_handles.h"

namespace tidewatch::ingest {

namespace {

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// The settings our at-least-once scheme rests on (see internal/consumer_loop.h); users
// may not override them.
constexpr std::array<const char*, 2> kManagedProperties = {"enable.auto.commit",
                                                           "enable.auto.offset.store"};

Status Validate(const KafkaSourceConfig& config, std::uint32_t ticket_table_index) {
  if (config.brokers.empty()) return Invalid("brokers: required");
  if (config.group_id.empty()) return Invalid("group_id: required");
  if (config.topics.empty()) return Invalid("topics: at least one topic is required");
  for (const std::string& topic : config.topics) {
    if (topic.empty() || topic == "^") return Invalid("topics: empty topic name or pattern");
  }
  if (config.database.empty()) return Invalid("database: must not be empty");
  if (config.max_message_bytes == 0) return Invalid("max_message_bytes: must be at least 1");
  if (config.ticket_capacity == 0 || config.ticket_capacity > kMaxTicketSlots) {
    return Invalid("ticket_capacity: must be in [1, " + std::to_string(kMaxTicketSlots) + "]");
  }
  if (ticket_table_index == 0 || ticket_table_index >= kMaxTicketTables) {
    return Invalid("ticket table index must be in [1, " + std::to_string(kMaxTicketTables - 1) +
                   "]");
  }
  if (config.dead_letter_topic && config.dead_letter_topic->empty()) {
    return Invalid("dead_letter_topic: empty topic name");
  }
  if (config.drain_timeout_ms.count() < 0) return Invalid("drain_timeout_ms: must not be negative");
  for (const char* managed : kManagedProperties) {
    if (config.properties.contains(managed)) {
      return Invalid(std::string("property '") + managed +
                     "': managed by the source (offsets are stored only once processed)");
    }
  }
  return Status::Ok();
}

StatusOr<internal::KafkaConf> ConsumerConf(const KafkaSourceConfig& config) {
  internal::KafkaConf conf = internal::NewConf();
  const std::array<std::pair<const char*, std::string>, 5> ours = {{
      {"bootstrap.servers", config.brokers},
      {"group.id", config.group_id},
      {"client.id", "tidewatch"},
      // Offsets are stored by the source (rd_kafka_offsets_store) once processed; the
      // auto-committer commits only what was stored.
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "true"},
  }};
  for (const auto& [key, value] : ours) {
    if (Status s = internal::SetProperty(conf.get(), key, value); !s.ok()) return s;
  }
  if (Status s = internal::SetProperties(conf.get(), KafkaSourceConsumerDefaults()); !s.ok()) {
    return s;
  }
  if (Status s = internal::SetProperties(conf.get(), config.properties); !s.ok()) return s;
  return conf;
}

}  // namespace

std::map<std::string, std::string> KafkaSourceConsumerDefaults() {
  return {
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"auto.offset.reset", "earliest"},  // a new group reads what is there
      {"enable.partition.eof", "false"},
      // A resumed partition is fetched after the fetch request in flight returns, which
      // the broker holds up to this long when the other partitions are caught up: keep
      // the cost of a backpressure pause short (default 500 ms).
      {"fetch.wait.max.ms", "100"},
      // The prefetch threshold counts every assigned partition's queue together. Once it
      // is reached librdkafka 2.0.x stops fetching and looks again only ~0.5 s later
      // (fetch.queue.backoff.ms from 2.2 on), so a consumer slower than the fetcher
      // drains the default 100,000 messages and then idles: about 185 k msg/s at most
      // (docs/BENCHMARKS.md, "Kafka ingest"). The queue stays bounded by
      // queued.max.messages.kbytes (64 MiB by default).
      {"queued.min.messages", "1000000"},
  };
}

KafkaSource::KafkaSource(KafkaSourceConfig config, std::uint32_t ticket_table_index)
    : config_(std::move(config)), tickets_(ticket_table_index, config_.ticket_capacity) {}

StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Create(KafkaSourceConfig config,
                                                           store::Store& store,
                                                           store::FieldRings& rings,
                                                           std::uint32_t ticket_table_index) {
  if (Status s = Validate(config, ticket_table_index); !s.ok()) return s;
  StatusOr<internal::PayloadDecoder> decoder =
      internal::PayloadDecoder::Create(config.format, config.precision, config.json);
  if (!decoder.ok()) return decoder.status();
  StatusOr<internal::KafkaConf> conf = ConsumerConf(config);
  if (!conf.ok()) return conf.status();

  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(config), ticket_table_index));
  const KafkaSourceConfig& c = source->config_;
  source->stager_ = std::make_unique<internal::MessageStager>(
      std::move(*decoder), internal::StagerOptions{c.database, c.max_message_bytes}, store, rings);
  if (c.dead_letter_topic) {
    DeadLetterOptions options{c.brokers, *c.dead_letter_topic, c.properties};
    for (const auto& [key, value] : c.dead_letter_properties) options.properties[key] = value;
    TicketTable& tickets = source->tickets_;
    // Runs on the consumer thread (DeadLetterProducer::Poll): the dead letter's share of
    // its message's ticket is done, delivered or definitively not (counted as failed).
    StatusOr<std::unique_ptr<DeadLetterProducer>> producer = DeadLetterProducer::Create(
        std::move(options), [&tickets](std::uint64_t token, bool /*delivered*/) {
          tickets.Complete(static_cast<Ticket>(token), 1);
        });
    if (!producer.ok()) return producer.status();
    source->dead_letters_ = std::move(*producer);
  }
  // The group and the ticket table index tell a daemon's sources apart in the log.
  internal::ConsumerLoopOptions loop_options{
      "kafka source " + c.group_id + "#" + std::to_string(ticket_table_index),
      c.commit_without_snapshot, c.drain_timeout_ms};
  internal::ConsumerLoopDeps deps{source->stager_.get(), &rings, &source->tickets_,
                                  source->dead_letters_.get(), &source->shared_};
  StatusOr<std::unique_ptr<internal::ConsumerLoop>> loop =
      internal::ConsumerLoop::Create(std::move(*conf), std::move(loop_options), deps);
  if (!loop.ok()) return loop.status();
  source->loop_ = std::move(*loop);
  return source;
}

KafkaSource::~KafkaSource() { Stop(); }

void KafkaSource::SetStartOffsets(store::SnapshotOffsets offsets) {
  loop_->SetStartOffsets(std::move(offsets));
}

Status KafkaSource::Start() {
  if (thread_.joinable() || stop_.load(std::memory_order_acquire)) {
    return Status(StatusCode::kInternal, "kafka source: already started");
  }
  if (Status s = loop_->Subscribe(config_.topics); !s.ok()) return s;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void KafkaSource::Drain() {
  if (!thread_.joinable() || stop_.load(std::memory_order_acquire)) return;
  drain_requested_.store(true, std::memory_order_release);
  // The consumer thread sets drained_ within drain_timeout plus one loop iteration (or
  // one rebalance, itself bounded by drain_timeout).
  drained_.wait(false, std::memory_order_acquire);
}

void KafkaSource::Stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void KafkaSource::Run() {
  while (!stop_.load(std::memory_order_acquire)) {
    if (drain_requested_.load(std::memory_order_acquire)) loop_->StartDrain();
    loop_->RunOnce();
    if (loop_->drained() && !drained_.load(std::memory_order_relaxed)) {
      drained_.store(true, std::memory_order_release);
      drained_.notify_all();
    }
  }
  loop_->Close();
}

store::SnapshotOffsets KafkaSource::ProcessedOffsets() const { return shared_.Processed(); }

void KafkaSource::CommitOffsets(const store::SnapshotOffsets& offsets) {
  shared_.RequestCommit(offsets);
}

void KafkaSource::InvalidateSeriesCache() {
  shared_.series_generation.fetch_add(1, std::memory_order_release);
}

KafkaSourceStats KafkaSource::stats() const {
  const internal::SourceCounters& c = shared_.counters;
  const auto get = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  KafkaSourceStats s;
  s.messages = get(c.messages);
  s.points = get(c.points);
  s.string_fields = get(c.string_fields);
  s.bad_lines = get(c.bad_lines);
  s.points_refused = get(c.points_refused);
  s.messages_rejected = get(c.messages_rejected);
  s.pauses = get(c.pauses);
  s.points_abandoned = get(c.points_abandoned);
  s.consumer_errors = get(c.consumer_errors);
  s.rebalances = get(c.rebalances);
  if (dead_letters_) s.dead_letters = dead_letters_->stats();
  s.rejected = shared_.Rejected();
  for (const auto& [topic, counters] : shared_.Topics()) {
    s.per_topic[topic] = {get(counters->messages), get(counters->points), get(counters->bytes)};
  }
  s.high_watermarks = shared_.HighWatermarks();
  return s;
}

}  // namespace tidewatch::ingest
