// Notifications: the JSON payload of one announced alert transition, exactly as
// docs/NOTIFICATIONS.md specifies it (schema version 1), its idempotency key, and the
// label set receivers identify an alert by.
//
// AlertRule (rules/alert_rule.h) builds one payload per announced Transition; the engine
// writes it into the outbox once per channel of the rule, with the same key, so a
// receiver sees the same key on every channel and on every retry.
//
// Thread safety: plain values and pure functions.
#ifndef TIDEWATCH_RULES_NOTIFICATION_H_
#define TIDEWATCH_RULES_NOTIFICATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "rules/alarm_state.h"

namespace tidewatch::rules {

enum class NotificationKind : std::uint8_t {
  kAlarm,   // the value alarm
  kNoData,  // a stale sensor (kNoData / kDataResumed transitions): an alert of its own
};
std::string_view NotificationKindName(NotificationKind kind);  // "alarm", "no_data"

// kNoData for the kNoData and kDataResumed causes, else kAlarm.
NotificationKind KindOf(const Transition& transition);

// Whether an announced transition says "firing" (else "resolved"): a no-data alert
// fires on kNoData; a value alarm fires when InAlarm(to_state) with a severity.
bool Firing(const Transition& transition);

// The transition's cause as the payload's `cause` member ("value", "timer",
// "acknowledge", "shelve_expired", "no_data", ...).
std::string_view NotificationCauseName(TransitionCause cause);

// 64-bit FNV-1a of `text`.
std::uint64_t Fnv1a64(std::string_view text);

// "tw-<rule_id>-<16 lower-case hex digits of Fnv1a64(instance_key)>-<sequence>".
std::string IdempotencyKey(std::int64_t rule_id, std::string_view instance_key,
                           std::uint64_t sequence);

// Completes an instance's labels (its tags and the rule's expanded labels, a rule label
// winning over a tag of the same name) with alertname = `rule`, severity =
// `severity_name` (removed when empty) and, for kNoData, kind = "no_data". These win
// over tags and rule labels of the same names.
void AddAlertLabels(std::string_view rule, std::string_view severity_name, NotificationKind kind,
                    std::map<std::string, std::string>& labels);

// Everything a payload says besides the transition itself.
struct NotificationContext {
  std::string_view rule;  // the rule's name
  std::int64_t rule_id = 0;
  std::string_view db;
  std::string_view instance_key;
  const std::map<std::string, std::string>* labels = nullptr;       // complete (AddAlertLabels)
  const std::map<std::string, std::string>* annotations = nullptr;  // expanded
  // The level the payload names: firing, the one firing; resolved, the one receivers
  // were told was firing. 0: none (severity "" and absent from the labels).
  int severity = 0;
  std::string_view severity_name;
  Timestamp starts_at = 0;   // when the alarm (or the no-data condition) began
  Timestamp event_time = 0;  // of the last evaluated point
  std::uint64_t sequence = 0;
  std::string_view external_url;  // "" gives a generator_url starting at "/api/v1/alerts"
};

// The payload: one JSON object, members in the documented order, labels sorted by name.
// `value` and `threshold` are null when not finite; ends_at is transition.at when
// resolved, null when firing. REQUIRES: labels and annotations set.
std::string NotificationJson(const NotificationContext& context, const Transition& transition);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_NOTIFICATION_H_
