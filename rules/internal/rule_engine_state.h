// The inside of RuleEngine (rules/rule_engine.h), shared by its .cc files: one loaded
// rule, a route of a series to a rule, and everything the engine's mutex guards.
//
// Thread safety: everything here is guarded by RuleEngine::mu_, except what the
// comments say (an entry's AlertRule query and WindowTracker).
#ifndef TIDEWATCH_RULES_INTERNAL_RULE_ENGINE_STATE_H_
#define TIDEWATCH_RULES_INTERNAL_RULE_ENGINE_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rules/alarm_kpis.h"
#include "rules/alert_rule.h"
#include "rules/catalog.h"
#include "rules/internal/series_routes.h"
#include "rules/rule_engine.h"
#include "rules/window_tracker.h"

namespace tidewatch::rules::internal {

struct RuleEntry {
  RuleRecord record;          // as the catalog last returned it
  RuleDefinition definition;  // definition.enabled == record.enabled
  RuleSource source = RuleSource::kApi;
  // shared_ptr: Tick() runs a window query on rule->query() outside the mutex; the
  // query is constant for the rule's life, so only the reference count is shared.
  std::shared_ptr<AlertRule> rule;
  std::unique_ptr<WindowTracker> window;  // aggregate rules only
};

struct RouteTarget {
  RuleEntry* entry = nullptr;
  // Raw kData routes: the series' instance; nullptr when the rule had no room for it
  // (max_instances_per_rule; counted by the rule), and then its points are skipped.
  AlertInstance* instance = nullptr;
  AlertRule::SeriesRole role = AlertRule::SeriesRole::kNone;
};

struct EngineState {
  explicit EngineState(Timestamp start) : kpis(start) {}

  // By name. unique_ptr: routes point at entries.
  std::map<std::string, std::unique_ptr<RuleEntry>, std::less<>> rules;

  // Routing cache, valid for `route_generation` of the series index and the current
  // rules (reset on every rule change).
  SeriesRoutes<RouteTarget> routes;
  std::uint64_t route_generation = 0;
  std::vector<RouteTarget> route_scratch;

  AlertEvents events;                   // scratch, empty between calls
  std::vector<TransitionWrite> writes;  // not yet committed (retried after an error)

  AlarmKpis kpis;
  std::uint64_t points_evaluated = 0;
  std::uint64_t transitions = 0;
  std::uint64_t notifications = 0;
  std::uint64_t commit_errors = 0;
  std::uint64_t transitions_dropped = 0;
  std::string last_commit_error;
  std::uint64_t window_query_errors = 0;

  RuleEntry* Find(std::string_view name) {
    auto it = rules.find(name);
    return it == rules.end() ? nullptr : it->second.get();
  }
  RuleEntry* FindById(std::int64_t id) {
    for (auto& [name, entry] : rules) {
      if (entry->record.id == id) return entry.get();
    }
    return nullptr;
  }
};

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_RULE_ENGINE_STATE_H_
