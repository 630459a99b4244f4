// The InfluxQL lexer (InfluxDB 1.x's scanner): tokens with 1-based line/char positions.
//
// Lexical rules, as in InfluxDB:
//  - whitespace is space, tab, \r and \n; `-- ...` runs to the end of the line and
//    `/* ... */` is a block comment (not nested); both count as whitespace;
//  - identifiers: [A-Za-z_][A-Za-z0-9_]* or "double quoted" (escapes \" \\ \' \n; a raw
//    newline ends the token as a bad string); keywords are case-insensitive and a
//    keyword used as an identifier must be double-quoted;
//  - strings: 'single quoted', same escapes;
//  - numbers: 12, 1.5, .5 (no sign, no exponent); a digit run followed by letters is a
//    duration token (1h, 500ms, 1h30m, 10µs), checked by ParseDuration();
//  - regexes /.../ are not produced by Next(): the parser asks for one with ScanRegex()
//    where the grammar allows one (after =~ and !~, in FROM, GROUP BY, SELECT fields).
// Positions count code points, so a multi-byte character advances the column by one.
//
// Thread safety: a Lexer is used by one thread; the free functions are pure.
#ifndef TIDEWATCH_RULES_LEXER_H_
#define TIDEWATCH_RULES_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::rules {

// Every InfluxQL 1.x keyword (including those of statements tidewatch does not run,
// so that identifiers are quoted exactly where InfluxDB needs them quoted).
// clang-format off
#define TW_INFLUXQL_KEYWORDS(X) \
  X(All, "ALL") \
  X(Alter, "ALTER") \
  X(Analyze, "ANALYZE") \
  X(And, "AND") \
  X(Any, "ANY") \
  X(As, "AS") \
  X(Asc, "ASC") \
  X(Begin, "BEGIN") \
  X(By, "BY") \
  X(Cardinality, "CARDINALITY") \
  X(Continuous, "CONTINUOUS") \
  X(Create, "CREATE") \
  X(Database, "DATABASE") \
  X(Databases, "DATABASES") \
  X(Default, "DEFAULT") \
  X(Delete, "DELETE") \
  X(Desc, "DESC") \
  X(Destinations, "DESTINATIONS") \
  X(Diagnostics, "DIAGNOSTICS") \
  X(Distinct, "DISTINCT") \
  X(Drop, "DROP") \
  X(Duration, "DURATION") \
  X(End, "END") \
  X(Every, "EVERY") \
  X(Exact, "EXACT") \
  X(Explain, "EXPLAIN") \
  X(False, "FALSE") \
  X(Field, "FIELD") \
  X(For, "FOR") \
  X(From, "FROM") \
  X(Grant, "GRANT") \
  X(Grants, "GRANTS") \
  X(Group, "GROUP") \
  X(Groups, "GROUPS") \
  X(In, "IN") \
  X(Inf, "INF") \
  X(Insert, "INSERT") \
  X(Into, "INTO") \
  X(Key, "KEY") \
  X(Keys, "KEYS") \
  X(Kill, "KILL") \
  X(Limit, "LIMIT") \
  X(Measurement, "MEASUREMENT") \
  X(Measurements, "MEASUREMENTS") \
  X(Name, "NAME") \
  X(Offset, "OFFSET") \
  X(On, "ON") \
  X(Or, "OR") \
  X(Order, "ORDER") \
  X(Password, "PASSWORD") \
  X(Policies, "POLICIES") \
  X(Policy, "POLICY") \
  X(Privileges, "PRIVILEGES") \
  X(Queries, "QUERIES") \
  X(Query, "QUERY") \
  X(Read, "READ") \
  X(Replication, "REPLICATION") \
  X(Resample, "RESAMPLE") \
  X(Retention, "RETENTION") \
  X(Revoke, "REVOKE") \
  X(Select, "SELECT") \
  X(Series, "SERIES") \
  X(Set, "SET") \
  X(Shard, "SHARD") \
  X(Shards, "SHARDS") \
  X(Show, "SHOW") \
  X(Slimit, "SLIMIT") \
  X(Soffset, "SOFFSET") \
  X(Stats, "STATS") \
  X(Subscription, "SUBSCRIPTION") \
  X(Subscriptions, "SUBSCRIPTIONS") \
  X(Tag, "TAG") \
  X(To, "TO") \
  X(True, "TRUE") \
  X(User, "USER") \
  X(Users, "USERS") \
  X(Values, "VALUES") \
  X(Where, "WHERE") \
  X(With, "WITH") \
  X(Write, "WRITE")
// clang-format on

enum class TokenKind : std::uint8_t {
  kIllegal,  // text: the offending character (or a short description)
  kEof,
  kIdent,        // text: the identifier, unquoted and unescaped
  kNumber,       // text: digits with a '.'
  kInteger,      // text: digits
  kDurationVal,  // text: e.g. "1h30m" (not yet validated)
  kString,       // text: the value, unescaped
  kBadString,    // unterminated string or quoted identifier; text: what was read
  kBadEscape,    // text: the bad escape, e.g. "\q"
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kEq,
  kNeq,  // != and <>
  kEqRegex,
  kNeqRegex,
  kLt,
  kLte,
  kGt,
  kGte,
  kLParen,
  kRParen,
  kComma,
  kColon,
  kDoubleColon,
  kSemicolon,
  kDot,
#define TW_KEYWORD_ENUM(name, text) k##name,
  TW_INFLUXQL_KEYWORDS(TW_KEYWORD_ENUM)
#undef TW_KEYWORD_ENUM
};

struct Position {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in code points
};

// Where the lexer stands; restoring one re-scans from there (the parser's "unscan").
struct LexerState {
  std::size_t offset = 0;
  Position pos;
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;
  Position pos;               // of the token's first character
  bool space_before = false;  // whitespace or a comment directly precedes it
  LexerState before;          // the state Next() started from (before any whitespace)
};

// "EOF", "(", "SELECT", "IDENT", ...: InfluxDB's name of a token kind.
std::string_view TokenKindName(TokenKind kind);

// What an error message says was found: the token's text when it has one, else its
// kind's name (InfluxDB's tokstr).
std::string FoundText(const Token& token);

// True when `ident` (any case) is an InfluxQL keyword, TRUE and FALSE included.
bool IsKeyword(std::string_view ident);

// Nanoseconds of a duration literal such as "1h30m", "500ms", "10u", "10µs", "2w", with
// InfluxDB's rules (units ns, u, µ, ms, s, m, h, d, w; each part digits then a unit).
// Errors: InvalidArgument "invalid duration", or
// "overflowed duration <text>: choose a smaller duration or INF".
[[nodiscard]] StatusOr<std::int64_t> ParseDuration(std::string_view text);

class Lexer {
 public:
  // REQUIRES: `source` outlives the lexer and is valid UTF-8 (ParseQuery checks).
  explicit Lexer(std::string_view source) : src_(source) {}

  // The next token, skipping whitespace and comments.
  Token Next();

  // Skips blanks (not comments), then scans a /regex/ if the next character is '/'
  // (but not "/*", a comment). Returns false (consuming nothing) when it is not. On true, `out` is
  // a kString-like token whose text is the pattern (with `\/` unescaped), or kBadString
  // (unterminated or containing a newline: text says which).
  bool ScanRegex(Token& out);

  // The next raw character (0 at the end), without skipping anything.
  char PeekChar() const { return state_.offset < src_.size() ? src_[state_.offset] : '\0'; }

  LexerState state() const { return state_; }
  void Reset(const LexerState& state) { state_ = state; }
  Position position() const { return state_.pos; }

 private:
  void Advance();  // one code point, updating the position
  // Skips whitespace and comments; false with `unterminated` set on an open /* comment.
  bool SkipBlanks(bool comments, Position& unterminated);
  Token ScanIdentOrKeyword();
  Token ScanQuoted(char quote);
  Token ScanNumber();
  Token ScanOperator();

  std::string_view src_;
  LexerState state_;
  // Sticky, not part of LexerState: whether a scan has read past the end of the text
  // (see the EOF case in Next()). Resetting the state does not clear it, as in InfluxDB.
  bool read_past_end_ = false;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_LEXER_H_
