// /api/v1/rules end to end: real sockets, a real RuleEngine, store and SQLite catalog.
#include "daemon/rules_api.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/query_json.h"
#include "tests/daemon/rules_api_test_util.h"

namespace tidewatch::daemon::api_test {
namespace {

constexpr std::string_view kRules = "/api/v1/rules";

class RulesApiTest : public ApiTest {
 protected:
  // PressureJson() sending to `channels`, a JSON array.
  static std::string PressureJsonTo(const std::string& channels) {
    std::string json = PressureJson();
    json.insert(json.rfind('}'), R"(, "channels": )" + channels);
    return json;
  }
};

bool IsRfc3339(const Json& v) {
  return v.is_string() && v.get<std::string>().size() >= 20 && v.get<std::string>()[10] == 'T' &&
         v.get<std::string>().back() == 'Z';
}

TEST_F(RulesApiTest, CreateGetListDelete) {
  StartServer();
  const Answer created = Post(kRules, PressureJson());
  ASSERT_EQ(created.status, 201u) << created.body;
  const Json& rule = created.body;
  // The canonical form, plus the record.
  Json canonical = Json::parse(rules::RuleToJson(*rules::ParseRuleJson(PressureJson())));
  for (const auto& [key, value] : canonical.items()) EXPECT_EQ(rule[key], value) << key;
  EXPECT_EQ(rule["name"], "high-pressure");
  EXPECT_EQ(rule["enabled"], true);
  EXPECT_EQ(rule["version"], 1);
  EXPECT_EQ(rule["source"], "api");
  EXPECT_TRUE(rule["id"].is_number_integer());
  EXPECT_TRUE(IsRfc3339(rule["created_at"])) << rule["created_at"];
  EXPECT_TRUE(IsRfc3339(rule["updated_at"])) << rule["updated_at"];
  EXPECT_EQ(rule["counts"]["instances"], 0);
  EXPECT_EQ(rule["counts"]["in_alarm"], 0);

  ASSERT_EQ(Post(kRules, PressureJson("b-rule")).status, 201u);
  const Answer list = Get(kRules);
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.body["rules"].size(), 2u);
  EXPECT_EQ(list.body["rules"][0]["name"], "b-rule");  // by name
  EXPECT_EQ(list.body["rules"][1], rule);

  const Answer one = Get("/api/v1/rules/high-pressure");
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.body, rule);
  const Answer head = Call(http::verb::head, "/api/v1/rules/high-pressure");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.is_null());

  const Answer deleted = Call(http::verb::delete_, "/api/v1/rules/high-pressure");
  EXPECT_EQ(deleted.status, 204u);
  EXPECT_TRUE(deleted.body.is_null());
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").status, 404u);
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/rules/high-pressure").status, 404u);
  EXPECT_EQ(Get(kRules).body["rules"].size(), 1u);
}

TEST_F(RulesApiTest, CreateRefusesBadDefinitionsWithTheParsersMessage) {
  StartServer();
  const std::vector<std::string> bad = {
      "",
      "{",
      "[]",
      "null",
      R"({"name": "x"})",
      R"({"name": "x", "db": "plant", "query": "SELECT FROM", "condition": ">", "trip": 1})",
      R"({"name": "bad name!", "db": "plant", "query": "SELECT value FROM p",
          "condition": ">", "trip": 1})",
      R"({"name": "x", "db": "plant", "query": "SELECT value FROM p", "condition": ">",
          "trip": "high"})",
      R"({"name": "x", "db": "plant", "query": "SELECT value FROM p", "condition": ">",
          "trip": 1, "no_such_member": 1})",
      R"({"name": "x", "db": "plant", "query": "SELECT value FROM p", "condition": ">",
          "trip": 1e999})",
      "{\"name\": \"\xff\xfe\"}",
      std::string(10'000, '['),
      std::string(30'000, '{'),
      std::string("{\"name\":\"a\0b\"}", 15),
  };
  for (const std::string& body : bad) {
    const StatusOr<rules::RuleDefinition> parsed = rules::ParseRuleJson(body);
    ASSERT_FALSE(parsed.ok()) << body.substr(0, 80);
    const Answer a = Post(kRules, body);
    EXPECT_EQ(a.status, 400u) << body.substr(0, 80);
    // As the server sends it: invalid UTF-8 replaced.
    EXPECT_EQ(ErrorOf(a), Json::parse(RenderError(parsed.status().message()))["error"])
        << body.substr(0, 80);
  }
  EXPECT_EQ(Get(kRules).body["rules"].size(), 0u);
  // Past max_body the server refuses it before the handler sees it.
  EXPECT_EQ(Post(kRules, std::string(kMaxBody + 1, ' ')).status, 413u);
}

TEST_F(RulesApiTest, CreateOfAnExistingNameIs409) {
  StartServer();
  ASSERT_EQ(Post(kRules, PressureJson()).status, 201u);
  const Answer again = Post(kRules, PressureJson("high-pressure", 9));
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(ErrorOf(again), "rule \"high-pressure\" already exists");
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").body["levels"][0]["trip"], 8.0);
}

TEST_F(RulesApiTest, AChannelThatDoesNotExistIs400) {
  StartServer();
  const Answer unknown = Post(kRules, PressureJsonTo(R"(["ops", "pager"])"));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(ErrorOf(unknown), "channels: no channel named \"pager\"");
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").status, 404u);

  const Answer created = Post(kRules, PressureJsonTo(R"(["ops"])"));
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(created.body["channels"], Json::array({"ops"}));
  const Answer changed =
      Call(http::verb::put, "/api/v1/rules/high-pressure", PressureJsonTo(R"(["pager"])"));
  EXPECT_EQ(changed.status, 400u);
  EXPECT_EQ(ErrorOf(changed), "channels: no channel named \"pager\"");
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").body["version"], 1);
  // A dry run sends nothing, so it does not ask.
  EXPECT_EQ(Post("/api/v1/rules?dry_run=true", PressureJsonTo(R"(["pager"])")).status, 200u);
}

TEST_F(RulesApiTest, DryRunAnswersWhatWouldFireAndStoresNothing) {
  StartServer();
  fixture_.Feed("pressure", "pt-001", kT0 - S(10), 9.5);
  fixture_.Feed("pressure", "pt-002", kT0 - S(10), 5);
  const Answer dry = Post("/api/v1/rules?dry_run=true", PressureJson());
  ASSERT_EQ(dry.status, 200u) << dry.body;
  ASSERT_EQ(dry.body["alerts"].size(), 1u) << dry.body;
  const Json& alert = dry.body["alerts"][0];
  EXPECT_EQ(alert["instance"], Key("pt-001"));
  EXPECT_EQ(alert["state"], "firing");
  EXPECT_EQ(alert["severity"], 1);
  EXPECT_EQ(alert["severity_name"], "critical");
  EXPECT_EQ(alert["value"], 9.5);
  EXPECT_EQ(alert["event_time"], Rfc3339(kT0 - S(10)));
  EXPECT_EQ(alert["labels"]["alertname"], "high-pressure");
  EXPECT_TRUE(alert["annotations"].is_object());
  EXPECT_EQ(Get(kRules).body["rules"].size(), 0u);
  EXPECT_EQ(Get("/api/v1/alerts").body["alerts"].size(), 0u);

  EXPECT_EQ(Post("/api/v1/rules?dry_run=yes", PressureJson()).status, 400u);
  EXPECT_EQ(Post("/api/v1/rules?dry_run=true", "{").status, 400u);
  EXPECT_EQ(Post("/api/v1/rules?dry_run=false", PressureJson()).status, 201u);
}

TEST_F(RulesApiTest, PutReplacesTheDefinition) {
  StartServer();
  ASSERT_EQ(Post(kRules, PressureJson()).status, 201u);
  const Answer updated =
      Call(http::verb::put, "/api/v1/rules/high-pressure", PressureJson("high-pressure", 9));
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(updated.body["levels"][0]["trip"], 9.0);
  EXPECT_EQ(updated.body["version"], 2);
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").body, updated.body);

  const Answer renamed =
      Call(http::verb::put, "/api/v1/rules/high-pressure", PressureJson("other"));
  EXPECT_EQ(renamed.status, 400u);
  EXPECT_EQ(ErrorOf(renamed),
            "name: \"other\" does not match the rule in the path, \"high-pressure\"");
  EXPECT_EQ(Call(http::verb::put, "/api/v1/rules/nope", PressureJson("nope")).status, 404u);
  const Answer bad = Call(http::verb::put, "/api/v1/rules/high-pressure", "{\"name\":");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(ErrorOf(bad), rules::ParseRuleJson("{\"name\":").status().message());
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").body["version"], 2);
}

TEST_F(RulesApiTest, EnableAndDisable) {
  StartServer();
  ASSERT_EQ(Post(kRules, PressureJson()).status, 201u);
  const Answer off = Post("/api/v1/rules/high-pressure/disable", "");
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_EQ(off.body["enabled"], false);
  EXPECT_EQ(off.body["version"], 2);
  const Answer on = Post("/api/v1/rules/high-pressure/enable", "");
  ASSERT_EQ(on.status, 200u);
  EXPECT_EQ(on.body["enabled"], true);
  EXPECT_EQ(on.body["version"], 3);
  EXPECT_EQ(Post("/api/v1/rules/nope/enable", "").status, 404u);
  const Answer get = Get("/api/v1/rules/high-pressure/enable");
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_EQ(Post("/api/v1/rules/high-pressure/restart", "").status, 404u);
  EXPECT_EQ(Post("/api/v1/rules/high-pressure/enable/x", "").status, 404u);
  EXPECT_EQ(Get("/api/v1/rules/").status, 404u);
  EXPECT_EQ(Get("/api/v1/rules//enable").status, 404u);
}

TEST_F(RulesApiTest, RulesOfTheRulesFileAreReadOnly) {
  StartServer();
  ASSERT_TRUE(engine().ReplaceFileRules({*rules::ParseRuleJson(PressureJson())}).ok());
  const Answer got = Get("/api/v1/rules/high-pressure");
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(got.body["source"], "file");
  const std::string managed = "rule \"high-pressure\" is managed by the rules file";
  const Answer put =
      Call(http::verb::put, "/api/v1/rules/high-pressure", PressureJson("high-pressure", 9));
  EXPECT_EQ(put.status, 409u);
  EXPECT_EQ(ErrorOf(put), managed);
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/rules/high-pressure").status, 409u);
  EXPECT_EQ(Post("/api/v1/rules/high-pressure/disable", "").status, 409u);
  EXPECT_EQ(Post(kRules, PressureJson()).status, 409u);
  EXPECT_EQ(Get("/api/v1/rules/high-pressure").body, got.body);
}

TEST_F(RulesApiTest, WrongMethodsAre405) {
  StartServer();
  const Answer put = Call(http::verb::put, kRules, PressureJson());
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.allow, "GET, HEAD, POST");
  const Answer post = Post("/api/v1/rules/x", PressureJson("x"));
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(Call(http::verb::patch, kRules).status, 405u);  // by the server
}

TEST_F(RulesApiTest, CountsFollowTheAlerts) {
  StartServer();
  ASSERT_EQ(Post(kRules, PressureJson()).status, 201u);
  fixture_.Feed("pressure", "pt-001", kT0, 9);
  fixture_.Feed("pressure", "pt-002", kT0, 5);
  const Json counts = Get("/api/v1/rules/high-pressure").body["counts"];
  EXPECT_EQ(counts["instances"], 2);
  EXPECT_EQ(counts["in_alarm"], 1);
  EXPECT_EQ(counts["unacked"], 1);
  EXPECT_EQ(counts["announced_alarms"], 1);
}

TEST_F(RulesApiTest, RolesByMethod) {
  Auth auth(AuthOptions{
      true, {{"reader", "r-secret", Role::kRead}, {"writer", "w-secret", Role::kWrite}}});
  StartServer(&auth);
  const test_http::Headers reader = {{"Authorization", "Bearer r-secret"}};
  const test_http::Headers writer = {{"Authorization", "Bearer w-secret"}};
  EXPECT_EQ(Get(kRules).status, 401u);
  EXPECT_EQ(Get(kRules, reader).status, 200u);
  EXPECT_EQ(Post(kRules, PressureJson(), reader).status, 403u);
  EXPECT_EQ(Post(kRules, PressureJson(), writer).status, 201u);
  EXPECT_EQ(Get("/api/v1/rules/high-pressure", reader).status, 200u);
  EXPECT_EQ(Post("/api/v1/rules/high-pressure/disable", "", reader).status, 403u);
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/rules/high-pressure", {}, reader).status, 403u);
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/rules/high-pressure", {}, writer).status, 204u);
}

}  // namespace
}  // namespace tidewatch::daemon::api_test
