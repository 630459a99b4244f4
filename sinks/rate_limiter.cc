#include "sinks/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace tidewatch::sinks {

RateLimiter::RateLimiter(double rate_per_s, double burst, std::int64_t now)
    : rate_per_s_(rate_per_s),
      max_credit_(std::max(1.0, burst) * kToken),
      credit_(max_credit_),
      last_(now) {
  assert(rate_per_s > 0);
}

void RateLimiter::Refill(std::int64_t now) {
  if (now <= last_) return;
  credit_ = std::min(max_credit_, credit_ + static_cast<double>(now - last_) * rate_per_s_);
  last_ = now;
}

std::int64_t RateLimiter::TryAcquire(std::int64_t now) {
  std::lock_guard lock(mu_);
  Refill(now);
  if (credit_ >= kToken) {
    credit_ -= kToken;
    return 0;
  }
  const double wait = std::ceil((kToken - credit_) / rate_per_s_);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(wait));
}

void RateLimiter::Refund() {
  std::lock_guard lock(mu_);
  credit_ = std::min(max_credit_, credit_ + kToken);
}

}  // namespace tidewatch::sinks
