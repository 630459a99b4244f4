#include "rules/catalog_statements.h"

#include <sqlite3.h>

#include <initializer_list>
#include <utility>

namespace tidewatch::rules::internal {
namespace {

// Column lists, in the order the readers in catalog*.cc expect. Spliced into the SQL
// at compile time; values are always bound parameters.
#define TW_RULE_COLUMNS "id, name, db, definition, enabled, version, created_at, updated_at, source"
#define TW_CQ_COLUMNS "db, name, text, created_at"
#define TW_CHANNEL_COLUMNS "name, kind, config, created_at, updated_at, source"
#define TW_INSTANCE_COLUMNS                                                          \
  "rule_id, instance_key, state, ack_state, severity, active_since, pending_since, " \
  "last_value, last_change, shelved_until, shelve_one_shot, suppressed, "            \
  "out_of_service, snapshot"
#define TW_OUTBOX_COLUMNS                                                                  \
  "id, channel, rule_id, instance_key, ordering_key, sequence, idempotency_key, payload, " \
  "created_at, attempts, next_attempt_at, last_error"

}  // namespace

StatusOr<std::unique_ptr<CatalogStatements>> PrepareCatalogStatements(SqliteDb& db) {
  auto st = std::make_unique<CatalogStatements>();
  const std::initializer_list<std::pair<SqliteStatement*, const char*>> all = {
      {&st->insert_rule,
       "INSERT INTO rules (name, db, definition, enabled, version, created_at, updated_at, "
       "source) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?6) RETURNING " TW_RULE_COLUMNS},
      {&st->update_rule,
       "UPDATE rules SET db = ?2, definition = ?3, enabled = ?4, version = version + 1, "
       "updated_at = ?5, source = ?6 WHERE name = ?1 RETURNING " TW_RULE_COLUMNS},
      {&st->set_rule_enabled,
       "UPDATE rules SET enabled = ?2, version = version + 1, updated_at = ?3 "
       "WHERE name = ?1 RETURNING " TW_RULE_COLUMNS},
      {&st->get_rule, "SELECT " TW_RULE_COLUMNS " FROM rules WHERE name = ?1"},
      {&st->list_rules, "SELECT " TW_RULE_COLUMNS " FROM rules ORDER BY name"},
      {&st->delete_rule, "DELETE FROM rules WHERE name = ?1"},

      {&st->insert_cq,
       "INSERT INTO continuous_queries (db, name, text, created_at) VALUES (?1, ?2, ?3, ?4) "
       "RETURNING " TW_CQ_COLUMNS},
      {&st->get_cq, "SELECT " TW_CQ_COLUMNS " FROM continuous_queries WHERE db = ?1 AND name = ?2"},
      {&st->list_cqs, "SELECT " TW_CQ_COLUMNS " FROM continuous_queries ORDER BY db, name"},
      {&st->delete_cq, "DELETE FROM continuous_queries WHERE db = ?1 AND name = ?2"},

      {&st->insert_channel,
       "INSERT INTO channels (name, kind, config, created_at, updated_at, source) "
       "VALUES (?1, ?2, ?3, ?4, ?4, ?5) RETURNING " TW_CHANNEL_COLUMNS},
      {&st->update_channel,
       "UPDATE channels SET kind = ?2, config = ?3, updated_at = ?4, source = ?5 "
       "WHERE name = ?1 "
       "RETURNING " TW_CHANNEL_COLUMNS},
      {&st->get_channel, "SELECT " TW_CHANNEL_COLUMNS " FROM channels WHERE name = ?1"},
      {&st->list_channels, "SELECT " TW_CHANNEL_COLUMNS " FROM channels ORDER BY name"},
      {&st->delete_channel, "DELETE FROM channels WHERE name = ?1"},

      {&st->upsert_instance,
       "INSERT INTO alert_instances (" TW_INSTANCE_COLUMNS
       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
       "ON CONFLICT (rule_id, instance_key) DO UPDATE SET state = excluded.state, "
       "ack_state = excluded.ack_state, severity = excluded.severity, "
       "active_since = excluded.active_since, pending_since = excluded.pending_since, "
       "last_value = excluded.last_value, last_change = excluded.last_change, "
       "shelved_until = excluded.shelved_until, shelve_one_shot = excluded.shelve_one_shot, "
       "suppressed = excluded.suppressed, out_of_service = excluded.out_of_service, "
       "snapshot = excluded.snapshot"},
      {&st->bump_sequence,
       "UPDATE alert_instances SET outbox_sequence = outbox_sequence + ?3 "
       "WHERE rule_id = ?1 AND instance_key = ?2 RETURNING outbox_sequence"},
      {&st->insert_outbox,
       "INSERT INTO outbox (channel, rule_id, instance_key, ordering_key, sequence, "
       "idempotency_key, payload, created_at, next_attempt_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"},
      {&st->insert_audit,
       "INSERT INTO audit_log (time, rule_id, instance_key, actor, action, from_state, "
       "to_state, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&st->insert_operator_action,
       "INSERT INTO operator_actions (rule_id, instance_key, time, action, user, reason, "
       "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&st->load_instances,
       "SELECT " TW_INSTANCE_COLUMNS " FROM alert_instances ORDER BY rule_id, instance_key"},
      {&st->audit_for_instance,
       "SELECT id, time, rule_id, instance_key, actor, action, from_state, to_state, details "
       "FROM audit_log WHERE rule_id = ?1 AND instance_key = ?2 ORDER BY id DESC LIMIT ?3"},
      {&st->operator_actions_for_instance,
       "SELECT id, time, action, user, reason, expires_at FROM operator_actions "
       "WHERE rule_id = ?1 AND instance_key = ?2 ORDER BY id DESC LIMIT ?3"},

      // Due rows with no earlier pending row of the same instance on the same channel:
      // the head of each instance's queue, so a resolve never overtakes its firing.
      {&st->select_due,
       "SELECT " TW_OUTBOX_COLUMNS " FROM outbox AS o WHERE o.channel = ?1 "
       "AND o.state = 'pending' AND o.next_attempt_at <= ?2 AND NOT EXISTS ("
       "SELECT 1 FROM outbox AS e WHERE e.channel = o.channel "
       "AND e.ordering_key = o.ordering_key AND e.state = 'pending' AND e.id < o.id) "
       "ORDER BY o.id LIMIT ?3"},
      {&st->lease_row,
       "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1"},
      {&st->mark_done,
       "UPDATE outbox SET state = 'done', last_error = '' WHERE id = ?1 AND state = 'pending'"},
      {&st->mark_failed,
       "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3 "
       "WHERE id = ?1 AND state = 'pending'"},
      {&st->copy_to_dead,
       "INSERT INTO outbox_dead (id, channel, rule_id, instance_key, ordering_key, sequence, "
       "idempotency_key, payload, created_at, attempts, last_error, dead_at, reason) "
       "SELECT id, channel, rule_id, instance_key, ordering_key, sequence, idempotency_key, "
       "payload, created_at, attempts, last_error, ?2, ?3 FROM outbox "
       "WHERE id = ?1 AND state = 'pending'"},
      {&st->delete_pending, "DELETE FROM outbox WHERE id = ?1 AND state = 'pending'"},
      {&st->prune_window, "SELECT id, created_at FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2"},
      // A newer row of the instance on the channel: "state IN" lets the lookup seek
      // outbox_order (channel, ordering_key, state, id) instead of reading every row.
      {&st->prune_done,
       "DELETE FROM outbox WHERE id > ?1 AND id <= ?2 AND state = 'done' AND created_at < ?3 "
       "AND (EXISTS (SELECT 1 FROM outbox AS e WHERE e.channel = outbox.channel "
       "AND e.ordering_key = outbox.ordering_key AND e.state IN ('done', 'pending') "
       "AND e.id > outbox.id) OR NOT EXISTS (SELECT 1 FROM alert_instances AS a "
       "WHERE a.rule_id = outbox.rule_id AND a.instance_key = outbox.instance_key))"},
      {&st->count_outbox,
       "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'done'), 0), "
       "(SELECT COUNT(*) FROM outbox_dead WHERE channel = ?1) FROM outbox WHERE channel = ?1"},
      {&st->release_leases,
       "UPDATE outbox SET next_attempt_at = ?1 WHERE state = 'pending' AND next_attempt_at > ?1"},
      {&st->pending_channels,
       "SELECT DISTINCT channel FROM outbox WHERE state = 'pending' ORDER BY channel"},
      {&st->copy_channel_to_dead,
       "INSERT INTO outbox_dead (id, channel, rule_id, instance_key, ordering_key, sequence, "
       "idempotency_key, payload, created_at, attempts, last_error, dead_at, reason) "
       "SELECT id, channel, rule_id, instance_key, ordering_key, sequence, idempotency_key, "
       "payload, created_at, attempts, last_error, ?2, ?3 FROM outbox "
       "WHERE channel = ?1 AND state = 'pending'"},
      {&st->delete_channel_pending, "DELETE FROM outbox WHERE channel = ?1 AND state = 'pending'"},
      // The newest row of each instance that still exists, done or pending.
      {&st->latest_per_instance,
       "SELECT " TW_OUTBOX_COLUMNS " FROM outbox AS o WHERE o.channel = ?1 "
       "AND o.id = (SELECT MAX(e.id) FROM outbox AS e WHERE e.channel = o.channel "
       "AND e.ordering_key = o.ordering_key) AND EXISTS (SELECT 1 FROM alert_instances AS a "
       "WHERE a.rule_id = o.rule_id AND a.instance_key = o.instance_key) "
       "AND NOT EXISTS (SELECT 1 FROM outbox_dead AS d WHERE d.channel = o.channel "
       "AND d.ordering_key = o.ordering_key AND d.id > o.id) ORDER BY o.id"},
  };
  for (const auto& [stmt, sql] : all) {
    StatusOr<SqliteStatement> prepared = db.Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(*prepared);
  }
  return st;
}

Status ExplainConstraint(const SqliteDb& db, Status s, const std::string& what) {
  if (s.code() != StatusCode::kInvalidArgument) return s;
  int code = db.last_extended_code();
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status(StatusCode::kInvalidArgument, what + " already exists");
  }
  return s;
}

Status RequireChange(const SqliteDb& db, Status s, std::string not_found) {
  if (!s.ok()) return s;
  if (db.changes() == 0) return Status(StatusCode::kNotFound, std::move(not_found));
  return Status::Ok();
}

#undef TW_RULE_COLUMNS
#undef TW_CQ_COLUMNS
#undef TW_CHANNEL_COLUMNS
#undef TW_INSTANCE_COLUMNS
#undef TW_OUTBOX_COLUMNS

}  // namespace tidewatch::rules::internal
