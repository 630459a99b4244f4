// CircuitBreaker: closed -> open after N consecutive failures -> half-open (one probe)
// after open_for -> closed on success / open again on failure; an injected clock.
#include "sinks/circuit_breaker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tidewatch::sinks {
namespace {

constexpr std::int64_t kOpenFor = 10'000;

CircuitBreakerOptions Options(std::int64_t threshold = 3) {
  return {threshold, std::chrono::nanoseconds(kOpenFor)};
}

std::string Admit(CircuitBreaker& breaker, std::int64_t now) {
  switch (breaker.Allow(now)) {
    case Admission::kRefused:
      return "refused";
    case Admission::kAllowed:
      return "allowed";
    case Admission::kProbe:
      return "probe";
  }
  return "?";
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  CircuitBreaker breaker(Options());
  breaker.RecordFailure(1);
  breaker.RecordFailure(2);
  breaker.RecordSuccess();  // resets the run
  breaker.RecordFailure(3);
  breaker.RecordFailure(4);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(Admit(breaker, 4), "allowed");
  breaker.RecordFailure(5);
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.reopens_at(), 5 + kOpenFor);
  EXPECT_EQ(Admit(breaker, 6), "refused");
  EXPECT_EQ(Admit(breaker, 5 + kOpenFor - 1), "refused");
}

TEST(CircuitBreakerTest, HalfOpenAdmitsOneProbeThatClosesOnSuccess) {
  CircuitBreaker breaker(Options(1));
  breaker.RecordFailure(0);
  EXPECT_EQ(Admit(breaker, kOpenFor), "probe");
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(Admit(breaker, kOpenFor), "refused");
  EXPECT_EQ(Admit(breaker, kOpenFor + 1), "refused");
  breaker.RecordSuccess();
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(Admit(breaker, kOpenFor + 2), "allowed");
  EXPECT_EQ(Admit(breaker, kOpenFor + 2), "allowed");
}

TEST(CircuitBreakerTest, FailedProbeReopensForAnotherPeriod) {
  CircuitBreaker breaker(Options(2));
  breaker.RecordFailure(0);
  breaker.RecordFailure(0);
  EXPECT_EQ(Admit(breaker, kOpenFor + 5), "probe");
  breaker.RecordFailure(kOpenFor + 7);  // one failure suffices while half-open
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker.reopens_at(), 2 * kOpenFor + 7);
  EXPECT_EQ(Admit(breaker, 2 * kOpenFor + 6), "refused");
  EXPECT_EQ(Admit(breaker, 2 * kOpenFor + 7), "probe");
}

TEST(CircuitBreakerTest, CancelledProbeLetsTheNextCallerProbe) {
  CircuitBreaker breaker(Options(1));
  breaker.RecordFailure(0);
  EXPECT_EQ(Admit(breaker, kOpenFor), "probe");
  breaker.CancelProbe();
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_EQ(Admit(breaker, kOpenFor), "probe");
  EXPECT_EQ(Admit(breaker, kOpenFor), "refused");
}

TEST(CircuitBreakerTest, LateFailureWhileOpenDoesNotExtendIt) {
  CircuitBreaker breaker(Options(1));
  breaker.RecordFailure(0);
  breaker.RecordFailure(kOpenFor - 1);  // a send admitted before it opened
  EXPECT_EQ(breaker.reopens_at(), kOpenFor);
}

TEST(CircuitBreakerTest, ThresholdZeroDisablesIt) {
  CircuitBreaker breaker(Options(0));
  for (int i = 0; i < 100; ++i) breaker.RecordFailure(i);
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_EQ(Admit(breaker, 100), "allowed");
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace tidewatch::sinks
