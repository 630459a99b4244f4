// LogLimiter: bounds how often one kind of error is logged, so that a stream of poison
// messages or a flapping broker cannot flood the log. At most `burst` lines per
// `period`; the lines refused meanwhile are counted and reported with the next line
// let through ("... (57 similar suppressed)").
//
// Thread safety: not thread-safe; one per thread (the source's consumer thread).
#ifndef TIDEWATCH_INGEST_INTERNAL_LOG_LIMITER_H_
#define TIDEWATCH_INGEST_INTERNAL_LOG_LIMITER_H_

#include <chrono>
#include <cstdint>

namespace tidewatch::ingest::internal {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: burst >= 1.
  explicit LogLimiter(std::uint32_t burst = 10, Clock::duration period = std::chrono::seconds(10))
      : burst_(burst), period_(period) {}

  // True if a line may be logged at `now`; then `suppressed` is the number of lines
  // refused since the last one let through (and that count restarts).
  bool Allow(Clock::time_point now, std::uint64_t& suppressed) {
    if (now - window_start_ >= period_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      return false;
    }
    ++used_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

  bool Allow(std::uint64_t& suppressed) { return Allow(Clock::now(), suppressed); }

 private:
  const std::uint32_t burst_;
  const Clock::duration period_;
  Clock::time_point window_start_{};
  std::uint32_t used_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_LOG_LIMITER_H_
