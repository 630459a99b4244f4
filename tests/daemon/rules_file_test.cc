#include "daemon/rules_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tidewatch::daemon {
namespace {

const std::string kSourceDir = TIDEWATCH_SOURCE_DIR;
constexpr std::int64_t kSecond = 1'000'000'000;

std::string Errors(std::string_view text) {
  StatusOr<std::vector<rules::RuleDefinition>> rules = ParseRulesToml(text, "r.toml");
  if (rules.ok()) return "OK";
  EXPECT_EQ(rules.status().code(), StatusCode::kInvalidArgument);
  return rules.status().message();
}

constexpr std::string_view kRule = R"([[rule]]
name = "high-pressure"
db = "plant"
query = "SELECT value FROM pressure WHERE site = 'site1'"
condition = ">"
for = "30s"
channels = ["ops"]
[[rule.levels]]
name = "warning"
trip = 8
reset = 7.5
[[rule.levels]]
name = "critical"
trip = 9.5
[rule.chatter]
transitions = 4
window = "5m"
[rule.labels]
team = "ops"
[rule.suppress_when]
query = "SELECT value FROM running"
value = 0
)";

TEST(RulesFileTest, ParsesTablesAsRuleJson) {
  StatusOr<std::vector<rules::RuleDefinition>> parsed = ParseRulesToml(kRule, "r.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 1u);
  const rules::RuleDefinition& rule = (*parsed)[0];
  // The same rule written as JSON parses to the same definition.
  StatusOr<rules::RuleDefinition> json = rules::ParseRuleJson(R"({
    "name": "high-pressure", "db": "plant",
    "query": "SELECT value FROM pressure WHERE site = 'site1'", "condition": ">", "for": "30s",
    "channels": ["ops"],
    "levels": [{"name": "warning", "trip": 8, "reset": 7.5}, {"name": "critical", "trip": 9.5}],
    "chatter": {"transitions": 4, "window": "5m"}, "labels": {"team": "ops"},
    "suppress_when": {"query": "SELECT value FROM running", "value": 0}})");
  ASSERT_TRUE(json.ok()) << json.status().message();
  EXPECT_EQ(rule, *json);
  EXPECT_EQ(rule.alarm.on_delay, 30 * kSecond);
  EXPECT_EQ(rule.alarm.condition.levels[1].reset, 9.5);
}

TEST(RulesFileTest, EmptyFileHasNoRules) {
  for (std::string_view text : {"", "# only a comment\n", "rule = []\n"}) {
    StatusOr<std::vector<rules::RuleDefinition>> parsed = ParseRulesToml(text, "r.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_TRUE(parsed->empty());
  }
}

TEST(RulesFileTest, ErrorsPointAtTheOffendingKey) {
  EXPECT_EQ(Errors(R"([[rule]]
name = "a"
db = "plant"
query = "SELECT value FROM pressure"
condition = ">"
[[rule.levels]]
name = "warning"
trip = 8
reset = 9
)"),
            "r.toml:9:9: rule[0] (a): levels[0].reset: must not be above trip for condition \">\"");
  EXPECT_EQ(Errors(R"([[rule]]
name = "a"
db = "plant"
query = "SELECT FROM pressure"
)"),
            "r.toml:4:9: rule[0] (a): query: 1:8: found FROM, expected identifier, string, number, "
            "bool");
  EXPECT_EQ(Errors(R"([[rule]]
name = "a"
db = "plant"
query = "SELECT value FROM p"
condition = ">"
trip = 1
fro = "1m"
)"),
            "r.toml:7:7: rule[0] (a): fro: unknown member (did you mean \"for\"?)");
  // A missing member: at the rule's table.
  EXPECT_EQ(Errors("\n[[rule]]\nname = \"a\"\n"),
            "r.toml:2:1: rule[0] (a): db: missing required member");
  EXPECT_EQ(Errors(R"([[rule]]
name = "a"
db = "plant"
query = "SELECT value FROM p"
condition = ">"
trip = 1
[rule.annotations]
summary = "{{ .Foo }}"
)"),
            "r.toml:8:11: rule[0] (a): annotations.summary: unknown field {{ .Foo }} at offset 0");
}

TEST(RulesFileTest, CollectsEveryErrorInFileOrder) {
  const std::string good = "condition = \">\"\ntrip = 1\nquery = \"SELECT v FROM m\"\n";
  const std::string text = "[[rule]]\nname = \"a\"\ndb = \"p\"\n" + good +    // lines 1-6
                           "[[rule]]\nname = \"b b\"\ndb = \"p\"\n" + good +  // lines 7-12
                           "[[rule]]\nname = \"a\"\ndb = \"p\"\n" + good +    // lines 13-18
                           "[[rule]]\ndb = 5\n";                              // lines 19-20
  EXPECT_EQ(Errors(text),
            "r.toml:8:8: rule[1]: name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got "
            "\"b b\")\n"
            "r.toml:14:8: rule[2] (a): name: duplicate rule name (also rule[0])\n"
            "r.toml:19:1: rule[3]: name: missing required member");
}

TEST(RulesFileTest, RejectsWhatIsNotARule) {
  EXPECT_EQ(Errors("rules = 1\n"),
            "r.toml:1:1: rules: unknown key; a rules file holds [[rule]] tables");
  EXPECT_EQ(Errors("[rule]\nname = \"a\"\n"),
            "r.toml:1:1: rule: expected an array of tables [[rule]]");
  EXPECT_EQ(Errors("rule = [1, 2]\n"), "r.toml:1:8: rule: expected an array of tables [[rule]]");
  EXPECT_EQ(Errors("[[rule]]\nname = \"a\"\nfor = 1979-05-27\n"),
            "r.toml:3:7: rule[0] (a): dates and times are not rule values (durations are strings "
            "like \"30s\")");
  EXPECT_EQ(Errors("[[rule]\n"),
            "r.toml:1:8: Error while parsing table header: expected ']', saw '\\n'");
  EXPECT_EQ(
      Errors("[[rule]]\nname = \"a\"\nname = \"b\"\n"),
      "r.toml:3:8: Error while parsing key-value pair: cannot redefine existing string 'name'");
}

TEST(RulesFileTest, RejectsHostileInput) {
  // Not-a-number and infinity are TOML floats; the rule validator refuses them.
  EXPECT_EQ(Errors("[[rule]]\nname = \"a\"\ndb = \"p\"\nquery = \"SELECT v FROM m\"\n"
                   "condition = \">\"\ntrip = nan\n"),
            "r.toml:6:8: rule[0] (a): trip: must be a finite number");
  EXPECT_EQ(Errors("[[rule]]\nname = \"a\"\ndb = \"p\"\nquery = \"SELECT v FROM m\"\n"
                   "condition = \">\"\ntrip = -inf\n"),
            "r.toml:6:8: rule[0] (a): trip: must be a finite number");
  // Deep nesting inside a rule: refused before conversion.
  std::string deep = "[[rule]]\nname = \"a\"\nlabels = ";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  EXPECT_EQ(Errors(deep + "\n").substr(0, 9), "r.toml:3:");
  EXPECT_NE(Errors(deep + "\n").find("nested too deep for a rule"), std::string::npos);
  std::string dotted = "[[rule]]\nname = \"a\"\nx";
  for (int i = 0; i < 2000; ++i) dotted += ".x";
  EXPECT_EQ(Errors(dotted + " = 1\n"),
            "r.toml:3:1: more than 1000 dots on one line; keys nested that deep are refused");
  // A hostile name is not echoed in the label.
  EXPECT_EQ(Errors("[[rule]]\nname = \"a\\nb\"\n"),
            "r.toml:2:8: rule[0]: name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got "
            "\"a\\nb\")");
  EXPECT_EQ(Errors(std::string(kMaxRulesFileBytes + 1, '#')),
            "r.toml: larger than 4MiB; not a rules file?");
}

TEST(RulesFileTest, LoadsTheExampleFile) {
  StatusOr<std::vector<rules::RuleDefinition>> rules =
      LoadRulesFile(kSourceDir + "/deploy/examples/rules/rules.toml");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  std::string names;
  for (const rules::RuleDefinition& r : *rules) names += r.name + ";";
  EXPECT_EQ(names,
            "high-pressure;temperature-out-of-range;flow-stopped-or-stale;site-temperature-high;");
  EXPECT_EQ((*rules)[0].alarm.condition.levels.size(), 2u);
  EXPECT_EQ((*rules)[1].alarm.condition.comparison, rules::Comparison::kOutsideRange);
  EXPECT_EQ((*rules)[2].alarm.no_data_after, 120 * kSecond);
  StatusOr<rules::RuleQuery> aggregate = rules::CompileRuleQuery((*rules)[3].query, true);
  ASSERT_TRUE(aggregate.ok());
  EXPECT_TRUE(aggregate->aggregate);
  EXPECT_EQ(aggregate->interval_ns, 60 * kSecond);
  EXPECT_EQ(aggregate->group_by_tags, std::vector<std::string>{"site"});
}

TEST(RulesFileTest, LoadErrors) {
  StatusOr<std::vector<rules::RuleDefinition>> missing = LoadRulesFile("/nonexistent/rules.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot read rules file /nonexistent/rules.toml: No such file or directory");

  StatusOr<std::vector<rules::RuleDefinition>> directory = LoadRulesFile(::testing::TempDir());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().message(),
            "cannot read rules file " + ::testing::TempDir() + ": is a directory");

  const std::string path = ::testing::TempDir() + "/rules_file_test.toml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[[rule]]\nname = \"x\"\n";
  }
  StatusOr<std::vector<rules::RuleDefinition>> bad = LoadRulesFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ":1:1: rule[0] (x): db: missing required member");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tidewatch::daemon
