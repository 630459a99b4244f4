// The catalog's prepared statements, prepared once at Catalog::Open() and reused by
// every call, and the small helpers the rules/catalog*.cc files share. Internal to the
// catalog.
//
// Thread safety: none; the Catalog uses them under its mutex.
#ifndef TIDEWATCH_RULES_CATALOG_STATEMENTS_H_
#define TIDEWATCH_RULES_CATALOG_STATEMENTS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/internal/sqlite_db.h"
#include "store/status.h"

namespace tidewatch::rules::internal {

struct CatalogStatements {
  SqliteStatement insert_rule;
  SqliteStatement update_rule;
  SqliteStatement set_rule_enabled;
  SqliteStatement get_rule;
  SqliteStatement list_rules;
  SqliteStatement delete_rule;

  SqliteStatement insert_cq;
  SqliteStatement get_cq;
  SqliteStatement list_cqs;
  SqliteStatement delete_cq;

  SqliteStatement insert_channel;
  SqliteStatement update_channel;
  SqliteStatement get_channel;
  SqliteStatement list_channels;
  SqliteStatement delete_channel;

  SqliteStatement upsert_instance;
  SqliteStatement bump_sequence;
  SqliteStatement insert_outbox;
  SqliteStatement insert_audit;
  SqliteStatement insert_operator_action;
  SqliteStatement load_instances;
  SqliteStatement audit_for_instance;
  SqliteStatement operator_actions_for_instance;

  SqliteStatement select_due;
  SqliteStatement lease_row;
  SqliteStatement mark_done;
  SqliteStatement mark_failed;
  SqliteStatement copy_to_dead;
  SqliteStatement delete_pending;
  SqliteStatement prune_window;
  SqliteStatement prune_done;
  SqliteStatement count_outbox;
  SqliteStatement release_leases;
  SqliteStatement pending_channels;
  SqliteStatement copy_channel_to_dead;
  SqliteStatement delete_channel_pending;
  SqliteStatement latest_per_instance;
};

// Prepares every statement against the current (fully migrated) schema.
StatusOr<std::unique_ptr<CatalogStatements>> PrepareCatalogStatements(SqliteDb& db);

// `s`, or kInvalidArgument "<what> already exists" when `s` is the failure of a
// statement that broke a UNIQUE or PRIMARY KEY constraint.
// REQUIRES: called right after the failing statement, before `db` runs another.
Status ExplainConstraint(const SqliteDb& db, Status s, const std::string& what);

// `s`, or kNotFound with `not_found` when the last statement changed no row.
Status RequireChange(const SqliteDb& db, Status s, std::string not_found);

// A missing row becomes kNotFound "<what> does not exist".
template <class T>
StatusOr<T> Found(StatusOr<std::optional<T>> row, const std::string& what) {
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(StatusCode::kNotFound, what + " does not exist");
  return std::move(**row);
}

// Found() for readers that can themselves fail (a damaged enum column).
template <class T>
StatusOr<T> Found(StatusOr<std::optional<StatusOr<T>>> row, const std::string& what) {
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(StatusCode::kNotFound, what + " does not exist");
  return std::move(**row);
}

// The rows, or the first row's failure.
template <class T>
StatusOr<std::vector<T>> Unwrap(StatusOr<std::vector<StatusOr<T>>> rows) {
  if (!rows.ok()) return rows.status();
  std::vector<T> out;
  out.reserve(rows->size());
  for (StatusOr<T>& row : *rows) {
    if (!row.ok()) return row.status();
    out.push_back(std::move(*row));
  }
  return out;
}

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_CATALOG_STATEMENTS_H_
