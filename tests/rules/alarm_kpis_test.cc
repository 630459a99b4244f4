#include "rules/alarm_kpis.h"

#include <gtest/gtest.h>

#include <string>

namespace tidewatch::rules {
namespace {

constexpr std::int64_t kMin = AlarmKpis::kMinuteNs;
constexpr Timestamp kT0 = 1'000 * kMin;  // a minute boundary

std::string Render(const AlarmKpis& kpis) {
  std::string out;
  for (const auto& [db, n] : kpis.AlarmsByDb()) out += db + "=" + std::to_string(n) + " ";
  out += "|";
  for (const AlarmKpis::Actor& a : kpis.TopActors(3)) {
    out += " " + a.rule + "/" + a.instance_key + "=" + std::to_string(a.alarms);
  }
  return out;
}

Transition Make(AlarmState from, AlarmState to, int from_severity, int severity, bool announce) {
  Transition t;
  t.from_state = from;
  t.to_state = to;
  t.from_severity = from_severity;
  t.severity = severity;
  t.announce = announce;
  return t;
}

TEST(AlarmKpisTest, NewAlarmIsAnAnnouncedEntryOrEscalationIntoUnacked) {
  EXPECT_TRUE(IsNewAlarm(Make(AlarmState::kNormal, AlarmState::kUnacked, 0, 1, true)));
  EXPECT_TRUE(IsNewAlarm(Make(AlarmState::kAcked, AlarmState::kUnacked, 1, 2, true)));
  EXPECT_TRUE(IsNewAlarm(Make(AlarmState::kUnacked, AlarmState::kUnacked, 1, 2, true)));
  EXPECT_TRUE(IsNewAlarm(Make(AlarmState::kRtnUnacked, AlarmState::kUnacked, 0, 1, true)));
  // De-escalation, masked (not announced), pending, resolve: no new alarm.
  EXPECT_FALSE(IsNewAlarm(Make(AlarmState::kUnacked, AlarmState::kUnacked, 2, 1, true)));
  EXPECT_FALSE(IsNewAlarm(Make(AlarmState::kNormal, AlarmState::kUnacked, 0, 1, false)));
  EXPECT_FALSE(IsNewAlarm(Make(AlarmState::kNormal, AlarmState::kPending, 0, 1, false)));
  EXPECT_FALSE(IsNewAlarm(Make(AlarmState::kUnacked, AlarmState::kRtnUnacked, 1, 0, true)));
}

TEST(AlarmKpisTest, CountsSlideOutAfterTenMinutes) {
  AlarmKpis kpis(kT0);
  kpis.Record("plant", "hp", "s=1", kT0 + 5);
  kpis.Record("plant", "hp", "s=1", kT0 + 3 * kMin);
  kpis.Record("lab", "lt", "s=2", kT0 + 9 * kMin);
  EXPECT_EQ(Render(kpis), "lab=1 plant=2 | hp/s=1=2 lt/s=2=1");
  kpis.Advance(kT0 + 10 * kMin);  // the first minute left the window
  EXPECT_EQ(Render(kpis), "lab=1 plant=1 | hp/s=1=1 lt/s=2=1");
  kpis.Advance(kT0 + 13 * kMin);
  EXPECT_EQ(Render(kpis), "lab=1 | lt/s=2=1");
  kpis.Advance(kT0 + 500 * kMin);
  EXPECT_EQ(Render(kpis), "|");
}

TEST(AlarmKpisTest, TopActorsMostFirstTiesByName) {
  AlarmKpis kpis(kT0);
  for (int i = 0; i < 3; ++i) kpis.Record("d", "b", "k", kT0);
  for (int i = 0; i < 3; ++i) kpis.Record("d", "a", "k", kT0);
  kpis.Record("d", "c", "k", kT0);
  kpis.Record("d", "a", "j", kT0);
  std::string out;
  for (const AlarmKpis::Actor& a : kpis.TopActors(3)) out += a.rule + "/" + a.instance_key + " ";
  EXPECT_EQ(out, "a/k b/k a/j ");
  EXPECT_TRUE(kpis.TopActors(0).empty());
}

TEST(AlarmKpisTest, FloodRatioCountsMinutesOverThreshold) {
  AlarmKpis kpis(kT0, /*flood_threshold=*/10);
  EXPECT_EQ(kpis.FloodTimeRatio(), 0);
  // 11 alarms in minute 0 of db "a": flooded for the ten minutes they stay in the window.
  for (int i = 0; i < 11; ++i) kpis.Record("a", "r", std::to_string(i), kT0 + 1);
  // 10 in db "b": at the threshold, not over it.
  for (int i = 0; i < 10; ++i) kpis.Record("b", "r", std::to_string(i), kT0 + 1);
  kpis.Advance(kT0 + 20 * kMin);
  EXPECT_DOUBLE_EQ(kpis.FloodTimeRatio(), 10.0 / 20.0);
  kpis.Advance(kT0 + 40 * kMin);
  EXPECT_DOUBLE_EQ(kpis.FloodTimeRatio(), 10.0 / 40.0);
}

TEST(AlarmKpisTest, TimeGoingBackwardsCountsInTheCurrentMinute) {
  AlarmKpis kpis(kT0);
  kpis.Advance(kT0 + 5 * kMin);
  kpis.Record("d", "r", "k", kT0);  // earlier than the current minute
  EXPECT_EQ(Render(kpis), "d=1 | r/k=1");
  kpis.Advance(kT0 + 14 * kMin);
  EXPECT_EQ(Render(kpis), "d=1 | r/k=1");
  kpis.Advance(kT0 + 15 * kMin);
  EXPECT_EQ(Render(kpis), "|");
}

TEST(AlarmKpisTest, TimesBeforeTheEpoch) {
  AlarmKpis kpis(-3 * kMin - 1);
  kpis.Record("d", "r", "k", -3 * kMin - 1);
  kpis.Advance(-3 * kMin + 6 * kMin);
  EXPECT_EQ(Render(kpis), "d=1 | r/k=1");
  kpis.Advance(-4 * kMin + 10 * kMin);
  EXPECT_EQ(Render(kpis), "|");
}

}  // namespace
}  // namespace tidewatch::rules
