// Expressions: precedence climbing over operands (InfluxDB's ParseExpr and
// parseUnaryExpr). Precedence: OR < AND < comparisons < + - < * / %, all left
// associative.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "rules/parser.h"
#include "rules/parser_impl.h"

namespace tidewatch::rules::internal {
namespace {

int Precedence(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOr:
      return 1;
    case TokenKind::kAnd:
      return 2;
    case TokenKind::kEq:
    case TokenKind::kNeq:
    case TokenKind::kEqRegex:
    case TokenKind::kNeqRegex:
    case TokenKind::kLt:
    case TokenKind::kLte:
    case TokenKind::kGt:
    case TokenKind::kGte:
      return 3;
    case TokenKind::kAdd:
    case TokenKind::kSub:
      return 4;
    case TokenKind::kMul:
    case TokenKind::kDiv:
    case TokenKind::kMod:
      return 5;
    default:
      return 0;
  }
}

// REQUIRES: Precedence(kind) > 0.
BinaryOp ToBinaryOp(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOr:
      return BinaryOp::kOr;
    case TokenKind::kAnd:
      return BinaryOp::kAnd;
    case TokenKind::kEq:
      return BinaryOp::kEq;
    case TokenKind::kNeq:
      return BinaryOp::kNeq;
    case TokenKind::kEqRegex:
      return BinaryOp::kEqRegex;
    case TokenKind::kNeqRegex:
      return BinaryOp::kNeqRegex;
    case TokenKind::kLt:
      return BinaryOp::kLt;
    case TokenKind::kLte:
      return BinaryOp::kLte;
    case TokenKind::kGt:
      return BinaryOp::kGt;
    case TokenKind::kGte:
      return BinaryOp::kGte;
    case TokenKind::kAdd:
      return BinaryOp::kAdd;
    case TokenKind::kSub:
      return BinaryOp::kSub;
    case TokenKind::kMul:
      return BinaryOp::kMul;
    case TokenKind::kDiv:
      return BinaryOp::kDiv;
    default:
      return BinaryOp::kMod;
  }
}

Expr MakeBinary(BinaryOp op, Expr lhs, Expr rhs) {
  return Expr{BinaryExpr{op, Box<Expr>(std::move(lhs)), Box<Expr>(std::move(rhs))}};
}

// Guards for std::regex, whose compiler recurses once per group level, copies the NFA
// for each counted repetition and parses numbers without overflow checks: hostile
// patterns could otherwise exhaust the stack or memory. RE2 (InfluxDB's engine)
// rejects these patterns too (no back-references, repeat counts up to 1000, bounded
// program size).
constexpr std::size_t kMaxRegexGroupDepth = 64;
constexpr std::int64_t kMaxRegexRepeat = 1000;
constexpr std::int64_t kMaxRegexStates = 100'000;  // estimated, after expanding {n,m}

// Reads a repeat count at source[i...]; -1 when it is larger than kMaxRegexRepeat.
std::int64_t ReadRepeat(std::string_view source, std::size_t& i) {
  std::int64_t n = 0;
  for (; i < source.size() && source[i] >= '0' && source[i] <= '9'; ++i) {
    n = n * 10 + (source[i] - '0');
    if (n > kMaxRegexRepeat) return -1;
  }
  return n;
}

// An error message for a pattern the guards refuse, or "".
std::string RegexShapeError(std::string_view source) {
  std::vector<std::int64_t> enclosing;  // sizes of the sequences around open groups
  std::int64_t size = 0;                // states of the current sequence so far
  std::int64_t last = 0;                // states of its last item (what {n,m} repeats)
  for (std::size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    std::int64_t item = 1;
    if (c == '\\') {
      if (i + 1 < source.size() && source[i + 1] >= '1' && source[i + 1] <= '9') {
        return "error parsing regexp: invalid escape sequence: `\\" +
               std::string(1, source[i + 1]) + "` (back-references are not supported)";
      }
      ++i;
    } else if (c == '[') {
      // A class is one item; skip to its closing bracket.
      while (i + 1 < source.size() && source[i + 1] != ']') {
        i += source[i + 1] == '\\' ? std::size_t{2} : std::size_t{1};
      }
      ++i;
    } else if (c == '(') {
      if (enclosing.size() >= kMaxRegexGroupDepth) {
        return "regex nested too deeply (limit " + std::to_string(kMaxRegexGroupDepth) + " groups)";
      }
      enclosing.push_back(size);
      size = last = 0;
      continue;
    } else if (c == ')' && !enclosing.empty()) {
      item = size + 1;
      size = enclosing.back();
      enclosing.pop_back();
    } else if (c == '{' && i + 1 < source.size() && source[i + 1] >= '0' && source[i + 1] <= '9') {
      std::size_t j = i + 1;
      const std::int64_t min = ReadRepeat(source, j);
      std::int64_t max = min;
      if (min >= 0 && j < source.size() && source[j] == ',') {
        ++j;
        max = j < source.size() && source[j] == '}' ? min + 1 : ReadRepeat(source, j);
      }
      if (min < 0 || max < 0) return "error parsing regexp: invalid repeat count";
      if (j < source.size() && source[j] == '}') {
        const std::int64_t copies = std::max<std::int64_t>({min, max, 1});
        size += last * (copies - 1);
        last *= copies;
        i = j;
        if (size > kMaxRegexStates) return "regex too large";
        continue;
      }
    }
    size += item;
    last = item;
    if (size > kMaxRegexStates) return "regex too large";
  }
  return "";
}

}  // namespace

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool Parser::CheckHeight(int height, Position pos) {
  if (height <= kMaxExprDepth) return true;
  return FailAt("expression too deep (limit " + std::to_string(kMaxExprDepth) + ")", pos);
}

bool Parser::ParseNested(Expr& out, int& height) {
  if (nesting_ >= kMaxExprNesting) {
    return FailAt("expression nested too deeply (limit " + std::to_string(kMaxExprNesting) + ")",
                  Peek().pos);
  }
  ++nesting_;
  const bool ok = ParseBinary(1, out, height);
  --nesting_;
  return ok;
}

bool Parser::ParseBinary(int min_precedence, Expr& out, int& height) {
  if (!ParseOperand(out, height)) return false;
  for (;;) {
    const Token op = Next();
    const int precedence = Precedence(op.kind);
    if (precedence == 0 || precedence < min_precedence) {
      Unscan(op);
      return true;
    }
    Expr rhs;
    int rhs_height = 1;
    if (op.kind == TokenKind::kEqRegex || op.kind == TokenKind::kNeqRegex) {
      // The right-hand side of a regex operator is a regex and nothing else.
      std::optional<Regex> regex;
      if (!ParseRegex(regex)) return false;
      if (!regex) return Fail(Next(), {"regex"});
      rhs.node = RegexLiteral{std::move(*regex)};
    } else if (!ParseBinary(precedence + 1, rhs, rhs_height)) {
      return false;
    }
    height = std::max(height, rhs_height) + 1;
    if (!CheckHeight(height, op.pos)) return false;
    out = MakeBinary(ToBinaryOp(op.kind), std::move(out), std::move(rhs));
  }
}

bool Parser::ParseOperand(Expr& out, int& height) {
  height = 1;
  const Token token = Next();
  switch (token.kind) {
    case TokenKind::kLParen:
      return ParseNested(out, height) && Expect(TokenKind::kRParen);
    case TokenKind::kIdent: {
      const Token next = Next();
      if (next.kind == TokenKind::kLParen && !next.space_before) {
        return ParseCall(Lower(token.text), out, height);
      }
      Unscan(token);
      return ParseVarRef(out);
    }
    case TokenKind::kDistinct: {
      const Token next = Next();
      if (next.kind == TokenKind::kLParen && !next.space_before) {
        return ParseCall("distinct", out, height);
      }
      if (!next.space_before) return Fail(next, {"(", "identifier"});
      if (next.kind != TokenKind::kIdent) return Fail(next, {"identifier"});
      Call call{"distinct", {}};
      call.args.push_back(Expr{VarRef{next.text, VarType::kAny}});
      out.node = std::move(call);
      height = 2;
      return true;
    }
    case TokenKind::kString:
      out.node = StringLiteral{token.text};
      return true;
    case TokenKind::kTrue:
      out.node = BooleanLiteral{true};
      return true;
    case TokenKind::kFalse:
      out.node = BooleanLiteral{false};
      return true;
    case TokenKind::kNumber:
    case TokenKind::kInteger:
    case TokenKind::kDurationVal: {
      Unscan(token);
      return ParseSignedLiteral(/*negative=*/false, out);
    }
    case TokenKind::kMul: {
      Wildcard wildcard;
      const Token colons = Next();
      if (colons.kind == TokenKind::kDoubleColon && !colons.space_before) {
        const Token type = Next();
        if (type.space_before || (type.kind != TokenKind::kField && type.kind != TokenKind::kTag)) {
          return Fail(type, {"field", "tag"});
        }
        wildcard.type = type.kind == TokenKind::kField ? VarType::kField : VarType::kTag;
      } else {
        Unscan(colons);
      }
      out.node = wildcard;
      return true;
    }
    case TokenKind::kAdd:
    case TokenKind::kSub: {
      const bool negative = token.kind == TokenKind::kSub;
      const Token next = Peek();
      switch (next.kind) {
        case TokenKind::kNumber:
        case TokenKind::kInteger:
        case TokenKind::kDurationVal:
          return ParseSignedLiteral(negative, out);
        case TokenKind::kLParen:
        case TokenKind::kIdent: {
          // As InfluxDB: -x is -1 * x (and +x is 1 * x).
          Expr operand;
          if (!ParseOperand(operand, height)) return false;
          out = MakeBinary(BinaryOp::kMul, Expr{IntegerLiteral{negative ? -1 : 1}},
                           std::move(operand));
          return CheckHeight(++height, token.pos);
        }
        default:
          return Fail(next, {"identifier", "number", "duration", "("});
      }
    }
    default:
      return Fail(token, {"identifier", "string", "number", "bool"});
  }
}

bool Parser::ParseSignedLiteral(bool negative, Expr& out) {
  const Token token = Next();
  const char* begin = token.text.data();
  const char* end = begin + token.text.size();
  switch (token.kind) {
    case TokenKind::kInteger: {
      std::uint64_t magnitude = 0;
      constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      if (std::from_chars(begin, end, magnitude).ec != std::errc() ||
          magnitude > kMax + (negative ? 1 : 0)) {
        if (negative) return FailPlain("constant -" + token.text + " underflows int64");
        return FailAt("unable to parse integer", token.pos);
      }
      const std::int64_t value = magnitude == kMax + 1
                                     ? std::numeric_limits<std::int64_t>::min()
                                     : static_cast<std::int64_t>(magnitude) * (negative ? -1 : 1);
      out.node = IntegerLiteral{value};
      return true;
    }
    case TokenKind::kNumber: {
      double value = 0;  // from_chars: exact and independent of the C locale
      if (std::from_chars(begin, end, value).ec != std::errc() || !std::isfinite(value)) {
        return FailAt("unable to parse number", token.pos);
      }
      out.node = NumberLiteral{negative ? -value : value};
      return true;
    }
    default: {  // kDuration
      StatusOr<std::int64_t> ns = ParseDuration(token.text);
      if (!ns.ok()) return FailPlain(ns.status().message());
      out.node = DurationLiteral{negative ? -*ns : *ns};
      return true;
    }
  }
}

bool Parser::ParseCall(std::string name, Expr& out, int& height) {
  Call call{std::move(name), {}};
  int args_height = 0;
  bool first = true;
  do {
    std::optional<Regex> regex;
    if (!ParseRegex(regex)) return false;
    if (regex) {
      call.args.push_back(Expr{RegexLiteral{std::move(*regex)}});
      args_height = std::max(args_height, 1);
    } else {
      if (first && Accept(TokenKind::kRParen)) {
        out.node = std::move(call);
        height = 1;
        return true;
      }
      Expr arg;
      int arg_height = 0;
      if (!ParseNested(arg, arg_height)) return false;
      call.args.push_back(std::move(arg));
      args_height = std::max(args_height, arg_height);
    }
    first = false;
  } while (Accept(TokenKind::kComma));
  const Token close = Next();
  if (close.kind != TokenKind::kRParen) return Fail(close, {")"});
  height = args_height + 1;
  out.node = std::move(call);
  return CheckHeight(height, close.pos);
}

bool Parser::ParseVarRef(Expr& out) {
  std::vector<std::string> segments;
  if (!ParseSegmentedIdents(segments)) return false;
  VarRef ref;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) ref.name += '.';
    ref.name += segments[i];
  }
  const Token colons = Next();
  if (colons.kind != TokenKind::kDoubleColon || colons.space_before) {
    Unscan(colons);
    out.node = std::move(ref);
    return true;
  }
  const Token type = Next();
  const std::string lower = Lower(type.text);
  if (type.space_before) {
    return Fail(type, {"float", "integer", "string", "boolean", "field", "tag"});
  } else if (type.kind == TokenKind::kField) {
    ref.type = VarType::kField;
  } else if (type.kind == TokenKind::kTag) {
    ref.type = VarType::kTag;
  } else if (type.kind == TokenKind::kIdent && lower == "float") {
    ref.type = VarType::kFloat;
  } else if (type.kind == TokenKind::kIdent && lower == "integer") {
    ref.type = VarType::kInteger;
  } else if (type.kind == TokenKind::kIdent && lower == "unsigned") {
    ref.type = VarType::kUnsigned;
  } else if (type.kind == TokenKind::kIdent && lower == "string") {
    ref.type = VarType::kString;
  } else if (type.kind == TokenKind::kIdent && lower == "boolean") {
    ref.type = VarType::kBoolean;
  } else if (type.kind == TokenKind::kIdent) {
    return Fail(type, {"float", "integer", "unsigned", "string", "boolean", "field", "tag"});
  } else {
    return Fail(type, {"float", "integer", "string", "boolean", "field", "tag"});
  }
  out.node = std::move(ref);
  return true;
}

bool Parser::CompileRegex(const Token& token, Regex& out) {
  if (token.text.size() > kMaxRegexBytes) {
    return FailAt("regex too long (limit " + std::to_string(kMaxRegexBytes) + " bytes)", token.pos);
  }
  if (const std::string error = RegexShapeError(token.text); !error.empty()) {
    return FailAt(error, token.pos);
  }
  std::string_view pattern = token.text;
  auto flags = std::regex::ECMAScript;
  if (pattern.starts_with("(?i)")) {  // RE2's case-insensitive flag, common in Grafana
    pattern.remove_prefix(4);
    flags |= std::regex::icase;
  }
  try {
    out.compiled = std::make_shared<const std::regex>(pattern.begin(), pattern.end(), flags);
  } catch (const std::regex_error& e) {
    return FailAt(std::string("error parsing regexp: ") + e.what(), token.pos);
  }
  out.source = token.text;
  return true;
}

}  // namespace tidewatch::rules::internal
