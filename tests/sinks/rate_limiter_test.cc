// RateLimiter: a token bucket on an injected clock.
#include "sinks/rate_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace tidewatch::sinks {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(RateLimiterTest, BurstThenOnePerInterval) {
  RateLimiter limiter(10, 3, 0);  // 10/s, burst 3
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_EQ(limiter.TryAcquire(0), kSecond / 10);  // the next token in 100 ms
  EXPECT_EQ(limiter.TryAcquire(kSecond / 20), kSecond / 20);
  EXPECT_EQ(limiter.TryAcquire(kSecond / 10), 0);
  EXPECT_GT(limiter.TryAcquire(kSecond / 10), 0);
}

TEST(RateLimiterTest, IdleTimeFillsOnlyUpToTheBurst) {
  RateLimiter limiter(100, 2, 0);
  int got = 0;
  while (limiter.TryAcquire(1000 * kSecond) == 0 && got < 100) ++got;
  EXPECT_EQ(got, 2);
}

TEST(RateLimiterTest, RefundGivesATokenBackButNotBeyondTheBurst) {
  RateLimiter limiter(1, 1, 0);
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_GT(limiter.TryAcquire(0), 0);
  limiter.Refund();
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  limiter.Refund();
  limiter.Refund();
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_GT(limiter.TryAcquire(0), 0);
}

TEST(RateLimiterTest, BurstBelowOneIsOne) {
  RateLimiter limiter(5, 0, 0);
  EXPECT_EQ(limiter.TryAcquire(0), 0);
  EXPECT_GT(limiter.TryAcquire(0), 0);
}

TEST(RateLimiterTest, ClockGoingBackwardsAccruesNothing) {
  RateLimiter limiter(1, 1, 10 * kSecond);
  EXPECT_EQ(limiter.TryAcquire(10 * kSecond), 0);
  EXPECT_GT(limiter.TryAcquire(5 * kSecond), 0);
  EXPECT_GT(limiter.TryAcquire(10 * kSecond), 0);
  EXPECT_EQ(limiter.TryAcquire(11 * kSecond), 0);
}

// A greedy caller on a clock stepping 1 ms gets burst + rate * t tokens, never more.
TEST(RateLimiterTest, CountOverTimeMatchesRate) {
  RateLimiter limiter(50, 5, 0);
  std::int64_t got = 0;
  for (std::int64_t now = 0; now <= 10 * kSecond; now += kSecond / 1000) {
    while (limiter.TryAcquire(now) == 0) {
      ++got;
      ASSERT_LE(got, 5 + 50 * now / kSecond + 1) << "at " << now;
    }
  }
  EXPECT_GE(got, 5 + 50 * 10 - 1);
  EXPECT_LE(got, 5 + 50 * 10);
}

}  // namespace
}  // namespace tidewatch::sinks
