// DeliveryWorker: drains the durable outbox (OutboxQueue) through the emitters, one
// set of threads per channel (ARCHITECTURE.md, guarantee 4).
//
// Each channel runs `max_concurrency` sender threads. A sender repeats:
//   1. takes a token from the channel's rate limiter (none left: waits for one);
//   2. asks the channel's circuit breaker (open: waits, see "Fallback" below);
//   3. claims ONE due row of its channel, leased until now + lease (nothing due: waits
//      for Notify() or the poll interval);
//   4. sends it with the channel's emitter (one attempt, bounded by the emitter's own
//      timeouts) and records the outcome:
//        delivered  -> MarkDone;
//        permanent  -> MoveToDead at once (a 4xx other than 408/429);
//        retryable  -> MoveToDead when the row has made max_attempts attempts or is
//                      max_age old, else MarkFailed with the next attempt at
//                      now + RetryPolicy::Backoff (full jitter, Retry-After a floor).
//      Dead-lettering logs one warning line per row (never per attempt; retries log
//      at debug) with the last error, which is also the dead row's reason.
// Because senders of a channel only ever wait on their own channel, a dead or slow
// endpoint ties up its own threads and no one else's.
//
// Ordering: the queue hands out at most one pending row per ordering key (an alert
// instance), and a row stays pending through its retries until done or dead, so a
// resolve is never sent before its firing is done or dead, whatever the concurrency.
// Duplicates: a row whose send outlives its lease may be claimed and sent again by
// another sender; choose `lease` above the worst-case send time (the emitter's timeouts,
// plus the fallback's when one is configured). Every send of a row carries the same
// Notification::idempotency_key, so receivers can drop such duplicates and those after
// a crash between a send and its MarkDone (at-least-once delivery).
//
// Fallback: a channel may name another registered channel as its fallback. When an
// attempt on the primary fails (retryable or permanent) and the row has made at least
// `fallback_after_failures` attempts, a copy (same id and idempotency key, channel set
// to the fallback's name) is sent once through the fallback channel's emitter, subject
// to the fallback's breaker (not its rate limiter or its threads). If the fallback
// delivers, the row is marked done (counted as delivered_via_fallback); otherwise the
// primary's outcome stands (retry or dead). While the primary's breaker is open, a
// channel WITH a fallback still claims due rows and counts each as a failed attempt
// ("circuit breaker open", without calling the primary), so rows reach the fallback
// during an outage instead of waiting for the breaker's probes; a channel without one
// claims nothing while open, so an outage does not use up the rows' attempts.
//
// Outbox errors (Claim/MarkDone/... failing, e.g. a busy database) are counted, logged
// at a bounded rate, and the sender backs off one poll interval. A row whose MarkDone
// failed is sent again when its lease runs out (same idempotency key).
//
// Thread safety: AddChannel() and Start() from one thread before any other call;
// Notify() and Stats() from any thread at any time; Stop() and the destructor from the
// owning thread. Emitters are called from several threads at once.
#ifndef TIDEWATCH_SINKS_DELIVERY_WORKER_H_
#define TIDEWATCH_SINKS_DELIVERY_WORKER_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sinks/circuit_breaker.h"
#include "sinks/emitter.h"
#include "sinks/outbox_queue.h"
#include "sinks/retry_policy.h"
#include "store/status.h"

namespace tidewatch::sinks {

struct ChannelPolicy {
  // Sender threads, i.e. sends in flight at most. Default 4.
  std::int64_t max_concurrency = 4;
  // Sends per second (token bucket); 0: unlimited. `burst` sends may go at once (a
  // value below 1 is taken as 1).
  double rate_per_s = 0;
  double burst = 1;
  // Backoff base/cap, max_attempts (default 10) and max_age (default 24 h).
  RetryOptions retry;
  // How long a claimed row is leased to its sender: must exceed the worst-case send
  // time, or the row may be sent twice. Default 60 s.
  std::chrono::nanoseconds lease = std::chrono::seconds(60);
  // Consecutive failures that open the breaker (0: no breaker) and how long it stays
  // open before a probe. Defaults 5 and 30 s.
  CircuitBreakerOptions breaker;
  // A registered channel to try after `fallback_after_failures` failed attempts of a
  // row (see "Fallback" above); empty: none.
  std::string fallback;
  std::int64_t fallback_after_failures = 3;
};

struct DeliveryWorkerOptions {
  // How often an idle sender looks for due rows (retries becoming due, rows committed
  // without a Notify()). Lower: retries start closer to their due time, more claims on
  // an idle outbox. Default 200 ms.
  std::chrono::nanoseconds poll_interval = std::chrono::milliseconds(200);
  // The clock for claims, backoff, breakers and rate limits, ns since the epoch.
  // Default: the system clock. Waiting itself is in real time, at most one poll
  // interval at a time, so a test clock that stands still only makes senders poll.
  std::function<std::int64_t()> clock;
  // Seeds the jitter of every sender (each gets its own generator, seeded apart);
  // default: from std::random_device.
  std::optional<std::uint64_t> seed;
};

// Upper bounds (inclusive) of the created_at -> done latency buckets; +Inf follows.
inline constexpr std::array<std::int64_t, 16> kDeliveryLatencyBoundsNs = {
    10'000'000,      50'000'000,        100'000'000,        250'000'000,
    500'000'000,     1'000'000'000,     2'500'000'000,      5'000'000'000,
    10'000'000'000,  30'000'000'000,    60'000'000'000,     300'000'000'000,
    900'000'000'000, 3'600'000'000'000, 21'600'000'000'000, 86'400'000'000'000};

// One channel's counters, a snapshot.
struct ChannelStats {
  std::string channel;
  std::uint64_t delivered = 0;               // rows marked done, fallback included
  std::uint64_t delivered_via_fallback = 0;  // of which through the fallback channel
  std::uint64_t retries = 0;                 // failed attempts scheduled again
  std::uint64_t dead = 0;                    // rows dead-lettered, permanent included
  std::uint64_t permanent_failures = 0;      // dead-lettered for a permanent outcome
  std::uint64_t outbox_errors = 0;           // queue calls that failed
  BreakerState breaker = BreakerState::kClosed;
  std::int64_t in_flight = 0;  // rows claimed and not yet recorded
  std::string last_error;      // of the last failed attempt or outbox call
  // created_at -> done of delivered rows: observations <= each bound, all, their sum.
  std::array<std::uint64_t, kDeliveryLatencyBoundsNs.size()> latency_cumulative{};
  std::uint64_t latency_count = 0;
  double latency_sum_seconds = 0;
};

class DeliveryWorker {
 public:
  // REQUIRES: queue outlives the worker.
  explicit DeliveryWorker(OutboxQueue& queue, DeliveryWorkerOptions options = {});
  // Stop().
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  // Registers channel `name`: its rows are sent with `emitter`. kInvalidArgument for an
  // empty or duplicate name, a null emitter or an invalid policy (max_concurrency < 1,
  // rate < 0, base <= 0, cap < base, max_attempts < 1, max_age/lease <= 0, fallback
  // naming the channel itself, fallback_after_failures < 1).
  // REQUIRES: before Start().
  Status AddChannel(std::string name, std::shared_ptr<Emitter> emitter, ChannelPolicy policy);

  // Starts the senders. kInvalidArgument when a fallback names no registered channel
  // (nothing is started then). REQUIRES: called once.
  Status Start();

  // New rows were committed: idle senders look for them now rather than at the next
  // poll. Cheap; call after every commit that enqueued notifications.
  void Notify();

  // Stops and joins every sender. Sends in flight finish (bounded by the emitters'
  // timeouts) and their outcomes are recorded; nothing new is claimed. Idempotent.
  void Stop();

  // Every channel's counters, by registration order.
  std::vector<ChannelStats> Stats() const;

 private:
  struct Channel;

  void RunSender(Channel& channel, std::uint64_t seed);
  // One round: returns how long to wait before the next one (0: go on at once).
  std::int64_t SendOne(Channel& channel, RetryPolicy& retry);
  void Deliver(Channel& channel, RetryPolicy& retry, const Notification& row, bool short_circuit);
  bool TryFallback(Channel& channel, const Notification& row, std::string& error);
  void Dead(Channel& channel, const Notification& row, const std::string& reason, bool permanent);
  void OutboxError(Channel& channel, const Status& status);
  void Wait(std::uint64_t seen, std::int64_t ns);
  std::int64_t Now() const { return clock_(); }

  // Constant after construction / Start().
  OutboxQueue& queue_;
  const std::chrono::nanoseconds poll_interval_;
  const std::function<std::int64_t()> clock_;
  const std::uint64_t seed_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable wake_;
  // Guarded by mu_.
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // bumped by Notify()
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_DELIVERY_WORKER_H_
