// Normalised InfluxQL text of an AST, as InfluxDB 1.x's String() methods print it:
// keywords upper case, function names lower case, identifiers double-quoted only when
// needed (keywords, characters outside [A-Za-z0-9_], a leading digit, empty), strings
// single-quoted with \' \\ \n escapes, regexes as /.../ with `/` escaped, durations in
// one unit, the largest that is exact (`90s`, `1m`, `36h`, `2w`), binary operators with
// single spaces, parentheses only where precedence needs them, fill(null) and
// ORDER BY time ASC omitted (they are the defaults).
//
// Floats print as InfluxDB does ("%.3f": `95.000`) when that is exact, otherwise in
// their shortest exact decimal form (`0.0001`), so printing never changes a value.
//
// Property: for a tree T produced by the parser, ParseQuery(ToString(T)) succeeds and
// yields a tree that prints identically (tests/rules/parser_test.cc, the fuzz target).
//
// Thread safety: free functions without shared state.
#ifndef TIDEWATCH_RULES_STATEMENT_TEXT_H_
#define TIDEWATCH_RULES_STATEMENT_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "rules/ast.h"

namespace tidewatch::rules {

std::string ToString(const Query& query);  // statements joined by ";\n"
std::string ToString(const Statement& statement);
std::string ToString(const SelectStatement& select);
std::string ToString(const Expr& expr);

// `1h`, `90s`, `-5m`, `0s`: InfluxDB's FormatDuration.
std::string FormatDuration(std::int64_t ns);

// An identifier, double-quoted (with \" \\ \n escapes) only when it needs to be.
std::string QuoteIdent(std::string_view ident);

// A string literal: single quotes, with \' \\ \n escapes.
std::string QuoteString(std::string_view text);

// "+", "=~", "AND", ...
std::string_view BinaryOpText(BinaryOp op);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_STATEMENT_TEXT_H_
