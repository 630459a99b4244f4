// RetryPolicy: when to try a failed notification again, and when to give up.
//
// Backoff is exponential with full jitter (the "Full Jitter" of AWS's backoff study):
// after the n-th failed attempt (n >= 1) the delay is uniform in
// [0, min(cap, base * 2^(n-1))], so the first retry waits up to `base`, the second up to
// 2·base, and so on until `cap`. Full jitter spreads the retries of many rows that
// failed together (an endpoint outage) instead of sending them back in waves. A
// receiver's Retry-After is a floor: the delay is max(jittered, retry_after), even
// beyond the cap, because the receiver asked for it.
//
// Giving up: after a failed attempt the row is dead-lettered when it has made
// max_attempts attempts or is max_age old (measured from its created_at).
//
// Thread safety: Backoff() draws from the policy's own random generator, so one policy
// must not be used from two threads at once; give each thread its own (seeded apart).
// GiveUp() is const and may be called from any thread.
#ifndef TIDEWATCH_SINKS_RETRY_POLICY_H_
#define TIDEWATCH_SINKS_RETRY_POLICY_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace tidewatch::sinks {

struct RetryOptions {
  // The first retry waits up to `base`; each further one doubles the bound.
  std::chrono::nanoseconds base = std::chrono::seconds(1);
  // The largest bound, reached after log2(cap/base) failures. Default 5 minutes.
  std::chrono::nanoseconds cap = std::chrono::minutes(5);
  // Attempts (the first one included) before a row is dead-lettered. Default 10.
  std::int64_t max_attempts = 10;
  // Age at which a failing row is dead-lettered. Default 24 hours.
  std::chrono::nanoseconds max_age = std::chrono::hours(24);
};

class RetryPolicy {
 public:
  // REQUIRES: base > 0, cap >= base, max_attempts >= 1, max_age > 0.
  RetryPolicy(const RetryOptions& options, std::uint64_t seed);

  // The delay before the next attempt, after `failed_attempts` (>= 1) failed ones.
  [[nodiscard]] std::chrono::nanoseconds Backoff(
      std::int64_t failed_attempts, std::optional<std::chrono::milliseconds> retry_after);

  // The upper bound of Backoff() without Retry-After: min(cap, base * 2^(n-1)).
  [[nodiscard]] std::chrono::nanoseconds Ceiling(std::int64_t failed_attempts) const;

  // True when a row created at `created_at` that has made `attempts` attempts, the
  // last of which failed, should be dead-lettered at `now` (ns since the epoch).
  [[nodiscard]] bool GiveUp(std::int64_t attempts, std::int64_t created_at, std::int64_t now) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_RETRY_POLICY_H_
