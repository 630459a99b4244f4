#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rules/parser.h"
#include "rules/query_executor.h"
#include "tests/rules/query_test_util.h"

namespace tidewatch::rules {
namespace {

using testing::kSec;
using testing::PlantData;
using testing::QueryFixture;

// Like testing::Render, but every float bit for bit (hex), and "(partial)" kept.
std::string RenderExact(const QueryResult& result) {
  std::string out;
  for (const StatementResult& r : result.results) {
    if (r.error) out += "error: " + *r.error + "\n";
    for (const ResultSeries& s : r.series) {
      out += s.name;
      for (const auto& [k, v] : s.tags) out += " " + k + "=" + v;
      out += s.partial ? " (partial)\n" : "\n";
      for (const std::vector<Value>& row : s.values) {
        for (const Value& v : row) {
          char buf[64];
          if (const auto* d = std::get_if<double>(&v)) {
            std::snprintf(buf, sizeof buf, " %a", *d);
            out += buf;
          } else {
            out += " " + testing::RenderValue(v);
          }
        }
        out += "\n";
      }
    }
  }
  return out;
}

// 4 sites x 64 sensors x 2048 points: 2^19 points in 256 series, enough for the
// executor to spread a statement's GROUP BY groups over threads.
void WriteManySeries(QueryFixture& f) {
  std::vector<store::Point> points;
  for (int site = 0; site < 4; ++site) {
    for (int sensor = 0; sensor < 64; ++sensor) {
      char name[16];
      std::snprintf(name, sizeof name, "x%03d", site * 64 + sensor);
      StatusOr<store::SeriesId> id = f.store().Intern(
          {"plant", "big",
           std::vector<store::TagView>{{"sensor", name}, {"site", "s" + std::to_string(site)}},
           "value"},
          store::FieldType::kFloat);
      ASSERT_TRUE(id.ok());
      points.clear();
      for (int i = 0; i < 2048; ++i) {
        // Few distinct values: ties for median and percentile; reals for sums.
        const int v = (i * 7919 + (site * 64 + sensor) * 104729) % 211;
        points.push_back({*id, std::int64_t{i} * kSec, v / 7.0});
      }
      ASSERT_EQ(f.store().Append(points).appended, points.size());
    }
  }
}

QueryResult RunWithThreads(QueryFixture& f, std::string_view q, std::size_t threads) {
  StatusOr<Query> query = ParseQuery(q);
  EXPECT_TRUE(query.ok()) << q;
  if (!query.ok()) return {};
  QueryLimits limits = f.limits();
  limits.threads = threads;
  QueryExecutor executor(f.store(), f.registry(), limits);
  return executor.Execute(*query, {"plant", 3600 * kSec});
}

// Groups evaluated on several threads give exactly the one-thread answer, in the same
// order, with the same limits and errors.
TEST(QueryExecutorConcurrencyTest, ManyGroupsOnFourThreadsEqualOneThread) {
  QueryFixture f;
  f.limits().max_rows = 20'000;
  ASSERT_NO_FATAL_FAILURE(WriteManySeries(f));
  struct Case {
    std::string_view query;
    std::size_t series;  // expected result series, so the case is not vacuous
  };
  const Case cases[] = {
      {"SELECT mean(value), median(value), percentile(value, 90), max(value), stddev(value) "
       "FROM big WHERE time >= 0s AND time < 2048s GROUP BY time(1m), sensor",
       256},
      {"SELECT percentile(value, 95), median(value), sum(value) FROM big GROUP BY site", 4},
      {"SELECT count(value), min(value) FROM big WHERE value > 10 GROUP BY time(5m), * "
       "LIMIT 3 SLIMIT 50 SOFFSET 7",
       50},
      {"SELECT value FROM big WHERE time < 100s GROUP BY sensor LIMIT 5 OFFSET 2", 256},
      // 256 x 2048 rows: cut at max_rows, the last series partial.
      {"SELECT value FROM big GROUP BY sensor", 10},
      {"SELECT difference(mean(value)) FROM big WHERE time >= 0s AND time < 2048s "
       "GROUP BY time(10s), sensor fill(previous)",
       99},  // 204 rows per series: cut at max_rows too
  };
  for (const Case& c : cases) {
    const QueryResult one = RunWithThreads(f, c.query, 1);
    ASSERT_EQ(one.results.size(), 1u) << c.query;
    EXPECT_FALSE(one.results[0].error) << *one.results[0].error;
    EXPECT_EQ(one.results[0].series.size(), c.series) << c.query;
    EXPECT_EQ(RenderExact(RunWithThreads(f, c.query, 4)), RenderExact(one)) << c.query;
  }
  // A per-group error: the same status either way.
  f.limits().max_buckets = 100;
  const std::string_view too_many =
      "SELECT mean(value) FROM big WHERE time >= 0s AND "
      "time < 2048s GROUP BY time(1s), sensor";
  const std::string error = RenderExact(RunWithThreads(f, too_many, 1));
  EXPECT_NE(error.find("max-select-buckets"), std::string::npos) << error;
  EXPECT_EQ(RenderExact(RunWithThreads(f, too_many, 4)), error);
}

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
