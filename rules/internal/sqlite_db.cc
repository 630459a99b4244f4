#include "rules/internal/sqlite_db.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

namespace tidewatch::rules::internal {
namespace {

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return StatusCode::kInvalidArgument;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_FULL:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kInternal;
  }
}

// The statement as an error context: its first words, enough to recognise it.
std::string Abbreviate(std::string_view sql) {
  constexpr std::size_t kMax = 48;
  std::string out(sql.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  if (sql.size() > kMax) out += "...";
  return out;
}

// Why a file cannot be opened, in words. SQLite's own errno is misleading here: after
// EACCES on create it retries read-only and reports that attempt's ENOENT.
std::string WhyCannotOpen(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (::access(path.c_str(), R_OK | W_OK) != 0) return path + ": " + std::strerror(errno);
    return std::string();
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::exists(dir, ec)) return "directory " + dir.string() + " does not exist";
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a directory";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return "directory " + dir.string() + ": " + std::strerror(errno);
  }
  return std::string();
}

}  // namespace

// ---- SqliteStatement ----

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

Status SqliteStatement::BindOne(int index, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, index, v);
  return rc == SQLITE_OK ? Status::Ok() : db_->Error(rc, "bind");
}

Status SqliteStatement::BindOne(int index, double v) {
  int rc = sqlite3_bind_double(stmt_, index, v);
  return rc == SQLITE_OK ? Status::Ok() : db_->Error(rc, "bind");
}

Status SqliteStatement::BindOne(int index, std::string_view v) {
  // sqlite3_bind_text64 takes an unsigned length, so an oversized value is refused by
  // SQLite itself (SQLITE_TOOBIG) rather than truncated here.
  int rc = sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  return rc == SQLITE_OK ? Status::Ok() : db_->Error(rc, "bind");
}

Status SqliteStatement::BindOne(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  return rc == SQLITE_OK ? Status::Ok() : db_->Error(rc, "bind");
}

void SqliteStatement::Reset() {
  // sqlite3_reset repeats the last step's error code; that error was already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, Abbreviate(sqlite3_sql(stmt_)));
}

// ---- SqliteCursor ----

std::int64_t SqliteCursor::Int(int col) const { return sqlite3_column_int64(stmt_->stmt_, col); }

double SqliteCursor::Double(int col) const { return sqlite3_column_double(stmt_->stmt_, col); }

std::string SqliteCursor::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_->stmt_, col);
  int size = sqlite3_column_bytes(stmt_->stmt_, col);
  if (text == nullptr || size <= 0) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::optional<std::int64_t> SqliteCursor::OptInt(int col) const {
  if (sqlite3_column_type(stmt_->stmt_, col) == SQLITE_NULL) return std::nullopt;
  return Int(col);
}

std::optional<double> SqliteCursor::OptDouble(int col) const {
  if (sqlite3_column_type(stmt_->stmt_, col) == SQLITE_NULL) return std::nullopt;
  return Double(col);
}

// ---- SqliteDb ----

StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // Even on failure SQLite usually hands back a handle (for its message); the
  // unique_ptr closes it either way.
  std::unique_ptr<SqliteDb> db(new SqliteDb(path, raw));
  if (rc != SQLITE_OK) {
    std::string message = "catalog " + path + ": open: " + sqlite3_errstr(rc);
    if (std::string why = WhyCannotOpen(path); !why.empty()) message += " (" + why + ")";
    return Status(CodeFor(rc), std::move(message));
  }
  sqlite3_extended_result_codes(raw, 1);
  for (auto [stmt, sql] :
       {std::pair{&db->begin_, "BEGIN IMMEDIATE"}, std::pair{&db->commit_, "COMMIT"},
        std::pair{&db->rollback_, "ROLLBACK"}}) {
    StatusOr<SqliteStatement> prepared = db->Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(*prepared);
  }
  return db;
}

SqliteDb::~SqliteDb() {
  begin_ = SqliteStatement();
  commit_ = SqliteStatement();
  rollback_ = SqliteStatement();
  // sqlite3_close_v2 defers the close until the last statement is finalized instead
  // of failing, so an ordering mistake leaks nothing.
  sqlite3_close_v2(db_);
}

Status SqliteDb::Exec(std::string_view sql) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, Abbreviate(text));
}

StatusOr<std::int64_t> SqliteDb::QueryInt(std::string_view sql) {
  StatusOr<SqliteStatement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  StatusOr<std::optional<std::int64_t>> value =
      stmt->QueryOne([](const SqliteCursor& c) { return c.Int(0); });
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return Status(StatusCode::kInternal, "catalog " + path_ + ": no row from " + Abbreviate(sql));
  }
  return **value;
}

StatusOr<std::string> SqliteDb::QueryText(std::string_view sql) {
  StatusOr<SqliteStatement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  StatusOr<std::optional<std::string>> value =
      stmt->QueryOne([](const SqliteCursor& c) { return c.Text(0); });
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return Status(StatusCode::kInternal, "catalog " + path_ + ": no row from " + Abbreviate(sql));
  }
  return std::move(**value);
}

StatusOr<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Status(StatusCode::kInvalidArgument, "catalog " + path_ + ": statement too long");
  }
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare " + Abbreviate(sql));
  return SqliteStatement(this, stmt);
}

Status SqliteDb::BeginImmediate() { return begin_.Run(); }

Status SqliteDb::Commit() { return commit_.Run(); }

Status SqliteDb::Rollback() {
  if (sqlite3_get_autocommit(db_) != 0) return Status::Ok();  // SQLite already rolled back
  return rollback_.Run();
}

std::int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

int SqliteDb::last_extended_code() const { return sqlite3_extended_errcode(db_); }

Status SqliteDb::Error(int rc, std::string_view what) const {
  std::string message = "catalog " + path_ + ": " + std::string(what) + ": ";
  message += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  int err = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
  if (err != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL)) {
    message += " (";
    message += std::strerror(err);
    message += ")";
  }
  return Status(CodeFor(rc), std::move(message));
}

}  // namespace tidewatch::rules::internal
