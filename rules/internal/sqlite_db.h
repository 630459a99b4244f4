// A thin RAII layer over the SQLite C API for the catalog: a connection (SqliteDb), a
// prepared statement (SqliteStatement) with variadic binding, a cursor that resets its
// statement when it goes away, and a transaction guard. Every failure becomes a Status
// that names the file, the step and SQLite's own message.
//
// Result codes map to status codes as follows:
//   SQLITE_BUSY, SQLITE_LOCKED (after the busy timeout)     kUnavailable
//   SQLITE_CONSTRAINT, SQLITE_TOOBIG, SQLITE_RANGE          kInvalidArgument
//   SQLITE_CORRUPT, SQLITE_NOTADB                           kDataLoss
//   SQLITE_FULL                                             kResourceExhausted
//   anything else (SQLITE_IOERR, SQLITE_CANTOPEN, ...)      kInternal
// Callers that can say something better (a duplicate name) inspect
// SqliteDb::last_extended_code() right after the failure.
//
// Thread safety: none. A SqliteDb and its statements are used by one thread at a time
// (the Catalog serialises them behind its mutex). The connection is opened with
// SQLITE_OPEN_NOMUTEX for that reason.
#ifndef TIDEWATCH_RULES_INTERNAL_SQLITE_DB_H_
#define TIDEWATCH_RULES_INTERNAL_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tidewatch::rules::internal {

class SqliteDb;
class SqliteCursor;

// A prepared statement, finalized on destruction. Prepared once, reused many times:
// Run() and Query() reset it and clear old bindings before binding anew.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds `args` to parameters 1..N in order and steps to completion, ignoring rows.
  // Accepted argument types: std::int64_t, int, bool, double, std::string_view (and
  // what converts to it), std::nullopt_t, and std::optional of int64_t or double.
  // Text is bound without copying: it must stay valid until the call returns.
  template <class... Args>
  Status Run(const Args&... args);

  // Binds `args` like Run() and leaves the statement ready for stepping; the caller
  // steps it through a SqliteCursor (below). Text must stay valid until the cursor dies.
  template <class... Args>
  Status BindAll(const Args&... args);

  // Binds `args`, steps to completion and returns read(cursor) of every row.
  template <class Read, class... Args>
  auto QueryAll(Read read, const Args&... args)
      -> StatusOr<std::vector<std::invoke_result_t<Read, const SqliteCursor&>>>;

  // Like QueryAll for statements that yield at most one row (nullopt: no row). Steps to
  // completion even so: an INSERT ... RETURNING commits only then, and a commit error
  // must not go unseen.
  template <class Read, class... Args>
  auto QueryOne(Read read, const Args&... args)
      -> StatusOr<std::optional<std::invoke_result_t<Read, const SqliteCursor&>>>;

 private:
  friend class SqliteDb;
  friend class SqliteCursor;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  // Binds `args`, steps to completion and calls on_row(cursor) for every row: the loop
  // Run(), QueryAll() and QueryOne() share.
  template <class OnRow, class... Args>
  Status ForEachRow(OnRow&& on_row, const Args&... args);

  Status BindOne(int index, std::int64_t v);
  Status BindOne(int index, int v) { return BindOne(index, std::int64_t{v}); }
  Status BindOne(int index, bool v) { return BindOne(index, std::int64_t{v ? 1 : 0}); }
  Status BindOne(int index, double v);
  Status BindOne(int index, std::string_view v);
  Status BindOne(int index, const std::string& v) { return BindOne(index, std::string_view(v)); }
  Status BindOne(int index, const char* v) { return BindOne(index, std::string_view(v)); }
  Status BindOne(int index, std::nullopt_t);
  template <class T>
  Status BindOne(int index, const std::optional<T>& v) {
    return v.has_value() ? BindOne(index, *v) : BindOne(index, std::nullopt);
  }
  void Reset();
  // Steps once: true for a row, false when done.
  StatusOr<bool> Step();

  SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Steps a bound statement row by row and resets it when destroyed, so a statement
// never stays half-stepped (holding a read snapshot) between calls.
class SqliteCursor {
 public:
  // REQUIRES: `stmt` was bound with BindAll() and outlives the cursor.
  explicit SqliteCursor(SqliteStatement& stmt) : stmt_(&stmt) {}
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;
  ~SqliteCursor() { stmt_->Reset(); }

  // Advances to the next row: true when there is one, false at the end.
  StatusOr<bool> Next() { return stmt_->Step(); }

  // Columns of the current row, 0-based. NULL reads as 0 / "" / nullopt.
  std::int64_t Int(int col) const;
  bool Bool(int col) const { return Int(col) != 0; }
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<std::int64_t> OptInt(int col) const;
  std::optional<double> OptDouble(int col) const;

 private:
  SqliteStatement* stmt_;
};

// One connection. Closed on destruction; every statement prepared from it must be
// destroyed first. Not movable: its statements point back at it.
class SqliteDb {
 public:
  // Opens (creating if missing) the database file. Fails with kInternal when the file
  // cannot be opened or created (a read-only directory names the errno text).
  static StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs SQL text that carries no values (DDL, PRAGMA). Never pass user data here.
  Status Exec(std::string_view sql);

  // Runs SQL text (no values) whose first row's first column is the answer, e.g.
  // PRAGMA user_version. kInternal when there is no row.
  StatusOr<std::int64_t> QueryInt(std::string_view sql);
  StatusOr<std::string> QueryText(std::string_view sql);

  StatusOr<SqliteStatement> Prepare(std::string_view sql);

  // Transaction control through statements prepared at Open().
  Status BeginImmediate();
  Status Commit();
  // Rolls back when a transaction is open (SQLite may already have rolled back after
  // an I/O error or SQLITE_FULL); a failed rollback is reported, not hidden.
  Status Rollback();

  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;
  // The extended result code of the last failed call (e.g. SQLITE_CONSTRAINT_UNIQUE).
  int last_extended_code() const;
  const std::string& path() const { return path_; }

  // The Status for result code `rc` of step `what`, with SQLite's message.
  Status Error(int rc, std::string_view what) const;

 private:
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  std::string path_;
  sqlite3* db_ = nullptr;
  SqliteStatement begin_;
  SqliteStatement commit_;
  SqliteStatement rollback_;
};

// Rolls back on destruction unless Commit() succeeded. Begin failures (busy beyond the
// timeout) come back from Begin().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db) : db_(&db) {}
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction() {
    if (open_) db_->Rollback().IgnoreError();  // nothing better to do in a destructor
  }

  Status Begin() {
    Status s = db_->BeginImmediate();
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = db_->Commit();
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  SqliteDb* db_;
  bool open_ = false;
};

template <class... Args>
Status SqliteStatement::BindAll(const Args&... args) {
  Reset();
  Status status;
  int index = 0;
  // Binds left to right, stopping at the first failure.
  ((status.ok() ? (status = BindOne(++index, args), 0) : 0), ...);
  return status;
}

template <class OnRow, class... Args>
Status SqliteStatement::ForEachRow(OnRow&& on_row, const Args&... args) {
  Status s = BindAll(args...);
  if (!s.ok()) return s;
  SqliteCursor cursor(*this);
  while (true) {
    StatusOr<bool> row = cursor.Next();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    on_row(std::as_const(cursor));
  }
}

template <class... Args>
Status SqliteStatement::Run(const Args&... args) {
  return ForEachRow([](const SqliteCursor&) {}, args...);
}

template <class Read, class... Args>
auto SqliteStatement::QueryAll(Read read, const Args&... args)
    -> StatusOr<std::vector<std::invoke_result_t<Read, const SqliteCursor&>>> {
  std::vector<std::invoke_result_t<Read, const SqliteCursor&>> out;
  Status s = ForEachRow([&](const SqliteCursor& c) { out.push_back(read(c)); }, args...);
  if (!s.ok()) return s;
  return out;
}

template <class Read, class... Args>
auto SqliteStatement::QueryOne(Read read, const Args&... args)
    -> StatusOr<std::optional<std::invoke_result_t<Read, const SqliteCursor&>>> {
  std::optional<std::invoke_result_t<Read, const SqliteCursor&>> out;
  Status s = ForEachRow(
      [&](const SqliteCursor& c) {
        if (!out.has_value()) out = read(c);
      },
      args...);
  if (!s.ok()) return s;
  return out;
}

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_SQLITE_DB_H_
