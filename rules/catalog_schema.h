// The catalog's schema and its migrations, versioned by SQLite's PRAGMA user_version.
//
// Version N of the schema is what migrations 0..N-1 build, in order, from an empty
// file: migration i brings user_version i to i + 1 and runs in its own transaction
// together with that version bump, so a crash leaves the file at a whole version. A
// change to the schema is a new migration appended to the list, never an edit of a
// released one; tests open files of every earlier version with the full list.
//
// Thread safety: the list is immutable; MigrateCatalog needs exclusive use of `db`.
#ifndef TIDEWATCH_RULES_CATALOG_SCHEMA_H_
#define TIDEWATCH_RULES_CATALOG_SCHEMA_H_

#include <span>
#include <string_view>

#include "store/status.h"

namespace tidewatch::rules {

struct CatalogMigration {
  std::string_view description;
  std::string_view sql;  // one or more statements; DDL only, no values
};

// This build's migrations; their count is the newest schema version.
std::span<const CatalogMigration> CatalogMigrations();

namespace internal {

class SqliteDb;

// Applies the migrations the file lacks. A file whose user_version exceeds
// migrations.size() was written by a newer build: kInvalidArgument, nothing changed.
// Two processes migrating at once are safe: the version is re-read inside each
// transaction (BEGIN IMMEDIATE holds the write lock).
Status MigrateCatalog(SqliteDb& db, std::span<const CatalogMigration> migrations);

}  // namespace internal
}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_CATALOG_SCHEMA_H_
