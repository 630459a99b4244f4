#include "sinks/retry_policy.h"

#include <algorithm>
#include <cassert>

namespace tidewatch::sinks {

RetryPolicy::RetryPolicy(const RetryOptions& options, std::uint64_t seed)
    : options_(options), rng_(seed) {
  assert(options_.base.count() > 0 && options_.cap >= options_.base);
  assert(options_.max_attempts >= 1 && options_.max_age.count() > 0);
}

std::chrono::nanoseconds RetryPolicy::Ceiling(std::int64_t failed_attempts) const {
  const std::int64_t base = options_.base.count();
  const std::int64_t cap = options_.cap.count();
  std::int64_t bound = base;
  // Doubling stops at the cap, so the bound never overflows.
  for (std::int64_t n = 1; n < failed_attempts && bound < cap; ++n) {
    bound = bound > cap / 2 ? cap : bound * 2;
  }
  return std::chrono::nanoseconds(std::min(bound, cap));
}

std::chrono::nanoseconds RetryPolicy::Backoff(
    std::int64_t failed_attempts, std::optional<std::chrono::milliseconds> retry_after) {
  std::uniform_int_distribution<std::int64_t> jitter(0, Ceiling(failed_attempts).count());
  const std::chrono::nanoseconds delay(jitter(rng_));
  if (retry_after.has_value() && *retry_after > delay) return *retry_after;
  return delay;
}

bool RetryPolicy::GiveUp(std::int64_t attempts, std::int64_t created_at, std::int64_t now) const {
  return attempts >= options_.max_attempts || now - created_at >= options_.max_age.count();
}

}  // namespace tidewatch::sinks
