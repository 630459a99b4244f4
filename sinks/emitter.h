// Emitter: sends one notification to one kind of receiver (webhook, Alertmanager,
// Kafka). The delivery worker (sinks/delivery_worker.h) decides when to send, retries,
// and records the outcome in the outbox; an emitter only makes one attempt.
//
// Thread safety: Send() may be called from several delivery threads at once.
#ifndef TIDEWATCH_SINKS_EMITTER_H_
#define TIDEWATCH_SINKS_EMITTER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tidewatch::sinks {

// One notification as the outbox holds it (docs/NOTIFICATIONS.md is the payload).
struct Notification {
  std::int64_t id = 0;          // outbox row id
  std::string channel;          // channel name
  std::string ordering_key;     // one alert instance; rows of a key go out in order
  std::string idempotency_key;  // sent as the Idempotency-Key header; stable across retries
  std::string payload;          // JSON, docs/NOTIFICATIONS.md
  std::int64_t created_at = 0;  // ns since the epoch
  std::int64_t attempts = 0;    // including the one being made
};

enum class DeliveryOutcome : std::uint8_t {
  kDelivered,  // 2xx / Kafka delivery report without error: mark done
  kRetry,      // connection error, timeout, 5xx, 408, 429: try again later
  kPermanent,  // other 4xx, a payload the receiver can never take: dead-letter now
};

struct DeliveryResult {
  DeliveryOutcome outcome = DeliveryOutcome::kDelivered;
  std::string error;  // for the outbox's last_error and logs; empty when delivered
  // The receiver's Retry-After, if it sent one (429/503); the worker waits at least this.
  std::optional<std::chrono::milliseconds> retry_after;
  int http_status = 0;  // 0 when not HTTP or no response
};

class Emitter {
 public:
  virtual ~Emitter() = default;
  // One attempt, bounded by the emitter's own timeouts. Never throws.
  virtual DeliveryResult Send(const Notification& notification) = 0;
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_EMITTER_H_
