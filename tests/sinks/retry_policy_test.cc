// RetryPolicy: exponential backoff with full jitter, Retry-After as a floor, give-up.
#include "sinks/retry_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tidewatch::sinks {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

RetryOptions Options() {
  RetryOptions o;
  o.base = milliseconds(100);
  o.cap = milliseconds(1000);
  o.max_attempts = 5;
  o.max_age = std::chrono::hours(1);
  return o;
}

TEST(RetryPolicyTest, CeilingDoublesUpToTheCap) {
  RetryPolicy policy(Options(), 1);
  std::string ceilings;
  for (std::int64_t n = 1; n <= 7; ++n) {
    ceilings +=
        std::to_string(std::chrono::duration_cast<milliseconds>(policy.Ceiling(n)).count()) + " ";
  }
  EXPECT_EQ(ceilings, "100 200 400 800 1000 1000 1000 ");
  // Huge attempt counts neither overflow nor pass the cap.
  EXPECT_EQ(policy.Ceiling(1'000'000), milliseconds(1000));
  RetryOptions wide = Options();
  wide.cap = nanoseconds(INT64_MAX);
  EXPECT_GT(RetryPolicy(wide, 1).Ceiling(200).count(), 0);
}

TEST(RetryPolicyTest, BackoffIsFullJitterWithinTheCeiling) {
  RetryPolicy policy(Options(), 42);
  for (std::int64_t n = 1; n <= 8; ++n) {
    const nanoseconds ceiling = policy.Ceiling(n);
    int low = 0;
    int high = 0;
    for (int i = 0; i < 2000; ++i) {
      const nanoseconds d = policy.Backoff(n, std::nullopt);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, ceiling) << "attempt " << n;
      low += d < ceiling / 4 ? 1 : 0;
      high += d > ceiling * 3 / 4 ? 1 : 0;
    }
    // Full jitter spreads over the whole range (equal jitter would never go below half).
    EXPECT_GT(low, 300) << "attempt " << n;
    EXPECT_GT(high, 300) << "attempt " << n;
  }
}

TEST(RetryPolicyTest, SeedDecidesTheSequence) {
  auto draw = [](std::uint64_t seed) {
    RetryPolicy policy(Options(), seed);
    std::vector<std::int64_t> out;
    for (int i = 0; i < 16; ++i) out.push_back(policy.Backoff(4, std::nullopt).count());
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(RetryPolicyTest, RetryAfterIsAFloorEvenBeyondTheCap) {
  RetryPolicy policy(Options(), 3);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(policy.Backoff(1, milliseconds(5000)), milliseconds(5000));
    EXPECT_GE(policy.Backoff(3, milliseconds(150)), milliseconds(150));
    EXPECT_LE(policy.Backoff(3, milliseconds(150)), milliseconds(400));
  }
}

TEST(RetryPolicyTest, GivesUpByAttemptsOrAge) {
  RetryPolicy policy(Options(), 1);
  const std::int64_t hour = std::chrono::nanoseconds(std::chrono::hours(1)).count();
  EXPECT_FALSE(policy.GiveUp(1, 0, 0));
  EXPECT_FALSE(policy.GiveUp(4, 0, hour - 1));
  EXPECT_TRUE(policy.GiveUp(5, 0, 0));
  EXPECT_TRUE(policy.GiveUp(6, 0, 0));
  EXPECT_TRUE(policy.GiveUp(1, 0, hour));
  EXPECT_TRUE(policy.GiveUp(1, 1000, 1000 + 2 * hour));
}

}  // namespace
}  // namespace tidewatch::sinks
