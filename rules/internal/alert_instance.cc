#include "rules/internal/alert_instance.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "rules/internal/alarm_snapshot_json.h"

namespace tidewatch::rules::internal {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSnapshotBytes = 1 << 20;
constexpr std::int64_t kSnapshotVersion = 1;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, "instance snapshot: " + std::move(message));
}

json OptionalToJson(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<std::vector<store::Tag>> TagsFromJson(const json& array) {
  if (!array.is_array()) return std::nullopt;
  std::vector<store::Tag> tags;
  for (const json& pair : array) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return std::nullopt;
    }
    tags.push_back({pair[0].get<std::string>(), pair[1].get<std::string>()});
  }
  return tags;
}

}  // namespace

std::string InstanceKey(const std::vector<store::Tag>& tags) {
  std::string key;
  for (const store::Tag& tag : tags) {
    if (!key.empty()) key.push_back(',');
    key += tag.key;
    key.push_back('=');
    key += tag.value;
  }
  return key;
}

std::string_view PrometheusState(AlarmState state) {
  if (InAlarm(state)) return "firing";
  return state == AlarmState::kPending ? "pending" : "inactive";
}

std::string_view AckState(AlarmState state) {
  switch (state) {
    case AlarmState::kAcked:
      return "acknowledged";
    case AlarmState::kUnacked:
    case AlarmState::kRtnUnacked:
    case AlarmState::kLatched:
      return "unacknowledged";
    case AlarmState::kNormal:
    case AlarmState::kPending:
      break;
  }
  return "";
}

AlertInstanceRecord MakeInstanceRecord(std::int64_t rule_id, const AlertInstance& instance) {
  const AlarmInstance& alarm = instance.alarm;
  const AlarmState state = alarm.state();
  const ShelveState& shelve = alarm.shelve();
  const AlarmSnapshot snapshot = alarm.snapshot();
  AlertInstanceRecord record;
  record.rule_id = rule_id;
  record.instance_key = instance.key;
  record.state = PrometheusState(state);
  record.ack_state = AckState(state);
  record.severity = alarm.severity();
  record.active_since = instance.history.active_since;
  record.pending_since = snapshot.hold_since;
  record.last_value = snapshot.last_value;
  record.last_change = instance.history.last_change;
  if (shelve.kind == ShelveKind::kTimed) record.shelved_until = shelve.until;
  record.shelve_one_shot = shelve.kind == ShelveKind::kOneShot;
  record.suppressed = snapshot.suppressed;
  record.out_of_service = snapshot.out_of_service;
  record.snapshot = EncodeInstanceSnapshot(instance);
  return record;
}

std::string EncodeInstanceSnapshot(const AlertInstance& instance) {
  json tags = json::array();
  for (const store::Tag& tag : instance.tags) tags.push_back({tag.key, tag.value});
  const InstanceHistory& h = instance.history;
  const json object{
      {"v", kSnapshotVersion},
      {"tags", std::move(tags)},
      {"alarm", AlarmSnapshotToJson(instance.alarm.snapshot())},
      {"sequence", h.sequence},
      {"active_since", OptionalToJson(h.active_since)},
      {"last_change", h.last_change},
      {"stale_since", OptionalToJson(h.stale_since)},
      {"notified_severity", h.notified_severity},
      {"notified_since", h.notified_since},
  };
  // Tags and operator names may hold any bytes: replace invalid UTF-8, never throw.
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

StatusOr<DecodedInstance> DecodeInstanceSnapshot(std::string_view text) {
  if (text.size() > kMaxSnapshotBytes) return Invalid("longer than 1 MiB");
  const json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return Invalid("not valid JSON");
  if (!object.is_object()) return Invalid("expected an object");
  JsonReader r(object);
  const auto version = r.Int("v");
  if (version && *version != kSnapshotVersion) return Invalid("unknown version");
  DecodedInstance decoded;
  if (const json* tags = r.Member("tags")) {
    if (auto parsed = TagsFromJson(*tags)) {
      decoded.tags = std::move(*parsed);
    } else {
      r.Fail("tags", "an array of [key, value] string pairs");
    }
  }
  InstanceHistory& h = decoded.history;
  h.sequence = r.Unsigned("sequence").value_or(0);
  h.active_since = r.OptionalInt("active_since").value_or(std::nullopt);
  h.last_change = r.Int("last_change").value_or(0);
  h.stale_since = r.OptionalInt("stale_since").value_or(std::nullopt);
  const auto notified = r.Int("notified_severity");
  if (notified && (*notified < 0 || *notified > static_cast<std::int64_t>(kMaxSeverityLevels))) {
    r.Fail("notified_severity", "a severity from 0 to 8");
  }
  h.notified_severity = static_cast<int>(notified.value_or(0));
  h.notified_since = r.Int("notified_since").value_or(0);
  const json* alarm = r.Member("alarm");
  if (!r.ok()) return Invalid(r.error());
  StatusOr<AlarmSnapshot> snapshot = AlarmSnapshotFromJson(*alarm);
  if (!snapshot.ok()) return snapshot.status();
  decoded.alarm = std::move(*snapshot);
  return decoded;
}

}  // namespace tidewatch::rules::internal
