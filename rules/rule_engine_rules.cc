// RuleEngine: creating, changing and deleting rules (the API and the rules file).
#include <set>
#include <string>
#include <utility>

#include "rules/internal/rule_engine_state.h"
#include "rules/rule_engine.h"

namespace tidewatch::rules {
namespace {

Status NoRule(std::string_view name) {
  return Status(StatusCode::kNotFound, "no rule '" + std::string(name) + "'");
}

Status FileRule(std::string_view name) {
  return Status(StatusCode::kInvalidArgument,
                "rule '" + std::string(name) + "' is managed by the rules file");
}

// OK if `definition` compiles (the id does not matter for that).
Status Compiles(const RuleDefinition& definition) {
  return AlertRule::Create(0, definition).status();
}

bool SameInputs(const RuleDefinition& a, const RuleDefinition& b) {
  return a.db == b.db && a.query == b.query && a.suppress_when == b.suppress_when;
}

RuleSpec SpecOf(const RuleDefinition& definition, RuleSource source) {
  RuleSpec spec;
  spec.name = definition.name;
  spec.db = definition.db;
  spec.definition = RuleToJson(definition);
  spec.enabled = definition.enabled;
  spec.source = std::string(RuleSourceName(source));
  return spec;
}

RuleStatus StatusOf(const internal::RuleEntry& entry) {
  RuleStatus out;
  out.record = entry.record;
  out.definition = entry.definition;
  out.source = entry.source;
  out.counts = entry.rule->counts();
  return out;
}

}  // namespace

StatusOr<RuleStatus> RuleEngine::CreateLocked(State& s, const RuleDefinition& definition,
                                              RuleSource source) {
  StatusOr<RuleRecord> record = catalog_.CreateRule(SpecOf(definition, source));
  if (!record.ok()) return record.status();
  StatusOr<std::unique_ptr<RuleEntry>> entry = MakeEntry(*record, definition);
  if (!entry.ok()) {
    // REQUIRES said it compiles; undo rather than keep a rule that cannot run.
    catalog_.DeleteRule(definition.name).IgnoreError();
    return entry.status();
  }
  RuleEntry& added = *(s.rules[definition.name] = std::move(*entry));
  s.routes.Reset();
  return StatusOf(added);
}

StatusOr<RuleStatus> RuleEngine::UpdateLocked(State& s, RuleEntry& entry,
                                              const RuleDefinition& definition) {
  if (!SameInputs(entry.definition, definition)) {
    // A rule that evaluates something else is a new rule under the same name (file
    // comment): delete, then create with a new id and fresh instances.
    const RuleSource source = entry.source;
    if (Status deleted = DeleteLocked(s, definition.name); !deleted.ok()) return deleted;
    return CreateLocked(s, definition, source);
  }
  StatusOr<RuleRecord> record = catalog_.UpdateRule(SpecOf(definition, entry.source));
  if (!record.ok()) return record.status();
  const Status updated = entry.rule->UpdateDefinition(definition, Now(), s.events);
  if (!s.events.empty()) Absorb(s, entry, {});
  Commit(s).IgnoreError();            // counted; retried with the next commit
  if (!updated.ok()) return updated;  // the catalog holds the new text; Load() applies it
  if (record->enabled && !entry.record.enabled && entry.window) {
    // Evaluation restarts now: the tracker must not close the buckets of the pause.
    entry.window = std::make_unique<WindowTracker>(entry.window->policy());
  }
  entry.record = *record;
  entry.definition = definition;
  s.routes.Reset();
  return StatusOf(entry);
}

Status RuleEngine::DeleteLocked(State& s, std::string_view name) {
  // Whatever the rule still owes the catalog goes first (or is dropped with it).
  Commit(s).IgnoreError();
  if (Status deleted = catalog_.DeleteRule(name); !deleted.ok()) return deleted;
  auto it = s.rules.find(name);
  if (it != s.rules.end()) {
    const std::int64_t id = it->second->record.id;
    s.transitions_dropped += std::erase_if(
        s.writes, [id](const TransitionWrite& w) { return w.transition.instance.rule_id == id; });
    s.rules.erase(it);
  }
  s.routes.Reset();
  return Status::Ok();
}

StatusOr<RuleStatus> RuleEngine::CreateRule(const RuleDefinition& definition,
                                            std::string_view /*actor*/) {
  if (Status compiles = Compiles(definition); !compiles.ok()) return compiles;
  std::lock_guard lock(mu_);
  return CreateLocked(*state_, definition, RuleSource::kApi);
}

StatusOr<RuleStatus> RuleEngine::UpdateRule(const RuleDefinition& definition,
                                            std::string_view /*actor*/) {
  std::lock_guard lock(mu_);
  RuleEntry* entry = state_->Find(definition.name);
  if (entry == nullptr) return NoRule(definition.name);
  if (entry->source == RuleSource::kFile) return FileRule(definition.name);
  if (Status compiles = Compiles(definition); !compiles.ok()) return compiles;
  return UpdateLocked(*state_, *entry, definition);
}

Status RuleEngine::DeleteRule(std::string_view name, std::string_view /*actor*/) {
  std::lock_guard lock(mu_);
  const RuleEntry* entry = state_->Find(name);
  if (entry == nullptr) return NoRule(name);
  if (entry->source == RuleSource::kFile) return FileRule(name);
  return DeleteLocked(*state_, name);
}

StatusOr<RuleStatus> RuleEngine::SetRuleEnabled(std::string_view name, bool enabled,
                                                std::string_view /*actor*/) {
  std::lock_guard lock(mu_);
  RuleEntry* entry = state_->Find(name);
  if (entry == nullptr) return NoRule(name);
  if (entry->source == RuleSource::kFile) return FileRule(name);
  RuleDefinition definition = entry->definition;
  definition.enabled = enabled;
  return UpdateLocked(*state_, *entry, definition);
}

std::vector<RuleStatus> RuleEngine::ListRules() const {
  std::lock_guard lock(mu_);
  std::vector<RuleStatus> out;
  out.reserve(state_->rules.size());
  for (const auto& [name, entry] : state_->rules) out.push_back(StatusOf(*entry));
  return out;
}

StatusOr<RuleStatus> RuleEngine::GetRule(std::string_view name) const {
  std::lock_guard lock(mu_);
  const RuleEntry* entry = state_->Find(name);
  if (entry == nullptr) return NoRule(name);
  return StatusOf(*entry);
}

Status RuleEngine::ReplaceFileRules(const std::vector<RuleDefinition>& rules) {
  std::string errors;
  auto fail = [&errors](std::string_view name, std::string_view why) {
    errors += errors.empty() ? "" : "; ";
    errors += "rule '" + std::string(name) + "': " + std::string(why);
  };
  std::set<std::string, std::less<>> names;
  for (const RuleDefinition& definition : rules) {
    if (!names.insert(definition.name).second) fail(definition.name, "defined twice");
    if (Status compiles = Compiles(definition); !compiles.ok()) {
      fail(definition.name, compiles.message());
    }
  }
  std::lock_guard lock(mu_);
  State& s = *state_;
  for (const RuleDefinition& definition : rules) {
    const RuleEntry* entry = s.Find(definition.name);
    if (entry != nullptr && entry->source == RuleSource::kApi) {
      fail(definition.name, "the name is taken by a rule created through the API");
    }
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, errors);

  std::vector<std::string> gone;
  for (const auto& [name, entry] : s.rules) {
    if (entry->source == RuleSource::kFile && !names.contains(name)) gone.push_back(name);
  }
  for (const std::string& name : gone) {
    if (Status deleted = DeleteLocked(s, name); !deleted.ok()) return deleted;
  }
  for (const RuleDefinition& definition : rules) {
    RuleEntry* entry = s.Find(definition.name);
    StatusOr<RuleStatus> applied = RuleStatus{};
    if (entry == nullptr) {
      applied = CreateLocked(s, definition, RuleSource::kFile);
    } else if (!(entry->definition == definition)) {
      applied = UpdateLocked(s, *entry, definition);
    }
    if (!applied.ok()) return applied.status();
  }
  return Status::Ok();
}

}  // namespace tidewatch::rules
