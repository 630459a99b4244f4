// The JSON codecs of AlarmSnapshot and of an instance's snapshot column, and the
// mapping of an instance to its catalog row.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "rules/internal/alarm_snapshot_json.h"
#include "rules/internal/alert_instance.h"

namespace tidewatch::rules::internal {
namespace {

AlarmSnapshot Full() {
  AlarmSnapshot s;
  s.phase = ConditionPhase::kFiring;
  s.tripped = 0b11;
  s.alarm_severity = 2;
  s.acked = true;
  s.after_resolve = AlarmState::kNormal;
  s.announced_severity = 2;
  s.clear_since = 1'700'000'000'123'456'789;
  s.last_value = 0.1 + 0.2;  // not exactly representable in few digits
  s.last_event_time = -5;
  s.last_point_at = std::numeric_limits<std::int64_t>::max();
  s.stale = true;
  s.stale_announced = true;
  s.shelve = ShelveState{ShelveKind::kTimed, 99, "ann \"x\"", "valve\nwork"};
  s.suppressed = true;
  s.out_of_service = true;
  s.out_of_service_by = "tech";
  s.chatter_edges = {std::numeric_limits<std::int64_t>::min(), 1, 2};
  s.chattering = true;
  return s;
}

TEST(AlarmSnapshotJsonTest, RoundTrips) {
  for (const AlarmSnapshot& s : {AlarmSnapshot{}, Full()}) {
    const std::string text = AlarmSnapshotToJson(s).dump();
    const StatusOr<AlarmSnapshot> back = AlarmSnapshotFromJson(nlohmann::json::parse(text));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, s) << text;
  }
  AlarmSnapshot pending;
  pending.phase = ConditionPhase::kPending;
  pending.hold_since = 7;
  pending.after_resolve = AlarmState::kLatched;
  pending.shelve.kind = ShelveKind::kOneShot;
  const StatusOr<AlarmSnapshot> back = AlarmSnapshotFromJson(AlarmSnapshotToJson(pending));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pending);
}

TEST(AlarmSnapshotJsonTest, RefusesWrongMembersWithTheirName) {
  const nlohmann::json good = AlarmSnapshotToJson(Full());
  struct Case {
    const char* member;
    nlohmann::json value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"phase", "burning", "alarm snapshot: phase: expected inactive, pending or firing"},
      {"phase", 1, "alarm snapshot: phase: expected a string"},
      {"tripped", 256, "alarm snapshot: tripped: expected a bit mask of at most 8 levels"},
      {"tripped", -1, "alarm snapshot: tripped: expected a bit mask of at most 8 levels"},
      {"alarm_severity", 9, "alarm snapshot: alarm_severity: expected a severity from 0 to 8"},
      {"alarm_severity", 1.5, "alarm snapshot: alarm_severity: expected an int64 integer"},
      {"announced_severity", -1,
       "alarm snapshot: announced_severity: expected a severity from 0 to 8"},
      {"acked", "yes", "alarm snapshot: acked: expected true or false"},
      {"after_resolve", "acked",
       "alarm snapshot: after_resolve: expected normal, rtn_unacked or latched"},
      {"hold_since", "1", "alarm snapshot: hold_since: expected an int64 integer or null"},
      {"hold_since", 18446744073709551615ull,
       "alarm snapshot: hold_since: expected an int64 integer or null"},
      {"last_value", "nan", "alarm snapshot: last_value: expected a number or null"},
      {"last_event_time", nullptr, "alarm snapshot: last_event_time: expected an int64 integer"},
      {"shelve", 1, "alarm snapshot: shelve: expected an object"},
      {"shelve",
       {{"kind", "forever"}},
       "alarm snapshot: shelve.kind: expected none, timed or one_shot"},
      {"shelve", nlohmann::json::object(), "alarm snapshot: shelve.kind: expected a member"},
      {"chatter_edges", nlohmann::json::array({1, "2"}),
       "alarm snapshot: chatter_edges: expected int64 times"},
      {"chatter_edges", std::vector<int>(33, 1),
       "alarm snapshot: chatter_edges: expected an array of at most 32 times"},
      {"out_of_service_by", 3, "alarm snapshot: out_of_service_by: expected a string"},
  };
  for (const Case& c : cases) {
    nlohmann::json bad = good;
    bad[c.member] = c.value;
    const StatusOr<AlarmSnapshot> result = AlarmSnapshotFromJson(bad);
    ASSERT_FALSE(result.ok()) << c.member;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(), c.message);
  }
  for (const char* member : {"phase", "stale", "chattering", "shelve"}) {
    nlohmann::json bad = good;
    bad.erase(member);
    const StatusOr<AlarmSnapshot> result = AlarmSnapshotFromJson(bad);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().message(),
              std::string("alarm snapshot: ") + member + ": expected a member");
  }
  EXPECT_FALSE(AlarmSnapshotFromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(AlarmSnapshotFromJson(nullptr).ok());
}

AlertInstance Sample() {
  AlarmSpec spec;
  spec.condition = AlarmCondition{Comparison::kGreater, {{"w", 1, 1}, {"c", 2, 2}}};
  spec.chatter = ChatterSpec{3, 1000, false};
  StatusOr<AlarmInstance> alarm = AlarmInstance::Restore(spec, Full());
  EXPECT_TRUE(alarm.ok()) << alarm.status().ToString();
  AlertInstance instance("sensor=pt-001,site=s\xc3\xa9",
                         {{"sensor", "pt-001"}, {"site", "s\xc3\xa9"}}, std::move(*alarm));
  instance.history = InstanceHistory{18446744073709551615ull, 5, 6, 7, 2, 8};
  return instance;
}

TEST(InstanceSnapshotTest, RoundTrips) {
  const AlertInstance instance = Sample();
  const std::string text = EncodeInstanceSnapshot(instance);
  const StatusOr<DecodedInstance> decoded = DecodeInstanceSnapshot(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->tags, instance.tags);
  EXPECT_EQ(decoded->alarm, instance.alarm.snapshot());
  EXPECT_EQ(decoded->history, instance.history);
}

TEST(InstanceSnapshotTest, HostileTextIsRefusedNeverACrash) {
  const std::string good = EncodeInstanceSnapshot(Sample());
  for (const std::string& text : std::vector<std::string>{
           "", " ", "{", "}", "null", "0", "[]", "\"x\"", "{\"v\":1}", "{\"v\":2}",
           std::string(100'000, '['), std::string(1 << 21, ' '), "\xff\xfe{}",
           R"({"v":1,"tags":[["a"]],"alarm":{}})", R"({"v":1,"tags":{},"alarm":{}})",
           R"({"v":1,"tags":[],"alarm":[],"sequence":-1})"}) {
    const StatusOr<DecodedInstance> decoded = DecodeInstanceSnapshot(text);
    EXPECT_FALSE(decoded.ok()) << text.substr(0, 40);
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
  // Every truncation and every single-byte change either decodes or is refused.
  for (std::size_t n = 0; n < good.size(); ++n) {
    const StatusOr<DecodedInstance> decoded = DecodeInstanceSnapshot(good.substr(0, n));
    EXPECT_FALSE(decoded.ok());
  }
  std::size_t refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const char c : {'0', '-', '"', '}', '\0', 'x'}) {
      std::string text = good;
      text[i] = c;
      const StatusOr<DecodedInstance> decoded = DecodeInstanceSnapshot(text);
      if (!decoded.ok()) {
        EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, good.size());
}

TEST(InstanceRecordTest, MapsStatesAndFields) {
  EXPECT_EQ(PrometheusState(AlarmState::kNormal), "inactive");
  EXPECT_EQ(PrometheusState(AlarmState::kPending), "pending");
  EXPECT_EQ(PrometheusState(AlarmState::kUnacked), "firing");
  EXPECT_EQ(PrometheusState(AlarmState::kAcked), "firing");
  EXPECT_EQ(PrometheusState(AlarmState::kRtnUnacked), "inactive");
  EXPECT_EQ(PrometheusState(AlarmState::kLatched), "firing");
  EXPECT_EQ(AckState(AlarmState::kAcked), "acknowledged");
  EXPECT_EQ(AckState(AlarmState::kRtnUnacked), "unacknowledged");
  EXPECT_EQ(AckState(AlarmState::kLatched), "unacknowledged");
  EXPECT_EQ(AckState(AlarmState::kNormal), "");
  EXPECT_EQ(InstanceKey({}), "");
  EXPECT_EQ(InstanceKey({{"a", "1"}, {"b", "2"}}), "a=1,b=2");

  const AlertInstance instance = Sample();
  const AlertInstanceRecord row = MakeInstanceRecord(4, instance);
  EXPECT_EQ(row.rule_id, 4);
  EXPECT_EQ(row.instance_key, instance.key);
  EXPECT_EQ(row.state, "firing");
  EXPECT_EQ(row.ack_state, "acknowledged");
  EXPECT_EQ(row.severity, 2);
  EXPECT_EQ(row.active_since, 5);
  EXPECT_EQ(row.pending_since, std::nullopt);
  EXPECT_EQ(row.last_value, 0.1 + 0.2);
  EXPECT_EQ(row.last_change, 6);
  EXPECT_EQ(row.shelved_until, 99);
  EXPECT_FALSE(row.shelve_one_shot);
  EXPECT_TRUE(row.suppressed);
  EXPECT_TRUE(row.out_of_service);
  EXPECT_EQ(row.snapshot, EncodeInstanceSnapshot(instance));
}

}  // namespace
}  // namespace tidewatch::rules::internal
