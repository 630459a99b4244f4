// The JSON form of an AlarmSnapshot (rules/alarm_state.h), stored in the catalog's
// alert_instances.snapshot column so that an instance continues exactly after a
// restart:
//
//   {"phase": "inactive" | "pending" | "firing", "tripped": <level bit mask>,
//    "alarm_severity": n, "acked": b,
//    "after_resolve": "normal" | "rtn_unacked" | "latched", "announced_severity": n,
//    "hold_since": t | null, "clear_since": t | null, "last_value": x | null,
//    "last_event_time": t, "last_point_at": t | null, "stale": b, "stale_announced": b,
//    "shelve": {"kind": "none" | "timed" | "one_shot", "until": t, "user": s, "reason": s},
//    "suppressed": b, "out_of_service": b, "out_of_service_by": s,
//    "chatter_edges": [t, ...], "chattering": b}
//
// Times are int64 ns. Every member is required; unknown members are ignored. Decoding
// checks types and ranges only; whether the snapshot fits a spec is
// AlarmInstance::Restore's job.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_RULES_INTERNAL_ALARM_SNAPSHOT_JSON_H_
#define TIDEWATCH_RULES_INTERNAL_ALARM_SNAPSHOT_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "rules/alarm_state.h"
#include "store/status.h"

namespace tidewatch::rules::internal {

nlohmann::json AlarmSnapshotToJson(const AlarmSnapshot& snapshot);

// kInvalidArgument naming the first member that is missing, of the wrong type or out of
// range ("alarm snapshot: hold_since: expected an integer or null"). Never throws.
[[nodiscard]] StatusOr<AlarmSnapshot> AlarmSnapshotFromJson(const nlohmann::json& json);

// Checked member access for the decoders of snapshot texts: each returns nullopt and
// sets `error` ("<name>: expected ...") when the member is absent or of the wrong type.
class JsonReader {
 public:
  explicit JsonReader(const nlohmann::json& object) : object_(object) {}
  std::optional<std::int64_t> Int(std::string_view name);
  std::optional<std::uint64_t> Unsigned(std::string_view name);
  std::optional<bool> Bool(std::string_view name);
  std::optional<std::string> String(std::string_view name);
  std::optional<double> Number(std::string_view name);
  // nullopt with error set, or a present optional (null gives an empty inner optional).
  std::optional<std::optional<std::int64_t>> OptionalInt(std::string_view name);
  std::optional<std::optional<double>> OptionalNumber(std::string_view name);
  // The member itself, or nullptr with error set when absent.
  const nlohmann::json* Member(std::string_view name);

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }
  void Fail(std::string_view name, std::string_view expected);
  // Takes over the first failure of `inner`, a reader of the member `name`.
  void FailNested(std::string_view name, const JsonReader& inner);

 private:
  const nlohmann::json& object_;
  std::string error_;  // the first failure
};

// Reads a JSON integer (signed or unsigned) that fits in int64.
std::optional<std::int64_t> JsonInt(const nlohmann::json& value);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_ALARM_SNAPSHOT_JSON_H_
