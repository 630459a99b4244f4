// AlarmInstance: the state machine of one alert instance (one rule, one series group):
// Prometheus' pending/firing/resolved timing plus the ISA-18.2 alarm lifecycle
// (acknowledgement, return to normal unacknowledged, latching, shelving, suppression by
// design, out of service) and chatter detection.
//
// Pure and clock-injected: every call takes the processing time `now` (ns since the
// epoch) and never reads a clock, allocates only when it records a transition or stores an
// operator's name, and does no I/O. Persistence (SQLite), notification (sinks) and rule
// parsing are built around it: a caller stores each Transition and sends those with
// `announce` set.
//
// Thread safety: none; an AlarmInstance is a value owned by one evaluation worker (or
// guarded by its owner). Distinct instances are independent.
//
// ---------------------------------------------------------------------------------------
// Two layers
//
// 1. Condition layer (always evaluated, also while shelved, suppressed or out of service).
//    Each value updates the tripped levels (rules/alarm_condition.h, with deadband); the
//    condition severity is the highest tripped level. Its timing is Prometheus':
//
//                 holds              held for on_delay            clear for off_delay
//      INACTIVE ----------> PENDING ------------------> FIRING ---------------------> INACTIVE
//         ^                    |                         |  ^                         (resolves)
//         +------ clears ------+                         +--+ holds again within
//                                                             the off-delay
//
//    - on_delay 0 fires on the value that trips; off_delay 0 resolves on the value that
//      clears. A delay is due when now - start >= delay (a `now` before the start is not
//      due); starts are absolute processing times.
//    - Severity changes while firing take effect at once (the deadband, not a delay,
//      guards them); during the off-delay the severity stays the last firing one.
//    - Between points the last value is taken to persist (sample and hold), so OnTick()
//      fires a pending alarm whose on-delay has elapsed; a stale sensor does not resolve
//      an alarm (no-data is reported separately, below).
//
// 2. Lifecycle layer (ISA-18.2, what the operator sees), AlarmState:
//
//                 holds              fires                  ack
//      NORMAL ----------> PENDING ----------> UNACKED ----------------> ACKED
//      ^ ^ ^  <----------                     | ^   ^                   | |
//      | | |    clears                        | |   +--- escalation ----+ |
//      | | |                         resolves | | fires                   |
//      | | |                    (not latched) v | again                   |
//      | | +----------- ack ---------- RTN_UNACKED                        |
//      | +---------------- resolves (acked, not latched) -----------------+
//      |
//      +---- ack (reset) ---- LATCHED <---- resolves (latched), from UNACKED or ACKED
//                            |
//                            +-- fires again --> UNACKED
//
//    Every transition, precisely:
//      NORMAL       condition holds, on_delay > 0          -> PENDING
//      NORMAL       condition holds, on_delay == 0         -> UNACKED (fires)
//      PENDING      condition clears                       -> NORMAL
//      PENDING      held for on_delay                      -> UNACKED (fires)
//      UNACKED      Acknowledge()                          -> ACKED
//      ACKED        severity rises (escalation)            -> UNACKED
//      UNACKED,     severity falls                         -> same state, new severity
//        ACKED
//      UNACKED      resolves, not latched                  -> RTN_UNACKED
//      ACKED        resolves, not latched                  -> NORMAL
//      UNACKED,     resolves, latched                      -> LATCHED
//        ACKED
//      RTN_UNACKED  Acknowledge()                          -> NORMAL
//      LATCHED      Acknowledge() (the reset)              -> NORMAL
//      RTN_UNACKED, fires again (a new occurrence; during   -> UNACKED
//        LATCHED      its on-delay the state stays as is,
//                     PENDING is only shown from NORMAL)
//      any          return from masking, condition firing  -> UNACKED (re-announced)
//      RTN_UNACKED, return from masking, not firing        -> NORMAL
//        LATCHED
//    Our choices where ISA-18.2 leaves them open: escalation re-alarms an acknowledged
//    alarm (the new priority needs its own acknowledgement), de-escalation keeps the ack
//    state; a latched alarm needs the reset after its return to normal even when it was
//    acknowledged while active, and Acknowledge() is that reset (no separate Reset());
//    a new occurrence from RTN_UNACKED/LATCHED absorbs the outstanding acknowledgement.
//    Acknowledge() fails (kInvalidArgument) when nothing awaits it (NORMAL, PENDING,
//    ACKED). "In alarm" (InAlarm(), what receivers call firing) = UNACKED, ACKED,
//    LATCHED; Prometheus' "resolved" is a transition leaving that set.
//
//    Announcements (Transition::announce) follow what receivers were last told: a
//    transition is announced when it changes the in-alarm severity receivers know
//    (a new alarm, an escalation or de-escalation, a resolve), never for PENDING, ACKED
//    or RTN_UNACKED -> NORMAL. Re-entering UNACKED from LATCHED at the severity receivers
//    already hold is not announced (they never saw it end).
//
// Masks. Shelved (timed: until an absolute expiry; one-shot: until the alarm next
// resolves), suppressed by design (SetSuppressed, an external boolean such as "unit not
// running"), out of service, and chattering when spec.chatter.suppress is set. A masked
// alarm runs both layers exactly as above (transitions are still returned, for the audit
// log) but announces nothing new: no new alarm, no severity change, no no-data.
// Exceptions and the return from masking, our choices where ISA-18.2 leaves them open:
//    - A resolve of an alarm whose firing was announced is always announced, masked or
//      not, so that no receiver keeps a stale firing alert.
//    - Masks stack: the alarm is unmasked when the last one goes. On that return the
//      alarm reflects the current value: if the condition layer is firing, the alarm
//      becomes UNACKED and the unmasking transition is announced (re-annunciated even if
//      it had been announced before the mask); if not, a pending RTN_UNACKED or LATCHED
//      is dropped (NORMAL, the operator chose to hide it) and nothing is announced except
//      a resolve still owed. A no-data state that arose while masked is announced then.
//    - Re-shelving a shelved alarm replaces the shelve (new expiry, user, reason).
//    - A one-shot shelve ends when the condition layer next resolves, whether the alarm
//      was in alarm when shelved or not.
//
// No data. With no_data_after > 0, an instance that has seen a point and then none for
// no_data_after (processing time) becomes stale: a separate flag with its own
// kNoData / kDataResumed transitions, announced like alarms (not while masked; the
// resume is announced iff the no-data was). It takes no acknowledgement and leaves the
// value alarm as it is (sample and hold). The clock starts at the first point; after
// Restore() it continues from the stored last point time.
//
// Chatter. Every firing and every resolve of the condition layer is an edge. When
// spec.chatter.transitions edges fall within spec.chatter.window (the latest edge's time
// minus the oldest of them <= window) the alarm is chattering (kChatterStart); it stops
// once that no longer holds at `now` (kChatterEnd). chattering() exposes the flag; with
// chatter.suppress it also masks the alarm.
//
// Every call first runs the timers due at `now` (shelve expiry, chatter end, no-data,
// on-delay, off-delay, in that order), then does its own work. Each appends the
// transitions it caused to `out` in order and never clears `out`.
//
// Output by reference: the caller owns one Transitions vector per batch of points and
// clears it after persisting the batch (one SQLite transaction per batch), so steady
// state allocates nothing and a call that changes nothing touches no memory beyond the
// instance. A fixed-capacity return value would need a proven bound on transitions per
// call (timers + data resumed + lifecycle + chatter + one-shot unshelve) for no gain.
// ---------------------------------------------------------------------------------------
#ifndef TIDEWATCH_RULES_ALARM_STATE_H_
#define TIDEWATCH_RULES_ALARM_STATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/alarm_condition.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::rules {

using Timestamp = store::Timestamp;  // ns since the Unix epoch
using Duration = std::int64_t;       // ns

inline constexpr std::size_t kMaxChatterTransitions = 32;

struct ChatterSpec {
  // N: edges (firings and resolves) within `window` that make the alarm chattering;
  // 0 disables detection. At most kMaxChatterTransitions.
  int transitions = 0;
  Duration window = 0;    // M, > 0 when transitions > 0
  bool suppress = false;  // mask the alarm while chattering

  friend bool operator==(const ChatterSpec&, const ChatterSpec&) = default;
};

struct AlarmSpec {
  AlarmCondition condition;
  Duration on_delay = 0;       // `for`; >= 0
  Duration off_delay = 0;      // `keep_firing_for`; >= 0
  Duration no_data_after = 0;  // 0 disables no-data detection; >= 0
  bool latched = false;        // stays in alarm after resolving until acknowledged
  ChatterSpec chatter;

  friend bool operator==(const AlarmSpec&, const AlarmSpec&) = default;
};

// OK, or kInvalidArgument saying which field is wrong.
[[nodiscard]] Status ValidateAlarmSpec(const AlarmSpec& spec);

enum class AlarmState : std::uint8_t {
  kNormal,      // not in alarm, nothing to acknowledge (Prometheus: inactive)
  kPending,     // the condition holds, the on-delay runs
  kUnacked,     // in alarm, unacknowledged (firing)
  kAcked,       // in alarm, acknowledged (firing)
  kRtnUnacked,  // returned to normal, the alarm was never acknowledged
  kLatched,     // latched alarm after its return to normal, awaiting acknowledgement
};
std::string_view AlarmStateName(AlarmState state);  // "normal", "pending", "unacked", ...
bool InAlarm(AlarmState state);                     // kUnacked, kAcked, kLatched

// The condition layer's phase (stored in snapshots).
enum class ConditionPhase : std::uint8_t { kInactive, kPending, kFiring };

enum class TransitionCause : std::uint8_t {
  kValue,  // a point moved the alarm
  kTimer,  // on-delay or off-delay elapsed
  kAcknowledge,
  kShelve,
  kUnshelve,         // by an operator
  kShelveExpired,    // timed shelve reached its expiry
  kOneShotUnshelve,  // one-shot shelve ended at the alarm's resolve
  kSuppress,
  kUnsuppress,
  kOutOfService,
  kReturnToService,
  kNoData,
  kDataResumed,
  kChatterStart,
  kChatterEnd,
  kSpecUpdate,  // UpdateSpec() re-evaluated the last value
};
std::string_view TransitionCauseName(TransitionCause cause);  // "value", "timer", ...

struct Transition {
  TransitionCause cause = TransitionCause::kValue;
  AlarmState from_state = AlarmState::kNormal;
  AlarmState to_state = AlarmState::kNormal;
  // 0: normal; k: spec.condition.levels[k - 1]. In alarm: the alarm's severity; pending:
  // the condition severity; otherwise 0.
  int from_severity = 0;
  int severity = 0;
  double value = 0;       // the last evaluated value; NaN before the first point
  double threshold = 0;   // trip value of `severity`, or reset value of `from_severity`
                          // when severity is 0; NaN when both are 0
  Timestamp at = 0;       // the `now` of the call
  bool announce = false;  // notify receivers (firing when InAlarm(to_state) and
                          // severity > 0, else resolved)
  std::string actor;      // operator for operator actions; empty otherwise
  std::string note;       // shelve reason; empty otherwise
};
using Transitions = std::vector<Transition>;

enum class ShelveKind : std::uint8_t { kNone, kTimed, kOneShot };

struct ShelveState {
  ShelveKind kind = ShelveKind::kNone;
  Timestamp until = 0;  // kTimed only
  std::string user;
  std::string reason;

  friend bool operator==(const ShelveState&, const ShelveState&) = default;
};

// Everything an instance needs to continue after a restart. All times are absolute, so
// timers resume from their original start and shelves expire on time.
struct AlarmSnapshot {
  ConditionPhase phase = ConditionPhase::kInactive;
  LevelMask tripped = 0;                           // condition layer, with deadband memory
  int alarm_severity = 0;                          // severity while in alarm (firing or latched)
  bool acked = false;                              // meaningful while firing
  AlarmState after_resolve = AlarmState::kNormal;  // kNormal, kRtnUnacked or kLatched
  int announced_severity = 0;            // what receivers were last told is firing (0: nothing)
  std::optional<Timestamp> hold_since;   // pending: when the condition began to hold
  std::optional<Timestamp> clear_since;  // firing: when the off-delay began
  std::optional<double> last_value;
  Timestamp last_event_time = 0;
  std::optional<Timestamp> last_point_at;  // processing time of the last point
  bool stale = false;
  bool stale_announced = false;
  ShelveState shelve;
  bool suppressed = false;
  bool out_of_service = false;
  std::string out_of_service_by;
  std::vector<Timestamp> chatter_edges;  // the most recent edges, oldest first
  bool chattering = false;

  friend bool operator==(const AlarmSnapshot&, const AlarmSnapshot&) = default;
};

class AlarmInstance {
 public:
  // REQUIRES: ValidateAlarmSpec(spec).ok().
  explicit AlarmInstance(AlarmSpec spec);

  // Continues from `snapshot`. kInvalidArgument when the spec is invalid or the snapshot
  // is inconsistent with it or with itself (e.g. a severity past the spec's levels).
  // After a restart with a changed rule: Restore with the old spec, then UpdateSpec().
  [[nodiscard]] static StatusOr<AlarmInstance> Restore(AlarmSpec spec,
                                                       const AlarmSnapshot& snapshot);

  // A point: `event_time` from the message, `now` the processing time. Counts as data
  // for no-data; a point older (event time) than the last evaluated one is not evaluated,
  // as is a NaN value. No allocation unless a transition is appended to `out`.
  void OnValue(double value, Timestamp event_time, Timestamp now, Transitions& out);

  // Runs the timers due at `now`. No allocation unless a transition is appended.
  void OnTick(Timestamp now, Transitions& out);

  // kInvalidArgument when nothing awaits acknowledgement.
  [[nodiscard]] Status Acknowledge(std::string_view user, Timestamp now, Transitions& out);

  // kind kTimed: until the absolute time `until` (> now); kOneShot: `until` is ignored.
  // kInvalidArgument for kNone or a past expiry. Replaces an existing shelve.
  [[nodiscard]] Status Shelve(std::string_view user, std::string_view reason, ShelveKind kind,
                              Timestamp until, Timestamp now, Transitions& out);
  // kInvalidArgument when not shelved.
  [[nodiscard]] Status Unshelve(std::string_view user, Timestamp now, Transitions& out);

  // Setting the current value again appends nothing.
  void SetSuppressed(bool suppressed, Timestamp now, Transitions& out);
  void SetOutOfService(bool out_of_service, std::string_view user, Timestamp now, Transitions& out);

  // Replaces the spec, keeping the instance's state, and re-evaluates the last value
  // under it: an alarm firing at the same severity stays as it is (no transition, no
  // announcement); a different outcome transitions as a point would (kSpecUpdate). Level
  // i tripped under the old condition stays tripped while the value is past the new
  // level i's reset value. Running timers keep their start (timers due at `now` under the
  // old spec run first). An alarm in its off-delay or LATCHED at a severity the new
  // condition no longer has drops to the highest one it has. A change of `latched` takes
  // effect at the next resolve. kInvalidArgument for an invalid spec (nothing changes).
  [[nodiscard]] Status UpdateSpec(AlarmSpec spec, Timestamp now, Transitions& out);

  AlarmSnapshot snapshot() const;

  const AlarmSpec& spec() const { return spec_; }
  AlarmState state() const;
  int severity() const;  // as Transition::severity for state()
  bool masked() const;
  bool stale() const { return stale_; }
  bool chattering() const { return chattering_; }
  const ShelveState& shelve() const { return shelve_; }

 private:
  struct Mark {
    AlarmState state;
    int severity;
  };
  struct Extras {
    std::string_view actor = {};
    std::string_view note = {};
    bool always = false;      // record even when the lifecycle did not change
    bool reannounce = false;  // announce an in-alarm state even if already announced
  };

  int ConditionSeverity() const { return HighestSeverity(tripped_); }
  Mark MarkNow() const { return Mark{state(), severity()}; }
  // Appends a transition from `before` to the current state; announce left false.
  Transition& Append(TransitionCause cause, Mark before, Timestamp now, Transitions& out,
                     std::string_view actor, std::string_view note) const;
  // Appends a lifecycle transition if the state or severity changed (or extras.always)
  // and decides whether it is announced.
  void Emit(TransitionCause cause, Mark before, Timestamp now, Transitions& out,
            const Extras& extras);
  void EmitNoData(bool stale, Timestamp now, Transitions& out);

  void RunTimers(Timestamp now, Transitions& out);
  // Moves the condition layer after tripped_ changed; `before`: the mark before it did.
  void Evaluate(TransitionCause cause, Mark before, Timestamp now, Transitions& out);
  void Fire(TransitionCause cause, Timestamp now, Transitions& out);
  void Resolve(TransitionCause cause, Timestamp now, Transitions& out);
  void RecordEdge(Timestamp now, Transitions& out);
  bool ChatterHolds(Timestamp now) const;
  void SetChattering(bool chattering, Timestamp now, Transitions& out);
  // Applies a change to the masks, then the return-from-masking rules if it unmasked.
  template <class Change>
  void ChangeMask(TransitionCause cause, std::string_view actor, std::string_view note,
                  Timestamp now, Transitions& out, Change change);

  AlarmSpec spec_;

  // Condition layer.
  ConditionPhase phase_ = ConditionPhase::kInactive;
  LevelMask tripped_ = 0;
  std::optional<Timestamp> hold_since_;
  std::optional<Timestamp> clear_since_;
  std::optional<double> last_value_;
  Timestamp last_event_time_ = 0;
  std::optional<Timestamp> last_point_at_;

  // Lifecycle layer.
  int alarm_severity_ = 0;
  bool acked_ = false;
  AlarmState after_resolve_ = AlarmState::kNormal;
  int announced_severity_ = 0;
  bool stale_ = false;
  bool stale_announced_ = false;

  // Masks.
  ShelveState shelve_;
  bool suppressed_ = false;
  bool out_of_service_ = false;
  std::string out_of_service_by_;

  // Chatter: the most recent edges, oldest first; chatter_count_ <= spec's transitions.
  std::array<Timestamp, kMaxChatterTransitions> chatter_edges_{};
  std::size_t chatter_count_ = 0;
  bool chattering_ = false;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_ALARM_STATE_H_
