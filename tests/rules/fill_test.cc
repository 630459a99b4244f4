#include "rules/fill.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tidewatch::rules {
namespace {

// "v v null v" for comparing a whole column at once.
std::string Render(const std::vector<std::optional<double>>& cells) {
  std::string out;
  for (const std::optional<double>& c : cells) {
    if (!out.empty()) out += ' ';
    if (!c) {
      out += "null";
      continue;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *c);
    out += buf;
  }
  return out;
}

std::string Fill(FillSpec spec, std::vector<std::optional<double>> cells, bool integer = false) {
  std::vector<store::Timestamp> times;
  for (std::size_t i = 0; i < cells.size(); ++i)
    times.push_back(static_cast<store::Timestamp>(i * 10));
  FillColumn(spec, times, cells, integer);
  return Render(cells);
}

const std::vector<std::optional<double>> kGappy = {std::nullopt, 1.0, std::nullopt,
                                                   std::nullopt, 4.0, std::nullopt};

TEST(FillTest, NullAndNoneLeaveNulls) {
  EXPECT_EQ(Fill({FillMode::kNull}, kGappy), "null 1 null null 4 null");
  EXPECT_EQ(Fill({FillMode::kNone}, kGappy), "null 1 null null 4 null");
}

TEST(FillTest, Value) {
  EXPECT_EQ(Fill({FillMode::kValue, -1.5}, kGappy), "-1.5 1 -1.5 -1.5 4 -1.5");
  EXPECT_EQ(Fill({FillMode::kValue, -1.5}, kGappy, /*integer=*/true), "-1 1 -1 -1 4 -1");
}

TEST(FillTest, PreviousKeepsLeadingNulls) {
  EXPECT_EQ(Fill({FillMode::kPrevious}, kGappy), "null 1 1 1 4 4");
}

TEST(FillTest, LinearOnlyBetweenTwoValues) {
  EXPECT_EQ(Fill({FillMode::kLinear}, kGappy), "null 1 2 3 4 null");
  // Integers: int64(slope * dt) + previous, as InfluxDB.
  EXPECT_EQ(Fill({FillMode::kLinear}, {1.0, std::nullopt, std::nullopt, 2.0}, true), "1 1 1 2");
  EXPECT_EQ(Fill({FillMode::kLinear}, {1.0, std::nullopt, std::nullopt, 2.0}),
            "1 1.33333 1.66667 2");
}

TEST(FillTest, LinearUsesTimesInDescendingOrder) {
  std::vector<std::optional<double>> cells = {4.0, std::nullopt, 2.0};
  const std::vector<store::Timestamp> times = {20, 10, 0};
  FillColumn({FillMode::kLinear}, times, cells, false);
  EXPECT_EQ(Render(cells), "4 3 2");
}

TEST(FillTest, EmptyAndAllNull) {
  EXPECT_EQ(Fill({FillMode::kLinear}, {}), "");
  EXPECT_EQ(Fill({FillMode::kPrevious}, {std::nullopt, std::nullopt}), "null null");
  EXPECT_EQ(Fill({FillMode::kValue, 7}, {std::nullopt}), "7");
}

TEST(FillTest, CountUnderFillNullIsZero) {
  EXPECT_EQ(EffectiveFill({FillMode::kNull}, true).mode, FillMode::kValue);
  EXPECT_EQ(EffectiveFill({FillMode::kNull}, true).value, 0);
  EXPECT_EQ(EffectiveFill({FillMode::kNone}, true).mode, FillMode::kNone);
  EXPECT_EQ(EffectiveFill({FillMode::kNull}, false).mode, FillMode::kNull);
}

}  // namespace
}  // namespace tidewatch::rules
