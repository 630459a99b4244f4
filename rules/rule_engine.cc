// RuleEngine: loading, the stream (OnPoints, Tick), commits, alerts and stats. Rule
// changes are in rule_engine_rules.cc, dry runs in rule_engine_dry_run.cc.
#include "rules/rule_engine.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "rules/internal/rule_engine_state.h"
#include "rules/window_query.h"

namespace tidewatch::rules {
namespace {

bool HasOutbox(std::span<const TransitionWrite> writes) {
  return std::any_of(writes.begin(), writes.end(),
                     [](const TransitionWrite& write) { return !write.outbox.empty(); });
}

constexpr Timestamp kStandingNs = 24 * 3'600'000'000'000LL;

RuleSource SourceOf(std::string_view name) {
  return name == "file" ? RuleSource::kFile : RuleSource::kApi;
}

// Refusals that a retry of the same write would meet again.
bool Permanent(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kNotFound;
}

bool StateMatches(const AlertView& view, std::string_view state) {
  return state.empty() || view.state == state || AlarmStateName(view.isa_state) == state;
}

}  // namespace

std::string_view RuleSourceName(RuleSource source) {
  return source == RuleSource::kFile ? "file" : "api";
}

RuleEngine::RuleEngine(store::Store& store, QueryExecutor& executor, Catalog& catalog,
                       RuleEngineOptions options)
    : store_(store), executor_(executor), catalog_(catalog), options_(std::move(options)) {
  state_ = std::make_unique<State>(Now());
}

RuleEngine::~RuleEngine() { Stop(); }

Timestamp RuleEngine::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<std::unique_ptr<RuleEngine::RuleEntry>> RuleEngine::MakeEntry(
    const RuleRecord& record, RuleDefinition definition) const {
  definition.enabled = record.enabled;
  StatusOr<std::unique_ptr<AlertRule>> rule =
      AlertRule::Create(record.id, definition, options_.external_url);
  if (!rule.ok()) return rule.status();
  auto entry = std::make_unique<RuleEntry>();
  entry->record = record;
  entry->definition = std::move(definition);
  entry->source = SourceOf(record.source);
  entry->rule = std::shared_ptr<AlertRule>(std::move(*rule));
  const RuleQuery& query = entry->rule->query();
  if (query.aggregate) {
    WindowPolicy policy;
    policy.interval_ns = query.interval_ns;
    // InfluxQL allows negative offsets; the tracker wants [0, interval): same buckets.
    policy.offset_ns =
        ((query.offset_ns % query.interval_ns) + query.interval_ns) % query.interval_ns;
    policy.lateness_ns = options_.lateness_ns;
    policy.idle_timeout_ns = options_.idle_timeout_ns;
    policy.late = LatePolicy::kReemit;
    entry->window = std::make_unique<WindowTracker>(policy);
  }
  return entry;
}

Status RuleEngine::Load() {
  StatusOr<std::vector<RuleRecord>> records = catalog_.ListRules();
  if (!records.ok()) return records.status();
  StatusOr<std::vector<AlertInstanceRecord>> instances = catalog_.LoadInstances();
  if (!instances.ok()) return instances.status();

  std::lock_guard lock(mu_);
  State& s = *state_;
  const Timestamp now = Now();
  std::string errors;
  auto fail = [&errors](std::string_view rule, const Status& status) {
    errors += errors.empty() ? "" : "; ";
    errors += "rule '" + std::string(rule) + "': " + status.message();
  };
  s.rules.clear();
  for (const RuleRecord& record : *records) {
    StatusOr<RuleDefinition> definition = ParseRuleJson(record.definition);
    if (!definition.ok()) {
      fail(record.name, definition.status());
      continue;
    }
    StatusOr<std::unique_ptr<RuleEntry>> entry = MakeEntry(record, std::move(*definition));
    if (!entry.ok()) {
      fail(record.name, entry.status());
      continue;
    }
    s.rules[record.name] = std::move(*entry);
  }
  for (const AlertInstanceRecord& instance : *instances) {
    RuleEntry* entry = s.FindById(instance.rule_id);
    if (entry == nullptr) continue;  // its rule failed to load
    const Status restored = entry->rule->RestoreInstance(instance, now);
    if (!restored.ok()) fail(entry->record.name, restored);
  }
  // An aggregate rule continues after the last bucket its instances evaluated.
  for (auto& [name, entry] : s.rules) {
    if (!entry->window) continue;
    std::optional<Timestamp> last;
    for (const AlertView& view : entry->rule->Views()) {
      if (view.value && (!last || view.last_event_time > *last)) last = view.last_event_time;
    }
    if (last) entry->window->Prime(*last + entry->rule->query().interval_ns);
  }
  s.routes.Reset();
  if (errors.empty()) return Status::Ok();
  return Status(StatusCode::kInvalidArgument, errors);
}

void RuleEngine::Start() {
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void RuleEngine::Stop() {
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RuleEngine::Run() {
  const auto interval =
      std::chrono::nanoseconds(std::max<std::int64_t>(1, options_.tick_interval_ns));
  std::unique_lock lock(thread_mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    Tick();
    lock.lock();
  }
}

std::span<const RuleEngine::Target> RuleEngine::RoutesOf(State& s, store::SeriesId series) const {
  if (std::optional<std::span<const Target>> found = s.routes.Find(series)) return *found;
  s.route_scratch.clear();
  const std::optional<store::SeriesInfo> info = store_.index().Info(series);
  if (info) {
    for (auto& [name, entry] : s.rules) {
      if (!entry->record.enabled || entry->definition.db != info->db) continue;
      const AlertRule::SeriesRole role = entry->rule->Match(*info);
      if (role == AlertRule::SeriesRole::kNone) continue;
      AlertInstance* instance = nullptr;
      if (role == AlertRule::SeriesRole::kData && !entry->rule->aggregate()) {
        instance = entry->rule->InstanceFor(*info, options_.max_instances_per_rule);
      }
      s.route_scratch.push_back(Target{entry.get(), instance, role});
    }
  }
  return s.routes.Set(series, s.route_scratch);
}

void RuleEngine::OnPoints(std::span<const store::Point> points) {
  if (points.empty()) return;
  std::lock_guard lock(mu_);
  State& s = *state_;
  if (s.rules.empty() && s.writes.empty()) return;
  const Timestamp now = Now();
  const std::uint64_t generation = store_.index().removal_generation();
  if (generation != s.route_generation) {
    s.routes.Reset();
    s.route_generation = generation;
  }
  for (const store::Point& point : points) {
    const std::span<const Target> targets = RoutesOf(s, point.series);
    if (targets.empty()) continue;
    ++s.points_evaluated;
    for (const Target& target : targets) {
      AlertRule& rule = *target.entry->rule;
      if (target.role == AlertRule::SeriesRole::kSuppression) {
        rule.OnSuppressionValue(point.series, point.value, now, s.events);
      } else if (target.entry->window) {
        target.entry->window->Observe(point.ts, now);
      } else if (target.instance != nullptr) {  // null: refused, counted by the rule
        rule.OnValue(*target.instance, point.value, point.ts, now, s.events);
      }
      if (!s.events.empty()) Absorb(s, *target.entry, {});
    }
  }
  // An error is counted and the writes retried with the next commit (file comment).
  Commit(s).IgnoreError();
}

void RuleEngine::Tick() {
  std::lock_guard tick_lock(tick_mu_);
  struct WindowJob {
    std::shared_ptr<AlertRule> rule;
    std::string db;
    BucketRange range;
  };
  std::vector<WindowJob> jobs;
  Timestamp now = 0;
  {
    std::lock_guard lock(mu_);
    State& s = *state_;
    now = Now();
    std::vector<BucketRange> ranges;
    for (auto& [name, entry] : s.rules) {
      if (!entry->record.enabled) continue;
      entry->rule->OnTick(now, s.events);
      if (!s.events.empty()) Absorb(s, *entry, {});
      if (!entry->window) continue;
      ranges.clear();
      entry->window->TakeReady(now, ranges);
      for (const BucketRange& range : ranges)
        jobs.push_back({entry->rule, entry->definition.db, range});
    }
    Commit(s).IgnoreError();  // counted; retried with the next commit
  }
  if (jobs.empty()) return;
  // The queries read the store without the engine's mutex (OnPoints goes on meanwhile).
  std::vector<StatementResult> results;
  results.reserve(jobs.size());
  for (const WindowJob& job : jobs) {
    results.push_back(RunSelectOver(executor_, job.rule->query().select, job.db, job.range, now));
  }
  std::lock_guard lock(mu_);
  State& s = *state_;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    RuleEntry* entry = s.FindById(jobs[i].rule->id());
    // Changed, deleted or disabled meanwhile: the result is for a rule that is gone.
    if (entry == nullptr || entry->rule != jobs[i].rule || !entry->record.enabled) continue;
    if (results[i].error) {
      ++s.window_query_errors;
      continue;
    }
    entry->rule->OnWindowResult(results[i], now, options_.max_instances_per_rule, s.events);
    if (!s.events.empty()) Absorb(s, *entry, {});
  }
  Commit(s).IgnoreError();  // counted; retried with the next commit
}

void RuleEngine::AbsorbOne(State& s, const RuleEntry& entry, AlertEvent& event,
                           std::string_view actor, std::vector<TransitionWrite>& out) const {
  ++s.transitions;
  if (IsNewAlarm(event.transition)) {
    s.kpis.Record(entry.definition.db, entry.definition.name, event.record.instance.instance_key,
                  event.transition.at);
  }
  TransitionWrite write;
  write.transition = std::move(event.record);
  if (!actor.empty()) write.transition.actor = std::string(actor);
  if (event.notification) {
    ++s.notifications;
    const std::vector<std::string>& channels = entry.definition.channels;
    write.outbox.reserve(channels.size());
    for (const std::string& channel : channels) {
      OutboxRow row;
      row.channel = channel;
      row.idempotency_key = event.idempotency_key;
      if (channels.size() > 1) row.idempotency_key += "/" + channel;
      row.payload = *event.notification;
      write.outbox.push_back(std::move(row));
    }
  }
  out.push_back(std::move(write));
}

void RuleEngine::Absorb(State& s, const RuleEntry& entry, std::string_view actor) const {
  for (AlertEvent& event : s.events) AbsorbOne(s, entry, event, actor, s.writes);
  s.events.clear();
}

void RuleEngine::AnnounceOutbox() const {
  if (options_.on_outbox_commit) options_.on_outbox_commit();
}

Status RuleEngine::Commit(State& s) {
  if (s.writes.empty()) return Status::Ok();
  Status status = catalog_.RecordTransitions(s.writes);
  if (status.ok()) {
    if (HasOutbox(s.writes)) AnnounceOutbox();
    s.writes.clear();
    return status;
  }
  ++s.commit_errors;
  s.last_commit_error = status.message();
  if (Permanent(status)) {
    // Find the refused writes: commit one by one, keep what fails for another reason.
    std::vector<TransitionWrite> kept;
    for (TransitionWrite& write : s.writes) {
      const Status one = catalog_.RecordTransitions(std::span<const TransitionWrite>(&write, 1));
      if (one.ok()) {
        if (!write.outbox.empty()) AnnounceOutbox();
        continue;
      }
      if (Permanent(one)) {
        ++s.transitions_dropped;
      } else {
        kept.push_back(std::move(write));
      }
    }
    s.writes = std::move(kept);
  }
  if (s.writes.size() > kMaxUnflushedWrites) {
    s.transitions_dropped += s.writes.size();
    s.writes.clear();
  }
  return status;
}

// ---- alerts ----

std::vector<AlertView> RuleEngine::ListAlerts(const AlertFilter& filter) const {
  std::lock_guard lock(mu_);
  std::vector<AlertView> out;
  for (const auto& [name, entry] : state_->rules) {
    if (!filter.rule.empty() && filter.rule != name) continue;
    for (AlertView& view : entry->rule->Views()) {
      if (!StateMatches(view, filter.state)) continue;
      if (filter.in_alarm_only && !InAlarm(view.isa_state)) continue;
      out.push_back(std::move(view));
    }
  }
  return out;
}

Status RuleEngine::Act(std::string_view rule, OperatorActionKind kind, TransitionCause cause,
                       std::string_view user, std::string_view reason,
                       std::optional<Timestamp> expires, const ActionFn& action) {
  std::lock_guard lock(mu_);
  State& s = *state_;
  RuleEntry* entry = s.Find(rule);
  if (entry == nullptr) return Status(StatusCode::kNotFound, "no rule '" + std::string(rule) + "'");
  // Earlier transitions first, so the instance's rows stay in order.
  if (Status flushed = Commit(s); !flushed.ok()) return flushed;
  const Timestamp now = Now();
  const Status acted = action(*entry->rule, now, s.events);
  // Timers run first inside every call: those are ordinary transitions; the action's
  // own are recorded as the operator action.
  std::vector<TransitionWrite> own;
  for (AlertEvent& event : s.events) {
    const bool mine = event.transition.cause == cause;
    AbsorbOne(s, *entry, event, mine ? user : std::string_view(), mine ? own : s.writes);
  }
  s.events.clear();
  // If the catalog fails, the action's transitions are retried as plain transitions
  // (state and notifications kept; the operator-history row is lost) and the caller
  // gets the error.
  auto keep = [&s, &own] {
    for (TransitionWrite& write : own) s.writes.push_back(std::move(write));
  };
  if (Status committed = Commit(s); !committed.ok()) {
    keep();
    return committed;
  }
  if (!acted.ok() || own.empty()) return acted;
  OperatorActionRecord record;
  record.time = now;
  record.kind = kind;
  record.user = std::string(user);
  record.reason = std::string(reason);
  record.expires_at = expires;
  record.from_state = own.front().transition.from_state;
  record.instance = own.back().transition.instance;
  std::vector<OutboxRow> outbox;
  for (const TransitionWrite& write : own) {  // copies: `own` may still be needed
    outbox.insert(outbox.end(), write.outbox.begin(), write.outbox.end());
  }
  Status recorded = catalog_.RecordOperatorAction(record, outbox);
  if (recorded.ok() && !outbox.empty()) AnnounceOutbox();
  if (!recorded.ok()) {
    ++s.commit_errors;
    s.last_commit_error = recorded.message();
    if (!Permanent(recorded)) keep();
  }
  return recorded;
}

Status RuleEngine::Acknowledge(std::string_view rule, std::string_view instance_key,
                               std::string_view user) {
  return Act(rule, OperatorActionKind::kAcknowledge, TransitionCause::kAcknowledge, user, {},
             std::nullopt, [&](AlertRule& r, Timestamp now, AlertEvents& out) {
               return r.Acknowledge(instance_key, user, now, out);
             });
}

Status RuleEngine::Shelve(std::string_view rule, std::string_view instance_key,
                          std::string_view user, std::string_view reason, ShelveKind kind,
                          Timestamp until) {
  const std::optional<Timestamp> expires =
      kind == ShelveKind::kTimed ? std::optional<Timestamp>(until) : std::nullopt;
  return Act(rule, OperatorActionKind::kShelve, TransitionCause::kShelve, user, reason, expires,
             [&](AlertRule& r, Timestamp now, AlertEvents& out) {
               return r.Shelve(instance_key, user, reason, kind, until, now, out);
             });
}

Status RuleEngine::Unshelve(std::string_view rule, std::string_view instance_key,
                            std::string_view user) {
  return Act(rule, OperatorActionKind::kUnshelve, TransitionCause::kUnshelve, user, {},
             std::nullopt, [&](AlertRule& r, Timestamp now, AlertEvents& out) {
               return r.Unshelve(instance_key, user, now, out);
             });
}

Status RuleEngine::SetOutOfService(std::string_view rule, std::string_view instance_key,
                                   bool out_of_service, std::string_view user) {
  std::lock_guard lock(mu_);
  State& s = *state_;
  RuleEntry* entry = s.Find(rule);
  if (entry == nullptr) return Status(StatusCode::kNotFound, "no rule '" + std::string(rule) + "'");
  const Status acted =
      entry->rule->SetOutOfService(instance_key, out_of_service, user, Now(), s.events);
  for (AlertEvent& event : s.events) {
    const TransitionCause cause = event.transition.cause;
    const bool mine =
        cause == TransitionCause::kOutOfService || cause == TransitionCause::kReturnToService;
    AbsorbOne(s, *entry, event, mine ? user : std::string_view(), s.writes);
  }
  s.events.clear();
  const Status committed = Commit(s);
  return acted.ok() ? committed : acted;
}

StatusOr<std::vector<AuditEntry>> RuleEngine::History(std::string_view rule,
                                                      std::string_view instance_key,
                                                      std::int64_t limit) const {
  std::int64_t rule_id = 0;
  {
    std::lock_guard lock(mu_);
    const RuleEntry* entry = state_->Find(rule);
    if (entry == nullptr) {
      return Status(StatusCode::kNotFound, "no rule '" + std::string(rule) + "'");
    }
    rule_id = entry->record.id;
  }
  return catalog_.AuditForInstance(rule_id, instance_key, limit);
}

EngineStats RuleEngine::stats() const {
  std::lock_guard lock(mu_);
  State& s = *state_;
  const Timestamp now = Now();
  s.kpis.Advance(now);
  EngineStats out;
  out.rules = s.rules.size();
  out.points_evaluated = s.points_evaluated;
  out.transitions = s.transitions;
  out.notifications = s.notifications;
  out.commit_errors = s.commit_errors;
  out.transitions_dropped = s.transitions_dropped;
  out.last_commit_error = s.last_commit_error;
  out.window_query_errors = s.window_query_errors;
  out.alarms_last_10m_by_db = s.kpis.AlarmsByDb();
  out.flood_time_ratio = s.kpis.FloodTimeRatio();
  for (const auto& [name, entry] : s.rules) {
    if (entry->record.enabled) ++out.rules_enabled;
    const AlertRuleCounts counts = entry->rule->counts();
    out.stale += counts.stale;
    out.shelved += counts.shelved;
    out.suppressed += counts.suppressed;
    out.out_of_service += counts.out_of_service;
    out.chattering += counts.chattering;
    out.instances_refused += counts.instances_refused;
    if (counts.in_alarm == 0) continue;
    for (const AlertView& view : entry->rule->Views()) {
      if (InAlarm(view.isa_state) && view.active_since && now - *view.active_since > kStandingNs) {
        ++out.standing;
      }
    }
  }
  for (AlarmKpis::Actor& actor : s.kpis.TopActors(options_.bad_actors)) {
    out.bad_actors.push_back({std::move(actor.rule), std::move(actor.instance_key), actor.alarms});
  }
  return out;
}

}  // namespace tidewatch::rules
