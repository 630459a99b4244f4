#include "ingest/dead_letter.h"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace tidewatch::ingest {

namespace {

constexpr std::string_view kHeaderError = "tidewatch-error";
constexpr std::string_view kHeaderTopic = "tidewatch-source-topic";
constexpr std::string_view kHeaderPartition = "tidewatch-source-partition";
constexpr std::string_view kHeaderOffset = "tidewatch-source-offset";

// Our producer defaults; options.properties are applied after them.
constexpr std::array<std::pair<const char*, const char*>, 5> kDefaults = {{
    {"acks", "all"},
    {"enable.idempotence", "true"},
    {"linger.ms", "5"},
    // A dead letter may be an oversized message: allow far more than the 1 MB default
    // (the broker's max.message.bytes still applies; a refusal is a counted failure).
    {"message.max.bytes", "67108864"},
    {"client.id", "tidewatch-dead-letter"},
}};

void* TokenToOpaque(std::uint64_t token) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(token));
}

std::uint64_t OpaqueToToken(void* opaque) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque));
}

void AddHeader(rd_kafka_headers_t* headers, std::string_view name, std::string_view value) {
  rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                      static_cast<ssize_t>(value.size()));
}

rd_kafka_vu_t Bytes(rd_kafka_vtype_t type, std::string_view bytes) {
  rd_kafka_vu_t vu{};
  vu.vtype = type;
  // librdkafka copies the bytes (RD_KAFKA_MSG_F_COPY) and never writes through the
  // pointer. A present but empty value needs a non-null pointer, or it becomes NULL.
  vu.u.mem.ptr = const_cast<char*>(bytes.empty() ? "" : bytes.data());
  vu.u.mem.size = bytes.size();
  return vu;
}

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kEmptyPayload:
      return "empty_payload";
    case RejectReason::kTombstone:
      return "tombstone";
    case RejectReason::kOversized:
      return "oversized";
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kTimestampOutOfRange:
      return "timestamp_out_of_range";
    case RejectReason::kStoreRefused:
      return "store_refused";
  }
  return "unknown";
}

DeadLetterProducer::DeadLetterProducer(DeadLetterOptions options, OnDelivery on_delivery)
    : options_(std::move(options)), on_delivery_(std::move(on_delivery)) {}

StatusOr<std::unique_ptr<DeadLetterProducer>> DeadLetterProducer::Create(DeadLetterOptions options,
                                                                         OnDelivery on_delivery) {
  if (options.topic.empty()) {
    return Status(StatusCode::kInvalidArgument, "dead_letter_topic: empty topic name");
  }
  if (options.brokers.empty()) {
    return Status(StatusCode::kInvalidArgument, "dead letters: no brokers");
  }
  // The object first: the delivery report callback gets its address as the opaque.
  std::unique_ptr<DeadLetterProducer> producer(
      new DeadLetterProducer(std::move(options), std::move(on_delivery)));
  internal::KafkaConf conf = internal::NewConf();
  Status status =
      internal::SetProperty(conf.get(), "bootstrap.servers", producer->options_.brokers);
  for (const auto& [key, value] : kDefaults) {
    if (status.ok()) status = internal::SetProperty(conf.get(), key, value);
  }
  if (status.ok()) status = internal::SetProperties(conf.get(), producer->options_.properties);
  if (!status.ok()) return Status(status.code(), "dead letters: " + status.message());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &DeadLetterProducer::OnDeliveryReport);
  rd_kafka_conf_set_opaque(conf.get(), producer.get());
  StatusOr<internal::KafkaHandle> client = internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  if (!client.ok())
    return Status(client.status().code(), "dead letters: " + client.status().message());
  producer->producer_ = std::move(*client);
  return producer;
}

DeadLetterProducer::~DeadLetterProducer() { Close(std::chrono::milliseconds(0)); }

Status DeadLetterProducer::Send(const DeadLetter& letter, std::uint64_t token) {
  std::array<char, 16> partition_text{};
  std::array<char, 24> offset_text{};
  const char* partition_end =
      std::to_chars(partition_text.data(), partition_text.data() + partition_text.size(),
                    letter.source_partition)
          .ptr;
  const char* offset_end =
      std::to_chars(offset_text.data(), offset_text.data() + offset_text.size(),
                    letter.source_offset)
          .ptr;

  std::array<rd_kafka_vu_t, 6> vus{};
  std::size_t n = 0;
  vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[n++].u.cstr = options_.topic.c_str();
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[n++].u.ptr = TokenToOpaque(token);
  if (letter.key) vus[n++] = Bytes(RD_KAFKA_VTYPE_KEY, *letter.key);
  if (letter.value) {
    vus[n++] = Bytes(RD_KAFKA_VTYPE_VALUE, *letter.value);
  } else {
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;  // ptr NULL, size 0: a NULL value
    vus[n++].u.mem = {nullptr, 0};
  }
  // Our own header list (VTYPE_HEADERS), not VTYPE_HEADER entries: librdkafka 2.0.2's
  // produceva() frees the latter twice when the partitioner refuses the record (an
  // unknown or unauthorized topic; librdkafka issue 4627). The list stays ours when the
  // call fails, and librdkafka's once it succeeds.
  rd_kafka_headers_t* headers = rd_kafka_headers_new(4);
  AddHeader(headers, kHeaderError, letter.error);
  AddHeader(headers, kHeaderTopic, letter.source_topic);
  AddHeader(headers, kHeaderPartition,
            std::string_view(partition_text.data(),
                             static_cast<std::size_t>(partition_end - partition_text.data())));
  AddHeader(headers, kHeaderOffset,
            std::string_view(offset_text.data(),
                             static_cast<std::size_t>(offset_end - offset_text.data())));
  vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[n++].u.headers = headers;

  internal::KafkaError error(rd_kafka_produceva(producer_.get(), vus.data(), n));
  if (error) rd_kafka_headers_destroy(headers);
  if (!error) {
    queued_.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  if (rd_kafka_error_code(error.get()) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    queue_full_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kUnavailable, "dead-letter queue full");
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  Status refused(StatusCode::kInternal, "dead letter of " + std::string(letter.source_topic) + "/" +
                                            std::to_string(letter.source_partition) + "@" +
                                            std::to_string(letter.source_offset) + " to " +
                                            options_.topic +
                                            " refused: " + rd_kafka_error_string(error.get()));
  std::uint64_t suppressed = 0;
  if (failure_log_.Allow(suppressed)) {
    spdlog::error("{} ({} similar suppressed)", refused.message(), suppressed);
  }
  return refused;
}

void DeadLetterProducer::Poll(std::chrono::milliseconds timeout) {
  if (producer_) rd_kafka_poll(producer_.get(), static_cast<int>(timeout.count()));
}

void DeadLetterProducer::Close(std::chrono::milliseconds flush_timeout) {
  if (!producer_) return;
  if (rd_kafka_flush(producer_.get(), static_cast<int>(flush_timeout.count())) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Whatever is left is reported as not delivered (RD_KAFKA_RESP_ERR__PURGE_*).
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    // Purged messages get their reports asynchronously; serve them, bounded.
    for (int round = 0; round < 100 && rd_kafka_outq_len(producer_.get()) > 0; ++round) {
      rd_kafka_poll(producer_.get(), 10);
    }
  }
  producer_.reset();
}

DeadLetterStats DeadLetterProducer::stats() const {
  return {queued_.load(std::memory_order_relaxed), delivered_.load(std::memory_order_relaxed),
          failed_.load(std::memory_order_relaxed), queue_full_.load(std::memory_order_relaxed)};
}

void DeadLetterProducer::OnDeliveryReport(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                                          void* opaque) {
  static_cast<DeadLetterProducer*>(opaque)->Report(*message);
}

void DeadLetterProducer::Report(const rd_kafka_message_t& message) {
  const bool delivered = message.err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (delivered) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t suppressed = 0;
    if (failure_log_.Allow(suppressed)) {
      spdlog::error("dead letter to {} not delivered: {} ({} similar suppressed)", options_.topic,
                    rd_kafka_err2str(message.err), suppressed);
    }
  }
  if (on_delivery_) on_delivery_(OpaqueToToken(message._private), delivered);
}

}  // namespace tidewatch::ingest
