// The InfluxQL parser: query text -> rules/ast.h, with InfluxDB 1.x's grammar and
// error messages.
//
// Two kinds of error, answered differently by InfluxDB's HTTP API (and so by ours):
//  - ParseQuery() errors are grammar errors: InfluxDB answers them with HTTP 400 and
//    {"error": "<message>"}. Messages have InfluxDB's shape, e.g.
//      error parsing query: found FROM, expected identifier, string, number, bool at line 1, char 8
//    (line and char are 1-based; char counts code points within the line), or, for
//    errors that are not about one token:
//      error parsing query: invalid duration
//  - ValidateSelect() errors are what InfluxDB finds when it compiles a statement
//    (unknown functions, wrong argument counts, mixing aggregates with raw fields, ...):
//    InfluxDB answers them with HTTP 200 and the error inside that statement's result,
//    {"results":[{"statement_id":N,"error":"<message>"}]}, statements before it having
//    run. The message carries no "error parsing query" prefix.
//
// Thread safety: free functions without shared state; safe to call concurrently.
#ifndef TIDEWATCH_RULES_PARSER_H_
#define TIDEWATCH_RULES_PARSER_H_

#include <cstddef>
#include <string_view>

#include "rules/ast.h"
#include "store/status.h"

namespace tidewatch::rules {

// Limits against hostile input (each an InvalidArgument grammar error when exceeded).
inline constexpr std::size_t kMaxQueryBytes = std::size_t{1} << 20;  // whole query text
inline constexpr int kMaxStatements = 100;                           // per query
// Expression tree height: bounds every recursive walk of a parsed tree (printing,
// validation, evaluation). Parenthesis and call nesting, which costs the parser more
// stack per level, is limited further (200).
inline constexpr int kMaxExprDepth = 1000;
inline constexpr std::size_t kMaxRegexBytes = 8192;  // one /regex/ literal's source

// Regexes are compiled at parse time with std::regex (ECMAScript grammar), not RE2 as in
// InfluxDB. The common subset (anchors, classes, \d \w \s, alternation, groups,
// (?:...), *, +, ?, {n,m}) behaves the same; a leading (?i) is honoured as icase. Not
// supported: other inline flags ((?s), (?m), (?i) elsewhere), named groups (?P<n>...),
// \A \z \Q..\E, Unicode classes \pL; RE2's rules are kept where std::regex would be
// unsafe: no back-references, repeat counts up to 1000, at most 64 nested groups and a
// bounded expanded size. InfluxDB matches unanchored: executors use std::regex_search.
// libstdc++'s matcher backtracks recursively, so subjects should be bounded in length.

// Parses every `;`-separated statement of `text` (blank statements are skipped; an
// empty or blank text yields an empty Query). Checks the grammar, literals (numbers,
// durations, regexes) and the rules InfluxDB's parser enforces itself (ORDER BY time
// only, LIMIT >= 0, CQ requirements, DELETE/DROP SERIES needing FROM or WHERE). Does
// not run ValidateSelect().
// Errors: InvalidArgument with the message described above.
[[nodiscard]] StatusOr<Query> ParseQuery(std::string_view text);

// Parses exactly one statement (a trailing `;` is allowed). Errors as ParseQuery();
// an empty text is the error "found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP".
[[nodiscard]] StatusOr<Statement> ParseStatement(std::string_view text);

// Parses a lone expression, e.g. a WHERE condition or an alert rule's condition.
[[nodiscard]] StatusOr<Expr> ParseExpr(std::string_view text);

// InfluxDB's compile-time checks of a parsed SELECT (see the top of this file). OK, or
// InvalidArgument with InfluxDB's message, e.g.
//   undefined function foo()
//   invalid number of arguments for mean, expected 1, got 2
//   mixing aggregate and non-aggregate queries is not supported
//   at least 1 non-time field must be queried
//   GROUP BY requires at least one aggregate function
// After OK, every dimension has kind kTime, kTag, kWildcard or kRegex, and at most one
// is kTime.
[[nodiscard]] Status ValidateSelect(const SelectStatement& select);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_PARSER_H_
