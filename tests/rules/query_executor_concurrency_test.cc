#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "rules/query_executor.h"
#include "tests/rules/query_test_util.h"

namespace tidewatch::rules {
namespace {

using testing::PlantData;
using testing::QueryFixture;

// Queries while a writer appends: every answer is well-formed and counts only grow.
TEST(QueryExecutorConcurrencyTest, QueriesWhileAppending) {
  QueryFixture f;
  f.Write("plant", PlantData());
  StatusOr<store::SeriesId> id =
      f.store().Intern({"plant", "live", std::vector<store::TagView>{{"host", "w"}}, "value"},
                       store::FieldType::kFloat);
  ASSERT_TRUE(id.ok());
#ifdef TIDEWATCH_SANITIZED
  constexpr int kPoints = 5'000;
#else
  constexpr int kPoints = 50'000;
#endif
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kPoints; ++i) {
      const store::Point p{*id, std::int64_t{i} * 1'000'000, static_cast<double>(i)};
      static_cast<void>(f.store().Append({&p, 1}));
    }
    done = true;
  });
  std::int64_t last = 0;
  int queries = 0;
  while (!done || queries < 3) {
    const std::string r = f.Run("SELECT count(value) FROM live", "plant", 3600);
    ++queries;
    if (r.empty()) continue;  // nothing appended yet
    const auto comma = r.rfind(',');
    ASSERT_NE(comma, std::string::npos) << r;
    const std::int64_t count = std::stoll(r.substr(comma + 1));
    ASSERT_GE(count, last);
    last = count;
  }
  writer.join();
  EXPECT_EQ(f.Run("SELECT count(value) FROM live", "plant", 3600),
            "live time,count\n  0s," + std::to_string(kPoints) + "i\n");
}

}  // namespace
}  // namespace tidewatch::rules
