#include "rules/rule_definition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/statement_text.h"
#include "tests/rules/query_test_util.h"

namespace tidewatch::rules {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

// The error of parsing `json`, or "OK".
std::string Error(std::string_view json) {
  StatusOr<RuleDefinition> rule = ParseRuleJson(json);
  if (rule.ok()) return "OK";
  EXPECT_EQ(rule.status().code(), StatusCode::kInvalidArgument);
  return rule.status().message();
}

// A valid rule with `members` (text like `"for": "1m"`) added or, by name, replacing.
std::string With(std::string_view members) {
  std::string out = R"({"name": "r1", "db": "plant", "query": "SELECT value FROM pressure")";
  std::string_view rest = members;
  const bool own_condition = rest.find("\"condition\"") != std::string_view::npos;
  const bool own_level = rest.find("\"levels\"") != std::string_view::npos ||
                         rest.find("\"trip\"") != std::string_view::npos ||
                         rest.find("\"low\"") != std::string_view::npos;
  if (!own_condition) out += R"(, "condition": ">")";
  if (!own_level && !own_condition) out += R"(, "trip": 8)";
  if (!members.empty()) out += ", " + std::string(members);
  return out + "}";
}

std::string QueryError(std::string_view query, bool allow_aggregate = true) {
  StatusOr<RuleQuery> q = CompileRuleQuery(query, allow_aggregate);
  return q.ok() ? "OK" : q.status().message();
}

TEST(RuleDefinitionTest, ParsesTheHeaderExample) {
  StatusOr<RuleDefinition> rule = ParseRuleJson(R"j({"name": "high-pressure", "db": "plant",
    "query": "SELECT value FROM pressure WHERE site = 'site1'",
    "condition": ">",
    "levels": [{"name": "warning",  "trip": 8.0, "reset": 7.5},
               {"name": "critical", "trip": 9.5, "reset": 9.0}],
    "for": "30s", "keep_firing_for": "1m", "no_data_after": "5m",
    "latched": false,
    "chatter": {"transitions": 6, "window": "10m", "suppress": false},
    "labels": {"team": "ops", "sensor_name": "{{ .Labels.sensor }}"},
    "annotations": {"summary": "{{ .Labels.sensor }} at {{ .Value }} (> {{ .Threshold }})"},
    "channels": ["ops-webhook"],
    "suppress_when": {"query": "SELECT value FROM running WHERE unit = 'u1'",
                      "condition": "==", "value": 0},
    "enabled": true})j");
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->name, "high-pressure");
  EXPECT_EQ(rule->db, "plant");
  const AlarmSpec& a = rule->alarm;
  EXPECT_EQ(a.condition.comparison, Comparison::kGreater);
  ASSERT_EQ(a.condition.levels.size(), 2u);
  EXPECT_EQ(a.condition.levels[1], (SeverityLevel{"critical", 9.5, 9.0, 0, 0}));
  EXPECT_EQ(a.on_delay, 30 * kSecond);
  EXPECT_EQ(a.off_delay, 60 * kSecond);
  EXPECT_EQ(a.no_data_after, 300 * kSecond);
  EXPECT_EQ(a.chatter, (ChatterSpec{6, 600 * kSecond, false}));
  EXPECT_EQ(rule->labels.at("sensor_name"), "{{ .Labels.sensor }}");
  EXPECT_EQ(rule->channels, std::vector<std::string>{"ops-webhook"});
  ASSERT_TRUE(rule->suppress_when.has_value());
  EXPECT_EQ(rule->suppress_when->comparison, Comparison::kEqual);
  EXPECT_TRUE(rule->enabled);
  EXPECT_TRUE(ValidateAlarmSpec(a).ok());
}

TEST(RuleDefinitionTest, InlineLevelAndDefaults) {
  StatusOr<RuleDefinition> rule = ParseRuleJson(With(""));
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->alarm.condition.levels,
            std::vector<SeverityLevel>{(SeverityLevel{"warning", 8, 8, 0, 0})});
  EXPECT_EQ(rule->alarm.on_delay, 0);
  EXPECT_FALSE(rule->alarm.latched);
  EXPECT_TRUE(rule->enabled);
  EXPECT_FALSE(rule->suppress_when.has_value());

  rule =
      ParseRuleJson(With(R"("condition": "<", "severity": "critical", "trip": -5, "reset": -4)"));
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->alarm.condition.levels[0], (SeverityLevel{"critical", -5, -4, 0, 0}));
}

TEST(RuleDefinitionTest, OutsideRangeMapsOntoTripAndReset) {
  StatusOr<RuleDefinition> rule =
      ParseRuleJson(With(R"("condition": "outside", "low": 10, "high": 80, "reset_low": 12)"));
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->alarm.condition.levels[0], (SeverityLevel{"warning", 10, 12, 80, 80}));
  rule = ParseRuleJson(With(R"("condition": "outside", "levels": [
      {"name": "low-band", "low": 0, "high": 100, "reset_low": 1, "reset_high": 99}])"));
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(rule->alarm.condition.levels[0], (SeverityLevel{"low-band", 0, 1, 100, 99}));
}

TEST(RuleDefinitionTest, CanonicalJson) {
  StatusOr<RuleDefinition> rule =
      ParseRuleJson(With(R"("for": "90s", "labels": {"b": "2", "a": "1"})"));
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  EXPECT_EQ(RuleToJson(*rule),
            R"({"name":"r1","db":"plant","query":"SELECT value FROM pressure","condition":">",)"
            R"("levels":[{"name":"warning","trip":8.0,"reset":8.0}],"for":"90s",)"
            R"("keep_firing_for":"0s","no_data_after":"0s","latched":false,)"
            R"("chatter":{"transitions":0,"window":"0s","suppress":false},)"
            R"("labels":{"a":"1","b":"2"},"annotations":{},"channels":[],"enabled":true})");
}

TEST(RuleDefinitionTest, RoundTrips) {
  const std::vector<std::string> rules = {
      With(""),
      With(R"("for": "1h30m", "keep_firing_for": "1500ms", "no_data_after": "8760h",
              "latched": true, "enabled": false, "channels": ["a", "b"],
              "chatter": {"transitions": 32, "window": "1m", "suppress": true})"),
      With(
          R"("condition": ">=", "levels": [{"name": "w", "trip": 0.1, "reset": 0.30000000000000004e-1},
              {"name": "c", "trip": 1e300, "reset": -1e-300}])"),
      With(R"("condition": "outside", "levels": [{"name": "x", "low": -1.5, "high": 2.25}])"),
      With(R"("condition": "!=", "trip": 3, "annotations": {"summary": "ünï {{ .Value }} \"q\"\n"},
              "suppress_when": {"query": "SELECT running FROM unit WHERE u =~ /a\\/b/",
                                "condition": "<", "value": 0.5})"),
      R"({"name": "agg", "db": "plant", "condition": "==", "trip": 1,
          "query": "SELECT mean(value) FROM temperature GROUP BY time(1m), site"})",
  };
  for (const std::string& json : rules) {
    StatusOr<RuleDefinition> rule = ParseRuleJson(json);
    ASSERT_TRUE(rule.ok()) << json << ": " << rule.status().message();
    const std::string canonical = RuleToJson(*rule);
    StatusOr<RuleDefinition> again = ParseRuleJson(canonical);
    ASSERT_TRUE(again.ok()) << canonical << ": " << again.status().message();
    EXPECT_EQ(*again, *rule) << canonical;
    EXPECT_EQ(RuleToJson(*again), canonical);
  }
}

TEST(RuleDefinitionTest, RejectsMalformedJson) {
  EXPECT_EQ(Error(""),
            "invalid JSON: parse error at line 1, column 1: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(Error("[]"), "a rule must be a JSON object, got an array");
  EXPECT_EQ(Error("null"), "a rule must be a JSON object, got null");
  EXPECT_EQ(Error("\"x\""), "a rule must be a JSON object, got a string");
  EXPECT_EQ(Error("{} {}").substr(0, 38), "invalid JSON: parse error at line 1, c");
  EXPECT_EQ(Error(R"({"name": "a\u00"})").substr(0, 27), "invalid JSON: parse error a");
  EXPECT_EQ(Error("{\"name\": \"\xff\"}").substr(0, 27), "invalid JSON: parse error a");
  EXPECT_EQ(Error(R"({"name": NaN})").substr(0, 27), "invalid JSON: parse error a");
  EXPECT_EQ(Error(std::string((1 << 20) + 1, ' ')), "rule JSON larger than 1048576 bytes");
}

TEST(RuleDefinitionTest, RejectsDuplicateMembersWithTheirPath) {
  EXPECT_EQ(Error(R"({"name": "a", "name": "b"})"), "name: duplicate member");
  EXPECT_EQ(
      Error(With(R"("levels": [{"name": "w", "trip": 1}, {"name": "c", "trip": 2, "trip": 3}])")),
      "levels[1].trip: duplicate member");
  EXPECT_EQ(Error(With(R"("labels": {"a": "1", "a b": {"x": [1, {"y": 1, "y": 2}]}})")),
            "labels[\"a b\"].x[1].y: duplicate member");
}

TEST(RuleDefinitionTest, RejectsHostileJson) {
  // Deep nesting: refused by type, without recursion.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Error(With(R"("labels": )" + deep)), "labels: expected an object, got an array");
  EXPECT_EQ(Error(deep), "a rule must be a JSON object, got an array");
  // Numbers out of range and strings that look like numbers.
  EXPECT_EQ(Error(With(R"("trip": 1e400)")), "invalid JSON: number overflow parsing '1e400'");
  EXPECT_EQ(Error(With(R"("trip": -1e99999)")), "invalid JSON: number overflow parsing '-1e99999'");
  EXPECT_EQ(Error(With(R"("trip": "NaN")")), "trip: expected a number, got a string");
  EXPECT_EQ(Error(With(R"("trip": "Infinity")")), "trip: expected a number, got a string");
  EXPECT_EQ(Error(With(R"("trip": 8, "reset": 123456789012345678901234567890)")),
            "reset: must not be above trip for condition \">\"");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": 18446744073709551615})")),
            "chatter.transitions: must be 0 to 32");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": 1e3})")),
            "chatter.transitions: expected an integer, got a number");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": -1})")),
            "chatter.transitions: must be 0 to 32");
  // Wrong types everywhere.
  EXPECT_EQ(Error(R"({"name": 5})"), "name: expected a string, got a number");
  EXPECT_EQ(Error(With(R"("latched": "yes")")), "latched: expected true or false, got a string");
  EXPECT_EQ(Error(With(R"("enabled": null)")), "enabled: expected true or false, got null");
  EXPECT_EQ(Error(With(R"("for": 30)")), "for: expected a string, got a number");
  EXPECT_EQ(Error(With(R"("labels": [])")), "labels: expected an object, got an array");
  EXPECT_EQ(Error(With(R"("labels": {"a": 1})")), "labels.a: expected a string, got a number");
  EXPECT_EQ(Error(With(R"("channels": "ops")")),
            "channels: expected an array of strings, got a string");
  EXPECT_EQ(Error(With(R"("channels": [true])")), "channels[0]: expected a string, got a boolean");
  EXPECT_EQ(Error(With(R"("chatter": [])")), "chatter: expected an object, got an array");
  EXPECT_EQ(Error(With(R"("levels": {})")), "levels: expected an array, got an object");
  EXPECT_EQ(Error(With(R"("levels": [1])")), "levels[0]: expected an object, got a number");
  EXPECT_EQ(Error(With(R"("suppress_when": "x")")),
            "suppress_when: expected an object, got a string");
  // Unicode: fine in texts, refused in names.
  EXPECT_EQ(Error(R"({"name": "дáví"})"),
            "name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got \"дáví\")");
  EXPECT_EQ(Error(With(R"("annotations": {"summary": "Давление {{ .Value }} 🚨"})")), "OK");
  EXPECT_EQ(Error(With(R"("labels": {"дáví": "x"})")),
            "labels[\"дáví\"]: not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "
            "\"__\")");
}

TEST(RuleDefinitionTest, RejectsBadMembersWithTheirPath) {
  EXPECT_EQ(Error(R"({"db": "plant"})"), "name: missing required member");
  EXPECT_EQ(Error(R"({"name": "a"})"), "db: missing required member");
  EXPECT_EQ(Error(R"({"name": "a", "db": ""})"), "db: must be 1 to 128 bytes");
  EXPECT_EQ(Error(R"({"name": "a", "db": "p"})"), "query: missing required member");
  EXPECT_EQ(Error(R"({"name": "", "db": "p"})"),
            "name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got \"\")");
  EXPECT_EQ(Error("{\"name\": \"" + std::string(129, 'a') + "\"}").substr(0, 59),
            "name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (g");
  EXPECT_EQ(Error(R"({"name": "a b"})"),
            "name: must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got \"a b\")");
  EXPECT_EQ(Error(R"({"name": "a", "db": "p", "query": "SELECT value FROM m"})"),
            "condition: missing required member");
  EXPECT_EQ(Error(With(R"("condition": "=>", "trip": 1)")),
            "condition: must be one of >, >=, <, <=, ==, !=, outside; got \"=>\"");
  EXPECT_EQ(Error(With(R"("condition": ">")")),
            "levels: missing required member (or give one level inline with \"trip\")");
  EXPECT_EQ(Error(With(R"("fro": "1m")")), "fro: unknown member (did you mean \"for\"?)");
  EXPECT_EQ(Error(With(R"("lables": {})")), "lables: unknown member (did you mean \"labels\"?)");
  EXPECT_EQ(Error(With(R"("zzzzzzzz": 1)")), "zzzzzzzz: unknown member");
  EXPECT_EQ(Error(With(R"("query ": 1)")),
            "[\"query \"]: unknown member (did you mean \"query\"?)");
}

TEST(RuleDefinitionTest, RejectsBadLevels) {
  EXPECT_EQ(Error(With(R"("levels": [{"name": "warning", "trip": 8, "reset": 7.5},
                                     {"name": "critical", "trip": 9.5, "reset": 9.6}])")),
            "levels[1].reset: must not be above trip for condition \">\"");
  EXPECT_EQ(Error(With(R"("condition": "<=", "trip": 5, "reset": 4)")),
            "reset: must not be below trip for condition \"<=\"");
  EXPECT_EQ(Error(With(R"("condition": "==", "trip": 5, "reset": 4)")),
            "reset: must equal trip for condition \"==\" (no deadband)");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "w", "trip": 1}], "trip": 2)")),
            "trip: not allowed together with \"levels\"");
  EXPECT_EQ(Error(With(R"("levels": [])")), "levels: needs 1 to 8 levels, got 0");
  std::string nine;
  for (int i = 0; i < 9; ++i)
    nine += (i ? "," : "") + std::string(R"({"name": "l)") + std::to_string(i) + R"(", "trip": 1})";
  EXPECT_EQ(Error(With(R"("levels": [)" + nine + "]")), "levels: needs 1 to 8 levels, got 9");
  EXPECT_EQ(Error(With(R"("levels": [{"trip": 1}])")), "levels[0].name: missing required member");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "", "trip": 1}])")),
            "levels[0].name: must be 1 to 64 bytes");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "w", "trip": 1}, {"name": "w", "trip": 2}])")),
            "levels[1].name: duplicate level name \"w\"");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "w", "trip": 1, "rest": 1}])")),
            "levels[0].rest: unknown member (did you mean \"reset\"?)");
  EXPECT_EQ(Error(With(R"("levels": [{"nmae": "w", "trp": 1}])")),
            "levels[0].nmae: unknown member (did you mean \"name\"?)");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "w"}])")), "levels[0].trip: missing required member");
  EXPECT_EQ(Error(With(R"("levels": [{"name": "w", "trip": 1, "low": 1}])")),
            "levels[0].low: only with condition \"outside\" (use trip and reset)");
  EXPECT_EQ(Error(With(R"("condition": "outside", "trip": 1)")),
            "trip: condition \"outside\" takes low and high");
  EXPECT_EQ(Error(With(R"("condition": "outside", "low": 1)")), "high: missing required member");
  EXPECT_EQ(Error(With(R"("condition": "outside", "low": 5, "high": 1)")),
            "high: must not be below low");
  EXPECT_EQ(Error(With(R"("condition": "outside", "low": 5, "high": 10, "reset_low": 4)")),
            "reset_low: must not be below low");
  EXPECT_EQ(Error(With(R"("condition": "outside", "low": 5, "high": 10, "reset_high": 11)")),
            "reset_high: must not be above high");
  EXPECT_EQ(
      Error(
          With(R"("condition": "outside", "low": 5, "high": 10, "reset_low": 8, "reset_high": 7)")),
      "reset_high: must not be below reset_low");
  EXPECT_EQ(Error(With(R"("severity": "", "trip": 1)")), "severity: must be 1 to 64 bytes");
}

TEST(RuleDefinitionTest, RejectsBadDurationsAndChatter) {
  EXPECT_EQ(Error(With(R"("for": "abc")")),
            "for: invalid duration \"abc\" (expected e.g. \"30s\", \"1h30m\")");
  EXPECT_EQ(Error(With(R"("for": "30")")),
            "for: invalid duration \"30\" (expected e.g. \"30s\", \"1h30m\")");
  EXPECT_EQ(Error(With(R"("for": "")")), "for: must not be empty");
  EXPECT_EQ(Error(With(R"("keep_firing_for": "-5s")")), "keep_firing_for: must not be negative");
  EXPECT_EQ(Error(With(R"("no_data_after": "99999999999h")")),
            "no_data_after: overflowed duration 99999999999h: choose a smaller duration or INF");
  EXPECT_EQ(Error(With(R"("for": "0s")")), "OK");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": 33, "window": "1m"})")),
            "chatter.transitions: must be 0 to 32");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": 3})")),
            "chatter.window: must be positive when transitions is set");
  EXPECT_EQ(Error(With(R"("chatter": {"transitions": 3, "windw": "1m"})")),
            "chatter.windw: unknown member (did you mean \"window\"?)");
}

TEST(RuleDefinitionTest, RejectsBadTemplatesLabelsAndChannels) {
  EXPECT_EQ(Error(With(R"("annotations": {"summary": "at {{ .Foo }}"})")),
            "annotations.summary: unknown field {{ .Foo }} at offset 3");
  EXPECT_EQ(Error(With(R"("labels": {"x": "{{ .Value"})")), "labels.x: unclosed {{ at offset 0");
  EXPECT_EQ(
      Error(With(R"("labels": {"__name": "x"})")),
      "labels.__name: not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\")");
  EXPECT_EQ(Error(With(R"("labels": {"1a": "x"})")).substr(0, 30),
            "labels[\"1a\"]: not a valid labe");
  EXPECT_EQ(Error(With(R"("labels": {"": "x"})")).substr(0, 28), "labels[\"\"]: not a valid labe");
  EXPECT_EQ(Error(With(R"("annotations": {"a-b": "x"})")).substr(0, 37),
            "annotations[\"a-b\"]: not a valid label");
  EXPECT_EQ(Error(With(R"("labels": {"a": ")" + std::string(4096, 'x') + "\"}")), "OK");
  EXPECT_EQ(Error(With(R"("labels": {"a": ")" + std::string(4097, 'x') + "\"}")),
            "labels.a: longer than 4096 bytes");
  std::string many;
  for (int i = 0; i < 65; ++i)
    many += (i ? "," : "") + std::string("\"l") + std::to_string(i) + "\": \"v\"";
  EXPECT_EQ(Error(With(R"("annotations": {)" + many + "}")),
            "annotations: at most 64 entries, got 65");
  std::string channels;
  for (int i = 0; i < 17; ++i)
    channels += (i ? "," : "") + std::string("\"c") + std::to_string(i) + "\"";
  EXPECT_EQ(Error(With(R"("channels": [)" + channels + "]")),
            "channels: at most 16 channels, got 17");
  EXPECT_EQ(Error(With(R"("channels": ["a", "b", "a"])")), "channels[2]: duplicate channel \"a\"");
  EXPECT_EQ(Error(With(R"("channels": [""])")), "channels[0]: must be 1 to 128 bytes");
}

TEST(RuleDefinitionTest, RejectsBadQueriesWithPaths) {
  EXPECT_EQ(Error(R"({"name": "a", "db": "p", "query": "SELECT FROM m"})"),
            "query: 1:8: found FROM, expected identifier, string, number, bool");
  EXPECT_EQ(Error(R"({"name": "a", "db": "p", "query": "SELECT mean(value) FROM m"})"),
            "query: an aggregate query needs GROUP BY time(<interval>)");
  EXPECT_EQ(Error(R"({"name": "a", "db": "p", "query": ")" + std::string(16385, ' ') + "\"}"),
            "query: longer than 16384 bytes");
  EXPECT_EQ(
      Error(With(
          R"j("suppress_when": {"query": "SELECT max(v) FROM u GROUP BY time(1m)", "value": 0})j")),
      "suppress_when.query: must select a bare field (no aggregate here)");
  EXPECT_EQ(
      Error(R"({"name": "a", "db": "p", "query": "SELECT v FROM m", "condition": ">", "trip": 1,
                "suppress_when": {"query": "SELECT v FROM u", "condition": "outside", "value": 0}})"),
      "suppress_when.condition: must be one of >, >=, <, <=, ==, !=; got \"outside\"");
  EXPECT_EQ(Error(With(R"("suppress_when": {"query": "SELECT v FROM u"})")),
            "suppress_when.value: missing required member");
  EXPECT_EQ(Error(With(R"("suppress_when": {"query": "SELECT v FROM u", "value": 0, "x": 1})")),
            "suppress_when.x: unknown member");
}
TEST(RuleQueryTest, CompilesRawAndAggregateQueries) {
  StatusOr<RuleQuery> raw = CompileRuleQuery(
      "SELECT value FROM pressure WHERE site = 'site1' AND sensor =~ /^pt-/ "
      "GROUP BY sensor, site, sensor",
      true);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  EXPECT_EQ(raw->measurement, "pressure");
  EXPECT_EQ(raw->field, "value");
  EXPECT_FALSE(raw->aggregate);
  EXPECT_EQ(raw->group_by_tags, (std::vector<std::string>{"sensor", "site"}));
  ASSERT_TRUE(raw->where.has_value());
  EXPECT_EQ(ToString(*raw->where), "site = 'site1' AND sensor =~ /^pt-/");

  StatusOr<RuleQuery> agg = CompileRuleQuery(
      "select PERCENTILE(\"value\", 95) AS p95 from temperature group by time(1m, 15s), * "
      "fill(none)",
      true);
  ASSERT_TRUE(agg.ok()) << agg.status().message();
  EXPECT_TRUE(agg->aggregate);
  EXPECT_EQ(agg->field, "value");
  EXPECT_EQ(agg->interval_ns, 60 * kSecond);
  EXPECT_EQ(agg->offset_ns, 15 * kSecond);
  EXPECT_TRUE(agg->group_by_all);
  EXPECT_TRUE(agg->group_by_tags.empty());
  EXPECT_FALSE(agg->where.has_value());
  EXPECT_EQ(
      ToString(agg->select),
      "SELECT percentile(value, 95) AS p95 FROM temperature GROUP BY time(1m, 15s), * fill(none)");
  for (const char* fn :
       {"count", "sum", "mean", "median", "spread", "stddev", "min", "max", "first", "last"}) {
    EXPECT_EQ(QueryError("SELECT " + std::string(fn) + "(v) FROM m GROUP BY time(10s)"), "OK")
        << fn;
  }
  EXPECT_EQ(QueryError("SELECT v::float FROM m;"), "OK");
}

TEST(RuleQueryTest, RejectsWhatRulesCannotEvaluate) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "1:1: found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP"},
      {"SHOW DATABASES", "must be a SELECT statement"},
      {"SELECT v FROM m; SELECT v FROM m", "1:18: found SELECT, expected EOF"},
      {"SELECT v, w FROM m", "must select exactly one field, got 2"},
      {"SELECT * FROM m", "must select one field or one aggregate of a field, not *"},
      {"SELECT v + 1 FROM m", "must select one field or one aggregate of a field, not v + 1"},
      {"SELECT time FROM m", "must select a field, not time"},
      {"SELECT host::tag FROM m", "must select a numeric or boolean field, not host::tag"},
      {"SELECT v FROM m, n", "must select from exactly one measurement, got 2"},
      {"SELECT v FROM /m.*/", "FROM must name one measurement, not a regex"},
      {"SELECT v FROM plant.autogen.m",
       "FROM must not name a database or retention policy; the rule's db applies"},
      {"SELECT v INTO x FROM m", "INTO is not allowed in a rule's query"},
      {"SELECT v FROM m LIMIT 1", "LIMIT and OFFSET are not allowed"},
      {"SELECT v FROM m SLIMIT 1", "SLIMIT and SOFFSET are not allowed"},
      {"SELECT v FROM m ORDER BY time DESC", "ORDER BY time DESC is not allowed"},
      {"SELECT mean(v) FROM m GROUP BY time(1m) fill(previous)",
       "only fill(none) or no fill is allowed"},
      {"SELECT v FROM m fill(none)", "fill(none) must be used with a function"},
      {"SELECT mean(v) FROM m", "an aggregate query needs GROUP BY time(<interval>)"},
      {"SELECT mean(v) FROM m GROUP BY host", "an aggregate query needs GROUP BY time(<interval>)"},
      {"SELECT v FROM m GROUP BY time(1m)",
       "a raw query may GROUP BY tags only; time() needs an aggregate"},
      {"SELECT mean(v) FROM m GROUP BY time(1m), /h.*/",
       "GROUP BY /regex/ is not supported in a rule; list the tags or use *"},
      {"SELECT distinct(v) FROM m GROUP BY time(1m)",
       "distinct() cannot drive a rule; use one of count, sum, mean, median, spread, stddev, "
       "min, max, first, last, percentile"},
      {"SELECT top(v, 3) FROM m GROUP BY time(1m)",
       "top() cannot drive a rule; use one of count, sum, mean, median, spread, stddev, min, "
       "max, first, last, percentile"},
      {"SELECT derivative(mean(v)) FROM m GROUP BY time(1m)",
       "derivative() cannot drive a rule; use one of count, sum, mean, median, spread, stddev, "
       "min, max, first, last, percentile"},
      {"SELECT count(distinct(v)) FROM m GROUP BY time(1m)", "count() must take a bare field"},
      {"SELECT mean(*) FROM m GROUP BY time(1m)", "mean() must take a bare field"},
      {"SELECT mean(v, 2) FROM m GROUP BY time(1m)",
       "invalid number of arguments for mean, expected 1, got 2"},
      {"SELECT percentile(v, 'x') FROM m GROUP BY time(1m)",
       "expected float argument in percentile()"},
      {"SELECT v FROM m WHERE time > now() - 1h",
       "WHERE may not test time: a rule sees every point as it arrives"},
      {"SELECT v FROM m WHERE host = 'a' AND time = '2024-01-01T00:00:00Z'",
       "WHERE may not test time: a rule sees every point as it arrives"},
      {"SELECT v FROM m WHERE v > 5",
       "WHERE may only compare tags with strings (=, !=) or regexes (=~, !~), joined by AND and "
       "OR; found v > 5"},
      {"SELECT v FROM m WHERE v = 'x'", "WHERE may only test tags; v is the queried field"},
      {"SELECT mean(v) FROM m WHERE host = 'a' OR v = 'x' GROUP BY time(1m)",
       "WHERE may only test tags; v is the queried field"},
      {"SELECT v FROM m WHERE host = 1",
       "WHERE may only compare tags with strings (=, !=) or regexes (=~, !~), joined by AND and "
       "OR; found host = 1"},
      {"SELECT v FROM m WHERE host::field = 'a'", "WHERE may only test tags, not host::field"},
      {"SELECT v FROM m WHERE host",
       "WHERE may only compare tags with strings (=, !=) or regexes (=~, !~), joined by AND and "
       "OR; found host"},
      {"SELECT v FROM m WHERE host =~ 'a'", "1:31: found a, expected regex"},
  };
  for (const auto& [query, error] : cases) EXPECT_EQ(QueryError(query), error) << query;
  EXPECT_EQ(QueryError("SELECT max(v) FROM m GROUP BY time(1m)", false),
            "must select a bare field (no aggregate here)");
  EXPECT_EQ(QueryError("SELECT v FROM m GROUP BY host", false), "OK");
}

TEST(RuleQueryTest, TagsMatchFollowsInfluxSemantics) {
  const auto match = [](std::string_view where, std::vector<store::Tag> tags) {
    StatusOr<RuleQuery> q = CompileRuleQuery("SELECT v FROM m WHERE " + std::string(where), true);
    EXPECT_TRUE(q.ok()) << where << ": " << q.status().message();
    return q.ok() && TagsMatch(q->where, tags);
  };
  const std::vector<store::Tag> a1 = {{"sensor", "pt-001"}, {"site", "site1"}};
  EXPECT_TRUE(match("site = 'site1'", a1));
  EXPECT_TRUE(match("'site1' = site", a1));
  EXPECT_FALSE(match("site = 'site2'", a1));
  EXPECT_TRUE(match("site != 'site2'", a1));
  EXPECT_TRUE(match("sensor =~ /^pt-0/ AND site = 'site1'", a1));
  EXPECT_FALSE(match("sensor !~ /pt/", a1));
  EXPECT_TRUE(match("site = 'x' OR (sensor = 'pt-001' AND site =~ /1$/)", a1));
  EXPECT_FALSE(match("site = 'x' OR sensor = 'y'", a1));
  // A missing tag has the value "".
  EXPECT_TRUE(match("unit = ''", a1));
  EXPECT_FALSE(match("unit != ''", a1));
  EXPECT_TRUE(match("unit =~ /^$/", a1));
  EXPECT_TRUE(match("unit !~ /./", a1));
  EXPECT_TRUE(match("site =~ /(?i)SITE1/", a1));
  EXPECT_TRUE(match("site = ''", {}));
  EXPECT_TRUE(TagsMatch(std::nullopt, a1));
}

// The statement kept in RuleQuery runs in the executor, and its tag filter agrees with
// TagsMatch on every series.
TEST(RuleQueryTest, SelectRunsInTheExecutorAndAgreesWithTagsMatch) {
  testing::QueryFixture fixture;
  fixture.Write("plant", testing::PlantData());
  const std::vector<std::string> wheres = {"host = 'a'",
                                           "host != 'a'",
                                           "region =~ /st$/ AND host = 'b'",
                                           "host = 'b' OR region = 'east'",
                                           "nope = ''",
                                           "nope != ''",
                                           "host !~ /a/"};
  const std::vector<std::vector<store::Tag>> series = {{{"host", "a"}, {"region", "east"}},
                                                       {{"host", "b"}, {"region", "west"}}};
  for (const std::string& where : wheres) {
    StatusOr<RuleQuery> q =
        CompileRuleQuery("SELECT value FROM cpu WHERE " + where + " GROUP BY *", true);
    ASSERT_TRUE(q.ok()) << q.status().message();
    QueryExecutor executor(fixture.store(), fixture.registry(), {});
    Query query;
    query.statements.push_back(q->select);
    const QueryResult result = executor.Execute(query, {"plant", 60 * kSecond});
    ASSERT_EQ(result.results.size(), 1u);
    ASSERT_FALSE(result.results[0].error) << *result.results[0].error;
    std::string expected, got;
    for (const auto& tags : series) {
      if (TagsMatch(q->where, tags)) expected += "host=" + tags[0].value + ";";
    }
    for (const ResultSeries& s : result.results[0].series) got += "host=" + s.tags[0].second + ";";
    EXPECT_EQ(got, expected) << where;
  }
  StatusOr<RuleQuery> agg =
      CompileRuleQuery("SELECT mean(value) FROM cpu GROUP BY time(20s), host fill(none)", true);
  ASSERT_TRUE(agg.ok()) << agg.status().message();
  QueryExecutor executor(fixture.store(), fixture.registry(), {});
  Query query;
  query.statements.push_back(agg->select);
  const QueryResult result = executor.Execute(query, {"plant", 60 * kSecond});
  ASSERT_EQ(result.results.size(), 1u);
  EXPECT_EQ(testing::Render(result.results[0]),
            "cpu host=a time,mean\n  0s,2\n  20s,5\n  40s,7\n"
            "cpu host=b time,mean\n  0s,3\n  20s,6\n");
}

}  // namespace
}  // namespace tidewatch::rules
