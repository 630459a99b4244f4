#include "rules/catalog_schema.h"

#include <cstdint>
#include <string>

#include "rules/internal/sqlite_db.h"

namespace tidewatch::rules {
namespace {

// Version 1. STRICT tables make SQLite refuse a value of the wrong type instead of
// storing it. Ids that other tables or the audit log mention are AUTOINCREMENT so a
// deleted row's id is never handed out again. The audit log and the outbox name rules
// by id without a foreign key: they outlive the rule.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE rules (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL UNIQUE,
  db          TEXT    NOT NULL,
  definition  TEXT    NOT NULL,
  enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  version     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE continuous_queries (
  db          TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  text        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (db, name)
) STRICT;

CREATE TABLE channels (
  name        TEXT    PRIMARY KEY,
  kind        TEXT    NOT NULL CHECK (kind IN ('webhook', 'alertmanager', 'kafka')),
  config      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE alert_instances (
  rule_id          INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  instance_key     TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  ack_state        TEXT    NOT NULL,
  severity         INTEGER NOT NULL,
  active_since     INTEGER,
  pending_since    INTEGER,
  last_value       REAL,
  last_change      INTEGER NOT NULL,
  shelved_until    INTEGER,
  shelve_one_shot  INTEGER NOT NULL CHECK (shelve_one_shot IN (0, 1)),
  suppressed       INTEGER NOT NULL CHECK (suppressed IN (0, 1)),
  out_of_service   INTEGER NOT NULL CHECK (out_of_service IN (0, 1)),
  snapshot         TEXT    NOT NULL,
  outbox_sequence  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (rule_id, instance_key)
) STRICT;

CREATE TABLE operator_actions (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  rule_id       INTEGER NOT NULL,
  instance_key  TEXT    NOT NULL,
  time          INTEGER NOT NULL,
  action        TEXT    NOT NULL CHECK (action IN ('acknowledge', 'shelve', 'unshelve')),
  user          TEXT    NOT NULL,
  reason        TEXT    NOT NULL,
  expires_at    INTEGER,
  FOREIGN KEY (rule_id, instance_key)
    REFERENCES alert_instances (rule_id, instance_key) ON DELETE CASCADE
) STRICT;
CREATE INDEX operator_actions_by_instance ON operator_actions (rule_id, instance_key, id);

CREATE TABLE audit_log (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  time          INTEGER NOT NULL,
  rule_id       INTEGER NOT NULL,
  instance_key  TEXT    NOT NULL,
  actor         TEXT    NOT NULL,
  action        TEXT    NOT NULL,
  from_state    TEXT    NOT NULL,
  to_state      TEXT    NOT NULL,
  details       TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_by_instance ON audit_log (rule_id, instance_key, id);

CREATE TABLE outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  channel          TEXT    NOT NULL,
  rule_id          INTEGER NOT NULL,
  instance_key     TEXT    NOT NULL,
  ordering_key     TEXT    NOT NULL,
  sequence         INTEGER NOT NULL,
  idempotency_key  TEXT    NOT NULL UNIQUE,
  payload          TEXT    NOT NULL,
  created_at       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  last_error       TEXT    NOT NULL DEFAULT '',
  state            TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done'))
) STRICT;
-- ClaimDue: the due rows of a channel, and "is an earlier row of this instance pending".
CREATE INDEX outbox_due ON outbox (channel, state, next_attempt_at);
CREATE INDEX outbox_order ON outbox (channel, ordering_key, state, id);

CREATE TABLE outbox_dead (
  id               INTEGER PRIMARY KEY,
  channel          TEXT    NOT NULL,
  rule_id          INTEGER NOT NULL,
  instance_key     TEXT    NOT NULL,
  ordering_key     TEXT    NOT NULL,
  sequence         INTEGER NOT NULL,
  idempotency_key  TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  created_at       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL,
  last_error       TEXT    NOT NULL,
  dead_at          INTEGER NOT NULL,
  reason           TEXT    NOT NULL
) STRICT;
CREATE INDEX outbox_dead_by_channel ON outbox_dead (channel);
)sql";

// Who manages a rule: the API ("api") or the rules file ("file", replaced on reload).
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE rules ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
)sql";

// Who manages a channel: the API ("api") or the config file ("config", replaced at start).
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE channels ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
)sql";

constexpr CatalogMigration kMigrations[] = {
    {"v1: rules, continuous queries, channels, alert state, audit log, outbox", kSchemaV1},
    {"v2: rules.source (api or file)", kSchemaV2},
    {"v3: channels.source (api or config)", kSchemaV3},
};

}  // namespace

std::span<const CatalogMigration> CatalogMigrations() { return kMigrations; }

namespace internal {

Status MigrateCatalog(SqliteDb& db, std::span<const CatalogMigration> migrations) {
  const auto newest = static_cast<std::int64_t>(migrations.size());
  while (true) {
    SqliteTransaction tx(db);
    if (Status s = tx.Begin(); !s.ok()) return s;
    StatusOr<std::int64_t> version = db.QueryInt("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version > newest || *version < 0) {
      return Status(StatusCode::kInvalidArgument,
                    "catalog " + db.path() + ": schema version " + std::to_string(*version) +
                        " is newer than this build knows (" + std::to_string(newest) + ")");
    }
    if (*version == newest) return tx.Commit();
    const CatalogMigration& step = migrations[static_cast<std::size_t>(*version)];
    if (Status s = db.Exec(step.sql); !s.ok()) {
      return Status(s.code(),
                    s.message() + " (migration \"" + std::string(step.description) + "\")");
    }
    // PRAGMA takes no bound parameters; the value is our own integer, not user input.
    if (Status s = db.Exec("PRAGMA user_version = " + std::to_string(*version + 1)); !s.ok()) {
      return s;
    }
    if (Status s = tx.Commit(); !s.ok()) return s;
  }
}

}  // namespace internal
}  // namespace tidewatch::rules
