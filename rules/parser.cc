// Entry points, token helpers, error messages and the clauses shared by several
// statements. Expressions: parser_expr.cc; SELECT: parser_select.cc; the rest:
// parser_statements.cc; compile-time checks: parser_validate.cc.
#include "rules/parser.h"

#include <charconv>
#include <limits>
#include <utility>

#include "rules/parser_impl.h"
#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace internal {
namespace {

constexpr std::string_view kErrorPrefix = "error parsing query: ";

std::string At(Position pos) {
  return " at line " + std::to_string(pos.line) + ", char " + std::to_string(pos.column);
}

}  // namespace

// ---- entry points ----------------------------------------------------------------

bool Parser::ParseQuery(Query& out) {
  bool after_semicolon = true;
  for (;;) {
    const Token token = Next();
    if (token.kind == TokenKind::kEof) return true;
    if (token.kind == TokenKind::kSemicolon) {
      after_semicolon = true;
      continue;
    }
    if (!after_semicolon) return Fail(token, {";"});
    if (out.statements.size() >= static_cast<std::size_t>(kMaxStatements)) {
      return FailAt("too many statements (limit " + std::to_string(kMaxStatements) + ")",
                    token.pos);
    }
    Unscan(token);
    Statement statement;
    if (!ParseStatement(statement)) return false;
    out.statements.push_back(std::move(statement));
    after_semicolon = false;
  }
}

bool Parser::ParseStatement(Statement& out) {
  const Token token = Next();
  switch (token.kind) {
    case TokenKind::kSelect: {
      SelectStatement select;
      if (!ParseSelect(select, /*into_required=*/false)) return false;
      out = std::move(select);
      return true;
    }
    case TokenKind::kDelete:
      return ParseDelete(out);
    case TokenKind::kShow:
      return ParseShow(out);
    case TokenKind::kCreate:
      return ParseCreate(out);
    case TokenKind::kDrop:
      return ParseDrop(out);
    default:
      return Fail(token, {"SELECT", "DELETE", "SHOW", "CREATE", "DROP"});
  }
}

bool Parser::ParseExpr(Expr& out) {
  int height = 0;
  return ParseNested(out, height);
}

// ---- tokens ------------------------------------------------------------------------

Token Parser::Peek() {
  Token token = Next();
  Unscan(token);
  return token;
}

bool Parser::Accept(TokenKind kind) {
  const Token token = Next();
  if (token.kind == kind) return true;
  Unscan(token);
  return false;
}

bool Parser::Expect(TokenKind kind) {
  const Token token = Next();
  if (token.kind == kind) return true;
  return Fail(token, {TokenKindName(kind)});
}

// ---- errors ------------------------------------------------------------------------

bool Parser::Fail(const Token& found, std::initializer_list<std::string_view> expected) {
  return Fail(found, std::vector<std::string>(expected.begin(), expected.end()));
}

bool Parser::Fail(const Token& found, const std::vector<std::string>& expected) {
  std::string list;
  for (const std::string& e : expected) {
    if (!list.empty()) list += ", ";
    list += e;
  }
  return FailAt("found " + FoundText(found) + ", expected " + list, found.pos);
}

bool Parser::FailAt(std::string_view message, Position pos) {
  return FailPlain(std::string(message) + At(pos));
}

bool Parser::FailPlain(std::string_view message) {
  if (error_.ok()) {
    error_ = Status(StatusCode::kInvalidArgument, std::string(kErrorPrefix) + std::string(message));
  }
  return false;
}

// ---- shared clauses ----------------------------------------------------------------

bool Parser::ParseIdent(std::string& out) {
  Token token = Next();
  if (token.kind != TokenKind::kIdent) return Fail(token, {"identifier"});
  out = std::move(token.text);
  return true;
}

bool Parser::ParseIdentList(std::vector<std::string>& out) {
  do {
    std::string ident;
    if (!ParseIdent(ident)) return false;
    out.push_back(std::move(ident));
  } while (Accept(TokenKind::kComma));
  return true;
}

bool Parser::ParseSegmentedIdents(std::vector<std::string>& out) {
  const Position start = Peek().pos;
  std::string ident;
  if (!ParseIdent(ident)) return false;
  out.push_back(std::move(ident));
  for (;;) {
    const Token dot = Next();
    if (dot.kind != TokenKind::kDot || dot.space_before) {
      Unscan(dot);
      return true;
    }
    const char c = lexer_.PeekChar();
    if (c == '/' || c == ':') return true;  // a regex or :MEASUREMENT follows
    if (c == '.') {
      out.emplace_back();
    } else {
      if (!ParseIdent(ident)) return false;
      out.push_back(std::move(ident));
    }
    if (out.size() > 3) {
      std::string text;
      for (std::size_t i = 0; i < out.size(); ++i) {
        if (i > 0) text += '.';
        const bool last = i + 1 == out.size();
        text += (!last && !out[i].empty()) ? "\"" + out[i] + "\"" : QuoteIdent(out[i]);
      }
      return FailAt("too many segments in " + text, start);
    }
  }
}

bool Parser::ParseRegex(std::optional<Regex>& out) {
  Token token;
  if (!lexer_.ScanRegex(token)) return true;
  if (token.kind == TokenKind::kBadString) return FailAt("bad regex: " + token.text, token.pos);
  Regex regex;
  if (!CompileRegex(token, regex)) return false;
  out = std::move(regex);
  return true;
}

bool Parser::ParseSource(Source& out) {
  std::optional<Regex> regex;
  if (!ParseRegex(regex)) return false;
  if (regex) {
    out.regex = std::move(regex);
    return true;
  }
  if (const Token next = Peek(); next.kind == TokenKind::kLParen) {
    return FailAt("subqueries are not supported", next.pos);
  }
  std::vector<std::string> idents;
  if (!ParseSegmentedIdents(idents)) return false;
  if (idents.size() == 3) {
    out.database = std::move(idents[0]);
    out.retention_policy = std::move(idents[1]);
    out.name = std::move(idents[2]);
    return true;
  }
  if (!ParseRegex(regex)) return false;
  if (regex) {
    out.regex = std::move(regex);
    if (idents.size() == 2) out.database = std::move(idents[0]);
    out.retention_policy = std::move(idents.back());
  } else {
    if (idents.size() == 2) out.retention_policy = std::move(idents[0]);
    out.name = std::move(idents.back());
  }
  return true;
}

bool Parser::ParseSources(std::vector<Source>& out) {
  do {
    Source source;
    if (!ParseSource(source)) return false;
    out.push_back(std::move(source));
  } while (Accept(TokenKind::kComma));
  return true;
}

bool Parser::ParseCondition(std::optional<Expr>& out) {
  if (!Accept(TokenKind::kWhere)) return true;
  Expr expr;
  if (!ParseExpr(expr)) return false;
  out = std::move(expr);
  return true;
}

bool Parser::ParseOptionalInt(TokenKind keyword, std::int64_t& out) {
  if (!Accept(keyword)) return true;
  const Token token = Next();
  if (token.kind != TokenKind::kInteger) return Fail(token, {"integer"});
  // Like InfluxDB, a value past the int64 range saturates.
  const char* end = token.text.data() + token.text.size();
  if (std::from_chars(token.text.data(), end, out).ec != std::errc()) {
    out = std::numeric_limits<std::int64_t>::max();
  }
  return true;
}

bool Parser::ParseOrderBy(bool& desc) {
  if (!Accept(TokenKind::kOrder)) return true;
  if (!Expect(TokenKind::kBy)) return false;
  const Token token = Next();
  if (token.kind == TokenKind::kIdent) {
    if (token.text != "time") return FailPlain("only ORDER BY time supported at this time");
    const Token direction = Next();
    if (direction.kind != TokenKind::kAsc && direction.kind != TokenKind::kDesc) {
      Unscan(direction);
    }
    desc = direction.kind == TokenKind::kDesc;
  } else if (token.kind == TokenKind::kAsc || token.kind == TokenKind::kDesc) {
    desc = token.kind == TokenKind::kDesc;
  } else {
    return Fail(token, {"identifier", "ASC", "DESC"});
  }
  bool more = false;
  while (Accept(TokenKind::kComma)) {  // parsed like InfluxDB, then refused
    std::string ignored;
    if (!ParseIdent(ignored)) return false;
    if (const Token direction = Next();
        direction.kind != TokenKind::kAsc && direction.kind != TokenKind::kDesc) {
      Unscan(direction);
    }
    more = true;
  }
  if (more) return FailPlain("only ORDER BY time supported at this time");
  return true;
}

bool Parser::ParseOnDatabase(std::string& out) {
  return !Accept(TokenKind::kOn) || ParseIdent(out);
}

bool Parser::ParseDurationToken(std::int64_t& out) {
  const Token token = Next();
  if (token.kind != TokenKind::kDurationVal) return Fail(token, {"duration"});
  StatusOr<std::int64_t> ns = ParseDuration(token.text);
  if (!ns.ok()) return FailAt(ns.status().message(), token.pos);
  out = *ns;
  return true;
}

}  // namespace internal

namespace {

// Position of the first byte that is not part of well-formed UTF-8, if any.
std::optional<Position> FindInvalidUtf8(std::string_view text) {
  Position pos;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return pos;
    }
    if (i + len > text.size()) return pos;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      const unsigned min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
      if (b < min || b > max) return pos;
    }
    if (c == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
    i += len;
  }
  return std::nullopt;
}

// Size and encoding checks every entry point starts with.
Status CheckText(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return Status(StatusCode::kInvalidArgument, "error parsing query: query too long (" +
                                                    std::to_string(text.size()) + " bytes, limit " +
                                                    std::to_string(kMaxQueryBytes) + ")");
  }
  if (const std::optional<Position> bad = FindInvalidUtf8(text)) {
    return Status(StatusCode::kInvalidArgument, "error parsing query: invalid UTF-8 at line " +
                                                    std::to_string(bad->line) + ", char " +
                                                    std::to_string(bad->column));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Query> ParseQuery(std::string_view text) {
  if (Status s = CheckText(text); !s.ok()) return s;
  internal::Parser parser(text);
  Query query;
  if (!parser.ParseQuery(query)) return parser.error();
  return query;
}

StatusOr<Statement> ParseStatement(std::string_view text) {
  if (Status s = CheckText(text); !s.ok()) return s;
  internal::Parser parser(text);
  Statement statement;
  if (!parser.ParseStatement(statement)) return parser.error();
  (void)parser.Accept(TokenKind::kSemicolon);
  if (!parser.Expect(TokenKind::kEof)) return parser.error();
  return statement;
}

StatusOr<Expr> ParseExpr(std::string_view text) {
  if (Status s = CheckText(text); !s.ok()) return s;
  internal::Parser parser(text);
  Expr expr;
  if (!parser.ParseExpr(expr) || !parser.Expect(TokenKind::kEof)) return parser.error();
  return expr;
}

}  // namespace tidewatch::rules
