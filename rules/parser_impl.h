// The recursive-descent parser behind rules/parser.h, shared by parser*.cc (one file per
// part of the grammar). Not part of the module's surface.
//
// Every Parse* member returns false after recording the first error (error()); the
// caller then returns false too. "Unscanning" restores the lexer to where a token
// started, so lookahead is free of buffers.
//
// Thread safety: one Parser per parse, on one thread.
#ifndef TIDEWATCH_RULES_PARSER_IMPL_H_
#define TIDEWATCH_RULES_PARSER_IMPL_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ast.h"
#include "rules/lexer.h"
#include "store/status.h"

namespace tidewatch::rules::internal {

// Limit on parenthesis/call nesting (parser recursion): each level costs several stack
// frames, so this is kept well below the tree height limit kMaxExprDepth.
inline constexpr int kMaxExprNesting = 200;

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  // Entry points (parser.cc).
  bool ParseQuery(Query& out);
  bool ParseStatement(Statement& out);
  // A whole expression (InfluxDB's ParseExpr): operands joined by binary operators.
  bool ParseExpr(Expr& out);
  const Status& error() const { return error_; }

  // ---- tokens (parser.cc) ----
  Token Next() { return lexer_.Next(); }
  void Unscan(const Token& token) { lexer_.Reset(token.before); }
  Token Peek();
  bool Accept(TokenKind kind);  // consumes the next token if it is `kind`
  bool Expect(TokenKind kind);  // error "found X, expected KIND" otherwise

  // ---- errors (parser.cc); each returns false ----
  // "found X, expected A, B at line L, char C"
  bool Fail(const Token& found, std::initializer_list<std::string_view> expected);
  bool Fail(const Token& found, const std::vector<std::string>& expected);
  // "<message> at line L, char C"
  bool FailAt(std::string_view message, Position pos);
  // "<message>"
  bool FailPlain(std::string_view message);

  // ---- shared clauses (parser.cc) ----
  bool ParseIdent(std::string& out);
  bool ParseIdentList(std::vector<std::string>& out);
  // ident{.ident} with empty middle segments (`db..m`); stops before `.` followed by
  // '/' or ':' (left for the caller). At most three segments.
  bool ParseSegmentedIdents(std::vector<std::string>& out);
  // /regex/ if the next non-blank character is '/' (not "/*"): sets `out` when there is one.
  bool ParseRegex(std::optional<Regex>& out);
  bool ParseSource(Source& out);
  bool ParseSources(std::vector<Source>& out);
  bool ParseCondition(std::optional<Expr>& out);                // [WHERE expr]
  bool ParseOptionalInt(TokenKind keyword, std::int64_t& out);  // [LIMIT n] etc.
  bool ParseOrderBy(bool& desc);                                // [ORDER BY time DESC]
  bool ParseOnDatabase(std::string& out);                       // [ON db]
  bool ParseDurationToken(std::int64_t& out);                   // a duration literal token

  // ---- expressions (parser_expr.cc) ----
  // ParseExpr() that also reports the tree height and counts the nesting.
  bool ParseNested(Expr& out, int& height);
  bool ParseBinary(int min_precedence, Expr& out, int& height);
  bool ParseOperand(Expr& out, int& height);
  // A number, integer or duration token, negated when `negative`.
  bool ParseSignedLiteral(bool negative, Expr& out);
  bool ParseCall(std::string name, Expr& out, int& height);
  bool ParseVarRef(Expr& out);
  bool CompileRegex(const Token& token, Regex& out);
  bool CheckHeight(int height, Position pos);

  // ---- statements ----
  bool ParseSelect(SelectStatement& out, bool into_required);   // parser_select.cc
  bool ParseCreateContinuousQuery(CreateContinuousQuery& out);  // parser_statements.cc
  bool ParseShow(Statement& out);                               // parser_statements.cc
  bool ParseCreate(Statement& out);                             // parser_statements.cc
  bool ParseDrop(Statement& out);                               // parser_statements.cc
  bool ParseDelete(Statement& out);                             // parser_statements.cc

 private:
  bool ParseFields(std::vector<Field>& out);
  bool ParseInto(std::optional<Into>& out, bool required);
  bool ParseDimensions(std::vector<Dimension>& out);
  bool ParseFill(Fill& out);
  bool ParseShowMeasurements(ShowMeasurements& out);
  bool ParseShowTagValues(ShowTagValues& out);

  Lexer lexer_;
  Status error_;
  int nesting_ = 0;  // current ParseExpr recursion depth
};

// True when `expr` contains a function call (InfluxDB: the statement is not raw).
bool HasCall(const Expr& expr);

// InfluxDB's SelectStatement.GroupByInterval(): the interval of the first time()
// dimension, 0 without one. Sets `error` (and returns 0) for a malformed time() call.
std::int64_t GroupByInterval(const SelectStatement& select, std::string& error);

std::string Lower(std::string text);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_PARSER_IMPL_H_
