// The InfluxQL abstract syntax tree: what rules/parser.h produces and the query
// executor consumes. Plain values with deep-copy semantics (copying a SelectStatement
// copies its whole tree; compiled regexes are shared, they are immutable) and
// structural equality (regexes compare by source text and flags).
//
// Conventions, following InfluxDB 1.x (influxql):
//  - identifiers are stored unquoted and unescaped; function names are lower case;
//  - parentheses are not nodes: the tree shape carries the grouping;
//  - unary minus is folded into number, integer and duration literals (`-5`, `-1h`);
//    on anything else it becomes `-1 * expr` (a BinaryExpr), as InfluxDB does;
//  - `now()` is a Call named "now" with no arguments;
//  - a `DISTINCT value` field is stored as the call `distinct(value)`;
//  - durations are int64 nanoseconds;
//  - 0 means "none" for limit, offset, slimit, soffset and the CQ resample durations.
//
// Tree height is bounded by the parser (kMaxExprDepth in rules/parser.h), so recursive
// walks over an Expr that came from the parser cannot exhaust the stack.
//
// Thread safety: values; distinct objects may be used from different threads freely.
// Compiled regexes (std::regex) are const and safe to match from several threads.
#ifndef TIDEWATCH_RULES_AST_H_
#define TIDEWATCH_RULES_AST_H_

#include <cstdint>
#include <memory>
#include <optional>
// GCC 12 with sanitizers at -O2 reports a false -Wmaybe-uninitialized inside
// libstdc++'s regex compiler (std::function moves in _NFA); silenced for <regex> only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tidewatch::rules {

// A heap-allocated T with value semantics: copying a Box copies the T. Never empty
// once constructed from a T (a moved-from Box is empty and may only be destroyed or
// assigned to).
template <class T>
class Box {
 public:
  Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit
  Box(const Box& other) : p_(std::make_unique<T>(*other.p_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) p_ = std::make_unique<T>(*other.p_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  const T& operator*() const { return *p_; }
  T& operator*() { return *p_; }
  const T* operator->() const { return p_.get(); }
  T* operator->() { return p_.get(); }

  friend bool operator==(const Box& a, const Box& b) { return *a.p_ == *b.p_; }

 private:
  std::unique_ptr<T> p_;
};

// A regular expression literal /.../. `source` is the pattern as InfluxDB keeps it:
// `\/` in the query is unescaped to `/`, every other backslash sequence is kept as
// written. `compiled` is the pattern compiled once at parse time (ECMAScript grammar; a
// leading `(?i)` is turned into the icase flag). Never null in a parsed tree.
struct Regex {
  std::string source;
  std::shared_ptr<const std::regex> compiled;

  friend bool operator==(const Regex& a, const Regex& b) { return a.source == b.source; }
};

// A type hint after `::` on a variable or wildcard (`value::field`, `host::tag`,
// `*::field`). kAny: none written.
enum class VarType : std::uint8_t {
  kAny,
  kFloat,
  kInteger,
  kUnsigned,
  kString,
  kBoolean,
  kField,
  kTag,
};

enum class BinaryOp : std::uint8_t {
  // arithmetic
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  // comparison (`<>` parses as kNeq)
  kEq,
  kNeq,
  kLt,
  kLte,
  kGt,
  kGte,
  kEqRegex,   // =~ ; the right-hand side is always a RegexLiteral
  kNeqRegex,  // !~ ; the right-hand side is always a RegexLiteral
  // logic
  kAnd,
  kOr,
};

struct Expr;

struct NumberLiteral {  // 1.5, 2.0, .5 (a literal with a decimal point)
  double value = 0;
  friend bool operator==(const NumberLiteral&, const NumberLiteral&) = default;
};
struct IntegerLiteral {  // 42, -7
  std::int64_t value = 0;
  friend bool operator==(const IntegerLiteral&, const IntegerLiteral&) = default;
};
struct StringLiteral {  // 'text' (unescaped)
  std::string value;
  friend bool operator==(const StringLiteral&, const StringLiteral&) = default;
};
struct BooleanLiteral {  // true, false (any case)
  bool value = false;
  friend bool operator==(const BooleanLiteral&, const BooleanLiteral&) = default;
};
struct RegexLiteral {  // /pattern/
  Regex regex;
  friend bool operator==(const RegexLiteral&, const RegexLiteral&) = default;
};
struct DurationLiteral {  // 1h30m, 500ms, -10s (in ns)
  std::int64_t ns = 0;
  friend bool operator==(const DurationLiteral&, const DurationLiteral&) = default;
};
struct VarRef {  // value, "my field", a.b (segments joined by '.'), value::field
  std::string name;
  VarType type = VarType::kAny;
  friend bool operator==(const VarRef&, const VarRef&) = default;
};
struct Wildcard {  // *, *::field, *::tag (type is kAny, kField or kTag)
  VarType type = VarType::kAny;
  friend bool operator==(const Wildcard&, const Wildcard&) = default;
};
struct Call {        // mean(value), derivative(mean(value), 1s), now()
  std::string name;  // lower case
  std::vector<Expr> args;
  friend bool operator==(const Call&, const Call&) = default;
};
struct BinaryExpr {
  BinaryOp op = BinaryOp::kAdd;
  Box<Expr> lhs;
  Box<Expr> rhs;
  friend bool operator==(const BinaryExpr&, const BinaryExpr&) = default;
};

struct Expr {
  using Node = std::variant<NumberLiteral, IntegerLiteral, StringLiteral, BooleanLiteral,
                            RegexLiteral, DurationLiteral, VarRef, Wildcard, Call, BinaryExpr>;
  Node node;

  // The node as a T, or null when it holds something else.
  template <class T>
  const T* As() const {
    return std::get_if<T>(&node);
  }
  template <class T>
  T* As() {
    return std::get_if<T>(&node);
  }

  friend bool operator==(const Expr&, const Expr&) = default;
};

// One SELECT field: `expr [AS alias]`. alias is empty when none was written.
struct Field {
  Expr expr;
  std::string alias;
  friend bool operator==(const Field&, const Field&) = default;
};

// A FROM source: [db.][rp.]name or [db.][rp.]/regex/. Exactly one of name and regex is
// set; database and retention_policy are empty when not written (`db..cpu` leaves the
// policy empty).
struct Source {
  std::string database;
  std::string retention_policy;
  std::string name;
  std::optional<Regex> regex;
  friend bool operator==(const Source&, const Source&) = default;
};

// INTO [db.][rp.]measurement. measurement is empty for `:MEASUREMENT` (write into a
// measurement named like each source measurement).
struct Into {
  std::string database;
  std::string retention_policy;
  std::string measurement;
  friend bool operator==(const Into&, const Into&) = default;
};

// One GROUP BY item. `expr` is the item as written; the other members classify it.
// The parser accepts any expression here, as InfluxDB does; kind kOther (and malformed
// time() calls) are rejected by ValidateSelect (rules/parser.h), so an executor that
// runs only validated statements sees kTime, kTag, kWildcard and kRegex only.
struct Dimension {
  enum class Kind : std::uint8_t {
    kTime,      // time(interval[, offset]): interval_ns > 0, offset_ns any sign
    kTag,       // a tag key: tag
    kWildcard,  // *
    kRegex,     // /regex/: every tag key matching regex
    kOther,     // anything else (an error at validation)
  };
  Kind kind = Kind::kOther;
  Expr expr;
  std::int64_t interval_ns = 0;  // kTime
  std::int64_t offset_ns = 0;    // kTime
  std::string tag;               // kTag
  std::optional<Regex> regex;    // kRegex
  friend bool operator==(const Dimension&, const Dimension&) = default;
};

enum class FillKind : std::uint8_t { kNull, kNone, kPrevious, kLinear, kValue };

// fill(...). Without a fill clause: kind kNull, written false.
struct Fill {
  FillKind kind = FillKind::kNull;
  double value = 0;               // kValue
  bool value_is_integer = false;  // kValue written as an integer literal (`fill(0)`)
  bool written = false;
  std::int64_t integer_value = 0;  // kValue with value_is_integer: the exact integer
  friend bool operator==(const Fill&, const Fill&) = default;
};

struct SelectStatement {
  std::vector<Field> fields;
  std::optional<Into> into;
  std::vector<Source> sources;
  std::optional<Expr> condition;  // WHERE, whole tree including time comparisons
  std::vector<Dimension> dimensions;
  Fill fill;
  bool order_desc = false;  // ORDER BY time DESC
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  std::int64_t slimit = 0;
  std::int64_t soffset = 0;
  friend bool operator==(const SelectStatement&, const SelectStatement&) = default;
};

// ---- SHOW ----------------------------------------------------------------------
// on_db: the ON clause, empty when absent (the request's `db` parameter applies).

struct ShowDatabases {
  friend bool operator==(const ShowDatabases&, const ShowDatabases&) = default;
};

struct ShowMeasurements {
  std::string on_db;
  // WITH MEASUREMENT = name | =~ /regex/ (the operator follows the source's kind).
  std::optional<Source> with_measurement;
  std::optional<Expr> where;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  friend bool operator==(const ShowMeasurements&, const ShowMeasurements&) = default;
};

struct ShowTagKeys {
  std::string on_db;
  std::vector<Source> sources;
  std::optional<Expr> where;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  friend bool operator==(const ShowTagKeys&, const ShowTagKeys&) = default;
};

// SHOW TAG VALUES ... WITH KEY <op> ...
enum class TagKeyOp : std::uint8_t {
  kEq,        // = key          (keys has one element)
  kNeq,       // != key / <> key (keys has one element)
  kEqRegex,   // =~ /regex/     (key_regex set)
  kNeqRegex,  // !~ /regex/     (key_regex set)
  kIn,        // IN (k1, k2, ...) (keys has one or more elements)
};

struct ShowTagValues {
  std::string on_db;
  std::vector<Source> sources;
  TagKeyOp op = TagKeyOp::kEq;
  std::vector<std::string> keys;
  std::optional<Regex> key_regex;
  std::optional<Expr> where;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  friend bool operator==(const ShowTagValues&, const ShowTagValues&) = default;
};

struct ShowFieldKeys {
  std::string on_db;
  std::vector<Source> sources;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  friend bool operator==(const ShowFieldKeys&, const ShowFieldKeys&) = default;
};

struct ShowSeries {
  std::string on_db;
  std::vector<Source> sources;
  std::optional<Expr> where;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
  friend bool operator==(const ShowSeries&, const ShowSeries&) = default;
};

struct ShowRetentionPolicies {
  std::string on_db;
  friend bool operator==(const ShowRetentionPolicies&, const ShowRetentionPolicies&) = default;
};

struct ShowContinuousQueries {
  friend bool operator==(const ShowContinuousQueries&, const ShowContinuousQueries&) = default;
};

// ---- CREATE / DROP / DELETE ---------------------------------------------------

struct CreateDatabase {
  std::string name;
  friend bool operator==(const CreateDatabase&, const CreateDatabase&) = default;
};

struct DropDatabase {
  std::string name;
  friend bool operator==(const DropDatabase&, const DropDatabase&) = default;
};

struct DropMeasurement {
  std::string name;
  friend bool operator==(const DropMeasurement&, const DropMeasurement&) = default;
};

// At least one of sources and where is present.
struct DropSeries {
  std::vector<Source> sources;
  std::optional<Expr> where;
  friend bool operator==(const DropSeries&, const DropSeries&) = default;
};

// At least one of sources and where is present.
struct Delete {
  std::vector<Source> sources;
  std::optional<Expr> where;
  friend bool operator==(const Delete&, const Delete&) = default;
};

// What a continuous query does with a late point inside its lateness bound: the
// tidewatch extension `RESAMPLE ... LATE REEMIT | LATE IGNORE` (rules/window_tracker.h).
// kDefault: no LATE clause written (re-emit).
enum class CqLatePolicy : std::uint8_t { kDefault, kReemit, kIgnore };

// CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d] [LATE REEMIT|IGNORE]]
// BEGIN select END. The parser guarantees: select.into is set; an aggregate select has
// a GROUP BY time() with a positive interval; resample_for, when set, is >= the interval
// (and >= resample_every).
struct CreateContinuousQuery {
  std::string name;
  std::string db;
  std::int64_t resample_every_ns = 0;
  std::int64_t resample_for_ns = 0;
  CqLatePolicy late = CqLatePolicy::kDefault;
  SelectStatement select;
  friend bool operator==(const CreateContinuousQuery&, const CreateContinuousQuery&) = default;
};

struct DropContinuousQuery {
  std::string name;
  std::string db;
  friend bool operator==(const DropContinuousQuery&, const DropContinuousQuery&) = default;
};

using Statement = std::variant<SelectStatement, ShowDatabases, ShowMeasurements, ShowTagKeys,
                               ShowTagValues, ShowFieldKeys, ShowSeries, ShowRetentionPolicies,
                               ShowContinuousQueries, CreateDatabase, DropDatabase, DropMeasurement,
                               DropSeries, Delete, CreateContinuousQuery, DropContinuousQuery>;

// A whole /query `q` parameter: the `;`-separated statements in order. May be empty
// (a query of only blanks, comments and semicolons).
struct Query {
  std::vector<Statement> statements;
  friend bool operator==(const Query&, const Query&) = default;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_AST_H_
