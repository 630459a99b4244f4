#include "rules/alert_rule.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>
#include <variant>

#include "rules/alert_template.h"
#include "rules/internal/alert_instance.h"
#include "rules/notification.h"

namespace tidewatch::rules {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

Status Prefixed(std::string_view prefix, const Status& status) {
  return Status(status.code(), std::string(prefix) + status.message());
}

Status CheckTemplates(std::string_view what, const std::map<std::string, std::string>& texts) {
  for (const auto& [name, text] : texts) {
    if (Status status = CheckTemplate(text); !status.ok()) {
      return Prefixed(std::string(what) + "." + name + ": ", status);
    }
  }
  return Status::Ok();
}

bool SeriesMatches(const store::SeriesInfo& series, std::string_view db, const RuleQuery& query) {
  return series.db == db && series.measurement == query.measurement &&
         series.field == query.field && TagsMatch(query.where, series.tags);
}

// A cell of a window query's result as a number; nullopt for null (an empty bucket).
std::optional<double> NumberOf(const Value& cell) {
  if (const auto* d = std::get_if<double>(&cell)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return static_cast<double>(*i);
  if (const auto* b = std::get_if<bool>(&cell)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

std::optional<Timestamp> TimeOf(const Value& cell) {
  if (const auto* t = std::get_if<TimeValue>(&cell)) return t->ns;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return *i;
  return std::nullopt;
}

// "value normal/0 -> unacked/2" and the operator's note, for the audit log.
std::string Details(const Transition& t) {
  std::string details = std::string(NotificationCauseName(t.cause)) + " " +
                        std::string(AlarmStateName(t.from_state)) + "/" +
                        std::to_string(t.from_severity) + " -> " +
                        std::string(AlarmStateName(t.to_state)) + "/" + std::to_string(t.severity);
  if (!t.note.empty()) details += ": " + t.note;
  return details;
}

}  // namespace

StatusOr<std::unique_ptr<AlertRule>> AlertRule::Create(std::int64_t rule_id,
                                                       RuleDefinition definition,
                                                       std::string external_url) {
  StatusOr<RuleQuery> query = CompileRuleQuery(definition.query, /*allow_aggregate=*/true);
  if (!query.ok()) return Prefixed("query: ", query.status());
  std::optional<RuleQuery> suppression;
  if (definition.suppress_when) {
    StatusOr<RuleQuery> compiled =
        CompileRuleQuery(definition.suppress_when->query, /*allow_aggregate=*/false);
    if (!compiled.ok()) return Prefixed("suppress_when.query: ", compiled.status());
    suppression = std::move(*compiled);
  }
  if (Status status = ValidateAlarmSpec(definition.alarm); !status.ok()) return status;
  if (Status status = CheckTemplates("labels", definition.labels); !status.ok()) return status;
  if (Status status = CheckTemplates("annotations", definition.annotations); !status.ok()) {
    return status;
  }
  return std::unique_ptr<AlertRule>(new AlertRule(rule_id, std::move(definition), std::move(*query),
                                                  std::move(suppression), std::move(external_url)));
}

AlertRule::AlertRule(std::int64_t id, RuleDefinition definition, RuleQuery query,
                     std::optional<RuleQuery> suppression, std::string external_url)
    : id_(id),
      definition_(std::move(definition)),
      query_(std::move(query)),
      suppression_(std::move(suppression)),
      external_url_(std::move(external_url)) {}

AlertRule::~AlertRule() = default;

AlertRule::SeriesRole AlertRule::Match(const store::SeriesInfo& series) const {
  if (SeriesMatches(series, definition_.db, query_)) return SeriesRole::kData;
  if (suppression_ && SeriesMatches(series, definition_.db, *suppression_)) {
    return SeriesRole::kSuppression;
  }
  return SeriesRole::kNone;
}

std::string_view AlertRule::SeverityName(int severity) const {
  const auto& levels = definition_.alarm.condition.levels;
  if (severity < 1 || static_cast<std::size_t>(severity) > levels.size()) return {};
  return levels[static_cast<std::size_t>(severity - 1)].name;
}

void AlertRule::SetTemplateLabels(AlertInstance& instance) const {
  instance.template_labels.clear();
  for (const store::Tag& tag : instance.tags) instance.template_labels[tag.key] = tag.value;
  for (const auto& [name, text] : definition_.labels) {
    if (text.find("{{") == std::string::npos) instance.template_labels[name] = text;
  }
}

AlertInstance* AlertRule::Find(std::string_view key) const {
  const auto it = instances_.find(std::string(key));
  return it == instances_.end() ? nullptr : it->second.get();
}

AlertInstance* AlertRule::FindOrCreate(std::string key, std::vector<store::Tag> tags,
                                       std::size_t max_instances) {
  if (const auto it = instances_.find(key); it != instances_.end()) return it->second.get();
  if (instances_.size() >= max_instances) {
    ++counts_.instances_refused;
    return nullptr;
  }
  // A new instance starts with the rule's current suppression, without a transition.
  AlarmSnapshot initial;
  initial.suppressed = suppressed_;
  StatusOr<AlarmInstance> alarm = AlarmInstance::Restore(definition_.alarm, initial);
  assert(alarm.ok());
  auto instance = std::make_unique<AlertInstance>(key, std::move(tags), std::move(*alarm));
  SetTemplateLabels(*instance);
  AlertInstance* raw = instance.get();
  instances_.emplace(std::move(key), std::move(instance));
  return raw;
}

AlertInstance* AlertRule::InstanceFor(const store::SeriesInfo& series, std::size_t max_instances) {
  return FindOrCreate(internal::InstanceKey(series.tags), series.tags, max_instances);
}

void AlertRule::Collect(AlertInstance& instance, AlertEvents& out) {
  if (scratch_.empty()) return;
  const std::size_t first = out.size();
  InstanceHistory& h = instance.history;
  for (Transition& t : scratch_) {
    h.last_change = t.at;
    if (!InAlarm(t.to_state)) {
      h.active_since.reset();
    } else if (!InAlarm(t.from_state) || !h.active_since) {
      h.active_since = t.at;
    }
    if (t.cause == TransitionCause::kNoData && !h.stale_since) h.stale_since = t.at;
    AlertEvent& event = out.emplace_back();
    if (t.announce) {
      const NotificationKind kind = KindOf(t);
      const bool firing = Firing(t);
      NotificationContext context;
      if (kind == NotificationKind::kNoData) {
        context.severity = t.severity;
        context.starts_at = h.stale_since.value_or(t.at);
      } else if (firing) {
        if (h.notified_severity == 0) {
          h.notified_since = h.active_since.value_or(t.at);
          ++counts_.announced_alarms;
        }
        h.notified_severity = t.severity;
        context.severity = t.severity;
        context.starts_at = h.notified_since;
      } else {
        context.severity = h.notified_severity;
        context.starts_at = h.notified_since;
        h.notified_severity = 0;
      }
      context.severity_name = SeverityName(context.severity);
      const TemplateData data{&instance.template_labels, t.value, t.threshold,
                              context.severity_name, definition_.name};
      std::map<std::string, std::string> labels;
      for (const store::Tag& tag : instance.tags) labels[tag.key] = tag.value;
      for (const auto& [name, text] : definition_.labels) {
        labels[name] = ExpandTemplate(text, data);
      }
      // A no-data alert keeps one label set from its start to its end: no severity.
      AddAlertLabels(definition_.name,
                     kind == NotificationKind::kNoData ? std::string_view() : context.severity_name,
                     kind, labels);
      std::map<std::string, std::string> annotations;
      for (const auto& [name, text] : definition_.annotations) {
        annotations[name] = ExpandTemplate(text, data);
      }
      ++h.sequence;
      context.rule = definition_.name;
      context.rule_id = id_;
      context.db = definition_.db;
      context.instance_key = instance.key;
      context.labels = &labels;
      context.annotations = &annotations;
      context.event_time = instance.alarm.snapshot().last_event_time;
      context.sequence = h.sequence;
      context.external_url = external_url_;
      event.notification = NotificationJson(context, t);
      event.idempotency_key = IdempotencyKey(id_, instance.key, h.sequence);
    }
    if (t.cause == TransitionCause::kDataResumed) h.stale_since.reset();
    event.transition = std::move(t);
  }
  scratch_.clear();
  // Every event carries the instance's row after the call (what a restart restores),
  // with the state of its own transition for the audit log.
  const AlertInstanceRecord record = internal::MakeInstanceRecord(id_, instance);
  for (std::size_t i = first; i < out.size(); ++i) {
    AlertEvent& event = out[i];
    const Transition& t = event.transition;
    TransitionRecord& r = event.record;
    r.time = t.at;
    r.instance = record;
    r.instance.state = internal::PrometheusState(t.to_state);
    r.instance.ack_state = internal::AckState(t.to_state);
    r.instance.severity = t.severity;
    r.instance.last_change = t.at;
    r.from_state = internal::PrometheusState(t.from_state);
    r.actor = t.actor.empty() ? "engine" : t.actor;
    r.details = Details(t);
  }
}

void AlertRule::OnValue(AlertInstance& instance, double value, Timestamp event_time, Timestamp now,
                        AlertEvents& out) {
  instance.alarm.OnValue(value, event_time, now, scratch_);
  Collect(instance, out);
}

bool AlertRule::SuppressionHolds(double value) const {
  if (std::isnan(value)) return false;
  const double target = definition_.suppress_when->value;
  switch (definition_.suppress_when->comparison) {
    case Comparison::kGreater:
      return value > target;
    case Comparison::kGreaterEqual:
      return value >= target;
    case Comparison::kLess:
      return value < target;
    case Comparison::kLessEqual:
      return value <= target;
    case Comparison::kEqual:
      return value == target;
    case Comparison::kNotEqual:
      return value != target;
    case Comparison::kOutsideRange:
      break;  // refused by ParseRuleJson for suppress_when
  }
  return false;
}

void AlertRule::OnSuppressionValue(store::SeriesId series, double value, Timestamp now,
                                   AlertEvents& out) {
  if (!suppression_) return;
  const auto [it, inserted] = suppression_values_.try_emplace(series, value);
  if (!inserted) {
    if (SuppressionHolds(it->second)) --suppression_satisfied_;
    it->second = value;
  }
  if (SuppressionHolds(value)) ++suppression_satisfied_;
  ApplySuppression(suppression_satisfied_ == suppression_values_.size(), now, out);
}

void AlertRule::ApplySuppression(bool suppressed, Timestamp now, AlertEvents& out) {
  if (suppressed == suppressed_ && suppression_applied_) return;
  suppressed_ = suppressed;
  suppression_applied_ = true;
  for (auto& [key, instance] : instances_) {
    instance->alarm.SetSuppressed(suppressed, now, scratch_);
    Collect(*instance, out);
  }
}

void AlertRule::OnWindowResult(const StatementResult& result, Timestamp now,
                               std::size_t max_instances, AlertEvents& out) {
  if (result.error) return;
  for (const ResultSeries& series : result.series) {
    const auto time_column = std::find(series.columns.begin(), series.columns.end(), "time");
    if (time_column == series.columns.end() || series.columns.size() != 2) continue;
    const auto time_index = static_cast<std::size_t>(time_column - series.columns.begin());
    const std::size_t value_index = 1 - time_index;
    // The group's tags; a GROUP BY tag a series lacks comes back empty: not a label.
    std::vector<store::Tag> tags;
    for (const auto& [key, value] : series.tags) {
      if (!value.empty()) tags.push_back({key, value});
    }
    std::sort(tags.begin(), tags.end(),
              [](const store::Tag& a, const store::Tag& b) { return a.key < b.key; });
    std::string key = internal::InstanceKey(tags);
    AlertInstance* instance = FindOrCreate(std::move(key), std::move(tags), max_instances);
    if (instance == nullptr) continue;
    for (const std::vector<Value>& row : series.values) {
      if (row.size() != series.columns.size()) continue;
      const std::optional<Timestamp> start = TimeOf(row[time_index]);
      const std::optional<double> value = NumberOf(row[value_index]);
      if (!start || !value) continue;
      instance->alarm.OnValue(*value, *start, now, scratch_);
    }
    Collect(*instance, out);
  }
}

void AlertRule::OnTick(Timestamp now, AlertEvents& out) {
  for (auto& [key, instance] : instances_) {
    instance->alarm.OnTick(now, scratch_);
    Collect(*instance, out);
  }
}

Status AlertRule::Acknowledge(std::string_view instance_key, std::string_view user, Timestamp now,
                              AlertEvents& out) {
  AlertInstance* instance = Find(instance_key);
  if (instance == nullptr) return Status(StatusCode::kNotFound, "no such alert instance");
  Status status = instance->alarm.Acknowledge(user, now, scratch_);
  Collect(*instance, out);  // timers due at `now` ran even if the acknowledgement failed
  return status;
}

Status AlertRule::Shelve(std::string_view instance_key, std::string_view user,
                         std::string_view reason, ShelveKind kind, Timestamp until, Timestamp now,
                         AlertEvents& out) {
  AlertInstance* instance = Find(instance_key);
  if (instance == nullptr) return Status(StatusCode::kNotFound, "no such alert instance");
  Status status = instance->alarm.Shelve(user, reason, kind, until, now, scratch_);
  Collect(*instance, out);
  return status;
}

Status AlertRule::Unshelve(std::string_view instance_key, std::string_view user, Timestamp now,
                           AlertEvents& out) {
  AlertInstance* instance = Find(instance_key);
  if (instance == nullptr) return Status(StatusCode::kNotFound, "no such alert instance");
  Status status = instance->alarm.Unshelve(user, now, scratch_);
  Collect(*instance, out);
  return status;
}

Status AlertRule::SetOutOfService(std::string_view instance_key, bool out_of_service,
                                  std::string_view user, Timestamp now, AlertEvents& out) {
  AlertInstance* instance = Find(instance_key);
  if (instance == nullptr) return Status(StatusCode::kNotFound, "no such alert instance");
  instance->alarm.SetOutOfService(out_of_service, user, now, scratch_);
  Collect(*instance, out);
  return Status::Ok();
}

Status AlertRule::UpdateDefinition(RuleDefinition definition, Timestamp now, AlertEvents& out) {
  if (definition.db != definition_.db || definition.query != definition_.query ||
      definition.suppress_when != definition_.suppress_when) {
    return Invalid("db, query and suppress_when cannot change in place; replace the rule");
  }
  if (Status status = ValidateAlarmSpec(definition.alarm); !status.ok()) return status;
  if (Status status = CheckTemplates("labels", definition.labels); !status.ok()) return status;
  if (Status status = CheckTemplates("annotations", definition.annotations); !status.ok()) {
    return status;
  }
  const bool spec_changed = !(definition.alarm == definition_.alarm);
  definition_ = std::move(definition);
  for (auto& [key, instance] : instances_) {
    SetTemplateLabels(*instance);
    if (!spec_changed) continue;
    const Status status = instance->alarm.UpdateSpec(definition_.alarm, now, scratch_);
    assert(status.ok());  // the spec was validated above
    status.IgnoreError();
    Collect(*instance, out);
  }
  return Status::Ok();
}

Status AlertRule::RestoreInstance(const AlertInstanceRecord& record,
                                  std::optional<Timestamp> restart_grace_from) {
  const std::string where = "alert instance \"" + record.instance_key + "\": ";
  if (record.rule_id != id_) return Invalid(where + "belongs to another rule");
  if (instances_.contains(record.instance_key)) return Invalid(where + "already exists");
  StatusOr<internal::DecodedInstance> decoded = internal::DecodeInstanceSnapshot(record.snapshot);
  if (!decoded.ok()) return Prefixed(where, decoded.status());
  if (internal::InstanceKey(decoded->tags) != record.instance_key) {
    return Invalid(where + "the snapshot's tags do not match the key");
  }
  AlarmSnapshot& snapshot = decoded->alarm;
  if (!suppression_) snapshot.suppressed = false;  // suppress_when was removed
  if (restart_grace_from && snapshot.last_point_at && !snapshot.stale &&
      *snapshot.last_point_at < *restart_grace_from) {
    snapshot.last_point_at = *restart_grace_from;
  }
  StatusOr<AlarmInstance> alarm = AlarmInstance::Restore(definition_.alarm, snapshot);
  if (!alarm.ok()) return Prefixed(where, alarm.status());
  // Until the suppression series report again, the rule stays as it was stored.
  if (snapshot.suppressed) suppressed_ = true;
  auto instance = std::make_unique<AlertInstance>(record.instance_key, std::move(decoded->tags),
                                                  std::move(*alarm));
  instance->history = decoded->history;
  SetTemplateLabels(*instance);
  instances_.emplace(record.instance_key, std::move(instance));
  return Status::Ok();
}

AlertView AlertRule::MakeView(const AlertInstance& instance) const {
  const AlarmInstance& alarm = instance.alarm;
  const AlarmSnapshot snapshot = alarm.snapshot();
  AlertView view;
  view.rule = definition_.name;
  view.rule_id = id_;
  view.instance_key = instance.key;
  view.isa_state = alarm.state();
  view.state = internal::PrometheusState(view.isa_state);
  view.severity = alarm.severity();
  view.severity_name = SeverityName(view.severity);
  view.value = snapshot.last_value;
  const double value = snapshot.last_value.value_or(kNaN);
  view.threshold = view.severity > 0
                       ? ReportedThreshold(alarm.spec().condition, view.severity, value, true)
                       : kNaN;
  view.active_since = instance.history.active_since;
  view.pending_since = snapshot.hold_since;
  view.last_change = instance.history.last_change;
  view.last_event_time = snapshot.last_event_time;
  view.shelve = alarm.shelve();
  view.suppressed = snapshot.suppressed;
  view.out_of_service = snapshot.out_of_service;
  view.stale = alarm.stale();
  view.chattering = alarm.chattering();
  const TemplateData data{&instance.template_labels, value, view.threshold, view.severity_name,
                          definition_.name};
  for (const store::Tag& tag : instance.tags) view.labels[tag.key] = tag.value;
  for (const auto& [name, text] : definition_.labels)
    view.labels[name] = ExpandTemplate(text, data);
  AddAlertLabels(definition_.name, view.severity_name, NotificationKind::kAlarm, view.labels);
  for (const auto& [name, text] : definition_.annotations) {
    view.annotations[name] = ExpandTemplate(text, data);
  }
  return view;
}

std::vector<AlertView> AlertRule::Views() const {
  std::vector<AlertView> views;
  views.reserve(instances_.size());
  for (const auto& [key, instance] : instances_) views.push_back(MakeView(*instance));
  std::sort(views.begin(), views.end(),
            [](const AlertView& a, const AlertView& b) { return a.instance_key < b.instance_key; });
  return views;
}

std::optional<AlertView> AlertRule::View(std::string_view instance_key) const {
  const AlertInstance* instance = Find(instance_key);
  if (instance == nullptr) return std::nullopt;
  return MakeView(*instance);
}

AlertRuleCounts AlertRule::counts() const {
  AlertRuleCounts counts;
  counts.announced_alarms = counts_.announced_alarms;
  counts.instances_refused = counts_.instances_refused;
  counts.instances = instances_.size();
  for (const auto& [key, instance] : instances_) {
    const AlarmInstance& alarm = instance->alarm;
    const AlarmState state = alarm.state();
    const AlarmSnapshot snapshot = alarm.snapshot();
    if (InAlarm(state)) ++counts.in_alarm;
    if (internal::AckState(state) == "unacknowledged") ++counts.unacked;
    if (alarm.shelve().kind != ShelveKind::kNone) ++counts.shelved;
    if (snapshot.suppressed || (alarm.chattering() && alarm.spec().chatter.suppress)) {
      ++counts.suppressed;
    }
    if (snapshot.out_of_service) ++counts.out_of_service;
    if (alarm.stale()) ++counts.stale;
    if (alarm.chattering()) ++counts.chattering;
  }
  return counts;
}

}  // namespace tidewatch::rules
