// `tidewatchd --test-rules`: the example tests pass, a wrong expectation fails with both
// sides printed, and bad files are errors (exit 2), never a crash.
#include "daemon/rule_test_tool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tidewatch::daemon {
namespace {

using ::testing::HasSubstr;

const std::string kExamples = std::string(TIDEWATCH_SOURCE_DIR) + "/deploy/examples/rules";

class RuleTestToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/rule-tool.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::filesystem::copy_file(kExamples + "/rules.toml", dir_ + "/rules.toml");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` as the test file and runs it; returns the exit status.
  int Run(const std::string& text) {
    const std::string path = dir_ + "/t.toml";
    std::ofstream(path) << text;
    out_.str("");
    return RunRuleTests(path, out_);
  }

  std::string dir_;
  std::ostringstream out_;
};

constexpr const char* kPressureTest = R"(
rule_files = ["rules.toml"]
interval = "5s"
[[test]]
name = "pressure"
db = "plant"
[[test.input]]
series = "pressure,sensor=pt-001,site=site1 value"
values = "10x2 11.5x3"
[[test.alert]]
at = "25s"
rule = "high-pressure"
[[test.alert.expect]]
labels = { sensor = "pt-001", site = "site1", severity = "warning", team = "process", sensor_name = "pt-001" }
state = "STATE"
)";

std::string WithState(const std::string& state) {
  std::string text = kPressureTest;
  text.replace(text.find("STATE"), 5, state);
  return text;
}

TEST_F(RuleTestToolTest, TheExampleTestsPass) {
  std::ostringstream out;
  EXPECT_EQ(RunRuleTests(kExamples + "/rules_test.toml", out), 0) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("SUCCESS: 2 tests passed"));
}

TEST_F(RuleTestToolTest, AWrongExpectationFailsWithBothSides) {
  EXPECT_EQ(Run(WithState("firing")), 0) << out_.str();
  EXPECT_EQ(Run(WithState("pending")), 1);
  EXPECT_THAT(out_.str(), HasSubstr("FAILED: test \"pressure\""));
  EXPECT_THAT(out_.str(), HasSubstr("at 25000ms (step 5)"));
  EXPECT_THAT(out_.str(), HasSubstr("site=\"site1\", team=\"process\"} pending\n    got:"));
  EXPECT_THAT(out_.str(), HasSubstr("team=\"process\"} firing"));
}

TEST_F(RuleTestToolTest, NoExpectationMeansNoAlert) {
  std::string text = WithState("firing");
  text.erase(text.find("[[test.alert.expect]]"));
  EXPECT_EQ(Run(text), 1);
  EXPECT_THAT(out_.str(), HasSubstr("expected: (none)"));
}

TEST_F(RuleTestToolTest, ValuesUsePromtoolNotation) {
  // 11.5 at 15s and 20s, then no point at 25s: the value holds (sample and hold), so the
  // 10 s on-delay still ends at 25s and the alarm fires.
  std::string text = WithState("firing");
  text.replace(text.find("10x2 11.5x3"), 11, "10+0x2 11.5x1 _x1");
  EXPECT_EQ(Run(text), 0) << out_.str();
  // 9 at 20s clears the pending alarm before its on-delay ends ("9-1x2": 9 8 7).
  text.replace(text.find("11.5x1 _x1"), 10, "11.5 9-1x2");
  EXPECT_EQ(Run(text), 1) << out_.str();
}

TEST_F(RuleTestToolTest, BadFilesAreErrors) {
  EXPECT_EQ(RunRuleTests(dir_ + "/missing.toml", out_), 2);
  EXPECT_EQ(Run("rule_files = [\"nope.toml\"]\n"), 2);
  EXPECT_THAT(out_.str(), HasSubstr("nope.toml"));
  EXPECT_EQ(Run("rule_files = [\"rules.toml\"]\nbogus = 1\n"), 2);
  EXPECT_THAT(out_.str(), HasSubstr("bogus"));
  EXPECT_EQ(Run("rule_files = [\"rules.toml\"\n"), 2);  // not TOML
  for (const char* values :
       {"1 zz", "1x", "1+x3", "1x99999999999999999999", "_x-1", "nan", "1e999", "1x10000001"}) {
    std::string text = WithState("firing");
    text.replace(text.find("10x2 11.5x3"), 11, values);
    EXPECT_EQ(Run(text), 2) << values;
    EXPECT_THAT(out_.str(), HasSubstr("bad value")) << values;
  }
  for (const char* series :
       {"pressure", "pressure,site value", ",a=b value", "p,a=b, value", "p value=1"}) {
    std::string text = WithState("firing");
    text.replace(text.find("pressure,sensor=pt-001,site=site1 value"), 39, series);
    EXPECT_EQ(Run(text), 2) << series;
    EXPECT_THAT(out_.str(), HasSubstr("bad series")) << series;
  }
  std::string off_grid = WithState("firing");
  off_grid.replace(off_grid.find("at = \"25s\""), 10, "at = \"27s\"");
  EXPECT_EQ(Run(off_grid), 2);
  EXPECT_THAT(out_.str(), HasSubstr("not a multiple of interval"));
}

}  // namespace
}  // namespace tidewatch::daemon
