// RuleEngine: the alert rules of the daemon, evaluated on the stream.
//
// Data flow. The evaluation workers hand every stored batch to OnPoints()
// (ingest/evaluation_workers.h, the after-store hook), before the batch's tickets
// complete. Raw rules are evaluated right there, per point; the transitions of the
// batch are committed to the catalog (state + audit + outbox rows, one SQLite
// transaction per batch) before OnPoints returns, so a source's offset only moves past
// a point once what it changed is durable (ARCHITECTURE.md guarantees 1 and 4).
// Aggregate rules only note the event times (rules/window_tracker.h); the engine's own
// thread runs their window query (rules/window_query.h) when a window closes, and runs
// every instance's timers each tick_interval.
//
// Routing. Which rules a series feeds is decided once per SeriesId and cached; the
// cache is dropped when the store removes series (SeriesIndex::removal_generation()).
//
// Rules. Created, changed and deleted through the Create/Update/Delete/SetEnabled calls
// (the /api/v1/rules API: source "api") or ReplaceFileRules (the rules file: source
// "file"; the API refuses to change those with kInvalidArgument, "rule 'x' is managed by
// the rules file"). Every change is stored in the catalog first, then applied. Disabled
// rules keep their instances' state but are not evaluated (no points, no timers, no
// windows); enabling one again continues its instances and starts its window afresh.
//
// Changing a rule (UpdateRule, ReplaceFileRules). If its query, db and suppress_when
// stay the same, the rule keeps its id and its instances' state: AlertRule::
// UpdateDefinition (what already fires is not re-notified). If any of them changes,
// what the rule evaluates is different, so it becomes a new rule under the same name:
// the old rule is deleted from the catalog (with its instances and operator history;
// its audit and outbox rows stay) and the new one created with a new id, version 1 and
// no instances. A firing alert of the old rule gets no resolve notification (receivers
// let it expire, as Alertmanager does after its resolve_timeout).
//
// Notifications. Each announced transition's payload (rules/notification.h) is written
// as one outbox row per channel of its rule (none when the rule has no channels). The
// row's idempotency key is the payload's; with several channels "/<channel>" is appended
// to each row's key (the outbox wants keys unique; each channel is its own receiver, and
// the payload keeps the plain key, identical on every channel and every retry).
//
// Commit errors. The catalog writes of a batch (or a tick) are one transaction. If it
// fails, the engine keeps its in-memory state (alerts already moved on), counts the
// error (EngineStats::commit_errors) and keeps the writes to retry first, in order, with
// the next commit; writes the catalog refuses outright (kInvalidArgument, kNotFound:
// e.g. an idempotency key already stored by a commit that reported an error) are
// retried one by one and the refused ones dropped (transitions_dropped), as is the
// whole backlog beyond kMaxUnflushedWrites. OnPoints() cannot report the error and a
// source's offset still moves on, so a crash while writes wait for their retry loses
// them. An operator action first commits that backlog (kUnavailable etc. if it cannot,
// nothing done); if its own record then fails, the caller gets the error and its
// transitions join the backlog as plain transitions (the operator-history row is lost).
//
// Restart. Load() reads rules and instance state from the catalog: firing alerts stay
// firing without a new notification, timers resume from their stored start, shelves
// expire on time, and an instance's no-data clock restarts at Load() time. Instances
// are stored when they change state, so one that never did comes back with its next
// point. An aggregate rule's window continues after the last bucket its instances
// evaluated (WindowTracker::Prime).
//
// Thread safety: every public call is thread-safe. OnPoints() takes one mutex per
// batch (never per point) and holds it while the batch's transitions are committed, so
// transitions of one instance are committed in the order they happened. Rule changes
// and operator actions hold it across their catalog writes too. Tick() runs the window
// queries of aggregate rules without it (between two locked steps), so evaluation
// workers never wait for a query.
#ifndef TIDEWATCH_RULES_RULE_ENGINE_H_
#define TIDEWATCH_RULES_RULE_ENGINE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "rules/alert_rule.h"
#include "rules/catalog.h"
#include "rules/query_executor.h"
#include "rules/rule_definition.h"
#include "rules/window_tracker.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::rules {

namespace internal {
struct EngineState;
struct RuleEntry;
struct RouteTarget;
}  // namespace internal

struct RuleEngineOptions {
  // Processing time (ns since the epoch); the system clock unless a test fakes it.
  std::function<Timestamp()> clock;
  std::int64_t tick_interval_ns = 250'000'000;  // timers and window closes
  // Aggregate rules' windows (window_tracker.h).
  std::int64_t lateness_ns = 0;
  std::int64_t idle_timeout_ns = 10'000'000'000;
  std::size_t max_instances_per_rule = 100'000;
  // Base of the generator URL in notifications, e.g. "http://plant-a:8086".
  std::string external_url;
  // Chatter KPI: top bad actors reported (EngineStats::bad_actors).
  std::size_t bad_actors = 10;
  // Called after every catalog commit that enqueued outbox rows (the delivery worker's
  // Notify()), with the engine's lock held: must be cheap and must not call the engine.
  std::function<void()> on_outbox_commit;
};

enum class RuleSource : std::uint8_t { kApi, kFile };
std::string_view RuleSourceName(RuleSource source);  // "api", "file"

struct RuleStatus {
  RuleRecord record;  // id, version, created/updated, enabled
  RuleDefinition definition;
  RuleSource source = RuleSource::kApi;
  AlertRuleCounts counts;
};

// One instance a dry run would put in alarm (or pending).
struct DryRunAlert {
  std::string instance_key;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string state;  // "pending" or "firing"
  int severity = 0;
  std::string severity_name;
  double value = 0;
  Timestamp event_time = 0;
};

struct AlertFilter {
  std::string rule;   // "" any
  std::string state;  // "" any; "inactive"|"pending"|"firing" or an ISA state name
  bool in_alarm_only = false;
};

// Alarm-system KPIs (ISA-18.2 / EEMUA 191) for /metrics.
struct EngineStats {
  std::size_t rules = 0;
  std::size_t rules_enabled = 0;
  std::uint64_t points_evaluated = 0;
  std::uint64_t transitions = 0;
  std::uint64_t notifications = 0;
  std::uint64_t instances_refused = 0;    // beyond max_instances_per_rule
  std::uint64_t commit_errors = 0;        // catalog commits that failed (retried)
  std::uint64_t transitions_dropped = 0;  // writes given up after commit errors
  std::string last_commit_error;          // the latest commit error's message
  std::uint64_t window_query_errors = 0;  // window queries that answered an error
  // Alarms announced in the last 10 minutes, per database.
  std::vector<std::pair<std::string, std::uint64_t>> alarms_last_10m_by_db;
  // Share of the time since start the alarm rate exceeded 10 per 10 minutes.
  double flood_time_ratio = 0;
  std::size_t standing = 0;  // in alarm longer than 24 h
  std::size_t stale = 0;     // in alarm but with no data (no_data_after)
  std::size_t shelved = 0;
  std::size_t suppressed = 0;
  std::size_t out_of_service = 0;
  std::size_t chattering = 0;
  // The rules/instances with the most announced alarms in the last 10 minutes.
  struct BadActor {
    std::string rule;
    std::string instance_key;
    std::uint64_t alarms = 0;
  };
  std::vector<BadActor> bad_actors;
};

class RuleEngine {
 public:
  // REQUIRES: store, executor and catalog outlive the engine.
  RuleEngine(store::Store& store, QueryExecutor& executor, Catalog& catalog,
             RuleEngineOptions options = {});
  ~RuleEngine();  // Stop()
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // Reads rules and instances from the catalog. A stored rule that no longer compiles
  // is skipped with an error in the returned status (the others load). Call once,
  // before Start().
  Status Load();
  // Starts / stops the engine's thread (ticks, window closes). Stop() is idempotent.
  void Start();
  void Stop();

  // The after-store hook. See the file comment.
  void OnPoints(std::span<const store::Point> points);
  // One engine step at `now`: timers and closed windows. The thread calls it every
  // tick_interval; tests call it directly (without Start()).
  void Tick();

  // ---- rules (actor: the API user, for the audit log) ----
  // kInvalidArgument: the definition does not compile, or the name exists.
  StatusOr<RuleStatus> CreateRule(const RuleDefinition& definition, std::string_view actor);
  // kNotFound; kInvalidArgument for a file rule, or a definition that does not
  // compile. See the file comment for what a change keeps.
  StatusOr<RuleStatus> UpdateRule(const RuleDefinition& definition, std::string_view actor);
  // kNotFound; kInvalidArgument for a file rule.
  Status DeleteRule(std::string_view name, std::string_view actor);
  StatusOr<RuleStatus> SetRuleEnabled(std::string_view name, bool enabled, std::string_view actor);
  std::vector<RuleStatus> ListRules() const;
  StatusOr<RuleStatus> GetRule(std::string_view name) const;
  // Makes the file rules exactly `rules`: creates, updates (by name) and deletes file
  // rules. All-or-nothing: any invalid rule, a duplicate name, or a name an API rule
  // has fails the whole call (kInvalidArgument) with every reason and changes nothing.
  // A catalog error while applying returns that error with the changes before it made
  // (each change is its own transaction; reapplying the file converges).
  Status ReplaceFileRules(const std::vector<RuleDefinition>& rules);

  // Evaluates `definition` over the data currently in the store (raw: every point in
  // event-time order per series; aggregate: the window query over the whole window)
  // with fresh instances and no side effects; returns the instances that end pending or
  // firing. Raw rules run each point at processing time = its event time. Aggregate
  // rules query every bucket from the database's retention start up to and including
  // the bucket of its newest point (also the still open one), and feed the buckets in
  // order, each at processing time = its end. kInvalidArgument for a definition that
  // does not compile or a window query that fails.
  StatusOr<std::vector<DryRunAlert>> DryRun(const RuleDefinition& definition) const;

  // ---- alerts ----
  std::vector<AlertView> ListAlerts(const AlertFilter& filter) const;
  // kNotFound (rule or instance); kInvalidArgument (nothing to acknowledge, bad expiry).
  Status Acknowledge(std::string_view rule, std::string_view instance_key, std::string_view user);
  Status Shelve(std::string_view rule, std::string_view instance_key, std::string_view user,
                std::string_view reason, ShelveKind kind, Timestamp until);
  Status Unshelve(std::string_view rule, std::string_view instance_key, std::string_view user);
  Status SetOutOfService(std::string_view rule, std::string_view instance_key, bool out_of_service,
                         std::string_view user);
  // The instance's audit log, newest first.
  StatusOr<std::vector<AuditEntry>> History(std::string_view rule, std::string_view instance_key,
                                            std::int64_t limit) const;

  EngineStats stats() const;

 private:
  using State = internal::EngineState;  // rules, routes, KPI windows; guarded by mu_
  using RuleEntry = internal::RuleEntry;
  using Target = internal::RouteTarget;
  using ActionFn = std::function<Status(AlertRule&, Timestamp, AlertEvents&)>;

  // Past this many writes waiting for a retry, the backlog is dropped (counted).
  static constexpr std::size_t kMaxUnflushedWrites = 100'000;

  Timestamp Now() const;
  StatusOr<std::unique_ptr<RuleEntry>> MakeEntry(const RuleRecord& record,
                                                 RuleDefinition definition) const;
  // The routes of `series`, resolved on first use. REQUIRES: mu_ held.
  std::span<const Target> RoutesOf(State& s, store::SeriesId series) const;
  // Moves s.events (all of `entry`'s rule) into s.writes; `actor` overrides the
  // records' actor when not empty. REQUIRES: mu_ held.
  void Absorb(State& s, const RuleEntry& entry, std::string_view actor) const;
  void AbsorbOne(State& s, const RuleEntry& entry, AlertEvent& event, std::string_view actor,
                 std::vector<TransitionWrite>& out) const;
  // Commits s.writes (see the file comment on errors). REQUIRES: mu_ held.
  Status Commit(State& s);
  // Calls options_.on_outbox_commit, if any.
  void AnnounceOutbox() const;
  // Rule changes. REQUIRES: mu_ held; definitions compile.
  StatusOr<RuleStatus> CreateLocked(State& s, const RuleDefinition& definition, RuleSource source);
  StatusOr<RuleStatus> UpdateLocked(State& s, RuleEntry& entry, const RuleDefinition& definition);
  Status DeleteLocked(State& s, std::string_view name);
  // An operator action on one instance, recorded with RecordOperatorAction.
  Status Act(std::string_view rule, OperatorActionKind kind, TransitionCause cause,
             std::string_view user, std::string_view reason, std::optional<Timestamp> expires,
             const ActionFn& action);
  StatusOr<std::vector<DryRunAlert>> DryRunRaw(AlertRule& rule) const;
  StatusOr<std::vector<DryRunAlert>> DryRunAggregate(AlertRule& rule) const;
  void Run();  // the thread

  store::Store& store_;
  QueryExecutor& executor_;
  Catalog& catalog_;
  const RuleEngineOptions options_;

  std::mutex tick_mu_;  // serialises Tick() (its window queries run outside mu_)
  mutable std::mutex mu_;
  std::unique_ptr<State> state_;  // guarded by mu_

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by thread_mu_
  std::thread thread_;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_RULE_ENGINE_H_
