// AlertRule: one alert rule at run time — its compiled definition and its alert
// instances (one AlarmInstance per series group, rules/alarm_state.h) — and the events
// its transitions produce, ready to persist and notify.
//
// Pure and clock-injected like AlarmInstance: no I/O, no threads, no locks. The engine
// (rules/rule_engine.h) routes points here, persists the events (catalog) and
// serialises calls per rule.
//
// Instances. Raw rules: one per series (instance key = the series' tags, sorted,
// "k1=v1,k2=v2"; "" for a series without tags). Aggregate rules: one per GROUP BY tag
// set of the window query's result (GROUP BY *: all tags). Labels of an instance: its
// tags, then the rule's labels (templates expanded per transition; a rule label of the
// same name wins), plus alertname = rule name and severity = the level's name.
//
// Suppression by design (suppress_when): the rule is suppressed while every series its
// query selects has a last value satisfying the comparison (and at least one has a
// value); every instance then gets SetSuppressed(true), and false when that ends.
// Instances created while suppressed start suppressed.
//
// Events. Every Transition of an instance becomes an AlertEvent with the instance's
// record after it (for the catalog) and, when the transition is announced, one
// notification (rules/notification.h) with a fresh per-instance sequence number; the
// idempotency key is derived from rule id, instance key and that number, so a
// notification keeps its key across retries and restarts.
//
// Thread safety: none; the owner serialises every call on one AlertRule.
#ifndef TIDEWATCH_RULES_ALERT_RULE_H_
#define TIDEWATCH_RULES_ALERT_RULE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/alarm_state.h"
#include "rules/catalog.h"
#include "rules/query_result.h"
#include "rules/rule_definition.h"
#include "store/series_index.h"
#include "store/status.h"

namespace tidewatch::rules {

struct AlertInstance;  // defined in rules/internal/alert_instance.h

// One transition of one instance, as the engine persists it.
struct AlertEvent {
  TransitionRecord record;                  // instance row after it + audit fields
  std::optional<std::string> notification;  // JSON payload when announced (notification.h)
  std::string idempotency_key;              // set with notification
  Transition transition;
};
using AlertEvents = std::vector<AlertEvent>;

// What /api/v1/alerts shows of one instance.
struct AlertView {
  std::string rule;
  std::int64_t rule_id = 0;
  std::string instance_key;
  std::map<std::string, std::string> labels;       // expanded
  std::map<std::string, std::string> annotations;  // expanded
  std::string state;  // Prometheus' view: "inactive", "pending", "firing"
  AlarmState isa_state = AlarmState::kNormal;
  int severity = 0;
  std::string severity_name;  // "" when 0
  std::optional<double> value;
  double threshold = 0;  // NaN when severity is 0
  std::optional<Timestamp> active_since;
  std::optional<Timestamp> pending_since;
  Timestamp last_change = 0;
  Timestamp last_event_time = 0;
  ShelveState shelve;
  bool suppressed = false;
  bool out_of_service = false;
  bool stale = false;
  bool chattering = false;
};

// Per rule counts for the alarm-system KPIs on /metrics.
struct AlertRuleCounts {
  std::size_t instances = 0;
  std::size_t in_alarm = 0;  // UNACKED, ACKED, LATCHED
  std::size_t unacked = 0;
  std::size_t shelved = 0;
  std::size_t suppressed = 0;  // by design or chatter
  std::size_t out_of_service = 0;
  std::size_t stale = 0;  // no data
  std::size_t chattering = 0;
  std::uint64_t announced_alarms = 0;   // new alarms announced since start (flood KPI)
  std::uint64_t instances_refused = 0;  // series or groups refused beyond max_instances
};

class AlertRule {
 public:
  // kInvalidArgument if the definition does not compile (see rule_definition.h).
  // external_url: the base of the notifications' generator_url (e.g.
  // "http://plant-a:8086", RuleEngineOptions::external_url).
  static StatusOr<std::unique_ptr<AlertRule>> Create(std::int64_t rule_id,
                                                     RuleDefinition definition,
                                                     std::string external_url = {});
  ~AlertRule();
  AlertRule(const AlertRule&) = delete;
  AlertRule& operator=(const AlertRule&) = delete;

  std::int64_t id() const { return id_; }
  const RuleDefinition& definition() const { return definition_; }
  const RuleQuery& query() const { return query_; }
  bool aggregate() const { return query_.aggregate; }

  // Routing, decided once per series (the engine caches it per SeriesId).
  enum class SeriesRole : std::uint8_t { kNone, kData, kSuppression };
  SeriesRole Match(const store::SeriesInfo& series) const;

  // The instance of a kData series of a raw rule, created on first use (or bound to a
  // restored one with the same key). Stable while the rule lives; nullptr when the rule
  // already has max_instances instances (the point is then not evaluated; counted in
  // counts().instances_refused, as are groups OnWindowResult refuses).
  AlertInstance* InstanceFor(const store::SeriesInfo& series, std::size_t max_instances);

  // A point of a kData series (raw rules), `instance` from InstanceFor.
  void OnValue(AlertInstance& instance, double value, Timestamp event_time, Timestamp now,
               AlertEvents& out);
  // A point of a kSuppression series.
  void OnSuppressionValue(store::SeriesId series, double value, Timestamp now, AlertEvents& out);
  // The result of the rule's window query over closed buckets (aggregate rules): each
  // row's value goes to the instance of its series' tags, with event time = bucket start.
  void OnWindowResult(const StatementResult& result, Timestamp now, std::size_t max_instances,
                      AlertEvents& out);
  // Timers of every instance (on/off delay, no data, shelve expiry, chatter end).
  void OnTick(Timestamp now, AlertEvents& out);

  // Operator actions. kNotFound: no such instance; else as AlarmInstance's.
  Status Acknowledge(std::string_view instance_key, std::string_view user, Timestamp now,
                     AlertEvents& out);
  Status Shelve(std::string_view instance_key, std::string_view user, std::string_view reason,
                ShelveKind kind, Timestamp until, Timestamp now, AlertEvents& out);
  Status Unshelve(std::string_view instance_key, std::string_view user, Timestamp now,
                  AlertEvents& out);
  Status SetOutOfService(std::string_view instance_key, bool out_of_service, std::string_view user,
                         Timestamp now, AlertEvents& out);

  // A new definition of the same rule (same id). Labels, annotations, channels: state
  // kept, nothing re-evaluated. A changed alarm spec: AlarmInstance::UpdateSpec on every
  // instance (what already fires is not re-notified). A changed query, db or
  // suppress_when: kInvalidArgument (the engine replaces the rule instead).
  Status UpdateDefinition(RuleDefinition definition, Timestamp now, AlertEvents& out);

  // After a restart: the instance from its catalog row (state from its snapshot
  // column). With restart_grace_from set, an instance's no-data clock starts no
  // earlier than that time (a restart does not flag every sensor stale at once).
  Status RestoreInstance(const AlertInstanceRecord& record,
                         std::optional<Timestamp> restart_grace_from);

  std::vector<AlertView> Views() const;
  std::optional<AlertView> View(std::string_view instance_key) const;
  AlertRuleCounts counts() const;

 private:
  AlertRule(std::int64_t id, RuleDefinition definition, RuleQuery query,
            std::optional<RuleQuery> suppression, std::string external_url);

  // The instance with `key`, created (with `tags`) unless there are max_instances.
  AlertInstance* FindOrCreate(std::string key, std::vector<store::Tag> tags,
                              std::size_t max_instances);
  AlertInstance* Find(std::string_view key) const;
  void SetTemplateLabels(AlertInstance& instance) const;
  // Turns the transitions in scratch_ (all of `instance`) into events; clears scratch_.
  void Collect(AlertInstance& instance, AlertEvents& out);
  void ApplySuppression(bool suppressed, Timestamp now, AlertEvents& out);
  bool SuppressionHolds(double value) const;
  std::string_view SeverityName(int severity) const;
  AlertView MakeView(const AlertInstance& instance) const;

  const std::int64_t id_;
  RuleDefinition definition_;
  const RuleQuery query_;
  const std::optional<RuleQuery> suppression_;
  const std::string external_url_;
  // By instance key. unique_ptr: AlertInstance* handed out stay valid.
  std::unordered_map<std::string, std::unique_ptr<AlertInstance>> instances_;
  // Last value per suppression series, and how many of them satisfy suppress_when.
  std::unordered_map<store::SeriesId, double> suppression_values_;
  std::size_t suppression_satisfied_ = 0;
  bool suppressed_ = false;
  // False until suppression was applied to every instance once (after a restore the
  // instances carry their stored flag).
  bool suppression_applied_ = false;
  AlertRuleCounts counts_;  // announced_alarms and instances_refused; the rest computed
  Transitions scratch_;     // reused per call: no allocation without a transition
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_ALERT_RULE_H_
