#include "rules/rule_engine.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rules/notification.h"
#include "tests/rules/rule_engine_test_util.h"

namespace tidewatch::rules {
namespace {

using engine_test::Definition;
using engine_test::EngineFixture;
using engine_test::kT0;
using engine_test::Pressure;
using engine_test::RenderAlerts;
using engine_test::S;

constexpr char kPt1[] = "sensor=pt-001,site=site1";
constexpr char kPt2[] = "sensor=pt-002,site=site1";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Actions(const std::vector<AuditEntry>& audit) {
  std::string out;
  for (const AuditEntry& e : audit) {
    out += e.action + "(" + e.actor + ") " + e.from_state + ">" + e.to_state + "\n";
  }
  return out;
}

TEST(RuleEngineTest, RawRuleFiresWithOneOutboxRowPerChannel) {
  EngineFixture f;
  RuleDefinition definition = Pressure();
  definition.channels = {"ops", "pager"};
  StatusOr<RuleStatus> created = f.engine().CreateRule(definition, "ann");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->record.version, 1);
  EXPECT_EQ(created->source, RuleSource::kApi);

  f.Feed("pressure", "pt-001", S(100), 5);
  f.Feed("pressure", "pt-002", S(100), 5);
  f.Feed("temperature", "pt-001", S(100), 50);  // another measurement: not routed
  EXPECT_EQ(f.Pending("ops"), 0);
  EXPECT_EQ(f.outbox_commits(), 0);
  f.Feed("pressure", "pt-001", S(101), 9.7);
  EXPECT_EQ(f.outbox_commits(), 1);  // the delivery worker is told once per commit
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({})), std::string("high-pressure ") + kPt1 +
                                                         " firing/unacked\nhigh-pressure " + kPt2 +
                                                         " inactive/normal\n");

  const std::vector<OutboxEntry> ops = f.Drain("ops");
  const std::vector<OutboxEntry> pager = f.Drain("pager");
  ASSERT_EQ(ops.size(), 1u);
  ASSERT_EQ(pager.size(), 1u);
  const std::string key = IdempotencyKey(created->record.id, kPt1, 1);
  EXPECT_EQ(ops[0].idempotency_key, key + "/ops");
  EXPECT_EQ(pager[0].idempotency_key, key + "/pager");
  EXPECT_EQ(ops[0].instance_key, kPt1);
  EXPECT_EQ(ops[0].payload, pager[0].payload);
  EXPECT_TRUE(Has(ops[0].payload, "\"idempotency_key\":\"" + key + "\"")) << ops[0].payload;
  EXPECT_TRUE(Has(ops[0].payload, "\"status\":\"firing\"")) << ops[0].payload;
  EXPECT_TRUE(Has(ops[0].payload, "http://tw:8086/api/v1/alerts?rule=high-pressure"));

  const EngineStats stats = f.engine().stats();
  EXPECT_EQ(stats.rules, 1u);
  EXPECT_EQ(stats.points_evaluated, 3u);
  EXPECT_EQ(stats.notifications, 1u);
  EXPECT_EQ(stats.commit_errors, 0u);
  ASSERT_EQ(stats.alarms_last_10m_by_db.size(), 1u);
  EXPECT_EQ(stats.alarms_last_10m_by_db[0], (std::pair<std::string, std::uint64_t>("plant", 1)));
  ASSERT_EQ(stats.bad_actors.size(), 1u);
  EXPECT_EQ(stats.bad_actors[0].instance_key, kPt1);

  // The resolve is announced on both channels too, and the history holds both.
  f.Feed("pressure", "pt-001", S(102), 1);
  EXPECT_EQ(f.Drain("ops").size(), 1u);
  StatusOr<std::vector<AuditEntry>> history = f.engine().History("high-pressure", kPt1, 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(Actions(*history),
            "transition(engine) firing>inactive\ntransition(engine) inactive>firing\n");
}

TEST(RuleEngineTest, AggregateRuleFiresWhenItsWindowCloses) {
  EngineFixture f;
  const RuleDefinition definition = Definition(R"({"name": "mean-pressure", "db": "plant",
      "query": "SELECT mean(value) FROM pressure GROUP BY time(10s), sensor",
      "condition": ">", "trip": 8, "channels": ["ops"]})");
  StatusOr<RuleStatus> created = f.engine().CreateRule(definition, "ann");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  for (int s = 0; s < 10; ++s) f.Feed("pressure", "pt-001", S(1000 + s), 9);
  f.engine().Tick();
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({})), "");  // the window is still open
  f.Feed("pressure", "pt-001", S(1010), 1);                // the watermark reaches the bucket's end
  f.engine().Tick();
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({})),
            "mean-pressure sensor=pt-001 firing/unacked\n");
  const std::vector<AlertView> alerts = f.engine().ListAlerts({});
  EXPECT_EQ(alerts[0].last_event_time, S(1000));
  ASSERT_TRUE(alerts[0].value.has_value());
  EXPECT_DOUBLE_EQ(*alerts[0].value, 9);
  const std::vector<OutboxEntry> ops = f.Drain("ops");
  ASSERT_EQ(ops.size(), 1u);  // one channel: the payload's key as is
  EXPECT_EQ(ops[0].idempotency_key, IdempotencyKey(created->record.id, "sensor=pt-001", 1));
  f.engine().Tick();
  EXPECT_EQ(f.Drain("ops").size(), 0u);  // a closed window is evaluated once
}

TEST(RuleEngineTest, RestartKeepsFiringPendingAndShelves) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure("hp", R"(, "for": "30s")"), "ann").ok());
  ASSERT_TRUE(f.engine().CreateRule(Pressure("now"), "ann").ok());
  f.SetNow(kT0 + S(10));
  f.Feed("pressure", "pt-001", S(10), 9.7);  // hp: pending from kT0+10s; now: firing
  f.Feed("pressure", "pt-002", S(10), 1);
  ASSERT_TRUE(
      f.engine().Shelve("now", kPt2, "ann", "valve work", ShelveKind::kTimed, kT0 + S(100)).ok());
  EXPECT_EQ(f.Drain("ops").size(), 1u);  // now/pt-001 firing

  f.NewEngine();
  f.SetNow(kT0 + S(20));
  ASSERT_TRUE(f.engine().Load().ok());
  const std::string before = RenderAlerts(f.engine().ListAlerts({}));
  // hp/pt-002 never changed state, so it has no row: it comes back with its next point.
  EXPECT_EQ(before, std::string("hp ") + kPt1 + " pending/pending\nnow " + kPt1 +
                        " firing/unacked\nnow " + kPt2 + " inactive/normal\n");
  std::vector<AlertView> hp = f.engine().ListAlerts({"hp", "pending", false});
  ASSERT_EQ(hp.size(), 1u);
  EXPECT_EQ(hp[0].pending_since, kT0 + S(10));
  f.engine().Tick();
  EXPECT_EQ(f.Pending("ops"), 0);  // firing stays firing without a new notification

  f.SetNow(kT0 + S(39));
  f.engine().Tick();
  EXPECT_EQ(f.engine().ListAlerts({"hp", "firing", false}).size(), 0u);
  f.SetNow(kT0 + S(40));  // 30 s after the original start, not after the restart
  f.engine().Tick();
  EXPECT_EQ(f.engine().ListAlerts({"hp", "firing", false}).size(), 1u);
  EXPECT_EQ(f.Drain("ops").size(), 1u);

  EXPECT_EQ(f.engine().stats().shelved, 1u);
  f.SetNow(kT0 + S(99));
  f.engine().Tick();
  EXPECT_EQ(f.engine().stats().shelved, 1u);
  f.SetNow(kT0 + S(100));
  f.engine().Tick();
  EXPECT_EQ(f.engine().stats().shelved, 0u);
  StatusOr<std::vector<AuditEntry>> history = f.engine().History("now", kPt2, 1);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].time, kT0 + S(100));
}

TEST(RuleEngineTest, OperatorActionsLeaveAuditRows) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure(), "ann").ok());
  f.Feed("pressure", "pt-001", S(1), 9.7);
  EXPECT_EQ(f.engine().Acknowledge("nope", kPt1, "ann").code(), StatusCode::kNotFound);
  EXPECT_EQ(f.engine().Acknowledge("high-pressure", "nope", "ann").code(), StatusCode::kNotFound);
  f.SetNow(kT0 + S(1));
  ASSERT_TRUE(f.engine().Acknowledge("high-pressure", kPt1, "ann").ok());
  EXPECT_EQ(f.engine().Acknowledge("high-pressure", kPt1, "ann").code(),
            StatusCode::kInvalidArgument);  // nothing awaits an acknowledgement
  f.SetNow(kT0 + S(2));
  ASSERT_TRUE(
      f.engine()
          .Shelve("high-pressure", kPt1, "bob", "maintenance", ShelveKind::kTimed, kT0 + S(3600))
          .ok());
  EXPECT_EQ(f.engine().stats().shelved, 1u);
  f.SetNow(kT0 + S(3));
  ASSERT_TRUE(f.engine().Unshelve("high-pressure", kPt1, "bob").ok());
  f.SetNow(kT0 + S(4));
  ASSERT_TRUE(f.engine().SetOutOfService("high-pressure", kPt1, true, "carl").ok());
  EXPECT_EQ(f.engine().stats().out_of_service, 1u);

  StatusOr<std::vector<AuditEntry>> history = f.engine().History("high-pressure", kPt1, 10);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_EQ(Actions(*history),
            "transition(carl) firing>firing\n"
            "unshelve(bob) firing>firing\n"
            "shelve(bob) firing>firing\n"
            "acknowledge(ann) firing>firing\n"
            "transition(engine) inactive>firing\n");
  const RuleStatus rule = *f.engine().GetRule("high-pressure");
  StatusOr<std::vector<OperatorActionEntry>> actions =
      f.catalog().OperatorActionsForInstance(rule.record.id, kPt1, 10);
  ASSERT_TRUE(actions.ok());
  ASSERT_EQ(actions->size(), 3u);
  EXPECT_EQ((*actions)[1].reason, "maintenance");
  EXPECT_EQ((*actions)[1].expires_at, kT0 + S(3600));
  EXPECT_EQ(f.engine().History("nope", kPt1, 10).status().code(), StatusCode::kNotFound);
}

TEST(RuleEngineTest, FileRulesAreAllOrNothingAndRefusedToTheApi) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure("api-rule"), "ann").ok());
  RuleDefinition bad = Pressure("f2");
  bad.query = "SELECT FROM pressure";
  Status refused =
      f.engine().ReplaceFileRules({Pressure("f1"), bad, Pressure("api-rule"), Pressure("f1")});
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(refused.message(), "rule 'f2': ")) << refused.message();
  EXPECT_TRUE(Has(refused.message(), "rule 'f1': defined twice")) << refused.message();
  EXPECT_TRUE(Has(refused.message(), "rule 'api-rule': the name is taken")) << refused.message();
  ASSERT_EQ(f.engine().ListRules().size(), 1u);
  ASSERT_EQ(f.catalog().ListRules()->size(), 1u);

  ASSERT_TRUE(f.engine().ReplaceFileRules({Pressure("f1"), Pressure("f2")}).ok());
  std::string listed;
  for (const RuleStatus& r : f.engine().ListRules()) {
    listed +=
        r.record.name + ":" + std::string(RuleSourceName(r.source)) + ":" + r.record.source + " ";
  }
  EXPECT_EQ(listed, "api-rule:api:api f1:file:file f2:file:file ");
  const std::int64_t f1_id = f.engine().GetRule("f1")->record.id;

  EXPECT_EQ(f.engine().UpdateRule(Pressure("f1"), "ann").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(f.engine().DeleteRule("f1", "ann").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.engine().SetRuleEnabled("f1", false, "ann").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(f.engine().DeleteRule("f2", "ann").message(), "managed by the rules file"));

  // The same file again changes nothing; a changed one updates f1 and deletes f2.
  ASSERT_TRUE(f.engine().ReplaceFileRules({Pressure("f1"), Pressure("f2")}).ok());
  EXPECT_EQ(f.engine().GetRule("f1")->record.version, 1);
  RuleDefinition f1 = Pressure("f1");
  f1.labels["team"] = "ops";
  ASSERT_TRUE(f.engine().ReplaceFileRules({f1}).ok());
  EXPECT_EQ(f.engine().GetRule("f1")->record.version, 2);
  EXPECT_EQ(f.engine().GetRule("f1")->record.id, f1_id);
  EXPECT_EQ(f.engine().GetRule("f1")->definition, f1);
  EXPECT_EQ(f.engine().GetRule("f2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.catalog().ListRules()->size(), 2u);
}

TEST(RuleEngineTest, UpdateRuleKeepsStateUnlessTheQueryChanges) {
  EngineFixture f;
  StatusOr<RuleStatus> created = f.engine().CreateRule(Pressure(), "ann");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(f.engine().CreateRule(Pressure(), "ann").status().code(),
            StatusCode::kInvalidArgument);  // the name exists
  f.Feed("pressure", "pt-001", S(1), 9.7);
  EXPECT_EQ(f.Drain("ops").size(), 1u);

  RuleDefinition changed = Pressure();
  changed.annotations["summary"] = "{{ .Labels.sensor }} high";
  changed.alarm.condition.levels[0].trip = 9;  // 9.7 still trips
  StatusOr<RuleStatus> updated = f.engine().UpdateRule(changed, "ann");
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->record.id, created->record.id);
  EXPECT_EQ(updated->record.version, 2);
  std::vector<AlertView> alerts = f.engine().ListAlerts({"", "firing", false});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].annotations["summary"], "pt-001 high");
  EXPECT_EQ(f.Pending("ops"), 0);  // not re-notified

  RuleDefinition missing = Pressure("nope");
  EXPECT_EQ(f.engine().UpdateRule(missing, "ann").status().code(), StatusCode::kNotFound);
  RuleDefinition broken = changed;
  broken.query = "SELECT";
  EXPECT_EQ(f.engine().UpdateRule(broken, "ann").status().code(), StatusCode::kInvalidArgument);

  // Another query: a new rule under the same name, with fresh instances.
  RuleDefinition requery = changed;
  requery.query = "SELECT value FROM pressure WHERE sensor = 'pt-002'";
  updated = f.engine().UpdateRule(requery, "ann");
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_NE(updated->record.id, created->record.id);
  EXPECT_EQ(updated->record.version, 1);
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({})), "");
  f.Feed("pressure", "pt-001", S(2), 9.8);  // no longer selected
  f.Feed("pressure", "pt-002", S(2), 9.8);
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({})),
            std::string("high-pressure ") + kPt2 + " firing/unacked\n");

  // Disabled rules see no points; enabled again, they do.
  ASSERT_TRUE(f.engine().SetRuleEnabled("high-pressure", false, "ann").ok());
  EXPECT_EQ(f.engine().stats().rules_enabled, 0u);
  f.Feed("pressure", "pt-002", S(3), 1);
  EXPECT_EQ(f.engine().ListAlerts({"", "firing", false}).size(), 1u);
  ASSERT_TRUE(f.engine().SetRuleEnabled("high-pressure", true, "ann").ok());
  f.Feed("pressure", "pt-002", S(4), 1);
  EXPECT_EQ(f.engine().ListAlerts({"", "firing", false}).size(), 0u);

  ASSERT_TRUE(f.engine().DeleteRule("high-pressure", "ann").ok());
  EXPECT_EQ(f.engine().DeleteRule("high-pressure", "ann").code(), StatusCode::kNotFound);
  EXPECT_TRUE(f.catalog().ListRules()->empty());
}

TEST(RuleEngineTest, DryRunReturnsWhatWouldFireAndWritesNothing) {
  EngineFixture f;
  // Points in the store only (no engine rule sees them).
  const auto put = [&f](const std::string& sensor, std::int64_t ts, double value) {
    const store::Point point{f.Intern("pressure", sensor), S(ts), value};
    ASSERT_EQ(f.store().Append({&point, 1}).appended, 1u);
  };
  put("pt-001", 1, 1);
  put("pt-001", 2, 9.7);
  put("pt-002", 1, 9.7);
  put("pt-002", 2, 1);
  put("pt-003", 1, 9.7);
  put("pt-003", 3, 9.8);

  StatusOr<std::vector<DryRunAlert>> raw = f.engine().DryRun(Pressure());
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  std::string out;
  for (const DryRunAlert& a : *raw) out += a.instance_key + " " + a.state + "\n";
  EXPECT_EQ(out, "sensor=pt-001,site=site1 firing\nsensor=pt-003,site=site1 firing\n");
  EXPECT_EQ((*raw)[0].severity_name, "critical");
  EXPECT_EQ((*raw)[0].event_time, S(2));

  // With a 1.5 s delay pt-003 (held 2 s) fires, pt-001 (held 0 s) is pending.
  raw = f.engine().DryRun(Pressure("hp", R"(, "for": "1500ms")"));
  ASSERT_TRUE(raw.ok());
  out.clear();
  for (const DryRunAlert& a : *raw) out += a.instance_key + " " + a.state + "\n";
  EXPECT_EQ(out, "sensor=pt-001,site=site1 pending\nsensor=pt-003,site=site1 firing\n");

  StatusOr<std::vector<DryRunAlert>> aggregate =
      f.engine().DryRun(Definition(R"({"name": "mean", "db": "plant",
          "query": "SELECT max(value) FROM pressure GROUP BY time(10s), sensor",
          "condition": ">", "trip": 9.75})"));
  ASSERT_TRUE(aggregate.ok()) << aggregate.status().ToString();
  ASSERT_EQ(aggregate->size(), 1u);
  EXPECT_EQ((*aggregate)[0].instance_key, "sensor=pt-003");
  EXPECT_DOUBLE_EQ((*aggregate)[0].value, 9.8);

  RuleDefinition broken = Pressure();
  broken.query = "SELECT";
  EXPECT_EQ(f.engine().DryRun(broken).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(f.catalog().ListRules()->empty());
  EXPECT_TRUE(f.catalog().LoadInstances()->empty());
  EXPECT_TRUE(f.engine().ListAlerts({}).empty());
}

TEST(RuleEngineTest, SeriesEvictionInvalidatesRoutes) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure(), "ann").ok());
  const store::SeriesId old_id = f.Intern("pressure", "pt-001");
  f.Feed("pressure", "pt-001", S(1), 1);  // routes old_id to the rule
  ASSERT_EQ(f.registry().Drop("plant"), 1u);
  // The freed id goes to a series the rule does not select.
  ASSERT_EQ(f.Intern("temperature", "tt-001"), old_id);
  f.Feed("temperature", "tt-001", S(2), 50);
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({"", "firing", false})), "");
  // The pressure series comes back under a new id and finds its instance again.
  f.Feed("pressure", "pt-001", S(3), 9.7);
  EXPECT_NE(f.Intern("pressure", "pt-001"), old_id);
  EXPECT_EQ(RenderAlerts(f.engine().ListAlerts({"", "firing", false})),
            std::string("high-pressure ") + kPt1 + " firing/unacked\n");
}

TEST(RuleEngineTest, FailedCommitsAreRetriedInOrder) {
  CatalogOptions options;
  options.busy_timeout = std::chrono::milliseconds(20);
  EngineFixture f(std::move(options));
  ASSERT_TRUE(f.engine().CreateRule(Pressure(), "ann").ok());
  // Another connection holds the write lock: the engine's commits fail (busy).
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(f.catalog_path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  f.Feed("pressure", "pt-001", S(1), 9.7);
  f.Feed("pressure", "pt-001", S(2), 1);
  EngineStats stats = f.engine().stats();
  EXPECT_EQ(stats.commit_errors, 2u);
  EXPECT_FALSE(stats.last_commit_error.empty());
  EXPECT_EQ(f.engine().ListAlerts({"", "inactive", false}).size(), 1u);  // state moved on
  EXPECT_EQ(f.engine().Acknowledge("high-pressure", kPt1, "ann").code(),
            StatusCode::kUnavailable);  // the backlog goes first, and cannot
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_close(other), SQLITE_OK);

  f.Feed("pressure", "pt-001", S(3), 1);  // no transition; the backlog is committed
  const std::vector<OutboxEntry> ops = f.Drain("ops");
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_NE(ops[0].payload.find("\"status\":\"firing\""), std::string::npos);
  EXPECT_NE(ops[1].payload.find("\"status\":\"resolved\""), std::string::npos);
  StatusOr<std::vector<AuditEntry>> history = f.engine().History("high-pressure", kPt1, 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(Actions(*history),
            "transition(engine) firing>inactive\ntransition(engine) inactive>firing\n");
  ASSERT_TRUE(f.engine().Acknowledge("high-pressure", kPt1, "ann").ok());
  EXPECT_EQ(f.engine().stats().transitions_dropped, 0u);
}

TEST(RuleEngineTest, LoadReportsRulesThatNoLongerCompile) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure("good"), "ann").ok());
  RuleSpec spec{"bad", "plant", "{\"name\": \"bad\"}", true, "api"};
  ASSERT_TRUE(f.catalog().CreateRule(spec).ok());
  f.NewEngine();
  const Status loaded = f.engine().Load();
  EXPECT_EQ(loaded.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(loaded.message(), "rule 'bad': ")) << loaded.message();
  ASSERT_EQ(f.engine().ListRules().size(), 1u);
  EXPECT_EQ(f.engine().ListRules()[0].record.name, "good");
}

TEST(RuleEngineTest, StartTicksOnItsThreadUntilStop) {
  EngineFixture f;
  ASSERT_TRUE(f.engine().CreateRule(Pressure("hp", R"(, "for": "1s")"), "ann").ok());
  f.Feed("pressure", "pt-001", S(1), 9.7);
  f.SetNow(kT0 + S(2));  // the delay is due; only a tick notices
  f.engine().Start();
  bool fired = false;
  for (int i = 0; i < 2000 && !fired; ++i) {  // up to ~20 s
    fired = !f.engine().ListAlerts({"", "firing", false}).empty();
    if (!fired) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  f.engine().Stop();
  f.engine().Stop();
  EXPECT_TRUE(fired);
}

}  // namespace
}  // namespace tidewatch::rules
