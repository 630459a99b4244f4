#include "rules/alarm_state.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace tidewatch::rules {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// now - since without overflow for any pair of times (a snapshot may hold anything); 0
// when `now` is before `since` (processing time stepped back).
std::uint64_t Elapsed(Timestamp now, Timestamp since) {
  return now < since ? 0 : static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(since);
}

// Whether `delay` (>= 0) has passed since `since`; never when `now` is before it.
bool Due(Timestamp now, Timestamp since, Duration delay) {
  return now >= since && Elapsed(now, since) >= static_cast<std::uint64_t>(delay);
}

Status Corrupt(std::string_view what) {
  return Invalid("alarm snapshot does not fit its spec: " + std::string(what));
}

}  // namespace

std::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kNormal:
      return "normal";
    case AlarmState::kPending:
      return "pending";
    case AlarmState::kUnacked:
      return "unacked";
    case AlarmState::kAcked:
      return "acked";
    case AlarmState::kRtnUnacked:
      return "rtn_unacked";
    case AlarmState::kLatched:
      return "latched";
  }
  return "?";
}

bool InAlarm(AlarmState state) {
  return state == AlarmState::kUnacked || state == AlarmState::kAcked ||
         state == AlarmState::kLatched;
}

std::string_view TransitionCauseName(TransitionCause cause) {
  switch (cause) {
    case TransitionCause::kValue:
      return "value";
    case TransitionCause::kTimer:
      return "timer";
    case TransitionCause::kAcknowledge:
      return "ack";
    case TransitionCause::kShelve:
      return "shelve";
    case TransitionCause::kUnshelve:
      return "unshelve";
    case TransitionCause::kShelveExpired:
      return "shelve_expired";
    case TransitionCause::kOneShotUnshelve:
      return "one_shot_unshelve";
    case TransitionCause::kSuppress:
      return "suppress";
    case TransitionCause::kUnsuppress:
      return "unsuppress";
    case TransitionCause::kOutOfService:
      return "out_of_service";
    case TransitionCause::kReturnToService:
      return "return_to_service";
    case TransitionCause::kNoData:
      return "no_data";
    case TransitionCause::kDataResumed:
      return "data_resumed";
    case TransitionCause::kChatterStart:
      return "chatter_start";
    case TransitionCause::kChatterEnd:
      return "chatter_end";
    case TransitionCause::kSpecUpdate:
      return "spec_update";
  }
  return "?";
}

Status ValidateAlarmSpec(const AlarmSpec& spec) {
  Status status = ValidateCondition(spec.condition);
  if (!status.ok()) return status;
  if (spec.on_delay < 0 || spec.off_delay < 0 || spec.no_data_after < 0) {
    return Invalid("for, keep_firing_for and no_data_after must not be negative");
  }
  const ChatterSpec& chatter = spec.chatter;
  if (chatter.transitions < 0 ||
      static_cast<std::size_t>(chatter.transitions) > kMaxChatterTransitions) {
    return Invalid("chatter transitions must be 0 to " + std::to_string(kMaxChatterTransitions));
  }
  if (chatter.transitions > 0 && chatter.window <= 0) {
    return Invalid("chatter window must be positive");
  }
  return Status::Ok();
}

AlarmInstance::AlarmInstance(AlarmSpec spec) : spec_(std::move(spec)) {}

AlarmState AlarmInstance::state() const {
  if (phase_ == ConditionPhase::kFiring) return acked_ ? AlarmState::kAcked : AlarmState::kUnacked;
  if (after_resolve_ != AlarmState::kNormal) return after_resolve_;
  return phase_ == ConditionPhase::kPending ? AlarmState::kPending : AlarmState::kNormal;
}

int AlarmInstance::severity() const {
  const AlarmState current = state();
  if (InAlarm(current)) return alarm_severity_;
  return current == AlarmState::kPending ? ConditionSeverity() : 0;
}

bool AlarmInstance::masked() const {
  return shelve_.kind != ShelveKind::kNone || suppressed_ || out_of_service_ ||
         (chattering_ && spec_.chatter.suppress);
}

Transition& AlarmInstance::Append(TransitionCause cause, Mark before, Timestamp now,
                                  Transitions& out, std::string_view actor,
                                  std::string_view note) const {
  const Mark after = MarkNow();
  Transition& t = out.emplace_back();
  t.cause = cause;
  t.from_state = before.state;
  t.to_state = after.state;
  t.from_severity = before.severity;
  t.severity = after.severity;
  t.value = last_value_.value_or(kNaN);
  // from_severity may name a level that UpdateSpec() just removed.
  const int levels = static_cast<int>(spec_.condition.levels.size());
  if (after.severity > 0) {
    t.threshold = ReportedThreshold(spec_.condition, after.severity, t.value, true);
  } else if (before.severity > 0 && before.severity <= levels) {
    t.threshold = ReportedThreshold(spec_.condition, before.severity, t.value, false);
  } else {
    t.threshold = kNaN;
  }
  t.at = now;
  t.actor = actor;
  t.note = note;
  return t;
}

void AlarmInstance::Emit(TransitionCause cause, Mark before, Timestamp now, Transitions& out,
                         const Extras& extras) {
  const Mark after = MarkNow();
  if (!extras.always && after.state == before.state && after.severity == before.severity) {
    return;
  }
  const int visible = InAlarm(after.state) ? after.severity : 0;
  bool announce = false;
  if (visible == 0) {
    announce = announced_severity_ != 0;  // a resolve owed is sent even while masked
    announced_severity_ = 0;
  } else if (!masked() && (visible != announced_severity_ || extras.reannounce)) {
    announce = true;
    announced_severity_ = visible;
  }
  Append(cause, before, now, out, extras.actor, extras.note).announce = announce;
}

void AlarmInstance::EmitNoData(bool stale, Timestamp now, Transitions& out) {
  const bool announce = stale ? !masked() : stale_announced_;
  stale_announced_ = stale && announce;
  const Mark mark = MarkNow();
  Append(stale ? TransitionCause::kNoData : TransitionCause::kDataResumed, mark, now, out, {}, {})
      .announce = announce;
}

void AlarmInstance::RunTimers(Timestamp now, Transitions& out) {
  if (shelve_.kind == ShelveKind::kTimed && now >= shelve_.until) {
    ChangeMask(TransitionCause::kShelveExpired, {}, {}, now, out, [&] { shelve_ = {}; });
  }
  if (chattering_ && !ChatterHolds(now)) SetChattering(false, now, out);
  if (spec_.no_data_after > 0 && !stale_ && last_point_at_ &&
      Due(now, *last_point_at_, spec_.no_data_after)) {
    stale_ = true;
    EmitNoData(true, now, out);
  }
  if (phase_ == ConditionPhase::kPending && Due(now, *hold_since_, spec_.on_delay)) {
    Fire(TransitionCause::kTimer, now, out);
  }
  if (phase_ == ConditionPhase::kFiring && clear_since_ &&
      Due(now, *clear_since_, spec_.off_delay)) {
    Resolve(TransitionCause::kTimer, now, out);
  }
}

void AlarmInstance::Evaluate(TransitionCause cause, Mark before, Timestamp now, Transitions& out) {
  const int condition = ConditionSeverity();
  switch (phase_) {
    case ConditionPhase::kInactive:
      if (condition == 0) return;
      if (spec_.on_delay == 0) return Fire(cause, now, out);
      phase_ = ConditionPhase::kPending;
      hold_since_ = now;
      return Emit(cause, before, now, out, {});
    case ConditionPhase::kPending:
      if (condition == 0) {
        phase_ = ConditionPhase::kInactive;
        hold_since_.reset();
      }
      return Emit(cause, before, now, out, {});  // also a severity change while pending
    case ConditionPhase::kFiring:
      if (condition == 0) {
        if (!clear_since_) clear_since_ = now;
        if (Due(now, *clear_since_, spec_.off_delay)) Resolve(cause, now, out);
        return;
      }
      clear_since_.reset();
      if (condition > alarm_severity_) acked_ = false;  // escalation re-alarms
      alarm_severity_ = condition;
      return Emit(cause, before, now, out, {});
  }
}

void AlarmInstance::Fire(TransitionCause cause, Timestamp now, Transitions& out) {
  const Mark before = MarkNow();
  phase_ = ConditionPhase::kFiring;
  alarm_severity_ = ConditionSeverity();
  acked_ = false;
  after_resolve_ = AlarmState::kNormal;
  hold_since_.reset();
  clear_since_.reset();
  Emit(cause, before, now, out, {});
  RecordEdge(now, out);
}

void AlarmInstance::Resolve(TransitionCause cause, Timestamp now, Transitions& out) {
  const Mark before = MarkNow();
  phase_ = ConditionPhase::kInactive;
  clear_since_.reset();
  if (spec_.latched) {
    after_resolve_ = AlarmState::kLatched;
  } else {
    after_resolve_ = acked_ ? AlarmState::kNormal : AlarmState::kRtnUnacked;
  }
  acked_ = false;
  Emit(cause, before, now, out, {});
  RecordEdge(now, out);
  if (shelve_.kind == ShelveKind::kOneShot) {
    ChangeMask(TransitionCause::kOneShotUnshelve, {}, {}, now, out, [&] { shelve_ = {}; });
  }
}

void AlarmInstance::RecordEdge(Timestamp now, Transitions& out) {
  const auto capacity = static_cast<std::size_t>(spec_.chatter.transitions);
  if (capacity == 0) return;
  if (chatter_count_ == capacity) {
    std::copy(chatter_edges_.begin() + 1,
              chatter_edges_.begin() + static_cast<std::ptrdiff_t>(capacity),
              chatter_edges_.begin());
    --chatter_count_;
  }
  chatter_edges_[chatter_count_++] = now;
  if (!chattering_ && ChatterHolds(now)) SetChattering(true, now, out);
}

bool AlarmInstance::ChatterHolds(Timestamp now) const {
  const auto needed = static_cast<std::size_t>(spec_.chatter.transitions);
  return needed > 0 && chatter_count_ >= needed &&
         Elapsed(now, chatter_edges_[chatter_count_ - needed]) <=
             static_cast<std::uint64_t>(spec_.chatter.window);
}

void AlarmInstance::SetChattering(bool chattering, Timestamp now, Transitions& out) {
  ChangeMask(chattering ? TransitionCause::kChatterStart : TransitionCause::kChatterEnd, {}, {},
             now, out, [&] { chattering_ = chattering; });
}

template <class Change>
void AlarmInstance::ChangeMask(TransitionCause cause, std::string_view actor, std::string_view note,
                               Timestamp now, Transitions& out, Change change) {
  const Mark before = MarkNow();
  const bool was_masked = masked();
  change();
  const bool unmasked = was_masked && !masked();
  bool reannounce = false;
  if (unmasked) {  // return from masking: reflect the current value
    if (phase_ == ConditionPhase::kFiring) {
      acked_ = false;
      reannounce = true;
    } else {
      after_resolve_ = AlarmState::kNormal;
    }
  }
  Emit(cause, before, now, out,
       {.actor = actor, .note = note, .always = true, .reannounce = reannounce});
  if (unmasked && stale_ && !stale_announced_) EmitNoData(true, now, out);
}

void AlarmInstance::OnValue(double value, Timestamp event_time, Timestamp now, Transitions& out) {
  RunTimers(now, out);
  if (!last_point_at_ || now > *last_point_at_) last_point_at_ = now;
  if (stale_) {
    stale_ = false;
    EmitNoData(false, now, out);
  }
  if (std::isnan(value) || (last_value_ && event_time < last_event_time_)) return;
  const Mark before = MarkNow();
  last_value_ = value;
  last_event_time_ = event_time;
  tripped_ = UpdateTripped(spec_.condition, tripped_, value);
  Evaluate(TransitionCause::kValue, before, now, out);
}

void AlarmInstance::OnTick(Timestamp now, Transitions& out) { RunTimers(now, out); }

Status AlarmInstance::Acknowledge(std::string_view user, Timestamp now, Transitions& out) {
  RunTimers(now, out);
  const Mark before = MarkNow();
  if (phase_ == ConditionPhase::kFiring && !acked_) {
    acked_ = true;
  } else if (phase_ != ConditionPhase::kFiring && after_resolve_ != AlarmState::kNormal) {
    after_resolve_ = AlarmState::kNormal;
  } else {
    return Invalid("nothing to acknowledge: the alarm is " +
                   std::string(AlarmStateName(before.state)));
  }
  Emit(TransitionCause::kAcknowledge, before, now, out, {.actor = user});
  return Status::Ok();
}

Status AlarmInstance::Shelve(std::string_view user, std::string_view reason, ShelveKind kind,
                             Timestamp until, Timestamp now, Transitions& out) {
  if (kind == ShelveKind::kNone) return Invalid("a shelve is timed or one-shot");
  if (kind == ShelveKind::kTimed && until <= now) {
    return Invalid("a timed shelve must expire after now");
  }
  RunTimers(now, out);
  ChangeMask(TransitionCause::kShelve, user, reason, now, out, [&] {
    shelve_ = ShelveState{kind, kind == ShelveKind::kTimed ? until : 0, std::string(user),
                          std::string(reason)};
  });
  return Status::Ok();
}

Status AlarmInstance::Unshelve(std::string_view user, Timestamp now, Transitions& out) {
  RunTimers(now, out);
  if (shelve_.kind == ShelveKind::kNone) return Invalid("the alarm is not shelved");
  ChangeMask(TransitionCause::kUnshelve, user, {}, now, out, [&] { shelve_ = {}; });
  return Status::Ok();
}

void AlarmInstance::SetSuppressed(bool suppressed, Timestamp now, Transitions& out) {
  RunTimers(now, out);
  if (suppressed == suppressed_) return;
  ChangeMask(suppressed ? TransitionCause::kSuppress : TransitionCause::kUnsuppress, {}, {}, now,
             out, [&] { suppressed_ = suppressed; });
}

void AlarmInstance::SetOutOfService(bool out_of_service, std::string_view user, Timestamp now,
                                    Transitions& out) {
  RunTimers(now, out);
  if (out_of_service == out_of_service_) return;
  ChangeMask(out_of_service ? TransitionCause::kOutOfService : TransitionCause::kReturnToService,
             user, {}, now, out, [&] {
               out_of_service_ = out_of_service;
               out_of_service_by_ = out_of_service ? std::string(user) : std::string();
             });
}

Status AlarmInstance::UpdateSpec(AlarmSpec spec, Timestamp now, Transitions& out) {
  Status status = ValidateAlarmSpec(spec);
  if (!status.ok()) return status;
  RunTimers(now, out);  // time up to now passed under the old spec
  const Mark before = MarkNow();
  const bool condition_changed = !(spec.condition == spec_.condition);
  spec_ = std::move(spec);
  if (condition_changed) {
    tripped_ = last_value_ ? UpdateTripped(spec_.condition, tripped_, *last_value_) : 0;
  }
  const auto capacity = static_cast<std::size_t>(spec_.chatter.transitions);
  if (chatter_count_ > capacity) {
    std::copy(chatter_edges_.begin() + static_cast<std::ptrdiff_t>(chatter_count_ - capacity),
              chatter_edges_.begin() + static_cast<std::ptrdiff_t>(chatter_count_),
              chatter_edges_.begin());
    chatter_count_ = capacity;
  }
  Evaluate(TransitionCause::kSpecUpdate, before, now, out);
  // An alarm in its off-delay or latched keeps its severity; clamp it to the new levels.
  const Mark unclamped = MarkNow();
  alarm_severity_ = std::min(alarm_severity_, static_cast<int>(spec_.condition.levels.size()));
  Emit(TransitionCause::kSpecUpdate, unclamped, now, out, {});
  RunTimers(now, out);  // delays may be due under the new spec
  return Status::Ok();
}

AlarmSnapshot AlarmInstance::snapshot() const {
  AlarmSnapshot s;
  s.phase = phase_;
  s.tripped = tripped_;
  s.alarm_severity = alarm_severity_;
  s.acked = acked_;
  s.after_resolve = after_resolve_;
  s.announced_severity = announced_severity_;
  s.hold_since = hold_since_;
  s.clear_since = clear_since_;
  s.last_value = last_value_;
  s.last_event_time = last_event_time_;
  s.last_point_at = last_point_at_;
  s.stale = stale_;
  s.stale_announced = stale_announced_;
  s.shelve = shelve_;
  s.suppressed = suppressed_;
  s.out_of_service = out_of_service_;
  s.out_of_service_by = out_of_service_by_;
  s.chatter_edges.assign(chatter_edges_.begin(),
                         chatter_edges_.begin() + static_cast<std::ptrdiff_t>(chatter_count_));
  s.chattering = chattering_;
  return s;
}

StatusOr<AlarmInstance> AlarmInstance::Restore(AlarmSpec spec, const AlarmSnapshot& s) {
  Status status = ValidateAlarmSpec(spec);
  if (!status.ok()) return status;
  const int levels = static_cast<int>(spec.condition.levels.size());
  if ((s.tripped >> levels) != 0) return Corrupt("a tripped level past the spec's levels");
  if (s.alarm_severity < 0 || s.alarm_severity > levels || s.announced_severity < 0 ||
      s.announced_severity > static_cast<int>(kMaxSeverityLevels)) {
    return Corrupt("severity out of range");
  }
  const bool firing = s.phase == ConditionPhase::kFiring;
  if (firing && s.alarm_severity == 0) return Corrupt("firing without a severity");
  if ((s.phase == ConditionPhase::kPending) != s.hold_since.has_value()) {
    return Corrupt("pending needs its start time, and only pending has one");
  }
  if (s.clear_since && !firing) return Corrupt("an off-delay outside firing");
  if (s.after_resolve != AlarmState::kNormal && s.after_resolve != AlarmState::kRtnUnacked &&
      s.after_resolve != AlarmState::kLatched) {
    return Corrupt("after_resolve must be normal, rtn_unacked or latched");
  }
  if (firing && s.after_resolve != AlarmState::kNormal) {
    return Corrupt("a firing alarm has no resolve pending");
  }
  if (s.after_resolve == AlarmState::kLatched && s.alarm_severity == 0) {
    return Corrupt("latched without a severity");
  }
  if (s.phase != ConditionPhase::kInactive && s.phase != ConditionPhase::kPending && !firing) {
    return Corrupt("unknown phase");
  }
  if (s.last_value && std::isnan(*s.last_value)) {
    return Corrupt("NaN last value");
  }
  if (s.stale && !s.last_point_at) return Corrupt("stale without a last point");
  if (s.chatter_edges.size() > static_cast<std::size_t>(spec.chatter.transitions) ||
      !std::is_sorted(s.chatter_edges.begin(), s.chatter_edges.end())) {
    return Corrupt("chatter edges: too many or out of order");
  }
  if (s.shelve.kind != ShelveKind::kNone && s.shelve.kind != ShelveKind::kTimed &&
      s.shelve.kind != ShelveKind::kOneShot) {
    return Corrupt("unknown shelve kind");
  }
  AlarmInstance instance(std::move(spec));
  instance.phase_ = s.phase;
  instance.tripped_ = s.tripped;
  instance.alarm_severity_ = s.alarm_severity;
  instance.acked_ = s.acked;
  instance.after_resolve_ = s.after_resolve;
  instance.announced_severity_ = s.announced_severity;
  instance.hold_since_ = s.hold_since;
  instance.clear_since_ = s.clear_since;
  instance.last_value_ = s.last_value;
  instance.last_event_time_ = s.last_event_time;
  instance.last_point_at_ = s.last_point_at;
  instance.stale_ = s.stale;
  instance.stale_announced_ = s.stale_announced;
  instance.shelve_ = s.shelve;
  instance.suppressed_ = s.suppressed;
  instance.out_of_service_ = s.out_of_service;
  instance.out_of_service_by_ = s.out_of_service_by;
  std::copy(s.chatter_edges.begin(), s.chatter_edges.end(), instance.chatter_edges_.begin());
  instance.chatter_count_ = s.chatter_edges.size();
  instance.chattering_ = s.chattering;
  return instance;
}

}  // namespace tidewatch::rules
