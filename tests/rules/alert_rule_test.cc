#include "rules/alert_rule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/rule_definition.h"
#include "tests/util/allocation_counter.h"

namespace tidewatch::rules {
namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp S(std::int64_t seconds) { return seconds * kSecond; }

RuleDefinition Definition(const std::string& json) {
  StatusOr<RuleDefinition> definition = ParseRuleJson(json);
  EXPECT_TRUE(definition.ok()) << definition.status().ToString();
  return definition.ok() ? *definition : RuleDefinition{};
}

std::unique_ptr<AlertRule> MakeRule(const std::string& json, std::int64_t id = 7) {
  StatusOr<std::unique_ptr<AlertRule>> rule =
      AlertRule::Create(id, Definition(json), "http://tw:8086");
  EXPECT_TRUE(rule.ok()) << rule.status().ToString();
  return rule.ok() ? std::move(*rule) : nullptr;
}

store::SeriesInfo Series(std::string measurement, std::vector<store::Tag> tags,
                         std::string db = "plant", std::string field = "value") {
  return store::SeriesInfo{std::move(db), std::move(measurement), std::move(tags),
                           std::move(field)};
}

store::SeriesInfo Sensor(const std::string& sensor, const std::string& site = "site1") {
  return Series("pressure", {{"sensor", sensor}, {"site", site}});
}

// One line per event: "@<s> <instance> <cause> <from>/<sev>><to>/<sev>", then, when
// announced, " ! <status> <kind> #<sequence>".
std::string Render(const AlertEvents& events) {
  std::string text;
  for (const AlertEvent& e : events) {
    const Transition& t = e.transition;
    text += "@" + std::to_string(t.at / kSecond) + " " + e.record.instance.instance_key + " " +
            std::string(TransitionCauseName(t.cause)) + " " +
            std::string(AlarmStateName(t.from_state)) + "/" + std::to_string(t.from_severity) +
            ">" + std::string(AlarmStateName(t.to_state)) + "/" + std::to_string(t.severity);
    if (e.notification) {
      const std::string& n = *e.notification;
      const bool firing = n.find("\"status\":\"firing\"") != std::string::npos;
      const bool no_data = n.find("\"kind\":\"no_data\"") != std::string::npos;
      text += std::string(" ! ") + (firing ? "firing" : "resolved") +
              (no_data ? " no_data" : " alarm") + " #" +
              e.idempotency_key.substr(e.idempotency_key.rfind('-') + 1);
    }
    text += "\n";
  }
  return text;
}

std::string RenderView(const AlertView& v) {
  std::string text = v.instance_key + " " + v.state + " " +
                     std::string(AlarmStateName(v.isa_state)) + "/" + std::to_string(v.severity) +
                     " " + v.severity_name;
  text += " value=" + (v.value ? std::to_string(*v.value) : std::string("-"));
  text +=
      " threshold=" + (std::isnan(v.threshold) ? std::string("-") : std::to_string(v.threshold));
  text += " active=" + (v.active_since ? std::to_string(*v.active_since / kSecond) : "-");
  text += " pending=" + (v.pending_since ? std::to_string(*v.pending_since / kSecond) : "-");
  text += " changed=" + std::to_string(v.last_change / kSecond);
  text += " event=" + std::to_string(v.last_event_time / kSecond);
  text += " shelve=" + std::to_string(static_cast<int>(v.shelve.kind)) + ":" +
          std::to_string(v.shelve.until / kSecond) + ":" + v.shelve.user;
  if (v.suppressed) text += " suppressed";
  if (v.out_of_service) text += " oos";
  if (v.stale) text += " stale";
  if (v.chattering) text += " chattering";
  text += " labels{";
  for (const auto& [k, val] : v.labels) text += k + "=" + val + ";";
  text += "} annotations{";
  for (const auto& [k, val] : v.annotations) text += k + "=" + val + ";";
  return text + "}";
}

std::string RenderViews(const AlertRule& rule) {
  std::string text;
  for (const AlertView& v : rule.Views()) text += RenderView(v) + "\n";
  return text;
}

constexpr char kPressure[] = R"({"name": "high-pressure", "db": "plant",
  "query": "SELECT value FROM pressure WHERE site = 'site1'", "condition": ">",
  "levels": [{"name": "warning", "trip": 8.0, "reset": 7.5},
             {"name": "critical", "trip": 9.5, "reset": 9.0}],
  "labels": {"team": "ops"}})";

// Feeds one rule points of raw series; event time = processing time.
class Driver {
 public:
  explicit Driver(std::unique_ptr<AlertRule> rule) : rule_(std::move(rule)) {}
  AlertRule& rule() { return *rule_; }
  AlertEvents& events() { return events_; }

  Driver& Feed(const store::SeriesInfo& series,
               std::initializer_list<std::pair<std::int64_t, double>> points) {
    EXPECT_EQ(rule_->Match(series), AlertRule::SeriesRole::kData);
    AlertInstance* instance = rule_->InstanceFor(series, 100);
    EXPECT_NE(instance, nullptr);
    if (instance == nullptr) return *this;
    for (const auto& [second, value] : points) {
      rule_->OnValue(*instance, value, S(second), S(second), events_);
    }
    return *this;
  }
  Driver& Tick(std::int64_t second) {
    rule_->OnTick(S(second), events_);
    return *this;
  }
  // The rendered events since the last call.
  std::string Take() {
    std::string text = Render(events_);
    events_.clear();
    return text;
  }
  // As Take(), lines sorted: for calls that touch every instance (in no set order).
  std::string TakeSorted() {
    std::vector<std::string> lines;
    std::string text = Take();
    for (std::size_t start = 0; start < text.size();) {
      const std::size_t end = text.find('\n', start);
      lines.push_back(text.substr(start, end + 1 - start));
      start = end + 1;
    }
    std::sort(lines.begin(), lines.end());
    text.clear();
    for (const std::string& line : lines) text += line;
    return text;
  }

 private:
  std::unique_ptr<AlertRule> rule_;
  AlertEvents events_;
};

TEST(AlertRuleTest, CreateRefusesWhatDoesNotCompile) {
  RuleDefinition definition = Definition(kPressure);
  definition.query = "SELECT FROM pressure";
  StatusOr<std::unique_ptr<AlertRule>> rule = AlertRule::Create(1, definition);
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rule.status().message().rfind("query: ", 0), 0u) << rule.status().message();

  definition = Definition(kPressure);
  definition.annotations["summary"] = "{{ .Nope }}";
  rule = AlertRule::Create(1, definition);
  ASSERT_FALSE(rule.ok());
  EXPECT_NE(rule.status().message().find("annotations.summary"), std::string::npos);

  definition = Definition(kPressure);
  definition.alarm.on_delay = -1;
  EXPECT_FALSE(AlertRule::Create(1, definition).ok());
}

TEST(AlertRuleTest, MatchRoutesDataAndSuppressionSeries) {
  auto rule = MakeRule(R"({"name": "r", "db": "plant",
    "query": "SELECT value FROM pressure WHERE site = 'site1' AND sensor =~ /^pt-/",
    "condition": ">", "trip": 1,
    "suppress_when": {"query": "SELECT value FROM running WHERE unit = 'u1'",
                      "condition": "==", "value": 0}})");
  ASSERT_NE(rule, nullptr);
  using Role = AlertRule::SeriesRole;
  EXPECT_EQ(rule->Match(Sensor("pt-001")), Role::kData);
  EXPECT_EQ(rule->Match(Sensor("pt-001", "site2")), Role::kNone);
  EXPECT_EQ(rule->Match(Sensor("tt-001")), Role::kNone);
  EXPECT_EQ(rule->Match(Series("pressure", {{"sensor", "pt-1"}, {"site", "site1"}}, "other")),
            Role::kNone);
  EXPECT_EQ(rule->Match(Series("pressure", {{"sensor", "pt-1"}, {"site", "site1"}}, "plant", "v")),
            Role::kNone);
  EXPECT_EQ(rule->Match(Series("running", {{"unit", "u1"}})), Role::kSuppression);
  EXPECT_EQ(rule->Match(Series("running", {{"unit", "u2"}})), Role::kNone);
  EXPECT_EQ(rule->Match(Series("running", {{"unit", "u1"}}, "other")), Role::kNone);
}

TEST(AlertRuleTest, OneInstancePerSeriesWithStableKeys) {
  Driver d(MakeRule(kPressure));
  AlertInstance* a = d.rule().InstanceFor(Sensor("pt-001"), 10);
  AlertInstance* b = d.rule().InstanceFor(Sensor("pt-002"), 10);
  EXPECT_NE(a, b);
  EXPECT_EQ(d.rule().InstanceFor(Sensor("pt-001"), 10), a);
  d.Feed(Sensor("pt-001"), {{1, 9.7}}).Feed(Sensor("pt-002"), {{1, 1}});
  EXPECT_EQ(d.Take(), "@1 sensor=pt-001,site=site1 value normal/0>unacked/2 ! firing alarm #1\n");
  const AlertInstance* bare = d.rule().InstanceFor(Series("pressure", {{"site", "site1"}}), 10);
  EXPECT_NE(bare, nullptr);
  EXPECT_EQ(d.rule().counts().instances, 3u);
  EXPECT_TRUE(d.rule().View("site=site1").has_value());
}

TEST(AlertRuleTest, OnAndOffDelay) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.on_delay = S(10);
  definition.alarm.off_delay = S(5);
  auto created = AlertRule::Create(7, definition);
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  d.Feed(Sensor("pt-001"), {{0, 8.5}}).Tick(9);
  EXPECT_EQ(d.Take(), "@0 sensor=pt-001,site=site1 value normal/0>pending/1\n");
  d.Tick(10);
  EXPECT_EQ(d.Take(), "@10 sensor=pt-001,site=site1 timer pending/1>unacked/1 ! firing alarm #1\n");
  d.Feed(Sensor("pt-001"), {{11, 7.0}}).Tick(15);
  EXPECT_EQ(d.Take(), "");  // off-delay runs
  d.Tick(16);
  EXPECT_EQ(d.Take(),
            "@16 sensor=pt-001,site=site1 timer unacked/1>rtn_unacked/0 ! resolved alarm #2\n");
  // Clearing inside the on-delay never fires (from RTN_UNACKED the on-delay is not shown).
  d.Feed(Sensor("pt-001"), {{20, 9}, {25, 1}}).Tick(60);
  EXPECT_EQ(d.Take(), "");
  EXPECT_EQ(d.rule().View("sensor=pt-001,site=site1")->isa_state, AlarmState::kRtnUnacked);
}

TEST(AlertRuleTest, DeadbandAndLevels) {
  Driver d(MakeRule(kPressure));
  // Noise around 8.0 within the deadband does not flap; critical escalates, de-escalates.
  d.Feed(Sensor("pt-001"),
         {{1, 8.1}, {2, 7.9}, {3, 8.2}, {4, 7.6}, {5, 9.6}, {6, 9.2}, {7, 8.9}, {8, 7.5}});
  EXPECT_EQ(d.Take(),
            "@1 sensor=pt-001,site=site1 value normal/0>unacked/1 ! firing alarm #1\n"
            "@5 sensor=pt-001,site=site1 value unacked/1>unacked/2 ! firing alarm #2\n"
            "@7 sensor=pt-001,site=site1 value unacked/2>unacked/1 ! firing alarm #3\n"
            "@8 sensor=pt-001,site=site1 value unacked/1>rtn_unacked/0 ! resolved alarm #4\n");
  EXPECT_EQ(d.rule().counts().announced_alarms, 1u);
}

TEST(AlertRuleTest, NoDataIsItsOwnAlert) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.no_data_after = S(30);
  auto created = AlertRule::Create(7, definition);
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  d.Feed(Sensor("pt-001"), {{0, 9.7}}).Tick(29);
  EXPECT_EQ(d.Take(), "@0 sensor=pt-001,site=site1 value normal/0>unacked/2 ! firing alarm #1\n");
  d.Tick(30);
  ASSERT_EQ(d.events().size(), 1u);
  const std::string payload = d.events()[0].notification.value_or("");
  EXPECT_NE(payload.find(R"("labels":{"alertname":"high-pressure","kind":"no_data",)"
                         R"("sensor":"pt-001","site":"site1","team":"ops"})"),
            std::string::npos)
      << payload;
  EXPECT_NE(payload.find(R"("starts_at":"1970-01-01T00:00:30Z","ends_at":null)"), std::string::npos)
      << payload;
  EXPECT_EQ(d.Take(),
            "@30 sensor=pt-001,site=site1 no_data unacked/2>unacked/2 ! firing no_data #2\n");
  EXPECT_EQ(d.rule().counts().stale, 1u);
  EXPECT_TRUE(d.rule().View("sensor=pt-001,site=site1")->stale);
  d.Feed(Sensor("pt-001"), {{40, 9.8}});
  ASSERT_EQ(d.events().size(), 1u);
  EXPECT_NE(d.events()[0].notification->find(
                R"("starts_at":"1970-01-01T00:00:30Z","ends_at":"1970-01-01T00:00:40Z")"),
            std::string::npos);
  EXPECT_EQ(
      d.Take(),
      "@40 sensor=pt-001,site=site1 data_resumed unacked/2>unacked/2 ! resolved no_data #3\n");
  EXPECT_EQ(d.rule().counts().stale, 0u);
}

TEST(AlertRuleTest, ChatterSuppressesAnnouncements) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.chatter = ChatterSpec{4, S(60), true};
  auto created = AlertRule::Create(7, definition);
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  d.Feed(Sensor("pt-001"), {{1, 9}, {2, 1}, {3, 9}, {4, 1}, {5, 9}});
  EXPECT_EQ(d.Take(),
            "@1 sensor=pt-001,site=site1 value normal/0>unacked/1 ! firing alarm #1\n"
            "@2 sensor=pt-001,site=site1 value unacked/1>rtn_unacked/0 ! resolved alarm #2\n"
            "@3 sensor=pt-001,site=site1 value rtn_unacked/0>unacked/1 ! firing alarm #3\n"
            "@4 sensor=pt-001,site=site1 value unacked/1>rtn_unacked/0 ! resolved alarm #4\n"
            "@4 sensor=pt-001,site=site1 chatter_start rtn_unacked/0>rtn_unacked/0\n"
            "@5 sensor=pt-001,site=site1 value rtn_unacked/0>unacked/1\n");
  const AlertRuleCounts counts = d.rule().counts();
  EXPECT_EQ(counts.chattering, 1u);
  EXPECT_EQ(counts.suppressed, 1u);
  // Chatter ends once the last 4 edges (2, 3, 4, 5) span more than 60 s: the alarm,
  // still firing, is announced again.
  d.Tick(62);
  EXPECT_EQ(d.Take(), "");
  d.Tick(63);
  EXPECT_EQ(d.Take(),
            "@63 sensor=pt-001,site=site1 chatter_end unacked/1>unacked/1 ! firing alarm #5\n");
}

TEST(AlertRuleTest, ShelveHidesUntilItExpires) {
  Driver d(MakeRule(kPressure));
  AlertEvents& out = d.events();
  d.rule().InstanceFor(Sensor("pt-001"), 10);
  const std::string key = "sensor=pt-001,site=site1";
  EXPECT_EQ(d.rule().Shelve("nope", "ann", "work", ShelveKind::kTimed, S(100), S(1), out).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(d.rule().Shelve(key, "ann", "work", ShelveKind::kTimed, S(0), S(1), out).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      d.rule().Shelve(key, "ann", "valve work", ShelveKind::kTimed, S(100), S(1), out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.actor, "ann");
  EXPECT_EQ(out[0].record.details, "shelve normal/0 -> normal/0: valve work");
  EXPECT_EQ(out[0].record.instance.shelved_until, S(100));
  d.Take();
  d.Feed(Sensor("pt-001"), {{10, 9.7}});
  EXPECT_EQ(d.Take(), "@10 sensor=pt-001,site=site1 value normal/0>unacked/2\n");
  EXPECT_EQ(d.rule().counts().shelved, 1u);
  d.Tick(100);
  EXPECT_EQ(d.Take(),
            "@100 sensor=pt-001,site=site1 shelve_expired unacked/2>unacked/2 ! firing alarm #1\n");
  // One-shot: ends at the next resolve, which is announced; the return from masking
  // drops the RTN_UNACKED the operator chose to hide.
  ASSERT_TRUE(d.rule().Shelve(key, "ann", "", ShelveKind::kOneShot, 0, S(101), out).ok());
  d.Feed(Sensor("pt-001"), {{102, 1}});
  EXPECT_EQ(d.Take(),
            "@101 sensor=pt-001,site=site1 shelve unacked/2>unacked/2\n"
            "@102 sensor=pt-001,site=site1 value unacked/2>rtn_unacked/0 ! resolved alarm #2\n"
            "@102 sensor=pt-001,site=site1 one_shot_unshelve rtn_unacked/0>normal/0\n");
  EXPECT_EQ(d.rule().Unshelve(key, "ann", S(103), out).code(), StatusCode::kInvalidArgument);
}

TEST(AlertRuleTest, LatchedAlarmNeedsAcknowledgement) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.latched = true;
  auto created = AlertRule::Create(7, definition);
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  const std::string key = "sensor=pt-001,site=site1";
  AlertEvents& out = d.events();
  d.Feed(Sensor("pt-001"), {{1, 8.5}});
  ASSERT_TRUE(d.rule().Acknowledge(key, "op", S(2), out).ok());
  d.Feed(Sensor("pt-001"), {{3, 1}});
  EXPECT_EQ(d.Take(),
            "@1 sensor=pt-001,site=site1 value normal/0>unacked/1 ! firing alarm #1\n"
            "@2 sensor=pt-001,site=site1 ack unacked/1>acked/1\n"
            "@3 sensor=pt-001,site=site1 value acked/1>latched/1\n");
  const std::string expected_view = key + " firing latched/1 warning";
  EXPECT_EQ(RenderView(*d.rule().View(key)).substr(0, expected_view.size()), expected_view);
  EXPECT_EQ(d.rule().counts().in_alarm, 1u);
  ASSERT_TRUE(d.rule().Acknowledge(key, "op", S(4), out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.actor, "op");
  EXPECT_EQ(out[0].record.from_state, "firing");
  EXPECT_EQ(out[0].record.instance.state, "inactive");
  EXPECT_NE(out[0].notification->find(R"("cause":"acknowledge")"), std::string::npos);
  EXPECT_NE(out[0].notification->find(R"("severity":"warning","severity_level":0)"),
            std::string::npos);
  EXPECT_EQ(d.Take(), "@4 sensor=pt-001,site=site1 ack latched/1>normal/0 ! resolved alarm #2\n");
  EXPECT_EQ(d.rule().Acknowledge(key, "op", S(5), out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.rule().Acknowledge("x=y", "op", S(5), out).code(), StatusCode::kNotFound);
}

constexpr char kSuppressed[] = R"({"name": "low-flow", "db": "plant",
  "query": "SELECT value FROM flow", "condition": "<", "trip": 5,
  "suppress_when": {"query": "SELECT value FROM running WHERE unit = 'u1'",
                    "condition": "==", "value": 0}})";

TEST(AlertRuleTest, SuppressionByDesignFollowsTheSecondSeries) {
  Driver d(MakeRule(kSuppressed));
  const store::SeriesInfo flow = Series("flow", {{"sensor", "ft-001"}});
  const store::SeriesInfo running = Series("running", {{"unit", "u1"}});
  ASSERT_EQ(d.rule().Match(running), AlertRule::SeriesRole::kSuppression);
  d.Feed(flow, {{1, 10}});
  d.rule().OnSuppressionValue(1, 0, S(2), d.events());
  EXPECT_EQ(d.Take(), "@2 sensor=ft-001 suppress normal/0>normal/0\n");
  EXPECT_EQ(d.rule().counts().suppressed, 1u);
  d.Feed(flow, {{3, 1}});  // evaluated, not announced
  EXPECT_EQ(d.Take(), "@3 sensor=ft-001 value normal/0>unacked/1\n");
  // An instance created while suppressed starts suppressed, without a transition.
  d.Feed(Series("flow", {{"sensor", "ft-002"}}), {{4, 1}});
  EXPECT_EQ(d.Take(), "@4 sensor=ft-002 value normal/0>unacked/1\n");
  // A second suppression series, running: not every one satisfies it any more.
  d.rule().OnSuppressionValue(2, 1, S(5), d.events());
  EXPECT_EQ(d.TakeSorted(),
            "@5 sensor=ft-001 unsuppress unacked/1>unacked/1 ! firing alarm #1\n"
            "@5 sensor=ft-002 unsuppress unacked/1>unacked/1 ! firing alarm #1\n");
  EXPECT_EQ(d.rule().counts().suppressed, 0u);
  d.rule().OnSuppressionValue(2, 0, S(6), d.events());
  EXPECT_EQ(d.TakeSorted(),
            "@6 sensor=ft-001 suppress unacked/1>unacked/1\n"
            "@6 sensor=ft-002 suppress unacked/1>unacked/1\n");
  // A resolve owed is announced even while suppressed.
  d.Feed(flow, {{7, 10}});
  EXPECT_EQ(d.Take(), "@7 sensor=ft-001 value unacked/1>rtn_unacked/0 ! resolved alarm #2\n");
  // The same value again changes nothing.
  d.rule().OnSuppressionValue(1, 0, S(8), d.events());
  EXPECT_EQ(d.Take(), "");
}

TEST(AlertRuleTest, OutOfServiceHidesAndReturnsWithTheCurrentValue) {
  Driver d(MakeRule(kPressure));
  const std::string key = "sensor=pt-001,site=site1";
  AlertEvents& out = d.events();
  d.rule().InstanceFor(Sensor("pt-001"), 10);
  EXPECT_EQ(d.rule().SetOutOfService("x=y", true, "tech", S(1), out).code(), StatusCode::kNotFound);
  ASSERT_TRUE(d.rule().SetOutOfService(key, true, "tech", S(1), out).ok());
  EXPECT_TRUE(out.back().record.instance.out_of_service);
  d.Feed(Sensor("pt-001"), {{2, 9.7}, {3, 1}, {4, 8.2}});
  EXPECT_EQ(d.rule().counts().out_of_service, 1u);
  ASSERT_TRUE(d.rule().SetOutOfService(key, false, "tech", S(5), out).ok());
  EXPECT_EQ(
      d.Take(),
      "@1 sensor=pt-001,site=site1 out_of_service normal/0>normal/0\n"
      "@2 sensor=pt-001,site=site1 value normal/0>unacked/2\n"
      "@3 sensor=pt-001,site=site1 value unacked/2>rtn_unacked/0\n"
      "@4 sensor=pt-001,site=site1 value rtn_unacked/0>unacked/1\n"
      "@5 sensor=pt-001,site=site1 return_to_service unacked/1>unacked/1 ! firing alarm #1\n");
}

TEST(AlertRuleTest, WindowResultsGoToPerGroupInstances) {
  Driver d(MakeRule(R"({"name": "mean-pressure", "db": "plant",
    "query": "SELECT mean(value) FROM pressure GROUP BY time(1m), site",
    "condition": ">", "trip": 8, "labels": {"where": "{{ .Labels.site }}"},
    "annotations": {"summary": "mean {{ .Value }} in {{ .Labels.site }}"}})"));
  EXPECT_TRUE(d.rule().aggregate());
  EXPECT_EQ(d.rule().Match(Sensor("pt-001", "site9")), AlertRule::SeriesRole::kData);
  StatementResult result;
  ResultSeries site1{"pressure", {{"site", "site1"}}, {"time", "mean"}, {}};
  site1.values = {{TimeValue{S(0)}, 7.0}, {TimeValue{S(60)}, Value{}}, {TimeValue{S(120)}, 9.0}};
  ResultSeries site2{"pressure", {{"site", "site2"}}, {"time", "mean"}, {}};
  site2.values = {{TimeValue{S(0)}, std::int64_t{9}}};
  result.series = {site1, site2};
  d.rule().OnWindowResult(result, S(200), 100, d.events());
  ASSERT_EQ(d.events().size(), 2u);
  EXPECT_NE(d.events()[0].notification->find(R"("annotations":{"summary":"mean 9 in site1"})"),
            std::string::npos)
      << *d.events()[0].notification;
  EXPECT_NE(d.events()[0].notification->find(R"("event_time":"1970-01-01T00:02:00Z")"),
            std::string::npos);
  EXPECT_EQ(d.Take(),
            "@200 site=site1 value normal/0>unacked/1 ! firing alarm #1\n"
            "@200 site=site2 value normal/0>unacked/1 ! firing alarm #1\n");
  const std::optional<AlertView> view = d.rule().View("site=site2");
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->last_event_time, S(0));
  EXPECT_EQ(view->labels.at("where"), "site2");
  // A bucket older than the last evaluated one is not evaluated again; a failed
  // statement and a refused new group change nothing.
  result.series = {site1};
  result.series[0].values = {{TimeValue{S(60)}, 1.0}};
  d.rule().OnWindowResult(result, S(260), 100, d.events());
  EXPECT_EQ(d.Take(), "");
  result.error = "boom";
  result.series[0].values = {{TimeValue{S(180)}, 1.0}};
  d.rule().OnWindowResult(result, S(260), 100, d.events());
  EXPECT_EQ(d.Take(), "");
  result.error.reset();
  result.series[0].tags = {{"site", "site3"}};
  d.rule().OnWindowResult(result, S(260), 2, d.events());
  EXPECT_EQ(d.rule().counts().instances, 2u);
  EXPECT_EQ(d.rule().counts().instances_refused, 1u);
}

constexpr char kTemplated[] = R"({"name": "high-pressure", "db": "plant",
  "query": "SELECT value FROM pressure", "condition": ">",
  "levels": [{"name": "warning", "trip": 8.0, "reset": 7.5},
             {"name": "critical", "trip": 9.5, "reset": 9.0}],
  "labels": {"team": "ops", "sensor_name": "{{ .Labels.sensor }}@{{ .Labels.team }}",
             "site": "overridden"},
  "annotations": {"summary": "{{ .Labels.sensor }} at {{ .Value }} (> {{ .Threshold }}) {{ .Severity }} in {{ .Rule }}"}})";

TEST(AlertRuleTest, TemplatesAreExpandedPerTransition) {
  Driver d(MakeRule(kTemplated));
  d.Feed(Sensor("pt-001"), {{1, 8.5}, {2, 9.7}, {3, 1}});
  ASSERT_EQ(d.events().size(), 3u);
  const auto member = [&](std::size_t i, const std::string& text) {
    return d.events()[i].notification->find(text) != std::string::npos;
  };
  EXPECT_TRUE(member(0, R"("summary":"pt-001 at 8.5 (> 8) warning in high-pressure")"));
  EXPECT_TRUE(member(0, R"("labels":{"alertname":"high-pressure","sensor":"pt-001",)"
                        R"("sensor_name":"pt-001@ops","severity":"warning","site":"overridden",)"
                        R"("team":"ops"})"))
      << *d.events()[0].notification;
  EXPECT_TRUE(member(1, R"("summary":"pt-001 at 9.7 (> 9.5) critical in high-pressure")"));
  // The resolve names the level that was firing, and the reset value it crossed.
  EXPECT_TRUE(member(2, R"("summary":"pt-001 at 1 (> 9) critical in high-pressure")"))
      << *d.events()[2].notification;
  const AlertView view = *d.rule().View("sensor=pt-001,site=site1");
  EXPECT_EQ(view.annotations.at("summary"), "pt-001 at 1 (> NaN)  in high-pressure");
  EXPECT_EQ(view.labels.count("severity"), 0u);
}

TEST(AlertRuleTest, EventsCarryTheInstanceRow) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.on_delay = S(10);
  auto created = AlertRule::Create(7, definition);
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  d.Feed(Sensor("pt-001"), {{1, 9.7}});
  ASSERT_EQ(d.events().size(), 1u);
  AlertInstanceRecord row = d.events()[0].record.instance;
  EXPECT_EQ(row.rule_id, 7);
  EXPECT_EQ(row.state, "pending");
  EXPECT_EQ(row.ack_state, "");
  EXPECT_EQ(row.severity, 2);
  EXPECT_EQ(row.pending_since, S(1));
  EXPECT_EQ(row.last_value, 9.7);
  EXPECT_EQ(d.events()[0].record.from_state, "inactive");
  EXPECT_EQ(d.events()[0].record.actor, "engine");
  EXPECT_EQ(d.events()[0].record.details, "value normal/0 -> pending/2");
  d.Take();
  d.Tick(11);
  row = d.events()[0].record.instance;
  EXPECT_EQ(row.state, "firing");
  EXPECT_EQ(row.ack_state, "unacknowledged");
  EXPECT_EQ(row.active_since, S(11));
  EXPECT_EQ(row.pending_since, std::nullopt);
  EXPECT_EQ(row.last_change, S(11));
  EXPECT_EQ(d.events()[0].record.time, S(11));
}

// Runs a rule into many states, restores every instance from its last row into a fresh
// rule and compares.
TEST(AlertRuleTest, RestoreFromRowsIsExact) {
  RuleDefinition definition = Definition(kTemplated);
  definition.alarm.on_delay = S(5);
  definition.alarm.no_data_after = S(100);
  definition.alarm.chatter = ChatterSpec{6, S(600), false};
  auto created = AlertRule::Create(7, definition, "http://tw:8086");
  ASSERT_TRUE(created.ok());
  Driver d(std::move(*created));
  const std::string acked = "sensor=pt-001,site=site1";
  AlertEvents& out = d.events();
  d.Feed(Sensor("pt-001"), {{0, 9.7}}).Tick(5);
  ASSERT_TRUE(d.rule().Acknowledge(acked, "op", S(6), out).ok());
  d.Feed(Sensor("pt-002"), {{7, 8.5}});  // pending
  d.Feed(Sensor("pt-003"), {{1, 9.7}}).Tick(8);
  ASSERT_TRUE(
      d.rule()
          .Shelve("sensor=pt-003,site=site1", "ann", "work", ShelveKind::kTimed, S(500), S(9), out)
          .ok());
  d.Feed(Sensor("pt-004"), {{2, 9.7}, {8, 1}});  // rtn_unacked
  ASSERT_TRUE(d.rule().SetOutOfService("sensor=pt-004,site=site1", true, "t", S(9), out).ok());
  d.Feed(Series("pressure", {}), {{3, 8.5}}).Tick(10);
  std::map<std::string, AlertInstanceRecord> rows;
  for (const AlertEvent& e : out) rows[e.record.instance.instance_key] = e.record.instance;
  ASSERT_EQ(rows.size(), 5u);
  const std::string before = RenderViews(d.rule());

  auto restored_rule = AlertRule::Create(7, definition, "http://tw:8086");
  ASSERT_TRUE(restored_rule.ok());
  Driver r(std::move(*restored_rule));
  for (const auto& [key, row] : rows) ASSERT_TRUE(r.rule().RestoreInstance(row, std::nullopt).ok());
  EXPECT_EQ(RenderViews(r.rule()), before);
  EXPECT_EQ(r.rule().RestoreInstance(rows.begin()->second, std::nullopt).code(),
            StatusCode::kInvalidArgument);  // already there
  // Nothing new to announce after the restart; the same future on both sides.
  r.Tick(10);
  EXPECT_EQ(r.Take(), "");
  for (Driver* x : {&d, &r}) {
    x->Take();
    x->Feed(Sensor("pt-001"), {{20, 1}}).Feed(Sensor("pt-002"), {{20, 8.6}});
    x->Tick(600);
  }
  EXPECT_EQ(r.TakeSorted(), d.TakeSorted());
  EXPECT_EQ(RenderViews(r.rule()), RenderViews(d.rule()));
}

TEST(AlertRuleTest, RestoreStartsTheNoDataClockAtTheGrace) {
  RuleDefinition definition = Definition(kPressure);
  definition.alarm.no_data_after = S(30);
  auto first = AlertRule::Create(7, definition);
  ASSERT_TRUE(first.ok());
  Driver d(std::move(*first));
  d.Feed(Sensor("pt-001"), {{0, 1}});
  d.Feed(Sensor("pt-001"), {{10, 9.7}});
  const AlertInstanceRecord row = d.events().back().record.instance;
  auto second = AlertRule::Create(7, definition);
  ASSERT_TRUE(second.ok());
  Driver r(std::move(*second));
  ASSERT_TRUE(r.rule().RestoreInstance(row, S(1000)).ok());
  r.Tick(1029);
  EXPECT_EQ(r.Take(), "");
  r.Tick(1030);
  EXPECT_EQ(r.Take(),
            "@1030 sensor=pt-001,site=site1 no_data unacked/2>unacked/2 ! firing no_data #2\n");
}

TEST(AlertRuleTest, RestoreRefusesBadRows) {
  Driver d(MakeRule(kPressure));
  d.Feed(Sensor("pt-001"), {{1, 9.7}});
  const AlertInstanceRecord good = d.events().back().record.instance;
  auto fresh = [] { return MakeRule(kPressure); };
  AlertInstanceRecord row = good;
  row.rule_id = 8;
  EXPECT_EQ(fresh()->RestoreInstance(row, std::nullopt).code(), StatusCode::kInvalidArgument);
  row = good;
  row.instance_key = "sensor=pt-002,site=site1";
  EXPECT_EQ(fresh()->RestoreInstance(row, std::nullopt).code(), StatusCode::kInvalidArgument);
  for (const std::string text : {"", "{", "null", "[]", R"({"v":1})", "\xff\xfe"}) {
    row = good;
    row.snapshot = text;
    const Status status = fresh()->RestoreInstance(row, std::nullopt);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(status.message().find("sensor=pt-001,site=site1"), std::string::npos);
  }
  // A snapshot that does not fit the rule's spec (severity 2 of a one-level rule).
  auto one_level = MakeRule(R"({"name": "r", "db": "plant", "query": "SELECT value FROM pressure",
    "condition": ">", "trip": 1})");
  EXPECT_EQ(one_level->RestoreInstance(good, std::nullopt).code(), StatusCode::kInvalidArgument);
}

TEST(AlertRuleTest, UpdateDefinitionKeepsState) {
  Driver d(MakeRule(kPressure));
  d.Feed(Sensor("pt-001"), {{1, 8.5}});
  d.Take();
  AlertEvents& out = d.events();
  // Labels only: no events, new labels in the view.
  RuleDefinition definition = Definition(kPressure);
  definition.labels["team"] = "night-shift";
  ASSERT_TRUE(d.rule().UpdateDefinition(definition, S(2), out).ok());
  EXPECT_EQ(d.Take(), "");
  EXPECT_EQ(d.rule().View("sensor=pt-001,site=site1")->labels.at("team"), "night-shift");
  // A new threshold the value still trips: firing stays, nothing re-notified.
  definition.alarm.condition.levels[0].trip = 8.2;
  definition.alarm.condition.levels[0].reset = 8.0;
  ASSERT_TRUE(d.rule().UpdateDefinition(definition, S(3), out).ok());
  EXPECT_EQ(d.Take(), "");
  EXPECT_EQ(d.rule().View("sensor=pt-001,site=site1")->state, "firing");
  // One it no longer trips resolves, announced.
  definition.alarm.condition.levels[0].trip = 8.8;
  definition.alarm.condition.levels[0].reset = 8.8;
  ASSERT_TRUE(d.rule().UpdateDefinition(definition, S(4), out).ok());
  EXPECT_EQ(
      d.Take(),
      "@4 sensor=pt-001,site=site1 spec_update unacked/1>rtn_unacked/0 ! resolved alarm #2\n");
  // What cannot change in place, and an invalid spec, change nothing.
  RuleDefinition changed = definition;
  changed.query = "SELECT value FROM flow";
  EXPECT_EQ(d.rule().UpdateDefinition(changed, S(5), out).code(), StatusCode::kInvalidArgument);
  changed = definition;
  changed.db = "other";
  EXPECT_EQ(d.rule().UpdateDefinition(changed, S(5), out).code(), StatusCode::kInvalidArgument);
  changed = definition;
  changed.alarm.off_delay = -1;
  changed.labels["team"] = "x";
  EXPECT_EQ(d.rule().UpdateDefinition(changed, S(5), out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.rule().definition(), definition);
  EXPECT_EQ(d.Take(), "");
}

TEST(AlertRuleTest, MaxInstancesRefusesNewSeries) {
  Driver d(MakeRule(kPressure));
  EXPECT_NE(d.rule().InstanceFor(Sensor("pt-001"), 2), nullptr);
  EXPECT_NE(d.rule().InstanceFor(Sensor("pt-002"), 2), nullptr);
  EXPECT_EQ(d.rule().InstanceFor(Sensor("pt-003"), 2), nullptr);
  EXPECT_NE(d.rule().InstanceFor(Sensor("pt-001"), 2), nullptr);  // existing ones still work
  EXPECT_EQ(d.rule().counts().instances, 2u);
  EXPECT_EQ(d.rule().counts().instances_refused, 1u);
}

TEST(AlertRuleTest, CountsForTheKpis) {
  Driver d(MakeRule(kPressure));
  AlertEvents& out = d.events();
  d.Feed(Sensor("pt-001"), {{1, 9.7}}).Feed(Sensor("pt-002"), {{1, 9.7}});
  d.Feed(Sensor("pt-003"), {{1, 9.7}, {2, 1}}).Feed(Sensor("pt-004"), {{1, 1}});
  ASSERT_TRUE(d.rule().Acknowledge("sensor=pt-002,site=site1", "op", S(3), out).ok());
  const AlertRuleCounts c = d.rule().counts();
  EXPECT_EQ(c.instances, 4u);
  EXPECT_EQ(c.in_alarm, 2u);
  EXPECT_EQ(c.unacked, 2u);  // pt-001 unacked, pt-003 returned unacknowledged
  EXPECT_EQ(c.announced_alarms, 3u);
}

TEST(AlertRuleTest, SteadyStatePointsDoNotAllocate) {
  Driver d(MakeRule(kPressure));
  AlertInstance* instance = d.rule().InstanceFor(Sensor("pt-001"), 10);
  ASSERT_NE(instance, nullptr);
  d.rule().OnValue(*instance, 9.7, S(1), S(1), d.events());
  d.events().clear();
  const std::size_t before = test_util::ThreadAllocations();
  for (int i = 2; i < 1000; ++i) d.rule().OnValue(*instance, 9.8, S(i), S(i), d.events());
  EXPECT_EQ(test_util::ThreadAllocations(), before);
  EXPECT_TRUE(d.events().empty());
}

}  // namespace
}  // namespace tidewatch::rules
