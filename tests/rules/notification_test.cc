#include "rules/notification.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>
#include <string>

#include "rules/alert_rule.h"
#include "rules/rule_definition.h"
#include "store/rfc3339.h"

namespace tidewatch::rules {
namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp k20261121T130005 = 1795266005 * kSecond;

TEST(NotificationTest, Fnv1a64MatchesTheReferenceValues) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(NotificationTest, IdempotencyKeyFormat) {
  EXPECT_EQ(IdempotencyKey(3, "sensor=pt-001,site=site1", 2), "tw-3-4c078bdb93391fe4-2");
  EXPECT_EQ(IdempotencyKey(12, "", 1), "tw-12-cbf29ce484222325-1");
  EXPECT_EQ(IdempotencyKey(1, "a", 18446744073709551615ull),
            "tw-1-af63dc4c8601ec8c-18446744073709551615");
}

TEST(NotificationTest, Rfc3339NanoAsGoWritesIt) {
  using store::FormatRfc3339;
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(k20261121T130005), "2026-11-21T13:00:05Z");
  EXPECT_EQ(FormatRfc3339(k20261121T130005 + 250'000'000), "2026-11-21T13:00:05.25Z");
  EXPECT_EQ(FormatRfc3339(k20261121T130005 + 12'300'000), "2026-11-21T13:00:05.0123Z");
  EXPECT_EQ(FormatRfc3339(k20261121T130005 + 1), "2026-11-21T13:00:05.000000001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400 * kSecond), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<std::int64_t>::max()),
            "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<std::int64_t>::min()),
            "1677-09-21T00:12:43.145224192Z");
}

TEST(NotificationTest, KindsAndStatus) {
  Transition t;
  t.cause = TransitionCause::kNoData;
  EXPECT_EQ(KindOf(t), NotificationKind::kNoData);
  EXPECT_TRUE(Firing(t));
  t.cause = TransitionCause::kDataResumed;
  EXPECT_FALSE(Firing(t));
  t.cause = TransitionCause::kValue;
  t.to_state = AlarmState::kLatched;
  t.severity = 1;
  EXPECT_EQ(KindOf(t), NotificationKind::kAlarm);
  EXPECT_TRUE(Firing(t));
  t.to_state = AlarmState::kRtnUnacked;
  t.severity = 0;
  EXPECT_FALSE(Firing(t));
  EXPECT_EQ(NotificationCauseName(TransitionCause::kAcknowledge), "acknowledge");
  EXPECT_EQ(NotificationCauseName(TransitionCause::kShelveExpired), "shelve_expired");
}

TEST(NotificationTest, AlertLabels) {
  std::map<std::string, std::string> labels{
      {"alertname", "tag"}, {"severity", "tag"}, {"kind", "tag"}, {"site", "s1"}};
  AddAlertLabels("r", "", NotificationKind::kAlarm, labels);
  EXPECT_EQ(labels, (std::map<std::string, std::string>{
                        {"alertname", "r"}, {"kind", "tag"}, {"site", "s1"}}));
  AddAlertLabels("r", "critical", NotificationKind::kNoData, labels);
  EXPECT_EQ(
      labels,
      (std::map<std::string, std::string>{
          {"alertname", "r"}, {"kind", "no_data"}, {"severity", "critical"}, {"site", "s1"}}));
}

TEST(NotificationTest, NullsEscapingAndHostileBytes) {
  const std::map<std::string, std::string> labels{{"sensor", "bad\xff"}};
  const std::map<std::string, std::string> annotations;
  NotificationContext context;
  context.rule = "r:1 x";
  context.rule_id = 1;
  context.db = "plant";
  context.instance_key = "sensor=bad\xff";
  context.labels = &labels;
  context.annotations = &annotations;
  context.external_url = "http://h:1/";
  Transition t;
  t.value = std::numeric_limits<double>::quiet_NaN();
  t.threshold = std::numeric_limits<double>::infinity();
  const std::string json = NotificationJson(context, t);
  EXPECT_NE(json.find(R"("value":null,"threshold":null)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("generator_url":"http://h:1/api/v1/alerts?rule=r%3A1%20x")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"sensor\":\"bad\xEF\xBF\xBD\""), std::string::npos) << json;
  EXPECT_NE(json.find(R"("status":"resolved")"), std::string::npos);
}

// The exact payloads of one firing and its resolve, through AlertRule.
TEST(NotificationTest, ExactPayloadsOfAFiringAndItsResolve) {
  StatusOr<RuleDefinition> definition = ParseRuleJson(R"js({"name": "high-pressure", "db": "plant",
    "query": "SELECT value FROM pressure", "condition": ">",
    "levels": [{"name": "warning", "trip": 8.0, "reset": 7.5},
               {"name": "critical", "trip": 9.5, "reset": 9.0}],
    "labels": {"team": "ops"},
    "annotations": {"summary": "{{ .Labels.sensor }} at {{ .Value }} bar (> {{ .Threshold }})"}})js");
  ASSERT_TRUE(definition.ok()) << definition.status().ToString();
  auto rule = AlertRule::Create(3, *definition, "http://127.0.0.1:8086");
  ASSERT_TRUE(rule.ok());
  const store::SeriesInfo series{
      "plant", "pressure", {{"sensor", "pt-001"}, {"site", "site1"}}, "value"};
  AlertInstance* instance = (*rule)->InstanceFor(series, 10);
  ASSERT_NE(instance, nullptr);
  AlertEvents events;
  (*rule)->OnValue(*instance, 9.7, k20261121T130005, k20261121T130005 + 12'300'000, events);
  (*rule)->OnValue(*instance, 7.25, k20261121T130005 + 60 * kSecond,
                   k20261121T130005 + 60 * kSecond + 500'000'000, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].idempotency_key, "tw-3-4c078bdb93391fe4-1");
  EXPECT_EQ(
      *events[0].notification,
      R"({"version":1,"idempotency_key":"tw-3-4c078bdb93391fe4-1","status":"firing","kind":"alarm",)"
      R"("rule":"high-pressure","rule_id":3,"db":"plant","instance":"sensor=pt-001,site=site1",)"
      R"("labels":{"alertname":"high-pressure","sensor":"pt-001","severity":"critical","site":"site1","team":"ops"},)"
      R"js("annotations":{"summary":"pt-001 at 9.7 bar (> 9.5)"},)js"
      R"("severity":"critical","severity_level":2,"isa_state":"unacked","cause":"value",)"
      R"("value":9.7,"threshold":9.5,"starts_at":"2026-11-21T13:00:05.0123Z","ends_at":null,)"
      R"("event_time":"2026-11-21T13:00:05Z","transition_at":"2026-11-21T13:00:05.0123Z",)"
      R"("generator_url":"http://127.0.0.1:8086/api/v1/alerts?rule=high-pressure"})");
  EXPECT_EQ(events[1].idempotency_key, "tw-3-4c078bdb93391fe4-2");
  EXPECT_EQ(
      *events[1].notification,
      R"({"version":1,"idempotency_key":"tw-3-4c078bdb93391fe4-2","status":"resolved","kind":"alarm",)"
      R"("rule":"high-pressure","rule_id":3,"db":"plant","instance":"sensor=pt-001,site=site1",)"
      R"("labels":{"alertname":"high-pressure","sensor":"pt-001","severity":"critical","site":"site1","team":"ops"},)"
      R"js("annotations":{"summary":"pt-001 at 7.25 bar (> 9)"},)js"
      R"("severity":"critical","severity_level":0,"isa_state":"rtn_unacked","cause":"value",)"
      R"("value":7.25,"threshold":9.0,"starts_at":"2026-11-21T13:00:05.0123Z",)"
      R"("ends_at":"2026-11-21T13:01:05.5Z","event_time":"2026-11-21T13:01:05Z",)"
      R"("transition_at":"2026-11-21T13:01:05.5Z",)"
      R"("generator_url":"http://127.0.0.1:8086/api/v1/alerts?rule=high-pressure"})");
}

}  // namespace
}  // namespace tidewatch::rules
