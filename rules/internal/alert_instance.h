// AlertInstance: one alert instance of an AlertRule (rules/alert_rule.h) — its key and
// tags, its AlarmInstance, and what the rule keeps beside the state machine (the
// notification sequence, when the alarm and the no-data condition began) — and how
// an instance maps to its catalog row (rules/catalog.h AlertInstanceRecord) and back.
//
// The row's snapshot column is JSON text:
//   {"v": 1, "tags": [["k", "v"], ...], "alarm": <AlarmSnapshot, alarm_snapshot_json.h>,
//    "sequence": n, "active_since": t | null, "last_change": t, "stale_since": t | null,
//    "notified_severity": n, "notified_since": t}
//
// Thread safety: plain values and pure functions.
#ifndef TIDEWATCH_RULES_INTERNAL_ALERT_INSTANCE_H_
#define TIDEWATCH_RULES_INTERNAL_ALERT_INSTANCE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/alarm_state.h"
#include "rules/catalog.h"
#include "store/series_index.h"
#include "store/status.h"

namespace tidewatch::rules {

// What an instance keeps beyond its AlarmInstance; persisted in its snapshot.
struct InstanceHistory {
  std::uint64_t sequence = 0;             // notifications built so far (the last one's number)
  std::optional<Timestamp> active_since;  // when it last entered InAlarm()
  Timestamp last_change = 0;              // `at` of its last transition
  std::optional<Timestamp> stale_since;   // when the current no-data condition began
  // The firing alarm receivers were last told of: its severity (0: none) and start.
  int notified_severity = 0;
  Timestamp notified_since = 0;

  friend bool operator==(const InstanceHistory&, const InstanceHistory&) = default;
};

struct AlertInstance {
  AlertInstance(std::string instance_key, std::vector<store::Tag> instance_tags,
                AlarmInstance instance_alarm)
      : key(std::move(instance_key)),
        tags(std::move(instance_tags)),
        alarm(std::move(instance_alarm)) {}

  const std::string key;               // "k1=v1,k2=v2", tags sorted by key
  const std::vector<store::Tag> tags;  // sorted by key
  AlarmInstance alarm;
  InstanceHistory history;
  // Template data: the tags, then the rule's static labels (a label wins over a tag).
  std::map<std::string, std::string, std::less<>> template_labels;
};

namespace internal {

// "k1=v1,k2=v2" ("" without tags). REQUIRES: tags sorted by key.
std::string InstanceKey(const std::vector<store::Tag>& tags);

// Prometheus' view of an ISA state: "inactive" (normal, rtn_unacked), "pending",
// "firing" (unacked, acked, latched).
std::string_view PrometheusState(AlarmState state);
// "acknowledged" (acked), "unacknowledged" (unacked, rtn_unacked, latched), "" otherwise.
std::string_view AckState(AlarmState state);

// The row of `instance` in its current state.
AlertInstanceRecord MakeInstanceRecord(std::int64_t rule_id, const AlertInstance& instance);

// The snapshot column of an instance, and its decoding. Decoding never throws: text
// that is not such JSON (malformed, wrong types, out of range, longer than 1 MiB) gives
// kInvalidArgument saying what is wrong. Consistency with a spec is checked later, by
// AlarmInstance::Restore.
struct DecodedInstance {
  std::vector<store::Tag> tags;
  AlarmSnapshot alarm;
  InstanceHistory history;
};
std::string EncodeInstanceSnapshot(const AlertInstance& instance);
[[nodiscard]] StatusOr<DecodedInstance> DecodeInstanceSnapshot(std::string_view text);

}  // namespace internal
}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_INTERNAL_ALERT_INSTANCE_H_
