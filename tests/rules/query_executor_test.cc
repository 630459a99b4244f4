#include "rules/query_executor.h"

#include <gtest/gtest.h>

#include "tests/rules/query_test_util.h"

namespace tidewatch::rules {
namespace {

using testing::kSec;
using testing::PlantData;
using testing::QueryFixture;

class QueryExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { f_.Write("plant", PlantData()); }
  std::string Run(std::string_view q) { return f_.Run(q); }

  QueryFixture f_;
};

TEST_F(QueryExecutorTest, RawFieldAcrossSeriesInTimeOrder) {
  EXPECT_EQ(Run("SELECT value FROM cpu"),
            "cpu time,value\n  0s,1\n  0s,2\n  10s,3\n  10s,4\n  20s,5\n  30s,6\n  40s,7\n");
}

TEST_F(QueryExecutorTest, RawWildcardHasFieldsAndTagsSorted) {
  EXPECT_EQ(Run("SELECT * FROM cpu WHERE host = 'a'"),
            "cpu time,host,load,region,up,value\n"
            "  0s,a,10i,east,true,1\n  10s,a,20i,east,false,3\n  20s,a,40i,east,null,5\n"
            "  40s,a,null,east,null,7\n");
  EXPECT_EQ(Run("SELECT *::field FROM cpu WHERE host = 'b'"),
            "cpu time,load,up,value\n  0s,null,null,2\n  10s,null,null,4\n  30s,null,null,6\n");
}

TEST_F(QueryExecutorTest, EveryAggregate) {
  EXPECT_EQ(Run("SELECT count(value), sum(value), mean(value), min(value), max(value), "
                "spread(value), median(value), stddev(value), first(value), last(value), "
                "percentile(value, 50) FROM cpu"),
            "cpu time,count,sum,mean,min,max,spread,median,stddev,first,last,percentile\n"
            "  0s,7i,28,4,1,7,6,4,2.16025,2,7,4\n");
}

TEST_F(QueryExecutorTest, SingleSelectorCarriesThePointsTime) {
  EXPECT_EQ(Run("SELECT max(value) FROM cpu"), "cpu time,max\n  40s,7\n");
  EXPECT_EQ(Run("SELECT min(value) FROM cpu WHERE time >= 5s"), "cpu time,min\n  10s,3\n");
  // Two selectors: the range start, as InfluxDB.
  EXPECT_EQ(Run("SELECT min(value), max(value) FROM cpu WHERE time >= 5s"),
            "cpu time,min,max\n  5s,3,7\n");
}

TEST_F(QueryExecutorTest, IntegerFieldsStayIntegers) {
  EXPECT_EQ(Run("SELECT sum(load), mean(load), max(load), count(load), spread(load) FROM cpu"),
            "cpu time,sum,mean,max,count,spread\n  0s,70i,23.3333,40i,3i,30i\n");
  EXPECT_EQ(Run("SELECT load FROM cpu"), "cpu time,load\n  0s,10i\n  10s,20i\n  20s,40i\n");
}

TEST_F(QueryExecutorTest, Booleans) {
  EXPECT_EQ(Run("SELECT up FROM cpu"), "cpu time,up\n  0s,true\n  10s,false\n");
  EXPECT_EQ(Run("SELECT count(up), last(up) FROM cpu"), "cpu time,count,last\n  0s,2i,false\n");
  EXPECT_EQ(Run("SELECT mean(up) FROM cpu"), "error: unsupported mean() on boolean field \"up\"\n");
}

constexpr std::string_view kHostA60s =
    "FROM cpu WHERE host = 'a' AND time >= '1970-01-01T00:00:00Z' AND time < 60s "
    "GROUP BY time(10s)";

TEST_F(QueryExecutorTest, GroupByTimeFillModes) {
  const std::string q = "SELECT mean(value) " + std::string(kHostA60s);
  EXPECT_EQ(Run(q), "cpu time,mean\n  0s,1\n  10s,3\n  20s,5\n  30s,null\n  40s,7\n  50s,null\n");
  EXPECT_EQ(Run(q + " fill(none)"), "cpu time,mean\n  0s,1\n  10s,3\n  20s,5\n  40s,7\n");
  EXPECT_EQ(Run(q + " fill(previous)"),
            "cpu time,mean\n  0s,1\n  10s,3\n  20s,5\n  30s,5\n  40s,7\n  50s,7\n");
  EXPECT_EQ(Run(q + " fill(linear)"),
            "cpu time,mean\n  0s,1\n  10s,3\n  20s,5\n  30s,6\n  40s,7\n  50s,null\n");
  EXPECT_EQ(Run(q + " fill(-1)"),
            "cpu time,mean\n  0s,1\n  10s,3\n  20s,5\n  30s,-1\n  40s,7\n  50s,-1\n");
}

TEST_F(QueryExecutorTest, CountOfEmptyBucketIsZero) {
  EXPECT_EQ(Run("SELECT count(value) " + std::string(kHostA60s)),
            "cpu time,count\n  0s,1i\n  10s,1i\n  20s,1i\n  30s,0i\n  40s,1i\n  50s,0i\n");
}

TEST_F(QueryExecutorTest, GroupByTimeWithOffsetAndDescending) {
  EXPECT_EQ(Run("SELECT sum(value) FROM cpu WHERE time >= 0 AND time < 40s "
                "GROUP BY time(20s, 5s)"),
            "cpu time,sum\n  -15s,3\n  5s,12\n  25s,6\n");
  EXPECT_EQ(Run("SELECT max(value) " + std::string(kHostA60s) + " ORDER BY time DESC LIMIT 3"),
            "cpu time,max\n  50s,null\n  40s,7\n  30s,null\n");
}

TEST_F(QueryExecutorTest, OpenGroupByTimeRunsFromFirstPointToNow) {
  // now = 60s: the bucket holding now is the last one.
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE host = 'b' GROUP BY time(20s)"),
            "cpu time,count\n  0s,2i\n  20s,1i\n  40s,0i\n  60s,0i\n");
  EXPECT_EQ(Run("SELECT mean(value) FROM cpu WHERE time > now() - 25s GROUP BY time(20s)"),
            "cpu time,mean\n  20s,null\n  40s,7\n  60s,null\n");
}

TEST_F(QueryExecutorTest, GroupByTags) {
  EXPECT_EQ(Run("SELECT last(value) FROM cpu GROUP BY host"),
            "cpu host=a time,last\n  40s,7\ncpu host=b time,last\n  30s,6\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu GROUP BY *"),
            "cpu host=a,region=east time,count\n  0s,4i\ncpu host=b,region=west time,count\n"
            "  0s,3i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu GROUP BY /reg/"),
            "cpu region=east time,count\n  0s,4i\ncpu region=west time,count\n  0s,3i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu GROUP BY nope"), "cpu nope= time,count\n  0s,7i\n");
}

TEST_F(QueryExecutorTest, TransformsOverAggregates) {
  const std::string where(kHostA60s);
  EXPECT_EQ(Run("SELECT derivative(mean(value)) " + where),
            "cpu time,derivative\n  10s,2\n  20s,2\n  40s,1\n");
  EXPECT_EQ(Run("SELECT derivative(mean(value), 1s) " + where),
            "cpu time,derivative\n  10s,0.2\n  20s,0.2\n  40s,0.1\n");
  EXPECT_EQ(Run("SELECT difference(max(value)) " + where + " fill(0)"),
            "cpu time,difference\n  10s,2\n  20s,2\n  30s,-5\n  40s,7\n  50s,-7\n");
  EXPECT_EQ(Run("SELECT non_negative_difference(max(value)) " + where + " fill(0)"),
            "cpu time,non_negative_difference\n  10s,2\n  20s,2\n  40s,7\n");
  EXPECT_EQ(Run("SELECT cumulative_sum(count(value)) " + where),
            "cpu time,cumulative_sum\n  0s,1i\n  10s,2i\n  20s,3i\n  30s,3i\n  40s,4i\n  50s,4i\n");
  EXPECT_EQ(Run("SELECT moving_average(mean(value), 2) " + where),
            "cpu time,moving_average\n  10s,2\n  20s,4\n  40s,6\n");
}

TEST_F(QueryExecutorTest, TransformsOverRawValues) {
  EXPECT_EQ(Run("SELECT difference(value) FROM cpu WHERE host = 'a'"),
            "cpu time,difference\n  10s,2\n  20s,2\n  40s,2\n");
  EXPECT_EQ(Run("SELECT non_negative_derivative(value) FROM cpu WHERE host = 'b'"),
            "cpu time,non_negative_derivative\n  10s,0.2\n  30s,0.1\n");
  EXPECT_EQ(Run("SELECT cumulative_sum(load) FROM cpu"),
            "cpu time,cumulative_sum\n  0s,10i\n  10s,30i\n  20s,70i\n");
  EXPECT_EQ(Run("SELECT derivative(value, 10s) FROM cpu WHERE host = 'a' ORDER BY time DESC"),
            "cpu time,derivative\n  20s,-1\n  10s,-2\n  0s,-2\n");
}

TEST_F(QueryExecutorTest, ArithmeticAndColumnNames) {
  EXPECT_EQ(Run("SELECT value * 2 FROM cpu WHERE host = 'b'"),
            "cpu time,value\n  0s,4\n  10s,8\n  30s,12\n");
  EXPECT_EQ(Run("SELECT load / 4, load % 3, load - 1 FROM cpu WHERE time <= 10s"),
            "cpu time,load,load_1,load_2\n  0s,2.5,1i,9i\n  10s,5,2i,19i\n");
  EXPECT_EQ(Run("SELECT mean(value) - min(value), mean(value), mean(value) AS m, mean(value) "
                "FROM cpu"),
            "cpu time,mean_min,mean,m,mean_1\n  0s,3,4,4,4\n");
  EXPECT_EQ(Run("SELECT mean(*) FROM cpu"), "cpu time,mean_load,mean_value\n  0s,23.3333,4\n");
}

TEST_F(QueryExecutorTest, WhereTagForms) {
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE host != 'a'"), "cpu time,count\n  0s,3i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE host =~ /^a/"), "cpu time,count\n  0s,4i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE host !~ /a/"), "cpu time,count\n  0s,3i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE (host = 'a' OR region = 'west') AND "
                "host <> 'zz'"),
            "cpu time,count\n  0s,7i\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE host = 'zz'"), "");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu WHERE nope = ''"), "cpu time,count\n  0s,7i\n");
}

TEST_F(QueryExecutorTest, WhereTimeForms) {
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' AND time > 10s AND time <= 40000000000"),
            "cpu time,value\n  20s,5\n  40s,7\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' AND time = '1970-01-01 00:00:10'"),
            "cpu time,value\n  10s,3\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' AND now() - 30s < time"),
            "cpu time,value\n  40s,7\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE time > 'yesterday'"),
            "error: invalid time string: 'yesterday'\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE time > 1s OR host = 'a'"),
            "error: invalid time condition: time may only be compared in AND-ed terms\n");
}

TEST_F(QueryExecutorTest, FieldFilters) {
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE value > 3"),
            "cpu time,value\n  10s,4\n  20s,5\n  30s,6\n  40s,7\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' OR value >= 6"),
            "cpu time,value\n  0s,1\n  10s,3\n  20s,5\n  30s,6\n  40s,7\n");
  EXPECT_EQ(Run("SELECT count(value), sum(value) FROM cpu WHERE value > 3 AND value < 7"),
            "cpu time,count,sum\n  0s,3i,15\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE load >= 20"), "cpu time,value\n  10s,3\n  20s,5\n");
}

TEST_F(QueryExecutorTest, SeveralMeasurements) {
  EXPECT_EQ(Run("SELECT count(used), count(value) FROM cpu, mem"),
            "cpu time,count,count_1\n  0s,null,7i\nmem time,count,count_1\n  0s,2i,null\n");
  EXPECT_EQ(Run("SELECT last(*) FROM /m/"), "mem time,last_used\n  10s,200\n");
}

TEST_F(QueryExecutorTest, LimitsAndOffsets) {
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' ORDER BY time DESC LIMIT 2"),
            "cpu time,value\n  40s,7\n  20s,5\n");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a' LIMIT 2 OFFSET 1"),
            "cpu time,value\n  10s,3\n  20s,5\n");
  EXPECT_EQ(Run("SELECT last(value) FROM cpu GROUP BY host SLIMIT 1 SOFFSET 1"),
            "cpu host=b time,last\n  30s,6\n");
  EXPECT_EQ(Run("SELECT value FROM cpu LIMIT 1 OFFSET 10"), "");
}

TEST_F(QueryExecutorTest, ServerLimits) {
  f_.limits().max_series = 1;
  EXPECT_EQ(Run("SELECT value FROM cpu"), "error: max-select-series limit exceeded: (2/1)\n");
  f_.limits() = {};
  f_.limits().max_buckets = 3;
  EXPECT_EQ(Run("SELECT mean(value) " + std::string(kHostA60s)),
            "error: max-select-buckets limit exceeded: (6/3)\n");
  f_.limits() = {};
  f_.limits().max_rows = 3;
  EXPECT_EQ(Run("SELECT value FROM cpu GROUP BY host"),
            "cpu host=a time,value (partial)\n  0s,1\n  10s,3\n  20s,5\n");
  f_.limits() = {};
  f_.limits().timeout = std::chrono::nanoseconds(1);
  EXPECT_EQ(Run("SELECT value FROM cpu"), "error: query-timeout limit exceeded\n");
}

TEST_F(QueryExecutorTest, StatementErrors) {
  EXPECT_EQ(f_.Run("SELECT value FROM cpu", "nope"), "error: database not found: nope\n");
  EXPECT_EQ(f_.Run("SELECT value FROM cpu", ""), "error: database name required\n");
  EXPECT_EQ(f_.Run("SELECT value FROM plant..cpu WHERE host = 'b' LIMIT 1", ""),
            "cpu time,value\n  0s,2\n");
  EXPECT_EQ(Run("SELECT value FROM nothing"), "");
  EXPECT_NE(Run("SELECT value, mean(value) FROM cpu").find("error: "), std::string::npos);
  EXPECT_NE(Run("SELECT value FROM cpu GROUP BY time(10s)").find("error: "), std::string::npos);
  EXPECT_NE(Run("SELECT derivative(value) FROM cpu GROUP BY time(10s)").find("error: "),
            std::string::npos);
  // One failing statement does not stop the next.
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE time > 'x'; SELECT max(value) FROM cpu"),
            "error: invalid time string: 'x'\ncpu time,max\n  40s,7\n");
}

}  // namespace
}  // namespace tidewatch::rules
