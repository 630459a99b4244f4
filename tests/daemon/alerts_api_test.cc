// /api/v1/alerts end to end: real sockets, a real RuleEngine, store and SQLite catalog,
// a fake clock.
#include "daemon/alerts_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/rules_api_test_util.h"

namespace tidewatch::daemon::api_test {
namespace {

constexpr std::string_view kAlerts = "/api/v1/alerts";
// Key("pt-001") in a query string.
constexpr std::string_view kPt1 = "sensor%3Dpt-001%2Csite%3Dsite1";

class AlertsApiTest : public ApiTest {
 protected:
  // high-pressure with pt-001 firing at 9 and pt-002 inactive at 5.
  void StartWithAlerts(const Auth* auth = nullptr) {
    StartServer(auth);
    ASSERT_TRUE(engine().CreateRule(*rules::ParseRuleJson(PressureJson()), "test").ok());
    fixture_.Feed("pressure", "pt-001", kT0 - S(1), 9);
    fixture_.Feed("pressure", "pt-002", kT0 - S(1), 5);
  }

  static std::string Body(const std::string& extra, const std::string& sensor = "pt-001") {
    return R"({"rule": "high-pressure", "instance": ")" + Key(sensor) + "\"" + extra + "}";
  }

  // The alert of `sensor` as listed.
  Json AlertOf(const std::string& sensor) {
    const Answer list = Get(kAlerts);
    for (const Json& a : list.body["alerts"]) {
      if (a["instance"] == Key(sensor)) return a;
    }
    return Json();
  }
};

TEST_F(AlertsApiTest, ListsEveryFieldOfEveryAlert) {
  StartWithAlerts();
  const Answer list = Get(kAlerts);
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.body["alerts"].size(), 2u) << list.body;
  const Json firing = AlertOf("pt-001");
  EXPECT_EQ(firing["rule"], "high-pressure");
  EXPECT_TRUE(firing["rule_id"].is_number_integer());
  EXPECT_EQ(firing["state"], "firing");
  EXPECT_EQ(firing["isa_state"], "unacked");
  EXPECT_EQ(firing["severity"], 1);
  EXPECT_EQ(firing["severity_name"], "critical");
  EXPECT_EQ(firing["value"], 9.0);
  EXPECT_EQ(firing["threshold"], 8.0);
  EXPECT_EQ(firing["active_since"], Rfc3339(kT0));
  EXPECT_EQ(firing["pending_since"], Json());
  EXPECT_EQ(firing["last_change"], Rfc3339(kT0));
  EXPECT_EQ(firing["last_event_time"], Rfc3339(kT0 - S(1)));
  EXPECT_EQ(firing["labels"]["alertname"], "high-pressure");
  EXPECT_EQ(firing["labels"]["sensor"], "pt-001");
  EXPECT_EQ(firing["labels"]["severity"], "critical");
  EXPECT_TRUE(firing["annotations"].is_object());
  EXPECT_EQ(firing["shelve"],
            Json::parse(R"({"kind": "none", "until": null, "user": "", "reason": ""})"));
  for (const char* flag : {"suppressed", "out_of_service", "stale", "chattering"}) {
    EXPECT_EQ(firing[flag], false) << flag;
  }
  const Json inactive = AlertOf("pt-002");
  EXPECT_EQ(inactive["state"], "inactive");
  EXPECT_EQ(inactive["isa_state"], "normal");
  EXPECT_EQ(inactive["severity"], 0);
  EXPECT_EQ(inactive["threshold"], Json());  // NaN at severity 0
  EXPECT_EQ(inactive["active_since"], Json());
  EXPECT_EQ(inactive["value"], 5.0);
}

TEST_F(AlertsApiTest, Filters) {
  StartWithAlerts();
  const auto Instances = [&](std::string_view target) {
    const Answer a = Get(target);
    std::string out = std::to_string(a.status);
    if (a.status != 200) return out + " " + ErrorOf(a);
    for (const Json& alert : a.body["alerts"]) out += " " + alert["instance"].get<std::string>();
    return out;
  };
  EXPECT_EQ(Instances("/api/v1/alerts?state=firing"), "200 " + Key("pt-001"));
  EXPECT_EQ(Instances("/api/v1/alerts?state=unacked"), "200 " + Key("pt-001"));
  EXPECT_EQ(Instances("/api/v1/alerts?state=inactive"), "200 " + Key("pt-002"));
  EXPECT_EQ(Instances("/api/v1/alerts?in_alarm=true"), "200 " + Key("pt-001"));
  EXPECT_EQ(Instances("/api/v1/alerts?in_alarm=false&state=normal"), "200 " + Key("pt-002"));
  EXPECT_EQ(Instances("/api/v1/alerts?rule=other"), "200");
  EXPECT_EQ(Instances("/api/v1/alerts?rule=high-pressure&state=pending"), "200");
  EXPECT_EQ(Instances("/api/v1/alerts?in_alarm=yes"), "400 in_alarm: must be true or false");
  EXPECT_EQ(Instances("/api/v1/alerts?state=%22%0A"),
            "400 state: \"\"\n\" is not inactive, pending, firing, normal, unacked, acked, "
            "rtn_unacked or latched");
}

TEST_F(AlertsApiTest, AcknowledgeAndHistory) {
  StartWithAlerts();
  const Answer acked = Post("/api/v1/alerts/ack", Body(R"(, "user": "alice")"));
  ASSERT_EQ(acked.status, 200u) << acked.body;
  EXPECT_EQ(acked.body["isa_state"], "acked");
  EXPECT_EQ(acked.body["instance"], Key("pt-001"));
  const Answer again = Post("/api/v1/alerts/ack", Body(R"(, "user": "alice")"));
  EXPECT_EQ(again.status, 400u);  // nothing awaits acknowledgement
  EXPECT_NE(ErrorOf(again), "");
  EXPECT_EQ(Post("/api/v1/alerts/ack", Body("")).status, 400u);  // no user, auth off
  EXPECT_EQ(ErrorOf(Post("/api/v1/alerts/ack", Body(""))),
            "missing member \"user\" (required when auth is off)");
  EXPECT_EQ(Post("/api/v1/alerts/ack", Body(R"(, "user": "")")).status, 400u);
  EXPECT_EQ(Post("/api/v1/alerts/ack", Body(R"(, "user": "a")", "pt-404")).status, 404u);
  EXPECT_EQ(Post("/api/v1/alerts/ack", R"({"rule": "nope", "instance": "", "user": "a"})").status,
            404u);

  const Answer history =
      Get("/api/v1/alerts/history?rule=high-pressure&instance=" + std::string(kPt1));
  ASSERT_EQ(history.status, 200u) << history.body;
  const Json& entries = history.body["history"];
  ASSERT_GE(entries.size(), 2u) << entries;
  EXPECT_EQ(entries[0]["action"], "acknowledge");  // newest first
  EXPECT_EQ(entries[0]["actor"], "alice");
  EXPECT_EQ(entries[0]["rule"], "high-pressure");
  EXPECT_EQ(entries[0]["instance"], Key("pt-001"));
  EXPECT_EQ(entries[0]["to_state"], "firing");  // the catalog keeps Prometheus states
  EXPECT_EQ(entries[0]["time"], Rfc3339(kT0));
  EXPECT_EQ(entries[1]["actor"], "engine");
  EXPECT_GT(entries[0]["id"].get<std::int64_t>(), entries[1]["id"].get<std::int64_t>());
  const Answer one =
      Get("/api/v1/alerts/history?rule=high-pressure&limit=1&instance=" + std::string(kPt1));
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(one.body["history"].size(), 1u);
  EXPECT_EQ(one.body["history"][0], entries[0]);
}

TEST_F(AlertsApiTest, HistoryParameters) {
  StartWithAlerts();
  const auto Status = [&](const std::string& query) {
    return Get("/api/v1/alerts/history?" + query).status;
  };
  const std::string instance = "&instance=" + std::string(kPt1);
  EXPECT_EQ(Status("rule=high-pressure" + instance), 200u);
  EXPECT_EQ(Status("rule=high-pressure&instance="), 200u);  // the tagless instance
  EXPECT_EQ(Status("rule=high-pressure"), 400u);
  EXPECT_EQ(Status(instance.substr(1)), 400u);
  EXPECT_EQ(Status("rule=" + instance), 400u);
  EXPECT_EQ(Status("rule=nope" + instance), 404u);
  for (const char* limit : {"0", "1001", "-1", "abc", "10x", "", "99999999999999999999999"}) {
    EXPECT_EQ(Status("rule=high-pressure&limit=" + std::string(limit) + instance), 400u) << limit;
  }
  EXPECT_EQ(Status("rule=high-pressure&limit=1000" + instance), 200u);
  EXPECT_EQ(Post("/api/v1/alerts/history", "{}").status, 405u);
}

TEST_F(AlertsApiTest, ShelveForADurationUntilATimeOrOnce) {
  StartWithAlerts();
  const Answer timed =
      Post("/api/v1/alerts/shelve", Body(R"(, "user": "bob", "reason": "maintenance",
                                             "duration": "2h")"));
  ASSERT_EQ(timed.status, 200u) << timed.body;
  EXPECT_EQ(timed.body["shelve"],
            Json::parse(R"({"kind": "timed", "until": ")" + Rfc3339(kT0 + S(7200)) +
                        R"(", "user": "bob", "reason": "maintenance"})"));
  const Answer until = Post("/api/v1/alerts/shelve",
                            Body(R"(, "user": "bob", "until": ")" + Rfc3339(kT0 + S(60)) + "\""));
  ASSERT_EQ(until.status, 200u) << until.body;
  EXPECT_EQ(until.body["shelve"]["until"], Rfc3339(kT0 + S(60)));
  EXPECT_EQ(until.body["shelve"]["reason"], "");
  const Answer once = Post("/api/v1/alerts/shelve", Body(R"(, "user": "bob", "one_shot": true)"));
  ASSERT_EQ(once.status, 200u) << once.body;
  EXPECT_EQ(once.body["shelve"]["kind"], "one_shot");
  EXPECT_EQ(once.body["shelve"]["until"], Json());

  const Answer unshelved = Post("/api/v1/alerts/unshelve", Body(R"(, "user": "bob")"));
  ASSERT_EQ(unshelved.status, 200u) << unshelved.body;
  EXPECT_EQ(unshelved.body["shelve"]["kind"], "none");
  EXPECT_EQ(Post("/api/v1/alerts/unshelve", Body(R"(, "user": "bob")")).status, 400u);
  EXPECT_EQ(AlertOf("pt-001")["shelve"]["kind"], "none");
}

TEST_F(AlertsApiTest, ShelveRefusesBadExpiries) {
  StartWithAlerts();
  const auto Error = [&](const std::string& members) {
    const Answer a = Post("/api/v1/alerts/shelve", Body(R"(, "user": "bob")" + members));
    return std::to_string(a.status) + " " + ErrorOf(a);
  };
  const std::string one_of = "400 give exactly one of \"duration\", \"until\" and \"one_shot\"";
  EXPECT_EQ(Error(""), one_of);
  EXPECT_EQ(Error(R"(, "duration": "1h", "one_shot": true)"), one_of);
  EXPECT_EQ(Error(R"(, "duration": "1h", "until": "2030-01-01T00:00:00Z")"), one_of);
  EXPECT_EQ(Error(R"(, "one_shot": false)"), "400 one_shot: must be true");
  EXPECT_EQ(Error(R"(, "duration": "0s")"), "400 duration: must be positive");
  EXPECT_EQ(Error(R"(, "duration": 3600)"), "400 duration: must be a string");
  EXPECT_EQ(Error(R"(, "one_shot": "true")"), "400 one_shot: must be true or false");
  EXPECT_EQ(Error(R"(, "duration": "2100000h")"), "400 duration: too long");
  for (const char* bad : {"soon", "", "-5m", "1e9h", "5"}) {
    EXPECT_EQ(Error(R"(, "duration": ")" + std::string(bad) + "\"").substr(0, 14), "400 duration: ")
        << bad;
  }
  for (const char* bad :
       {"yesterday", "2030-02-30T00:00:00Z", "2030-01-01", "2030-01-01T00:00:00"}) {
    EXPECT_EQ(Error(R"(, "until": ")" + std::string(bad) + "\"").substr(0, 11), "400 until: ")
        << bad;
  }
  // In the past: the state machine refuses it.
  EXPECT_EQ(Error(R"(, "until": ")" + Rfc3339(kT0 - S(1)) + "\"").substr(0, 4), "400 ");
  EXPECT_EQ(AlertOf("pt-001")["shelve"]["kind"], "none");
}

TEST_F(AlertsApiTest, OutOfService) {
  StartWithAlerts();
  const Answer out =
      Post("/api/v1/alerts/out_of_service", Body(R"(, "user": "c", "enabled": true)"));
  ASSERT_EQ(out.status, 200u) << out.body;
  EXPECT_EQ(out.body["out_of_service"], true);
  const Answer back =
      Post("/api/v1/alerts/out_of_service", Body(R"(, "user": "c", "enabled": false)"));
  ASSERT_EQ(back.status, 200u);
  EXPECT_EQ(back.body["out_of_service"], false);
  EXPECT_EQ(ErrorOf(Post("/api/v1/alerts/out_of_service", Body(R"(, "user": "c")"))),
            "missing member \"enabled\"");
  EXPECT_EQ(ErrorOf(Post("/api/v1/alerts/out_of_service", Body(R"(, "user": "c", "enabled": 1)"))),
            "enabled: must be true or false");
  EXPECT_EQ(
      Post("/api/v1/alerts/out_of_service", Body(R"(, "user": "c", "enabled": true)", "x")).status,
      404u);
}

TEST_F(AlertsApiTest, HostileBodiesAre400) {
  StartWithAlerts();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid JSON body: "},
      {"{", "invalid JSON body: "},
      {"{\"rule\": \"high-pressure\",}", "invalid JSON body: "},
      {"\xff\xfe{}", "invalid JSON body: "},
      {"{\"rule\": \"\xc3\x28\"}", "invalid JSON body: "},
      {std::string(20'000, '['), "invalid JSON body: "},
      {std::string(20'000, '{'), "invalid JSON body: "},
      {std::string("{\"rule\":\0}", 10), "invalid JSON body: "},
      {"[]", "the body must be a JSON object"},
      {"\"ack\"", "the body must be a JSON object"},
      {"null", "the body must be a JSON object"},
      {"{}", "missing member \"rule\""},
      {R"({"rule": "high-pressure"})", "missing member \"instance\""},
      {R"({"rule": 5, "instance": "", "user": "u"})", "rule: must be a string"},
      {R"({"rule": null, "instance": "", "user": "u"})", "rule: must be a string"},
      {R"({"rule": ["x"], "instance": "", "user": "u"})", "rule: must be a string"},
      {R"({"rule": "high-pressure", "instance": {}, "user": "u"})", "instance: must be a string"},
      {R"({"rule": "high-pressure", "instance": "", "user": 1})", "user: must be a string"},
      {Body(R"(, "user": "u", "note": "why")"), "unknown member \"note\""},
      {Body(R"(, "user": "u", "reason": "why")"), "unknown member \"reason\""},
      {Body(R"(, "user": "u", "Rule": "x")"), "unknown member \"Rule\""},
  };
  for (const auto& [body, error] : cases) {
    const Answer a = Post("/api/v1/alerts/ack", body);
    EXPECT_EQ(a.status, 400u) << body.substr(0, 60);
    EXPECT_EQ(ErrorOf(a).substr(0, error.size()), error) << body.substr(0, 60) << " " << a.body;
  }
  EXPECT_EQ(Post("/api/v1/alerts/shelve", std::string(kMaxBody + 1, '{')).status, 413u);
  EXPECT_EQ(AlertOf("pt-001")["isa_state"], "unacked");  // nothing happened
}

TEST_F(AlertsApiTest, PathsAndMethods) {
  StartWithAlerts();
  const Answer list = Post(kAlerts, "{}");
  EXPECT_EQ(list.status, 405u);
  EXPECT_EQ(list.allow, "GET, HEAD");
  const Answer ack = Get("/api/v1/alerts/ack");
  EXPECT_EQ(ack.status, 405u);
  EXPECT_EQ(ack.allow, "POST");
  EXPECT_EQ(Post("/api/v1/alerts/acknowledge", Body(R"(, "user": "u")")).status, 404u);
  EXPECT_EQ(Post("/api/v1/alerts/ack/x", Body(R"(, "user": "u")")).status, 404u);
  EXPECT_EQ(Get("/api/v1/alerts/").status, 404u);
  EXPECT_EQ(Call(http::verb::delete_, kAlerts).status, 405u);  // by the server
  EXPECT_EQ(Call(http::verb::head, kAlerts).status, 200u);
}

TEST_F(AlertsApiTest, AuthRecordsThePrincipalAndRefusesAnotherUser) {
  Auth auth(AuthOptions{
      true, {{"reader", "r-secret", Role::kRead}, {"writer", "w-secret", Role::kWrite}}});
  StartWithAlerts(&auth);
  const test_http::Headers reader = {{"Authorization", "Bearer r-secret"}};
  const test_http::Headers writer = {{"Authorization", "Bearer w-secret"}};
  EXPECT_EQ(Get(kAlerts).status, 401u);
  EXPECT_EQ(Get(kAlerts, reader).status, 200u);
  EXPECT_EQ(Post("/api/v1/alerts/ack", Body(""), reader).status, 403u);
  const Answer other = Post("/api/v1/alerts/ack", Body(R"(, "user": "mallory")"), writer);
  EXPECT_EQ(other.status, 403u);
  EXPECT_EQ(ErrorOf(other), "user: \"mallory\" is not the authenticated user \"writer\"");
  EXPECT_EQ(Post("/api/v1/alerts/ack", Body(R"(, "user": "writer")"), writer).status, 200u);
  ASSERT_EQ(Post("/api/v1/alerts/shelve", Body(R"(, "one_shot": true)"), writer).status, 200u);
  const Answer history =
      Get("/api/v1/alerts/history?rule=high-pressure&instance=" + std::string(kPt1), reader);
  ASSERT_EQ(history.status, 200u);
  ASSERT_GE(history.body["history"].size(), 2u);
  EXPECT_EQ(history.body["history"][0]["action"], "shelve");
  EXPECT_EQ(history.body["history"][0]["actor"], "writer");
  EXPECT_EQ(history.body["history"][1]["action"], "acknowledge");
  EXPECT_EQ(history.body["history"][1]["actor"], "writer");
}

// Operators act while points arrive: every answer is a deliberate one (TSan checks the
// rest).
TEST_F(AlertsApiTest, ConcurrentActionsAndPoints) {
  StartWithAlerts();
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    for (int i = 0; i < 200 && !stop.load(); ++i) {
      fixture_.Feed("pressure", "pt-001", kT0 + S(i), i % 2 == 0 ? 9 : 7);
    }
  });
  std::atomic<int> unexpected{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 15; ++i) {
        const Answer a =
            c == 0   ? Get(kAlerts)
            : c == 1 ? Post("/api/v1/alerts/ack", Body(R"(, "user": "u")"))
                     : Post(i % 2 == 0 ? "/api/v1/alerts/shelve" : "/api/v1/alerts/unshelve",
                            Body(i % 2 == 0 ? R"(, "user": "u", "duration": "1m")"
                                            : R"(, "user": "u")"));
        if (a.status != 200 && a.status != 400) ++unexpected;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  stop = true;
  feeder.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(Get(kAlerts).body["alerts"].size(), 2u);
}

}  // namespace
}  // namespace tidewatch::daemon::api_test
