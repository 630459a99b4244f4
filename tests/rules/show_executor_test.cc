#include <gtest/gtest.h>

#include "rules/query_executor.h"
#include "tests/rules/query_test_util.h"

namespace tidewatch::rules {
namespace {

using testing::PlantData;
using testing::QueryFixture;

class ShowExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { f_.Write("plant", PlantData()); }
  std::string Run(std::string_view q) { return f_.Run(q); }

  QueryFixture f_;
};

TEST_F(ShowExecutorTest, DatabasesIncludeCreatedOnes) {
  EXPECT_EQ(Run("CREATE DATABASE zeta; CREATE DATABASE alpha; CREATE DATABASE zeta"), "");
  EXPECT_EQ(Run("SHOW DATABASES"), "databases name\n  alpha\n  plant\n  zeta\n");
  EXPECT_EQ(Run("DROP DATABASE zeta; DROP DATABASE never"), "");
  EXPECT_EQ(Run("SHOW DATABASES"), "databases name\n  alpha\n  plant\n");
  EXPECT_EQ(f_.Run("SHOW MEASUREMENTS", "alpha"), "");
}

TEST_F(ShowExecutorTest, DropDatabaseFreesItsSeries) {
  f_.Write("other", {{"x", {}, "v", store::FieldType::kFloat, 1, 1}});
  EXPECT_EQ(f_.store().index().series_count("other"), 1u);
  EXPECT_EQ(Run("DROP DATABASE other"), "");
  EXPECT_EQ(f_.store().index().series_count("other"), 0u);
  EXPECT_EQ(f_.Run("SELECT v FROM x", "other"), "error: database not found: other\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu"), "cpu time,count\n  0s,7i\n");
}

TEST_F(ShowExecutorTest, Measurements) {
  EXPECT_EQ(Run("SHOW MEASUREMENTS"), "measurements name\n  cpu\n  mem\n");
  EXPECT_EQ(Run("SHOW MEASUREMENTS WITH MEASUREMENT =~ /^m/"), "measurements name\n  mem\n");
  EXPECT_EQ(Run("SHOW MEASUREMENTS WHERE region = 'west'"), "measurements name\n  cpu\n");
  EXPECT_EQ(Run("SHOW MEASUREMENTS LIMIT 1 OFFSET 1"), "measurements name\n  mem\n");
  EXPECT_EQ(f_.Run("SHOW MEASUREMENTS ON nope"), "error: database not found: nope\n");
}

TEST_F(ShowExecutorTest, TagKeys) {
  EXPECT_EQ(Run("SHOW TAG KEYS"), "cpu tagKey\n  host\n  region\nmem tagKey\n  host\n");
  EXPECT_EQ(Run("SHOW TAG KEYS FROM cpu LIMIT 1"), "cpu tagKey\n  host\n");
}

TEST_F(ShowExecutorTest, TagValues) {
  EXPECT_EQ(Run("SHOW TAG VALUES WITH KEY = host"),
            "cpu key,value\n  host,a\n  host,b\nmem key,value\n  host,a\n");
  EXPECT_EQ(Run("SHOW TAG VALUES FROM cpu WITH KEY IN (region, host) WHERE host = 'b'"),
            "cpu key,value\n  host,b\n  region,west\n");
  EXPECT_EQ(Run("SHOW TAG VALUES FROM cpu WITH KEY =~ /reg/"),
            "cpu key,value\n  region,east\n  region,west\n");
  EXPECT_EQ(Run("SHOW TAG VALUES FROM cpu WITH KEY != host LIMIT 1 OFFSET 1"),
            "cpu key,value\n  region,west\n");
}

TEST_F(ShowExecutorTest, FieldKeys) {
  EXPECT_EQ(Run("SHOW FIELD KEYS"),
            "cpu fieldKey,fieldType\n  load,integer\n  up,boolean\n  value,float\n"
            "mem fieldKey,fieldType\n  used,float\n");
  EXPECT_EQ(Run("SHOW FIELD KEYS FROM mem"), "mem fieldKey,fieldType\n  used,float\n");
}

TEST_F(ShowExecutorTest, SeriesAreTagSetsEscapedAsLineProtocol) {
  f_.Write("plant", {{"disk space", {{"path", "/a,b=c"}}, "free", store::FieldType::kFloat, 0, 1}});
  EXPECT_EQ(Run("SHOW SERIES"),
            " key\n  cpu,host=a,region=east\n  cpu,host=b,region=west\n"
            "  disk\\ space,path=/a\\,b\\=c\n  mem,host=a\n");
  EXPECT_EQ(Run("SHOW SERIES FROM cpu WHERE host = 'b'"), " key\n  cpu,host=b,region=west\n");
  EXPECT_EQ(Run("SHOW SERIES LIMIT 1 OFFSET 3"), " key\n  mem,host=a\n");
}

TEST_F(ShowExecutorTest, RetentionPoliciesAndContinuousQueries) {
  EXPECT_EQ(Run("SHOW RETENTION POLICIES"),
            " name,duration,shardGroupDuration,replicaN,default\n  autogen,0s,168h0m0s,1i,true\n");
  EXPECT_EQ(Run("SHOW RETENTION POLICIES ON nope"), "error: database not found: nope\n");
  EXPECT_EQ(Run("SHOW CONTINUOUS QUERIES"), "");
}

TEST_F(ShowExecutorTest, DropMeasurementAndSeries) {
  EXPECT_EQ(Run("DROP SERIES FROM cpu WHERE host = 'b'"), "");
  EXPECT_EQ(Run("SHOW SERIES"), " key\n  cpu,host=a,region=east\n  mem,host=a\n");
  EXPECT_EQ(Run("DROP SERIES WHERE time > 0"),
            "error: DROP SERIES doesn't support time in WHERE clause\n");
  EXPECT_EQ(Run("DROP MEASUREMENT mem"), "");
  EXPECT_EQ(Run("SHOW MEASUREMENTS"), "measurements name\n  cpu\n");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu"), "cpu time,count\n  0s,4i\n");
}

TEST_F(ShowExecutorTest, DeleteByTagsAndTime) {
  EXPECT_EQ(Run("DELETE FROM cpu WHERE host = 'a' AND time >= 10s AND time < 40s"), "");
  EXPECT_EQ(Run("SELECT value FROM cpu WHERE host = 'a'"), "cpu time,value\n  0s,1\n  40s,7\n");
  EXPECT_EQ(Run("SELECT count(load) FROM cpu"), "cpu time,count\n  0s,1i\n");
  EXPECT_EQ(Run("DELETE WHERE time < 5s"), "");
  EXPECT_EQ(Run("SELECT count(value) FROM cpu"), "cpu time,count\n  0s,3i\n");
  EXPECT_EQ(Run("DELETE FROM cpu WHERE value > 1"),
            "error: unsupported tag condition on 'value': only =, !=, =~, !~\n");
}

}  // namespace
}  // namespace tidewatch::rules
