// CircuitBreaker: stops sending to an endpoint that keeps failing, and probes it now
// and then until it answers again.
//
//   closed ──(failure_threshold consecutive failures)──► open
//   open ──(open_for has passed; the next Allow() is the one probe)──► half-open
//   half-open ──(the probe succeeds)──► closed
//   half-open ──(the probe fails)──► open (for another open_for)
//
// "Failure" is what the caller reports with RecordFailure() (the delivery worker
// reports retryable outcomes: connection errors, timeouts, 5xx, 408, 429); an answer
// that proves the endpoint alive (2xx, other 4xx) is a RecordSuccess(). While
// half-open, Allow() admits exactly one caller as the probe; the others are refused
// until the probe's outcome is recorded, or it is Cancel()ed because its caller ended
// up sending nothing.
// A failure_threshold of 0 disables the breaker: Allow() is always true.
//
// Times are the caller's clock, int64 ns (the clock is injected by passing `now`).
//
// Thread safety: every member may be called from any thread (one mutex).
#ifndef TIDEWATCH_SINKS_CIRCUIT_BREAKER_H_
#define TIDEWATCH_SINKS_CIRCUIT_BREAKER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace tidewatch::sinks {

enum class BreakerState : std::uint8_t { kClosed, kOpen, kHalfOpen };
enum class Admission : std::uint8_t { kRefused, kAllowed, kProbe };
// "closed", "open", "half_open".
std::string_view BreakerStateName(BreakerState state);

struct CircuitBreakerOptions {
  // Consecutive failures that open the breaker; 0 disables it. Default 5.
  std::int64_t failure_threshold = 5;
  // How long it stays open before one probe is let through. Default 30 s.
  std::chrono::nanoseconds open_for = std::chrono::seconds(30);
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitBreakerOptions& options) : options_(options) {}
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // May the caller send now? kAllowed when closed (or disabled). Open and due: turns
  // half-open and returns kProbe; the caller must then report RecordSuccess,
  // RecordFailure or CancelProbe. kRefused otherwise.
  [[nodiscard]] Admission Allow(std::int64_t now);
  void RecordSuccess();
  void RecordFailure(std::int64_t now);
  // The probe sent nothing (no row was due): the next Allow() may probe instead.
  void CancelProbe();

  // The state as of the last call (an open breaker whose open_for has passed still
  // reads kOpen until the next Allow()).
  BreakerState state() const;
  // When an open breaker admits its probe; 0 unless open.
  std::int64_t reopens_at() const;

 private:
  const CircuitBreakerOptions options_;
  mutable std::mutex mu_;
  // Guarded by mu_.
  BreakerState state_ = BreakerState::kClosed;
  std::int64_t consecutive_failures_ = 0;
  std::int64_t opened_at_ = 0;
  bool probe_in_flight_ = false;  // half-open only
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_CIRCUIT_BREAKER_H_
