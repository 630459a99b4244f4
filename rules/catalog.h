// The SQLite catalog: one database file (in storage.data_dir) holding alert rules,
// continuous queries, notification channels, alert instance state, the operator
// history (acknowledgements, shelves), the audit log, and the notification outbox.
//
// Guarantee 4 of ARCHITECTURE.md rests here: RecordTransition() writes an alert
// instance's new state, its audit row and the outbox rows of its notifications in ONE
// transaction, so a crash leaves either all of them or none. The outbox then hands
// rows to the sinks per channel, in order per alert instance: a row is only claimable
// when no earlier row of the same (channel, instance) is still pending, so a resolve
// never overtakes its firing.
//
// Storage. WAL journal, foreign keys on, a busy timeout (another process holding the
// write lock longer than that gives kUnavailable). Durability::kFull (the default)
// fsyncs the WAL on every commit, so a transition that returned OK survives power
// loss; kNormal fsyncs only at checkpoints, which survives a process crash (kill -9)
// but may lose the last commits on power loss or an OS crash. The outbox's own
// bookkeeping (ClaimDue, MarkDone, MarkFailed, MoveToDead, PruneDone) commits without
// an fsync even under kFull: losing it only makes a row be sent again, and the next
// fsynced commit makes it durable too (the WAL is written in order). The catalog writes per
// transition, not per point, so the fsync is affordable. Every statement is prepared
// once at Open() and reused (the outbox calls' two PRAGMAs are run as text); values
// are always bound, never spliced into SQL.
//
// Times are int64 nanoseconds since the Unix epoch, as everywhere in tidewatch.
//
// Errors: kUnavailable (database busy beyond the timeout), kInvalidArgument (a
// duplicate name, a missing referenced row, a value SQLite refuses) with a readable
// message, kNotFound (the named row does not exist), kDataLoss (a corrupt file or
// not a database), kResourceExhausted (disk full), kInternal (I/O and other failures).
// Messages name the file and carry SQLite's text.
//
// Thread safety: a Catalog may be used from any number of threads. It owns one SQLite
// connection and serialises every call behind one mutex (SQLite allows one writer at a
// time anyway, and catalog calls are per transition or per batch, not per point).
// Never call it on the per-point hot path.
#ifndef TIDEWATCH_RULES_CATALOG_H_
#define TIDEWATCH_RULES_CATALOG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/catalog_schema.h"
#include "store/status.h"

namespace tidewatch::rules {

namespace internal {
class SqliteDb;
struct CatalogStatements;
}  // namespace internal

enum class Durability {
  kFull,    // synchronous=FULL: every commit is on disk when the call returns
  kNormal,  // synchronous=NORMAL: safe against process crashes, not power loss
};

struct CatalogOptions {
  Durability durability = Durability::kFull;
  // How long a call waits for another connection's write lock before kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // Current time for created_at / updated_at; the system clock unless a test fakes it.
  std::function<std::int64_t()> clock;
  // The schema migrations to apply; tests inject extra ones (see catalog_schema.h).
  std::span<const CatalogMigration> migrations = CatalogMigrations();
};

// ---- rules, continuous queries, channels ----

struct RuleSpec {
  std::string name;        // unique; the rule's identity in the API
  std::string db;          // the database the rule reads
  std::string definition;  // the rule as JSON text; opaque to the catalog
  bool enabled = true;
  std::string source = "api";  // who manages it: "api" or "file"; opaque to the catalog
};

struct RuleRecord {
  std::int64_t id = 0;  // never reused, so the audit log stays unambiguous
  std::string name;
  std::string db;
  std::string definition;
  bool enabled = true;
  std::string source = "api";
  std::int64_t version = 0;  // 1 on create, +1 on every change (incl. enable/disable)
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  friend bool operator==(const RuleRecord&, const RuleRecord&) = default;
};

struct ContinuousQueryRecord {
  std::string db;  // CQ names are unique per database, as in InfluxDB
  std::string name;
  std::string text;  // the CREATE CONTINUOUS QUERY statement
  std::int64_t created_at = 0;
  friend bool operator==(const ContinuousQueryRecord&, const ContinuousQueryRecord&) = default;
};

enum class ChannelKind { kWebhook, kAlertmanager, kKafka };
// "webhook", "alertmanager", "kafka".
std::string_view ChannelKindName(ChannelKind kind);
std::optional<ChannelKind> ParseChannelKind(std::string_view name);

struct ChannelSpec {
  std::string name;  // unique
  ChannelKind kind = ChannelKind::kWebhook;
  std::string config;  // the channel's settings as JSON text; opaque to the catalog
  std::string source = "api";  // who manages it: "api" or "config"; opaque to the catalog
};

struct ChannelRecord {
  std::string name;
  ChannelKind kind = ChannelKind::kWebhook;
  std::string config;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::string source = "api";
  friend bool operator==(const ChannelRecord&, const ChannelRecord&) = default;
};

// ---- alert state ----

// One alert instance's persisted state. The state names are the state machine's
// (rules/alarm_state.h); the catalog stores them as text without interpreting them.
struct AlertInstanceRecord {
  std::int64_t rule_id = 0;
  std::string instance_key;  // the instance's sorted labels, e.g. "sensor=pt-001,site=site1"
  std::string state;         // e.g. "inactive", "pending", "firing", "resolved"
  std::string ack_state;     // e.g. "acknowledged", "unacknowledged"
  std::int32_t severity = 0;
  std::optional<std::int64_t> active_since;
  std::optional<std::int64_t> pending_since;
  std::optional<double> last_value;
  std::int64_t last_change = 0;
  std::optional<std::int64_t> shelved_until;
  bool shelve_one_shot = false;
  bool suppressed = false;
  bool out_of_service = false;
  std::string snapshot;  // anything else the state machine keeps (opaque text)
  friend bool operator==(const AlertInstanceRecord&, const AlertInstanceRecord&) = default;
};

// A notification to enqueue with a transition. Its instance comes from the transition.
struct OutboxRow {
  std::string channel;
  std::string idempotency_key;  // unique across the outbox; stable across retries
  std::string payload;
};

// An alert state change, decided by the engine.
struct TransitionRecord {
  std::int64_t time = 0;
  AlertInstanceRecord instance;  // the state after the transition (upserted)
  std::string from_state;        // for the audit log
  std::string actor = "engine";
  std::string details;
};

// A transition with the notifications it enqueues, for RecordTransitions.
struct TransitionWrite {
  TransitionRecord transition;
  std::vector<OutboxRow> outbox;
};

enum class OperatorActionKind { kAcknowledge, kShelve, kUnshelve };
// "acknowledge", "shelve", "unshelve".
std::string_view OperatorActionName(OperatorActionKind kind);

// An operator's action on one instance. The caller (the state machine) computes the
// instance's resulting state; the catalog records it with the action.
struct OperatorActionRecord {
  std::int64_t time = 0;
  OperatorActionKind kind = OperatorActionKind::kAcknowledge;
  std::string user;
  std::string reason;
  std::optional<std::int64_t> expires_at;  // a timed shelve's end
  AlertInstanceRecord instance;            // the state after the action (upserted)
  std::string from_state;                  // for the audit log
};

struct OperatorActionEntry {
  std::int64_t id = 0;
  std::int64_t time = 0;
  OperatorActionKind kind = OperatorActionKind::kAcknowledge;
  std::string user;
  std::string reason;
  std::optional<std::int64_t> expires_at;
};

struct AuditEntry {
  std::int64_t id = 0;  // increasing in commit order
  std::int64_t time = 0;
  std::int64_t rule_id = 0;
  std::string instance_key;
  std::string actor;   // "engine" or the operator's user name
  std::string action;  // "transition", "acknowledge", "shelve", "unshelve"
  std::string from_state;
  std::string to_state;
  std::string details;  // the operator's reason for operator actions
};

// ---- outbox ----

struct OutboxEntry {
  std::int64_t id = 0;  // increasing in commit order
  std::string channel;
  std::int64_t rule_id = 0;
  std::string instance_key;
  std::string ordering_key;   // "<rule_id>/<instance_key>"
  std::int64_t sequence = 0;  // 1, 2, ... per instance, never reused
  std::string idempotency_key;
  std::string payload;
  std::int64_t created_at = 0;
  std::int64_t attempts = 0;  // claims so far, this one included
  std::int64_t next_attempt_at = 0;
  std::string last_error;
};

struct OutboxCounts {
  std::int64_t pending = 0;
  std::int64_t done = 0;
  std::int64_t dead = 0;
  friend bool operator==(const OutboxCounts&, const OutboxCounts&) = default;
};

struct PruneStep {
  std::int64_t deleted = 0;
  std::int64_t next = 0;  // the `after` of the next step
  bool finished = false;  // nothing older than `before` lies beyond `next`
  friend bool operator==(const PruneStep&, const PruneStep&) = default;
};

class Catalog {
 public:
  // Opens or creates the catalog at `path` and migrates its schema to the newest
  // version, each migration in its own transaction. Errors: kInternal when the file
  // cannot be opened or created (a read-only directory), kDataLoss when the file is
  // not a SQLite database or fails the integrity check, kInvalidArgument when its
  // schema is newer than this build knows.
  static StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path,
                                                 CatalogOptions options = {});

  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  ~Catalog();

  // The schema version of the open file (PRAGMA user_version).
  StatusOr<std::int64_t> SchemaVersion();
  // The connection's PRAGMA synchronous between calls: 2 under kFull, 1 under kNormal.
  StatusOr<std::int64_t> Synchronous();

  // -- rules. kInvalidArgument for a duplicate name; kNotFound for a missing one.
  StatusOr<RuleRecord> CreateRule(const RuleSpec& spec);
  // Replaces db, definition and enabled of the rule named spec.name; version + 1.
  StatusOr<RuleRecord> UpdateRule(const RuleSpec& spec);
  StatusOr<RuleRecord> SetRuleEnabled(std::string_view name, bool enabled);
  StatusOr<RuleRecord> GetRule(std::string_view name);
  StatusOr<std::vector<RuleRecord>> ListRules();  // by name
  // Deletes the rule with its alert instances and their operator history. Its audit
  // rows and outbox rows stay (pending notifications are still delivered).
  Status DeleteRule(std::string_view name);

  // -- continuous queries, keyed by (db, name). Replaced by delete + create, as in
  // InfluxDB, which has no ALTER.
  StatusOr<ContinuousQueryRecord> CreateContinuousQuery(std::string_view db, std::string_view name,
                                                        std::string_view text);
  StatusOr<ContinuousQueryRecord> GetContinuousQuery(std::string_view db, std::string_view name);
  StatusOr<std::vector<ContinuousQueryRecord>> ListContinuousQueries();  // by db, name
  Status DeleteContinuousQuery(std::string_view db, std::string_view name);

  // -- channels. Deleting a channel leaves its outbox rows for the sinks to dead-letter.
  // UpdateChannel replaces kind, config and source.
  StatusOr<ChannelRecord> CreateChannel(const ChannelSpec& spec);
  StatusOr<ChannelRecord> UpdateChannel(const ChannelSpec& spec);
  StatusOr<ChannelRecord> GetChannel(std::string_view name);
  StatusOr<std::vector<ChannelRecord>> ListChannels();  // by name
  Status DeleteChannel(std::string_view name);

  // -- alert state.
  // In one transaction: upserts the instance row, appends an audit row ("transition",
  // from_state -> instance.state) and enqueues `outbox` for the instance with
  // next_attempt_at = time. On any failure nothing of it is visible. kInvalidArgument
  // when the rule does not exist or an idempotency key is already in the outbox.
  Status RecordTransition(const TransitionRecord& transition, std::span<const OutboxRow> outbox);
  // As RecordTransition for each write in order, all in ONE transaction (one fsync for
  // a batch of points): all of them are visible afterwards, or on error none.
  Status RecordTransitions(std::span<const TransitionWrite> writes);
  // In one transaction: upserts the instance row, appends the operator history row
  // and an audit row, and enqueues `outbox` (e.g. what an unshelve announces).
  Status RecordOperatorAction(const OperatorActionRecord& action,
                              std::span<const OutboxRow> outbox);
  // Every instance, by (rule_id, instance_key): the engine's state after a restart.
  StatusOr<std::vector<AlertInstanceRecord>> LoadInstances();
  // The newest `limit` audit rows of one instance, newest first.
  StatusOr<std::vector<AuditEntry>> AuditForInstance(std::int64_t rule_id,
                                                     std::string_view instance_key,
                                                     std::int64_t limit);
  // The newest `limit` operator actions on one instance, newest first.
  StatusOr<std::vector<OperatorActionEntry>> OperatorActionsForInstance(
      std::int64_t rule_id, std::string_view instance_key, std::int64_t limit);

  // -- outbox, driven by the sinks.
  // Claims up to `limit` rows of `channel` that are due (next_attempt_at <= now) and
  // have no earlier pending row of the same instance, in id order. A claim counts an
  // attempt and leases the row until `lease_until` (its next_attempt_at), so a second
  // ClaimDue does not hand it out again while it is in flight; a sender that crashed
  // gets its rows back when the lease runs out. The row stays pending — and keeps the
  // later rows of its instance back — until MarkDone or MoveToDead.
  StatusOr<std::vector<OutboxEntry>> ClaimDue(std::string_view channel, std::int64_t now,
                                              std::int64_t limit, std::int64_t lease_until);
  // The receiver accepted the row. kNotFound unless the row is pending.
  Status MarkDone(std::int64_t id);
  // The attempt failed; retry at next_attempt_at. kNotFound unless the row is pending.
  Status MarkFailed(std::int64_t id, std::string_view error, std::int64_t next_attempt_at);
  // Moves a pending row to the dead-letter table (with `reason` and the time it died),
  // releasing the next row of its instance. kNotFound unless the row is pending.
  Status MoveToDead(std::int64_t id, std::string_view reason, std::int64_t now);
  // One step of a pass that deletes the done rows created before `before`: it looks at
  // the (up to) `limit` rows after id `after` and deletes those of them, so a step
  // holds the catalog for `limit` rows at most and a pass (after = 0, then each step's
  // `next`) reads each old row once. The newest row of each live instance on each
  // channel stays whatever its age: it is what LatestPerInstance announces again after
  // a restart. Dead rows stay. Ids follow creation times, so the pass is `finished` at
  // the first row created in [before, now] (or the end of the outbox); a row dated after
  // `now` (a clock that was wrong) does not end it.
  StatusOr<PruneStep> PruneDone(std::int64_t before, std::int64_t now, std::int64_t after,
                                std::int64_t limit);
  StatusOr<OutboxCounts> CountOutbox(std::string_view channel);
  // Makes every pending row whose next attempt is after `now` due at `now`: leases of
  // senders that died with the previous process, and backoffs. Returns how many.
  // REQUIRES: no other process drives this outbox (tidewatchd locks its data_dir).
  StatusOr<std::int64_t> ReleaseLeases(std::int64_t now);
  // The channels that have pending rows, by name.
  StatusOr<std::vector<std::string>> PendingChannels();
  // Moves every pending row of `channel` to the dead-letter table (as MoveToDead);
  // returns how many. For rows no sender will ever claim (a deleted channel).
  StatusOr<std::int64_t> MoveChannelToDead(std::string_view channel, std::string_view reason,
                                           std::int64_t now);
  // The newest row (done or pending) of each alert instance on `channel` whose instance
  // still exists, in id order: what the channel was last told about each alert. An
  // instance whose newest row went to the dead-letter table is left out (what the
  // receiver holds is unknown; an older firing row must not be announced again).
  StatusOr<std::vector<OutboxEntry>> LatestPerInstance(std::string_view channel);

 private:
  Catalog(std::unique_ptr<internal::SqliteDb> db,
          std::unique_ptr<internal::CatalogStatements> statements, CatalogOptions options);

  std::int64_t Now() const;
  // Shared by RecordTransition and RecordOperatorAction; REQUIRES: mu_ held, inside a
  // transaction.
  Status WriteInstance(const AlertInstanceRecord& instance, std::int64_t time,
                       std::string_view actor, std::string_view action, std::string_view from_state,
                       std::string_view details, std::span<const OutboxRow> outbox);

  // Runs `op` (an outbox call's writes) without the WAL fsync under kFull; defined and
  // used in catalog_outbox.cc. REQUIRES: mu_ held.
  template <typename Op>
  auto WithoutFsync(Op op) -> decltype(op());
  // Puts synchronous back to FULL if WithoutFsync could not; called before every
  // transition and operator action (guarantee 4). Other writes (rules, channels, CQs)
  // after such a failure may commit unsynced until it succeeds. REQUIRES: mu_ held.
  Status RestoreFullSync();

  // Constant after construction.
  const CatalogOptions options_;

  std::mutex mu_;
  // Guarded by mu_. statements_ is declared after db_ so it is destroyed first.
  std::unique_ptr<internal::SqliteDb> db_;
  std::unique_ptr<internal::CatalogStatements> statements_;
  bool sync_relaxed_ = false;  // synchronous may be NORMAL under kFull (WithoutFsync)
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_CATALOG_H_
