// Dead letters: where a message goes that cannot be ingested (ARCHITECTURE.md,
// guarantee 3). RejectReason names why; DeadLetterProducer writes the message, unchanged,
// to the dead-letter topic with headers that say why and where it came from:
//
//   tidewatch-error             the reasons with line numbers, e.g. "malformed: 1 of 3
//                               lines bad: line 2, column 9: unable to parse ...: invalid
//                               number"
//   tidewatch-source-topic      the topic it was consumed from
//   tidewatch-source-partition  its partition, decimal
//   tidewatch-source-offset     its offset, decimal
//
// The producer is a separate librdkafka client (acks=all, enable.idempotence=true) that
// never blocks its caller: Send() copies the message into librdkafka's queue and returns;
// a full queue is an expected, retryable error (kUnavailable) that the caller treats as
// backpressure. Delivery reports arrive through Poll(), which calls the OnDelivery
// function with the token given to Send(), so the caller can hold a message's offset
// back until its dead letter is durable.
//
// Thread safety: RejectReasonName() is thread-safe. A DeadLetterProducer is used by one
// thread (Send, Poll, Close and OnDelivery all run on it); stats() may be called from
// any thread.
#ifndef TIDEWATCH_INGEST_DEAD_LETTER_H_
#define TIDEWATCH_INGEST_DEAD_LETTER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/internal/log_limiter.h"
#include "ingest/internal/rdkafka_handles.h"
#include "store/status.h"

namespace tidewatch::ingest {

// Why a message, or some of its lines or points, was rejected. A message may have
// several reasons (a batch with a malformed line and a refused point).
enum class RejectReason : std::uint8_t {
  kEmptyPayload,         // a zero-length value, or only blank and comment lines
  kTombstone,            // a NULL value (a compaction tombstone)
  kOversized,            // longer than max_message_bytes; not decoded
  kMalformed,            // lines the decoder refused (syntax, NaN/Inf, invalid UTF-8 names, ...)
  kTimestampOutOfRange,  // a point more than 100 years from its message's timestamp
  kStoreRefused,         // points the store refused: series limit, field type conflict,
                         // too many fields
};
inline constexpr std::size_t kRejectReasonCount = 6;

// A count per reason, indexed by static_cast<std::size_t>(RejectReason).
using RejectCounts = std::array<std::uint64_t, kRejectReasonCount>;

// A stable snake_case name for metrics and logs: "empty_payload", "tombstone",
// "oversized", "malformed", "timestamp_out_of_range", "store_refused".
std::string_view RejectReasonName(RejectReason reason);

// A rejected message as it is written to the dead-letter topic. The views need only live
// for the duration of Send() (the producer copies them).
struct DeadLetter {
  std::string_view source_topic;
  std::int32_t source_partition = 0;
  std::int64_t source_offset = 0;
  std::optional<std::string_view> key;    // nullopt: the message had no key
  std::optional<std::string_view> value;  // nullopt: a tombstone, written as NULL again
  std::string_view error;                 // the tidewatch-error header
};

struct DeadLetterOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;    // the dead-letter topic; must exist unless the broker auto-creates
  // Raw librdkafka producer settings, applied after ours (acks=all,
  // enable.idempotence=true, linger.ms=5, message.max.bytes=64 MiB so that an oversized
  // message still fits), so they can override them.
  std::map<std::string, std::string> properties;
};

struct DeadLetterStats {
  std::uint64_t queued = 0;      // accepted by Send()
  std::uint64_t delivered = 0;   // acknowledged by the broker (acks=all)
  std::uint64_t failed = 0;      // refused by Send() (other than a full queue) or not
                                 // delivered (timeout, broker error, purged at close)
  std::uint64_t queue_full = 0;  // Send() calls refused with kUnavailable
};

class DeadLetterProducer {
 public:
  // Called from Poll() (and Close()) once per message Send() accepted: delivered or not.
  using OnDelivery = std::function<void(std::uint64_t token, bool delivered)>;

  // Errors: kInvalidArgument for an empty topic or brokers, a bad property, or settings
  // librdkafka refuses.
  static StatusOr<std::unique_ptr<DeadLetterProducer>> Create(DeadLetterOptions options,
                                                              OnDelivery on_delivery);

  // Close(0): messages not yet delivered are purged and reported as not delivered.
  ~DeadLetterProducer();
  DeadLetterProducer(const DeadLetterProducer&) = delete;
  DeadLetterProducer& operator=(const DeadLetterProducer&) = delete;

  // Queues `letter` for the dead-letter topic; `token` comes back through OnDelivery.
  // Never blocks. Errors: kUnavailable when librdkafka's queue is full (nothing queued;
  // call Poll() and retry); kInternal for any other refusal, e.g. a fatal producer
  // error (counted as failed and logged at a bounded rate; the letter is not queued and
  // OnDelivery is not called).
  // REQUIRES: not closed.
  Status Send(const DeadLetter& letter, std::uint64_t token);

  // Serves delivery reports, waiting up to `timeout` for the first one.
  void Poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Waits up to `flush_timeout` for outstanding deliveries, then purges the rest
  // (reported as not delivered) and stops the client. Idempotent.
  void Close(std::chrono::milliseconds flush_timeout);

  DeadLetterStats stats() const;

 private:
  DeadLetterProducer(DeadLetterOptions options, OnDelivery on_delivery);
  static void OnDeliveryReport(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  void Report(const rd_kafka_message_t& message);

  // Constant after construction.
  const DeadLetterOptions options_;
  const OnDelivery on_delivery_;

  // Owner thread only.
  internal::KafkaHandle producer_;  // null once closed
  internal::LogLimiter failure_log_;

  std::atomic<std::uint64_t> queued_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> queue_full_{0};
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_DEAD_LETTER_H_
