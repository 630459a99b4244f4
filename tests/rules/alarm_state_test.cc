#include "rules/alarm_state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "rules/alarm_condition.h"
#include "tests/util/allocation_counter.h"

namespace tidewatch::rules {
namespace {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp S(std::int64_t seconds) { return seconds * kSecond; }

// One line per transition: "@<s> <cause> <from>/<severity>><to>/<severity>", then " !"
// when announced, " by:<actor>", " note:<note>".
std::string Render(const Transitions& log) {
  std::string text;
  for (const Transition& t : log) {
    text += "@" + std::to_string(t.at / kSecond) + " " + std::string(TransitionCauseName(t.cause)) +
            " " + std::string(AlarmStateName(t.from_state)) + "/" +
            std::to_string(t.from_severity) + ">" + std::string(AlarmStateName(t.to_state)) + "/" +
            std::to_string(t.severity);
    if (t.announce) text += " !";
    if (!t.actor.empty()) text += " by:" + t.actor;
    if (!t.note.empty()) text += " note:" + t.note;
    text += "\n";
  }
  return text;
}

AlarmSpec Spec(Comparison comparison, std::vector<SeverityLevel> levels) {
  AlarmSpec spec;
  spec.condition = AlarmCondition{comparison, std::move(levels)};
  return spec;
}

// value > trip, resetting at value <= reset.
AlarmSpec Above(double trip, double reset) {
  return Spec(Comparison::kGreater, {{"warning", trip, reset}});
}

// warning > 80 (reset 75), critical > 90 (reset 85).
AlarmSpec WarningCritical() {
  return Spec(Comparison::kGreater, {{"warning", 80, 75}, {"critical", 90, 85}});
}

// Drives one instance with points whose event time is their processing time, in seconds.
class Script {
 public:
  explicit Script(AlarmSpec spec) : alarm_(std::move(spec)) {}
  explicit Script(AlarmInstance alarm) : alarm_(std::move(alarm)) {}

  Script& Feed(std::initializer_list<std::pair<std::int64_t, double>> points) {
    for (const auto& [second, value] : points) alarm_.OnValue(value, S(second), S(second), log_);
    return *this;
  }
  Script& Tick(std::int64_t second) {
    alarm_.OnTick(S(second), log_);
    return *this;
  }
  Script& Ack(std::int64_t second) { return Check(alarm_.Acknowledge("op", S(second), log_)); }
  Script& ShelveUntil(std::int64_t second, std::int64_t until) {
    return Check(alarm_.Shelve("ann", "valve work", ShelveKind::kTimed, S(until), S(second), log_));
  }
  Script& ShelveOneShot(std::int64_t second) {
    return Check(alarm_.Shelve("ann", "known", ShelveKind::kOneShot, 0, S(second), log_));
  }
  Script& Unshelve(std::int64_t second) { return Check(alarm_.Unshelve("ann", S(second), log_)); }
  Script& Suppress(std::int64_t second, bool on) {
    alarm_.SetSuppressed(on, S(second), log_);
    return *this;
  }
  Script& OutOfService(std::int64_t second, bool on) {
    alarm_.SetOutOfService(on, "tech", S(second), log_);
    return *this;
  }
  Script& Update(std::int64_t second, AlarmSpec spec) {
    return Check(alarm_.UpdateSpec(std::move(spec), S(second), log_));
  }

  // The transitions since the last call.
  std::string Log() {
    std::string text = Render(log_);
    log_.clear();
    return text;
  }
  AlarmInstance& alarm() { return alarm_; }
  Transitions& log() { return log_; }

 private:
  Script& Check(const Status& status) {
    EXPECT_TRUE(status.ok()) << status.ToString();
    return *this;
  }

  AlarmInstance alarm_;
  Transitions log_;
};

// Severity after each value, as digits.
std::string Severities(const AlarmCondition& condition, std::initializer_list<double> values) {
  std::string text;
  LevelMask tripped = 0;
  for (double value : values) {
    tripped = UpdateTripped(condition, tripped, value);
    text += std::to_string(HighestSeverity(tripped));
  }
  return text;
}

TEST(AlarmConditionTest, ComparisonsWithDeadband) {
  const std::initializer_list<double> values = {9, 10, 11, 9, 8, 7, 12};
  auto one = [](Comparison c, double trip, double reset) {
    return AlarmCondition{c, {{"w", trip, reset}}};
  };
  EXPECT_EQ(Severities(one(Comparison::kGreater, 10, 8), values), "0011001");
  EXPECT_EQ(Severities(one(Comparison::kGreaterEqual, 10, 8), values), "0111101");
  EXPECT_EQ(Severities(one(Comparison::kLess, 8, 10), values), "0000010");
  EXPECT_EQ(Severities(one(Comparison::kLessEqual, 8, 10), values), "0000110");
  EXPECT_EQ(Severities(one(Comparison::kEqual, 9, 9), values), "1001000");
  EXPECT_EQ(Severities(one(Comparison::kNotEqual, 9, 9), values), "0110111");
  // Normal band [5, 20], back to normal inside [7, 18].
  const AlarmCondition range{Comparison::kOutsideRange, {{"w", 5, 7, 20, 18}}};
  EXPECT_EQ(Severities(range, {10, 21, 19, 18, 4, 6, 7, 20}), "01101100");
  // NaN changes nothing, in either state.
  EXPECT_EQ(Severities(one(Comparison::kGreater, 10, 8), {std::nan(""), 11, std::nan(""), 7}),
            "0110");
  EXPECT_EQ(HighestSeverity(0b101), 3);
  EXPECT_EQ(ComparisonSymbol(Comparison::kOutsideRange), "outside");
}

TEST(AlarmConditionTest, ValidationNamesTheBadLevel) {
  auto error = [](const AlarmCondition& condition) {
    return ValidateCondition(condition).ToString();
  };
  EXPECT_EQ(error({Comparison::kGreater, {{"w", 10, 8}}}), "OK");
  EXPECT_EQ(error({Comparison::kGreater, {{"w", 10, 8}, {"c", 20, 21}}}),
            "INVALID_ARGUMENT: severity level 2: reset must be <= trip");
  EXPECT_EQ(error({Comparison::kLessEqual, {{"w", 10, 8}}}),
            "INVALID_ARGUMENT: severity level 1: reset must be >= trip");
  EXPECT_EQ(error({Comparison::kEqual, {{"w", 10, 8}}}),
            "INVALID_ARGUMENT: severity level 1: == and != take no deadband: reset must equal "
            "trip");
  EXPECT_EQ(error({Comparison::kOutsideRange, {{"w", 5, 4, 20, 18}}}),
            "INVALID_ARGUMENT: severity level 1: range needs trip <= reset <= reset_high <= "
            "trip_high");
  EXPECT_EQ(error({Comparison::kGreater, {{"w", std::numeric_limits<double>::infinity(), 8}}}),
            "INVALID_ARGUMENT: severity level 1: trip and reset values must be finite numbers");
  EXPECT_EQ(error({Comparison::kGreater, {}}),
            "INVALID_ARGUMENT: a condition needs 1 to 8 severity levels, got 0");
  EXPECT_FALSE(ValidateCondition({Comparison::kGreater, std::vector<SeverityLevel>(9)}).ok());
}

TEST(AlarmSpecTest, ValidationRejectsBadDurationsAndChatter) {
  AlarmSpec spec = Above(90, 85);
  EXPECT_TRUE(ValidateAlarmSpec(spec).ok());
  spec.off_delay = -1;
  EXPECT_EQ(ValidateAlarmSpec(spec).ToString(),
            "INVALID_ARGUMENT: for, keep_firing_for and no_data_after must not be negative");
  spec = Above(90, 85);
  spec.chatter.transitions = 33;
  EXPECT_EQ(ValidateAlarmSpec(spec).ToString(),
            "INVALID_ARGUMENT: chatter transitions must be 0 to 32");
  spec.chatter.transitions = 3;
  EXPECT_EQ(ValidateAlarmSpec(spec).ToString(),
            "INVALID_ARGUMENT: chatter window must be positive");
}

TEST(AlarmInstanceTest, OnDelayPendsAndRestartsWhenTheConditionClears) {
  AlarmSpec spec = Above(90, 90);
  spec.on_delay = S(30);
  Script script(spec);
  script.Feed({{0, 50}, {10, 95}, {20, 96}, {25, 80}, {30, 95}}).Tick(59).Tick(60).Feed({{70, 97}});
  EXPECT_EQ(script.Log(), R"(@10 value normal/0>pending/1
@25 value pending/1>normal/0
@30 value normal/0>pending/1
@60 timer pending/1>unacked/1 !
)");
}

TEST(AlarmInstanceTest, OffDelayKeepsFiringUntilClearForLongEnough) {
  AlarmSpec spec = Above(90, 90);
  spec.off_delay = S(20);
  Script script(spec);
  // Clears at 10 but holds again at 20; clears at 25 for good.
  script.Feed({{0, 95}, {10, 80}, {20, 95}, {25, 80}}).Tick(44).Tick(45);
  // A point, not a tick, can also end the off-delay: the timers run before the value.
  script.Feed({{50, 95}, {55, 80}, {75, 70}});
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@45 timer unacked/1>rtn_unacked/0 !
@50 value rtn_unacked/0>unacked/1 !
@75 timer unacked/1>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, DeadbandStopsNoiseAroundTheTripValueFromFlapping) {
  const std::initializer_list<std::pair<std::int64_t, double>> noisy = {
      {0, 89}, {1, 90},   {2, 90.5}, {3, 89}, {4, 90.5}, {5, 86},
      {6, 91}, {7, 85.5}, {8, 85},   {9, 89}, {10, 90.4}};
  Script banded(Above(90, 85));
  banded.Feed(noisy);
  EXPECT_EQ(banded.Log(), R"(@2 value normal/0>unacked/1 !
@8 value unacked/1>rtn_unacked/0 !
@10 value rtn_unacked/0>unacked/1 !
)");
  Script bare(Above(90, 90));  // without a deadband the same stream flaps
  bare.Feed(noisy);
  EXPECT_EQ(bare.log().size(), 7u);
}

TEST(AlarmInstanceTest, LevelsEscalateAndDeescalate) {
  Script script(WarningCritical());
  script.Feed({{0, 70}, {1, 82}, {2, 92}}).Ack(3);
  // 88 keeps critical (deadband); 84 drops to warning, keeping the ack; 95 re-alarms.
  script.Feed({{4, 88}, {5, 84}, {6, 95}, {7, 70}, {8, 99}, {9, 10}});
  EXPECT_EQ(script.Log(), R"(@1 value normal/0>unacked/1 !
@2 value unacked/1>unacked/2 !
@3 ack unacked/2>acked/2 by:op
@5 value acked/2>acked/1 !
@6 value acked/1>unacked/2 !
@7 value unacked/2>rtn_unacked/0 !
@8 value rtn_unacked/0>unacked/2 !
@9 value unacked/2>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, NoDataIsItsOwnStateAndLeavesTheAlarmAlone) {
  AlarmSpec spec = Above(90, 90);
  spec.no_data_after = S(10);
  Script fresh(spec);
  fresh.Tick(1000);  // the clock starts at the first point
  EXPECT_EQ(fresh.Log(), "");

  Script script(spec);
  script.Feed({{0, 95}}).Tick(9).Tick(10).Tick(20);
  EXPECT_TRUE(script.alarm().stale());
  script.Feed({{25, 50}}).Tick(34).Tick(35);
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@10 no_data unacked/1>unacked/1 !
@25 data_resumed unacked/1>unacked/1 !
@25 value unacked/1>rtn_unacked/0 !
@35 no_data rtn_unacked/0>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, LatePointsAndNaNAreNotEvaluatedButCountAsData) {
  AlarmSpec spec = Above(90, 90);
  spec.no_data_after = S(10);
  Script script(spec);
  script.Feed({{10, 95}});
  script.alarm().OnValue(50, S(5), S(11), script.log());  // older event time
  script.alarm().OnValue(std::nan(""), S(12), S(12), script.log());
  script.Tick(21).Tick(22);
  EXPECT_EQ(script.Log(), R"(@10 value normal/0>unacked/1 !
@22 no_data unacked/1>unacked/1 !
)");
  EXPECT_EQ(script.alarm().snapshot().last_value, 95);
}

TEST(AlarmInstanceTest, LatchedAlarmStaysUntilAcknowledgedAfterReturnToNormal) {
  AlarmSpec spec = Above(90, 90);
  spec.latched = true;
  Script script(spec);
  script.Feed({{0, 95}, {1, 50}}).Ack(2);                // unacknowledged, then reset
  script.Feed({{3, 95}}).Ack(4).Feed({{5, 50}}).Ack(6);  // acknowledged while active
  script.Feed({{7, 95}, {8, 50}, {9, 95}});              // a new trip while latched
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@1 value unacked/1>latched/1
@2 ack latched/1>normal/0 ! by:op
@3 value normal/0>unacked/1 !
@4 ack unacked/1>acked/1 by:op
@5 value acked/1>latched/1
@6 ack latched/1>normal/0 ! by:op
@7 value normal/0>unacked/1 !
@8 value unacked/1>latched/1
@9 value latched/1>unacked/1
)");
}

TEST(AlarmInstanceTest, AcknowledgeWhileActiveThenResolveToNormal) {
  Script script(Above(90, 90));
  EXPECT_EQ(script.alarm().Acknowledge("op", S(0), script.log()).ToString(),
            "INVALID_ARGUMENT: nothing to acknowledge: the alarm is normal");
  script.Feed({{1, 95}}).Ack(2);
  EXPECT_EQ(script.alarm().Acknowledge("op", S(3), script.log()).ToString(),
            "INVALID_ARGUMENT: nothing to acknowledge: the alarm is acked");
  script.Feed({{4, 50}});
  EXPECT_EQ(script.alarm().state(), AlarmState::kNormal);
  EXPECT_EQ(script.Log(), R"(@1 value normal/0>unacked/1 !
@2 ack unacked/1>acked/1 by:op
@4 value acked/1>normal/0 !
)");
}

TEST(AlarmInstanceTest, ReturnToNormalUnacknowledged) {
  AlarmSpec spec = Above(90, 90);
  spec.on_delay = S(10);
  Script script(spec);
  script.Feed({{0, 95}}).Tick(10).Feed({{12, 50}});
  // A new occurrence pends under rtn_unacked, then fires.
  script.Feed({{13, 95}}).Tick(23).Feed({{24, 50}}).Ack(25);
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>pending/1
@10 timer pending/1>unacked/1 !
@12 value unacked/1>rtn_unacked/0 !
@23 timer rtn_unacked/0>unacked/1 !
@24 value unacked/1>rtn_unacked/0 !
@25 ack rtn_unacked/0>normal/0 by:op
)");
}

TEST(AlarmInstanceTest, TimedShelveExpiringInAlarmReannounces) {
  Script script(Above(90, 90));
  script.Feed({{0, 95}}).ShelveUntil(1, 100).Feed({{50, 96}}).Tick(99).Tick(100);
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@1 shelve unacked/1>unacked/1 by:ann note:valve work
@100 shelve_expired unacked/1>unacked/1 !
)");
  EXPECT_EQ(script.alarm().shelve().kind, ShelveKind::kNone);
}

TEST(AlarmInstanceTest, TimedShelveFiringUnseenAnnouncesAtExpiry) {
  Script script(Above(90, 90));
  script.ShelveUntil(0, 100).Feed({{10, 95}}).Tick(100);
  EXPECT_EQ(script.Log(), R"(@0 shelve normal/0>normal/0 by:ann note:valve work
@10 value normal/0>unacked/1
@100 shelve_expired unacked/1>unacked/1 !
)");
}

TEST(AlarmInstanceTest, TimedShelveExpiringOutOfAlarmAnnouncesNothing) {
  Script script(Above(90, 90));
  // Announced before the shelve, resolved while shelved: the resolve is still owed.
  script.Feed({{0, 95}}).ShelveUntil(1, 100).Feed({{10, 50}, {20, 95}, {30, 50}}).Tick(100);
  script.Feed({{110, 95}});  // unshelved: announced again
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@1 shelve unacked/1>unacked/1 by:ann note:valve work
@10 value unacked/1>rtn_unacked/0 !
@20 value rtn_unacked/0>unacked/1
@30 value unacked/1>rtn_unacked/0
@100 shelve_expired rtn_unacked/0>normal/0
@110 value normal/0>unacked/1 !
)");
}

TEST(AlarmInstanceTest, OneShotShelveEndsAtTheNextReturnToNormal) {
  Script script(Above(90, 90));
  script.Feed({{0, 95}}).ShelveOneShot(1).Feed({{5, 99}, {6, 50}, {7, 95}});
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@1 shelve unacked/1>unacked/1 by:ann note:known
@6 value unacked/1>rtn_unacked/0 !
@6 one_shot_unshelve rtn_unacked/0>normal/0
@7 value normal/0>unacked/1 !
)");
}

TEST(AlarmInstanceTest, ShelveAndUnshelveErrors) {
  Script script(Above(90, 90));
  Transitions& log = script.log();
  EXPECT_EQ(script.alarm().Shelve("a", "r", ShelveKind::kTimed, S(5), S(5), log).ToString(),
            "INVALID_ARGUMENT: a timed shelve must expire after now");
  EXPECT_EQ(script.alarm().Shelve("a", "r", ShelveKind::kNone, S(9), S(5), log).ToString(),
            "INVALID_ARGUMENT: a shelve is timed or one-shot");
  EXPECT_EQ(script.alarm().Unshelve("a", S(5), log).ToString(),
            "INVALID_ARGUMENT: the alarm is not shelved");
  // Re-shelving replaces the shelve; an operator unshelve while firing announces.
  script.ShelveUntil(6, 10).ShelveUntil(7, 50).Feed({{20, 95}}).Unshelve(30);
  EXPECT_EQ(script.Log(), R"(@6 shelve normal/0>normal/0 by:ann note:valve work
@7 shelve normal/0>normal/0 by:ann note:valve work
@20 value normal/0>unacked/1
@30 unshelve unacked/1>unacked/1 ! by:ann
)");
}

TEST(AlarmInstanceTest, SuppressedByDesignIsEvaluatedNotAnnounced) {
  Script script(WarningCritical());
  script.Suppress(0, true).Suppress(1, true).Feed({{2, 85}, {3, 95}}).Ack(4);
  script.Suppress(5, false).Suppress(6, false).Feed({{7, 50}});
  EXPECT_EQ(script.Log(), R"(@0 suppress normal/0>normal/0
@2 value normal/0>unacked/1
@3 value unacked/1>unacked/2
@4 ack unacked/2>acked/2 by:op
@5 unsuppress acked/2>unacked/2 !
@7 value unacked/2>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, OutOfServiceReturnsReflectingTheCurrentValue) {
  Script script(Above(90, 90));
  script.OutOfService(0, true).Feed({{1, 95}, {2, 50}}).OutOfService(3, false);
  EXPECT_EQ(script.Log(), R"(@0 out_of_service normal/0>normal/0 by:tech
@1 value normal/0>unacked/1
@2 value unacked/1>rtn_unacked/0
@3 return_to_service rtn_unacked/0>normal/0 by:tech
)");
  EXPECT_EQ(script.alarm().state(), AlarmState::kNormal);
}

TEST(AlarmInstanceTest, MasksStackAndUnmaskAtTheLastOne) {
  AlarmSpec spec = Above(90, 90);
  spec.no_data_after = S(10);
  Script script(spec);
  script.Suppress(0, true).ShelveUntil(1, 1000).Feed({{2, 95}}).Tick(12).Unshelve(13);
  script.Suppress(14, false);  // the alarm and the no-data both come out now
  EXPECT_EQ(script.Log(), R"(@0 suppress normal/0>normal/0
@1 shelve normal/0>normal/0 by:ann note:valve work
@2 value normal/0>unacked/1
@12 no_data unacked/1>unacked/1
@13 unshelve unacked/1>unacked/1 by:ann
@14 unsuppress unacked/1>unacked/1 !
@14 no_data unacked/1>unacked/1 !
)");
}

TEST(AlarmInstanceTest, ChatterIsFlaggedAndOptionallySuppressed) {
  AlarmSpec spec = Above(90, 90);
  spec.chatter = ChatterSpec{.transitions = 4, .window = S(60), .suppress = true};
  Script script(spec);
  script.Feed({{0, 95}, {10, 50}, {20, 95}, {30, 50}});
  EXPECT_TRUE(script.alarm().chattering());
  script.Feed({{40, 95}, {50, 50}, {60, 95}}).Tick(90);
  EXPECT_TRUE(script.alarm().chattering());  // edges 30..60: four within 60s
  script.Tick(91);
  EXPECT_FALSE(script.alarm().chattering());
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@10 value unacked/1>rtn_unacked/0 !
@20 value rtn_unacked/0>unacked/1 !
@30 value unacked/1>rtn_unacked/0 !
@30 chatter_start rtn_unacked/0>rtn_unacked/0
@40 value rtn_unacked/0>unacked/1
@50 value unacked/1>rtn_unacked/0
@60 value rtn_unacked/0>unacked/1
@91 chatter_end unacked/1>unacked/1 !
)");

  spec.chatter.suppress = false;  // flag only
  Script flagged(spec);
  flagged.Feed({{0, 95}, {10, 50}, {20, 95}, {30, 50}, {40, 95}});
  EXPECT_TRUE(flagged.alarm().chattering());
  EXPECT_TRUE(flagged.log().back().announce);
}

TEST(AlarmInstanceTest, RestoreMidPendingResumesTheTimerFromItsStart) {
  AlarmSpec spec = Above(90, 90);
  spec.on_delay = S(60);
  Script before(spec);
  before.Feed({{10, 95}, {30, 96}});
  EXPECT_EQ(before.Log(), "@10 value normal/0>pending/1\n");
  const AlarmSnapshot snapshot = before.alarm().snapshot();
  StatusOr<AlarmInstance> restored = AlarmInstance::Restore(spec, snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->snapshot(), snapshot);
  Script after(std::move(*restored));
  after.Tick(69).Tick(70);
  EXPECT_EQ(after.Log(), "@70 timer pending/1>unacked/1 !\n");
}

TEST(AlarmInstanceTest, RestoreMidFiringDoesNotReannounce) {
  Script before(Above(90, 90));
  before.Feed({{0, 95}}).ShelveUntil(1, 100).Unshelve(2);
  before.Log();
  StatusOr<AlarmInstance> restored =
      AlarmInstance::Restore(before.alarm().spec(), before.alarm().snapshot());
  ASSERT_TRUE(restored.ok());
  Script after(std::move(*restored));
  after.Feed({{5, 96}}).Tick(10).ShelveUntil(11, 100).Tick(100).Feed({{110, 50}});
  EXPECT_EQ(after.Log(), R"(@11 shelve unacked/1>unacked/1 by:ann note:valve work
@100 shelve_expired unacked/1>unacked/1 !
@110 value unacked/1>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, RestoreRejectsInconsistentSnapshots) {
  const AlarmSpec spec = Above(90, 90);
  auto restore = [&](auto mutate) {
    AlarmSnapshot snapshot;
    mutate(snapshot);
    return AlarmInstance::Restore(spec, snapshot).status().ToString();
  };
  const std::string prefix = "INVALID_ARGUMENT: alarm snapshot does not fit its spec: ";
  EXPECT_EQ(restore([](AlarmSnapshot&) {}), "OK");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.tripped = 0b10; }),
            prefix + "a tripped level past the spec's levels");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.alarm_severity = 2; }),
            prefix + "severity out of range");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.phase = ConditionPhase::kFiring; }),
            prefix + "firing without a severity");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.phase = ConditionPhase::kPending; }),
            prefix + "pending needs its start time, and only pending has one");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.phase = static_cast<ConditionPhase>(7); }),
            prefix + "unknown phase");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.after_resolve = AlarmState::kAcked; }),
            prefix + "after_resolve must be normal, rtn_unacked or latched");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.last_value = std::nan(""); }),
            prefix + "NaN last value");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.chatter_edges = {1}; }),
            prefix + "chatter edges: too many or out of order");
  EXPECT_EQ(restore([](AlarmSnapshot& s) { s.stale = true; }),
            prefix + "stale without a last point");
  AlarmSpec bad = spec;
  bad.on_delay = -1;
  EXPECT_FALSE(AlarmInstance::Restore(bad, AlarmSnapshot{}).ok());
}

TEST(AlarmInstanceTest, ExtremeTimesInASnapshotDoNotOverflow) {
  constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  AlarmSpec spec = Above(90, 90);
  spec.on_delay = S(10);
  spec.no_data_after = S(10);
  spec.chatter = ChatterSpec{.transitions = 1, .window = kMax, .suppress = false};
  AlarmSnapshot snapshot;
  snapshot.phase = ConditionPhase::kPending;
  snapshot.tripped = 1;
  snapshot.hold_since = kMin;
  snapshot.last_value = 95;
  snapshot.last_point_at = kMax;
  snapshot.chatter_edges = {kMin};
  StatusOr<AlarmInstance> restored = AlarmInstance::Restore(spec, snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  Script script(std::move(*restored));
  script.alarm().OnTick(kMin, script.log());  // before every start: nothing is due
  script.alarm().OnTick(kMax, script.log());
  EXPECT_EQ(script.Log(), R"(@9223372036 timer pending/1>unacked/1 !
@9223372036 chatter_start unacked/1>unacked/1
)");
}

TEST(AlarmInstanceTest, UpdateSpecReevaluatesWithoutReannouncing) {
  Script script(Above(80, 80));
  script.Feed({{0, 85}}).Update(1, Above(70, 70));  // still firing at warning: nothing
  script.Update(2, Spec(Comparison::kGreater, {{"warning", 70, 70}, {"critical", 84, 84}}));
  script.Update(3, Above(90, 90));  // 85 no longer trips
  script.Update(4, Above(80, 80));  // trips again from the last value
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/1 !
@2 spec_update unacked/1>unacked/2 !
@3 spec_update unacked/2>rtn_unacked/0 !
@4 spec_update rtn_unacked/0>unacked/1 !
)");
  EXPECT_EQ(script.alarm().UpdateSpec(Above(80, 81), S(5), script.log()).ToString(),
            "INVALID_ARGUMENT: severity level 1: reset must be <= trip");
  EXPECT_EQ(script.alarm().spec(), Above(80, 80));
}

TEST(AlarmInstanceTest, UpdateSpecKeepsTimerStarts) {
  AlarmSpec spec = Above(90, 90);
  spec.on_delay = S(60);
  spec.off_delay = S(100);
  Script script(spec);
  script.Feed({{0, 95}});
  spec.on_delay = S(10);
  script.Update(20, spec);  // pending since 0: due under the new on-delay
  spec.off_delay = S(30);
  script.Feed({{25, 50}}).Update(40, spec).Tick(54).Tick(55);  // off-delay since 25
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>pending/1
@20 timer pending/1>unacked/1 !
@55 timer unacked/1>rtn_unacked/0 !
)");
}

TEST(AlarmInstanceTest, UpdateSpecClampsASeverityToFewerLevels) {
  Script script(WarningCritical());
  script.Feed({{0, 95}, {1, 50}});  // rtn_unacked
  AlarmSpec delayed = WarningCritical();
  delayed.off_delay = S(100);
  script.Update(2, delayed).Feed({{3, 95}, {4, 50}});  // firing at 2, in its off-delay
  AlarmSpec fewer = Spec(Comparison::kGreater, {{"warning", 80, 75}});
  fewer.off_delay = S(100);
  script.Update(5, fewer);
  EXPECT_EQ(script.Log(), R"(@0 value normal/0>unacked/2 !
@1 value unacked/2>rtn_unacked/0 !
@3 value rtn_unacked/0>unacked/2 !
@5 spec_update unacked/2>unacked/1 !
)");
}

TEST(AlarmInstanceTest, TransitionsCarryValueAndThreshold) {
  Script script(WarningCritical());
  script.Feed({{0, 92}, {1, 70}});
  ASSERT_EQ(script.log().size(), 2u);
  EXPECT_EQ(script.log()[0].value, 92);
  EXPECT_EQ(script.log()[0].threshold, 90);  // the trip value of critical
  EXPECT_EQ(script.log()[1].value, 70);
  EXPECT_EQ(script.log()[1].threshold, 85);  // the reset value of critical
  script.Log();
  // Ranges report the nearer bound.
  Script range(Spec(Comparison::kOutsideRange, {{"w", 10, 12, 20, 18}}));
  range.Feed({{0, 25}, {1, 17}});
  ASSERT_EQ(range.log().size(), 2u);
  EXPECT_EQ(range.log()[0].threshold, 20);
  EXPECT_EQ(range.log()[1].threshold, 18);
}

TEST(AlarmInstanceTest, OnValueDoesNotAllocate) {
  AlarmSpec spec = WarningCritical();
  spec.on_delay = S(5);
  spec.off_delay = S(5);
  spec.no_data_after = S(60);
  spec.chatter = ChatterSpec{.transitions = 8, .window = S(60), .suppress = true};
  AlarmInstance alarm(spec);
  Transitions out;
  out.reserve(64);
  std::size_t transitions = 0;
  const std::size_t before = test_util::ThreadAllocations();
  for (std::int64_t i = 0; i < 2000; ++i) {
    const double value = (i / 20) % 2 == 0 ? 50.0 + static_cast<double>(i % 7) : 95.0;
    alarm.OnValue(value, S(i), S(i), out);
    alarm.OnTick(S(i), out);
    transitions += out.size();
    out.clear();
  }
  EXPECT_EQ(test_util::ThreadAllocations(), before);
  EXPECT_GT(transitions, 50u);  // the loop did go through the lifecycle
}

}  // namespace
}  // namespace tidewatch::rules
