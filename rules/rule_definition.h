// RuleDefinition: one alert rule as users write it (JSON through /api/v1/rules, TOML in
// the rules file, JSON text in the catalog), and CompiledRule: what the engine needs to
// evaluate it, checked once when the rule is created or loaded.
//
// JSON form (every key but name, db, query, condition and the levels is optional):
//
//   {"name": "high-pressure", "db": "plant",
//    "query": "SELECT value FROM pressure WHERE site = 'site1'",
//    "condition": ">",                    // > >= < <= == != outside
//    "levels": [{"name": "warning",  "trip": 8.0, "reset": 7.5},
//               {"name": "critical", "trip": 9.5, "reset": 9.0}],
//    "for": "30s", "keep_firing_for": "1m", "no_data_after": "5m",
//    "latched": false,
//    "chatter": {"transitions": 6, "window": "10m", "suppress": false},
//    "labels": {"team": "ops", "sensor_name": "{{ .Labels.sensor }}"},
//    "annotations": {"summary": "{{ .Labels.sensor }} at {{ .Value }} (> {{ .Threshold }})"},
//    "channels": ["ops-webhook"],
//    "suppress_when": {"query": "SELECT value FROM running WHERE unit = 'u1'",
//                      "condition": "==", "value": 0},
//    "enabled": true}
//
//  - Instead of "levels", a single level may be given inline: "severity" (its name,
//    default "warning"), "trip", "reset" (default: trip). For "outside" a level has
//    "low", "high" (the normal band) and optionally "reset_low", "reset_high"
//    (default: the band), mapping onto SeverityLevel's trip/trip_high/reset/reset_high.
//  - Durations are InfluxQL duration literals ("500ms", "30s", "1h30m"); "0s" or absent
//    disables a delay.
//  - The query is one InfluxQL SELECT of one field of one measurement:
//      raw:        SELECT <field> FROM <m> [WHERE <tag conditions>] [GROUP BY <tags>]
//                  evaluated on every point; one instance per series (all its tags).
//      aggregate:  SELECT <agg>(<field>) FROM <m> [WHERE <tag conditions>]
//                  GROUP BY time(<d>)[, <tags> | *]
//                  evaluated when a window closes (event time, see window_tracker.h);
//                  one instance per GROUP BY tag set.
//    WHERE may only test tags (=, !=, =~, !~, AND, OR, parentheses); time ranges and
//    field conditions are refused. Any aggregate or selector the executor supports works.
//  - suppress_when (suppression by design, ISA-18.2): while the last value of every
//    series its raw query selects satisfies the comparison, all instances of the rule
//    are suppressed (evaluated, not announced).
//  - Templates (labels and annotation values): "{{ .Labels.<tag or label> }}",
//    "{{ .Value }}", "{{ .Threshold }}", "{{ .Severity }}", "{{ .Rule }}"; anything else
//    in {{ }} is an error at parse time.
//
// Errors are kInvalidArgument with the JSON path of the offending member, e.g.
// "levels[1].reset: must not be above trip for condition \">\"" or
// "query: 1:8: found FROM, expected identifier, string, number, bool".
//
// Thread safety: plain values and pure functions.
#ifndef TIDEWATCH_RULES_RULE_DEFINITION_H_
#define TIDEWATCH_RULES_RULE_DEFINITION_H_

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/alarm_state.h"
#include "rules/ast.h"
#include "store/series_index.h"
#include "store/status.h"

namespace tidewatch::rules {

struct SuppressionSpec {
  std::string query;  // a raw SELECT (no GROUP BY time)
  Comparison comparison = Comparison::kEqual;
  double value = 0;
  friend bool operator==(const SuppressionSpec&, const SuppressionSpec&) = default;
};

struct RuleDefinition {
  std::string name;  // 1..128 chars of [A-Za-z0-9_.:-]
  std::string db;
  std::string query;
  AlarmSpec alarm;  // condition + levels, for, keep_firing_for, no_data_after, latched, chatter
  std::map<std::string, std::string> labels;       // templates
  std::map<std::string, std::string> annotations;  // templates
  std::vector<std::string> channels;               // notification channel names
  std::optional<SuppressionSpec> suppress_when;
  bool enabled = true;
  friend bool operator==(const RuleDefinition&, const RuleDefinition&) = default;
};

// Parses and validates the JSON form (including the query and the templates).
[[nodiscard]] StatusOr<RuleDefinition> ParseRuleJson(std::string_view json);
// The same for an already parsed JSON value (the rules file converts TOML to JSON), so
// that there is one validator. Non-finite numbers are refused like any bad number.
[[nodiscard]] StatusOr<RuleDefinition> ParseRuleJsonValue(const nlohmann::json& json);
// The canonical JSON form: ParseRuleJson(RuleToJson(r)) == r. Levels are always written
// as "levels"; durations as InfluxQL literals in one unit ("30s", "90s", "0s").
std::string RuleToJson(const RuleDefinition& rule);

// A rule's SELECT reduced to what evaluation needs.
struct RuleQuery {
  std::string measurement;
  std::string field;
  std::optional<Expr> where;               // tag conditions only
  bool aggregate = false;                  // false: raw, per point
  std::int64_t interval_ns = 0;            // GROUP BY time(); aggregate only
  std::int64_t offset_ns = 0;              // GROUP BY time(d, offset)
  std::vector<std::string> group_by_tags;  // sorted; empty with group_by_all
  bool group_by_all = false;               // GROUP BY *
  SelectStatement select;                  // the parsed statement, for the executor
};

// Parses `query` as a rule's (or suppress_when's) SELECT. `allow_aggregate` false: only
// the raw form. Errors as ParseRuleJson words them, without the "query: " prefix.
[[nodiscard]] StatusOr<RuleQuery> CompileRuleQuery(std::string_view query, bool allow_aggregate);

// Whether a series with `tags` (sorted by key) satisfies a tag-only WHERE expression
// (nullopt: everything matches). REQUIRES: the expression passed CompileRuleQuery.
bool TagsMatch(const std::optional<Expr>& where, std::span<const store::Tag> tags);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_RULE_DEFINITION_H_
