#include "rules/internal/alarm_snapshot_json.h"

#include <limits>
#include <string>
#include <utility>

namespace tidewatch::rules::internal {
namespace {

using nlohmann::json;

std::string_view PhaseName(ConditionPhase phase) {
  switch (phase) {
    case ConditionPhase::kInactive:
      return "inactive";
    case ConditionPhase::kPending:
      return "pending";
    case ConditionPhase::kFiring:
      return "firing";
  }
  return "?";
}

std::optional<ConditionPhase> ParsePhase(std::string_view name) {
  if (name == "inactive") return ConditionPhase::kInactive;
  if (name == "pending") return ConditionPhase::kPending;
  if (name == "firing") return ConditionPhase::kFiring;
  return std::nullopt;
}

std::optional<AlarmState> ParseAfterResolve(std::string_view name) {
  if (name == "normal") return AlarmState::kNormal;
  if (name == "rtn_unacked") return AlarmState::kRtnUnacked;
  if (name == "latched") return AlarmState::kLatched;
  return std::nullopt;
}

std::string_view ShelveKindName(ShelveKind kind) {
  switch (kind) {
    case ShelveKind::kNone:
      return "none";
    case ShelveKind::kTimed:
      return "timed";
    case ShelveKind::kOneShot:
      return "one_shot";
  }
  return "?";
}

std::optional<ShelveKind> ParseShelveKind(std::string_view name) {
  if (name == "none") return ShelveKind::kNone;
  if (name == "timed") return ShelveKind::kTimed;
  if (name == "one_shot") return ShelveKind::kOneShot;
  return std::nullopt;
}

json OptionalToJson(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

Status Invalid(const std::string& error) {
  return Status(StatusCode::kInvalidArgument, "alarm snapshot: " + error);
}

// A severity that fits an int; AlarmInstance::Restore checks it against the spec.
std::optional<int> Severity(JsonReader& reader, std::string_view name) {
  const auto value = reader.Int(name);
  if (!value) return std::nullopt;
  if (*value < 0 || *value > static_cast<std::int64_t>(kMaxSeverityLevels)) {
    reader.Fail(name, "a severity from 0 to 8");
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

}  // namespace

std::optional<std::int64_t> JsonInt(const json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<std::int64_t>();
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  }
  return std::nullopt;
}

void JsonReader::Fail(std::string_view name, std::string_view expected) {
  if (error_.empty()) error_ = std::string(name) + ": expected " + std::string(expected);
}

void JsonReader::FailNested(std::string_view name, const JsonReader& inner) {
  if (error_.empty() && !inner.ok()) error_ = std::string(name) + "." + inner.error();
}

const json* JsonReader::Member(std::string_view name) {
  if (!object_.is_object()) {
    Fail(name, "a member of an object");
    return nullptr;
  }
  const auto it = object_.find(name);
  if (it == object_.end()) {
    Fail(name, "a member");
    return nullptr;
  }
  return &*it;
}

std::optional<std::int64_t> JsonReader::Int(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  auto value = JsonInt(*member);
  if (!value) Fail(name, "an int64 integer");
  return value;
}

std::optional<std::uint64_t> JsonReader::Unsigned(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_number_unsigned()) return member->get<std::uint64_t>();
  Fail(name, "a non-negative integer");
  return std::nullopt;
}

std::optional<bool> JsonReader::Bool(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_boolean()) return member->get<bool>();
  Fail(name, "true or false");
  return std::nullopt;
}

std::optional<std::string> JsonReader::String(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_string()) return member->get<std::string>();
  Fail(name, "a string");
  return std::nullopt;
}

std::optional<double> JsonReader::Number(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_number()) return member->get<double>();
  Fail(name, "a number");
  return std::nullopt;
}

std::optional<std::optional<std::int64_t>> JsonReader::OptionalInt(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_null()) return std::optional<std::int64_t>();
  if (auto value = JsonInt(*member)) return std::optional<std::int64_t>(*value);
  Fail(name, "an int64 integer or null");
  return std::nullopt;
}

std::optional<std::optional<double>> JsonReader::OptionalNumber(std::string_view name) {
  const json* member = Member(name);
  if (member == nullptr) return std::nullopt;
  if (member->is_null()) return std::optional<double>();
  if (member->is_number()) return std::optional<double>(member->get<double>());
  Fail(name, "a number or null");
  return std::nullopt;
}

json AlarmSnapshotToJson(const AlarmSnapshot& s) {
  return json{
      {"phase", PhaseName(s.phase)},
      {"tripped", s.tripped},
      {"alarm_severity", s.alarm_severity},
      {"acked", s.acked},
      {"after_resolve", AlarmStateName(s.after_resolve)},
      {"announced_severity", s.announced_severity},
      {"hold_since", OptionalToJson(s.hold_since)},
      {"clear_since", OptionalToJson(s.clear_since)},
      {"last_value", s.last_value ? json(*s.last_value) : json(nullptr)},
      {"last_event_time", s.last_event_time},
      {"last_point_at", OptionalToJson(s.last_point_at)},
      {"stale", s.stale},
      {"stale_announced", s.stale_announced},
      {"shelve",
       {{"kind", ShelveKindName(s.shelve.kind)},
        {"until", s.shelve.until},
        {"user", s.shelve.user},
        {"reason", s.shelve.reason}}},
      {"suppressed", s.suppressed},
      {"out_of_service", s.out_of_service},
      {"out_of_service_by", s.out_of_service_by},
      {"chatter_edges", s.chatter_edges},
      {"chattering", s.chattering},
  };
}

StatusOr<AlarmSnapshot> AlarmSnapshotFromJson(const json& object) {
  if (!object.is_object()) return Invalid("expected an object");
  JsonReader r(object);
  AlarmSnapshot s;
  const auto phase = r.String("phase");
  if (phase) {
    if (auto parsed = ParsePhase(*phase)) {
      s.phase = *parsed;
    } else {
      r.Fail("phase", "inactive, pending or firing");
    }
  }
  if (const auto tripped = r.Int("tripped")) {
    if (*tripped < 0 || *tripped >= (std::int64_t{1} << kMaxSeverityLevels)) {
      r.Fail("tripped", "a bit mask of at most 8 levels");
    } else {
      s.tripped = static_cast<LevelMask>(*tripped);
    }
  }
  s.alarm_severity = Severity(r, "alarm_severity").value_or(0);
  s.acked = r.Bool("acked").value_or(false);
  if (const auto after = r.String("after_resolve")) {
    if (auto parsed = ParseAfterResolve(*after)) {
      s.after_resolve = *parsed;
    } else {
      r.Fail("after_resolve", "normal, rtn_unacked or latched");
    }
  }
  s.announced_severity = Severity(r, "announced_severity").value_or(0);
  s.hold_since = r.OptionalInt("hold_since").value_or(std::nullopt);
  s.clear_since = r.OptionalInt("clear_since").value_or(std::nullopt);
  s.last_value = r.OptionalNumber("last_value").value_or(std::nullopt);
  s.last_event_time = r.Int("last_event_time").value_or(0);
  s.last_point_at = r.OptionalInt("last_point_at").value_or(std::nullopt);
  s.stale = r.Bool("stale").value_or(false);
  s.stale_announced = r.Bool("stale_announced").value_or(false);
  if (const json* shelve = r.Member("shelve")) {
    if (!shelve->is_object()) {
      r.Fail("shelve", "an object");
    } else {
      JsonReader sr(*shelve);
      if (const auto kind = sr.String("kind")) {
        if (auto parsed = ParseShelveKind(*kind)) {
          s.shelve.kind = *parsed;
        } else {
          sr.Fail("kind", "none, timed or one_shot");
        }
      }
      s.shelve.until = sr.Int("until").value_or(0);
      s.shelve.user = sr.String("user").value_or("");
      s.shelve.reason = sr.String("reason").value_or("");
      r.FailNested("shelve", sr);
    }
  }
  s.suppressed = r.Bool("suppressed").value_or(false);
  s.out_of_service = r.Bool("out_of_service").value_or(false);
  s.out_of_service_by = r.String("out_of_service_by").value_or("");
  if (const json* edges = r.Member("chatter_edges")) {
    if (!edges->is_array() || edges->size() > kMaxChatterTransitions) {
      r.Fail("chatter_edges", "an array of at most 32 times");
    } else {
      for (const json& edge : *edges) {
        const auto at = JsonInt(edge);
        if (!at) {
          r.Fail("chatter_edges", "int64 times");
          break;
        }
        s.chatter_edges.push_back(*at);
      }
    }
  }
  s.chattering = r.Bool("chattering").value_or(false);
  if (!r.ok()) return Invalid(r.error());
  return s;
}

}  // namespace tidewatch::rules::internal
