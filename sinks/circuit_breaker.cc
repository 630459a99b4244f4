#include "sinks/circuit_breaker.h"

namespace tidewatch::sinks {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

Admission CircuitBreaker::Allow(std::int64_t now) {
  if (options_.failure_threshold <= 0) return Admission::kAllowed;
  std::lock_guard lock(mu_);
  switch (state_) {
    case BreakerState::kClosed:
      return Admission::kAllowed;
    case BreakerState::kOpen:
      if (now - opened_at_ < options_.open_for.count()) return Admission::kRefused;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return Admission::kProbe;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return Admission::kRefused;
      probe_in_flight_ = true;
      return Admission::kProbe;
  }
  return Admission::kRefused;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mu_);
  state_ = BreakerState::kClosed;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::RecordFailure(std::int64_t now) {
  if (options_.failure_threshold <= 0) return;
  std::lock_guard lock(mu_);
  ++consecutive_failures_;
  // A failed probe reopens at once; a closed breaker opens at the threshold. A failure
  // reported while already open (a send admitted before it opened) changes nothing.
  if (state_ == BreakerState::kHalfOpen ||
      (state_ == BreakerState::kClosed && consecutive_failures_ >= options_.failure_threshold)) {
    state_ = BreakerState::kOpen;
    opened_at_ = now;
    probe_in_flight_ = false;
  }
}

void CircuitBreaker::CancelProbe() {
  std::lock_guard lock(mu_);
  probe_in_flight_ = false;
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::int64_t CircuitBreaker::reopens_at() const {
  std::lock_guard lock(mu_);
  return state_ == BreakerState::kOpen ? opened_at_ + options_.open_for.count() : 0;
}

}  // namespace tidewatch::sinks
