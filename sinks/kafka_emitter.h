// KafkaEmitter: notifications (and CQ outputs) to one Kafka topic, for one channel.
//
// One librdkafka producer per emitter, idempotent with acks=all (enable.idempotence=true:
// the broker drops duplicates of librdkafka's own retries and keeps each partition in
// produce order). Each Send() produces one record
//   key      notification.ordering_key: all rows of one alert instance land on one
//            partition (librdkafka's default partitioner hashes the key), in order,
//            because the delivery worker sends a key's rows one after the other;
//   value    notification.payload, as it is (docs/NOTIFICATIONS.md);
//   headers  Idempotency-Key: notification.idempotency_key
// and waits for that record's delivery report. A consumer deduplicates redeliveries
// (a retry after a lost report, a restart) by the Idempotency-Key header.
//
// Timeouts: `send_timeout` is librdkafka's message.timeout.ms (and caps
// request.timeout.ms), so a record that is not acknowledged in time is reported as
// failed; Send() itself returns within send_timeout + kReportGrace even if no report
// comes (the record may then still be delivered: at-least-once).
//
// Outcome of Send():
//   kDelivered  the delivery report has no error (acks=all: on every in-sync replica);
//   kRetry      the broker is down or unreachable, the record timed out, the producer
//               queue is full, a retriable broker error outlasted librdkafka's own
//               retries, the producer hit a fatal error (it is recreated for the next
//               Send()), or the emitter is closing;
//   kPermanent  the record can never be taken: too large (locally or for the broker),
//               topic or cluster authorization failed, the topic does not exist (and
//               the broker does not auto-create it), an invalid topic or record, a
//               policy violation.
// The error text is "kafka <topic>: <librdkafka's error name>: <its description>".
//
// Produce(): a batch of key/value records (CQ outputs) without headers, waited for
// together; OK once every one is delivered, else the first error (kUnavailable for a
// retriable one, kInvalidArgument for a permanent one). Records of a failed batch may
// have been delivered: callers resend the batch (idempotent consumers, keyed records).
//
// Thread safety: Send() and Produce() may be called from any number of threads at once;
// each waits only for its own records (one delivery-report thread serves them all).
// The destructor must not run while a call is in progress.
#ifndef TIDEWATCH_SINKS_KAFKA_EMITTER_H_
#define TIDEWATCH_SINKS_KAFKA_EMITTER_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "sinks/emitter.h"
#include "store/status.h"

namespace tidewatch::sinks {

struct KafkaEmitterOptions {
  std::string brokers;  // bootstrap.servers; required
  std::string topic;    // required
  // Bounds one record's delivery (message.timeout.ms) and so one Send(). Default 10 s,
  // at least 1 s: long enough for a leader election, short enough that a dead broker
  // does not hold a delivery thread for long.
  std::chrono::milliseconds send_timeout{10'000};
  // Raw librdkafka producer settings, applied after ours so they can override them
  // (except enable.idempotence and acks, which are refused unless "true" / "all").
  // Ours: client.id=tidewatch-sink, linger.ms=5, reconnect.backoff.max.ms=1000 (a broker
  // that is back is used within a second), message.timeout.ms=send_timeout,
  // request.timeout.ms=min(send_timeout, 30 s), topic.metadata.propagation.max.ms=
  // send_timeout/2 (how long an unknown topic is awaited before it is permanent).
  std::map<std::string, std::string> properties;
};

// A record of a Produce() batch. The views need only live for the call.
struct KafkaRecord {
  std::string_view key;
  std::string_view value;
};

struct KafkaEmitterStats {
  std::uint64_t delivered = 0;        // records acknowledged
  std::uint64_t failed = 0;           // records refused or reported with an error
  std::uint64_t unanswered = 0;       // Send()s that gave up waiting for a report
  std::uint64_t producer_resets = 0;  // producers recreated after a fatal error
};

class KafkaEmitter : public Emitter {
 public:
  // Extra time Send() waits beyond send_timeout for the report of a timed-out record
  // (librdkafka scans for timed-out records once a second).
  static constexpr std::chrono::milliseconds kReportGrace{1500};

  // Errors: kInvalidArgument for empty brokers or topic, a send_timeout under 1 s, a
  // property librdkafka refuses, enable.idempotence or acks overridden, or settings
  // librdkafka finds inconsistent. Connects lazily: a broker that is down is not an
  // error here.
  [[nodiscard]] static StatusOr<std::unique_ptr<KafkaEmitter>> Create(KafkaEmitterOptions options);

  // Waits up to 1 s for records in flight (none when no call is in progress), then
  // stops the producer.
  ~KafkaEmitter() override;
  KafkaEmitter(const KafkaEmitter&) = delete;
  KafkaEmitter& operator=(const KafkaEmitter&) = delete;

  DeliveryResult Send(const Notification& notification) override;

  // REQUIRES: records.size() <= 100000 (librdkafka's default queue).
  [[nodiscard]] Status Produce(std::span<const KafkaRecord> records);

  KafkaEmitterStats stats() const;

  const KafkaEmitterOptions& options() const { return options_; }

  class Producer;  // one librdkafka client and its delivery-report thread (.cc)

 private:
  KafkaEmitter(KafkaEmitterOptions options, std::shared_ptr<Producer> producer);

  // The current producer. A fatal error replaces it; calls holding the old one finish.
  std::shared_ptr<Producer> current() const;
  // Replaces `failed` by a new producer unless that already happened.
  void Reset(const std::shared_ptr<Producer>& failed);

  // Constant after construction.
  const KafkaEmitterOptions options_;

  mutable std::mutex mu_;
  std::shared_ptr<Producer> producer_;  // guarded by mu_; never null

  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> unanswered_{0};
  std::atomic<std::uint64_t> resets_{0};
};

// The outcome of a delivery error code (RD_KAFKA_RESP_ERR_NO_ERROR is kDelivered).
DeliveryOutcome KafkaErrorOutcome(rd_kafka_resp_err_t error);

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_KAFKA_EMITTER_H_
