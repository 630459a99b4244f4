#include "rules/transforms.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tidewatch::rules {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// "t:v t:v ..." with t in seconds, for comparing a whole output at once.
std::string Render(const std::vector<TimedSample>& rows) {
  std::string out;
  for (const TimedSample& r : rows) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%lld:%g", out.empty() ? "" : " ",
                  static_cast<long long>(r.time / kSec), r.value ? *r.value : -999999.0);
    out += buf;
  }
  return out;
}

std::vector<TimedSample> Apply(TransformKind kind, const std::vector<TimedSample>& in,
                               std::int64_t unit_ns = kSec, std::int64_t window = 2,
                               bool ascending = true) {
  return ApplyTransform({kind, unit_ns, window, ascending}, in);
}

// 0s:1, 10s:null, 20s:4, 30s:2, 40s:7
const std::vector<TimedSample> kInput = {
    {0, 1.0}, {10 * kSec, std::nullopt}, {20 * kSec, 4.0}, {30 * kSec, 2.0}, {40 * kSec, 7.0}};

TEST(TransformsTest, DerivativeSkipsNullsAndScalesByUnit) {
  EXPECT_EQ(Render(Apply(TransformKind::kDerivative, kInput)), "20:0.15 30:-0.2 40:0.5");
  EXPECT_EQ(Render(Apply(TransformKind::kDerivative, kInput, 10 * kSec)), "20:1.5 30:-2 40:5");
}

TEST(TransformsTest, NonNegativeDerivativeDropsNegativeRates) {
  EXPECT_EQ(Render(Apply(TransformKind::kNonNegativeDerivative, kInput, 10 * kSec)), "20:1.5 40:5");
}

TEST(TransformsTest, DerivativeDescendingNegatesElapsed) {
  const std::vector<TimedSample> desc = {{30 * kSec, 2.0}, {20 * kSec, 4.0}, {0, 1.0}};
  // (4 - 2) / 10s, (1 - 4) / 20s: InfluxDB's ascending=false arithmetic.
  EXPECT_EQ(Render(Apply(TransformKind::kDerivative, desc, kSec, 2, false)), "20:0.2 0:-0.15");
}

TEST(TransformsTest, DerivativeIgnoresRepeatedTimes) {
  const std::vector<TimedSample> in = {{0, 1.0}, {0, 100.0}, {kSec, 3.0}};
  EXPECT_EQ(Render(Apply(TransformKind::kDerivative, in)), "1:2");
  EXPECT_EQ(Render(Apply(TransformKind::kDifference, in)), "1:2");
}

TEST(TransformsTest, Difference) {
  EXPECT_EQ(Render(Apply(TransformKind::kDifference, kInput)), "20:3 30:-2 40:5");
  EXPECT_EQ(Render(Apply(TransformKind::kNonNegativeDifference, kInput)), "20:3 40:5");
}

TEST(TransformsTest, MovingAverage) {
  EXPECT_EQ(Render(Apply(TransformKind::kMovingAverage, kInput, kSec, 2)), "20:2.5 30:3 40:4.5");
  EXPECT_EQ(Render(Apply(TransformKind::kMovingAverage, kInput, kSec, 3)), "30:2.33333 40:4.33333");
  EXPECT_EQ(Render(Apply(TransformKind::kMovingAverage, kInput, kSec, 5)), "");
}

TEST(TransformsTest, CumulativeSum) {
  EXPECT_EQ(Render(Apply(TransformKind::kCumulativeSum, kInput)), "0:1 20:5 30:7 40:14");
}

TEST(TransformsTest, EmptyAndAllNullInputs) {
  const std::vector<TimedSample> nulls = {{0, std::nullopt}, {kSec, std::nullopt}};
  for (TransformKind kind : {TransformKind::kDerivative, TransformKind::kNonNegativeDerivative,
                             TransformKind::kDifference, TransformKind::kNonNegativeDifference,
                             TransformKind::kMovingAverage, TransformKind::kCumulativeSum}) {
    EXPECT_EQ(Render(Apply(kind, {})), "");
    EXPECT_EQ(Render(Apply(kind, nulls)), "");
    EXPECT_EQ(Render(Apply(kind, {{0, 5.0}})), kind == TransformKind::kCumulativeSum ? "0:5" : "");
  }
}

TEST(TransformsTest, Names) {
  EXPECT_EQ(TransformByName("non_negative_derivative"), TransformKind::kNonNegativeDerivative);
  EXPECT_EQ(TransformByName("cumulative_sum"), TransformKind::kCumulativeSum);
  EXPECT_EQ(TransformByName("mean"), std::nullopt);
  EXPECT_TRUE(TransformKeepsType(TransformKind::kDifference));
  EXPECT_FALSE(TransformKeepsType(TransformKind::kMovingAverage));
}

}  // namespace
}  // namespace tidewatch::rules
