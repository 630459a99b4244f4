// RateLimiter: a token bucket. Tokens accrue at `rate_per_s` up to `burst`; each send
// takes one. The bucket starts full, so `burst` sends may go at once, then one per
// 1/rate seconds. Over any interval of length t starting from a full bucket at most
// burst + rate·t tokens are handed out.
//
// Times are the caller's clock, int64 ns (the clock is injected by passing `now`); a
// clock that goes backwards accrues nothing until it passes its old value.
//
// Thread safety: every member may be called from any thread (one mutex).
#ifndef TIDEWATCH_SINKS_RATE_LIMITER_H_
#define TIDEWATCH_SINKS_RATE_LIMITER_H_

#include <cstdint>
#include <mutex>

namespace tidewatch::sinks {

class RateLimiter {
 public:
  // REQUIRES: rate_per_s > 0. A burst below 1 is taken as 1.
  RateLimiter(double rate_per_s, double burst, std::int64_t now);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token and returns 0, or takes nothing and returns the ns until a token
  // will be there (> 0).
  [[nodiscard]] std::int64_t TryAcquire(std::int64_t now);
  // Gives back a token that was taken but not used (never beyond `burst`).
  void Refund();

 private:
  void Refill(std::int64_t now);  // REQUIRES: mu_ held.

  // Credit is counted in billionths of a token, so a whole number of ns at a whole
  // number of tokens per second adds up exactly (no drift from summing 0.1s).
  static constexpr double kToken = 1e9;
  const double rate_per_s_;
  const double max_credit_;  // burst * kToken
  std::mutex mu_;
  // Guarded by mu_.
  double credit_;
  std::int64_t last_ = 0;
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_RATE_LIMITER_H_
