// SELECT (CREATE CONTINUOUS QUERY, which wraps one, is in parser_statements.cc).
#include <utility>

#include "rules/parser.h"
#include "rules/parser_impl.h"
#include "rules/statement_text.h"

namespace tidewatch::rules::internal {
namespace {

// The first comparison or logical operator of `expr` (pre-order), if any: InfluxDB
// rejects them in SELECT fields.
std::optional<BinaryOp> FindConditionOperator(const Expr& expr) {
  if (const auto* binary = expr.As<BinaryExpr>()) {
    switch (binary->op) {
      case BinaryOp::kAdd:
      case BinaryOp::kSub:
      case BinaryOp::kMul:
      case BinaryOp::kDiv:
      case BinaryOp::kMod:
        break;
      default:
        return binary->op;
    }
    if (auto op = FindConditionOperator(*binary->lhs)) return op;
    return FindConditionOperator(*binary->rhs);
  }
  if (const auto* call = expr.As<Call>()) {
    for (const Expr& arg : call->args) {
      if (auto op = FindConditionOperator(arg)) return op;
    }
  }
  return std::nullopt;
}

// Fills the classification members of a GROUP BY item from its expression.
void ClassifyDimension(Dimension& d) {
  d.kind = Dimension::Kind::kOther;
  if (d.expr.As<Wildcard>() != nullptr) {
    d.kind = Dimension::Kind::kWildcard;
  } else if (const auto* ref = d.expr.As<VarRef>()) {
    if (Lower(ref->name) != "time") {
      d.kind = Dimension::Kind::kTag;
      d.tag = ref->name;
    }
  } else if (const auto* call = d.expr.As<Call>()) {
    if (call->name != "time" || call->args.empty() || call->args.size() > 2) return;
    const auto* interval = call->args[0].As<DurationLiteral>();
    if (interval == nullptr || interval->ns <= 0) return;
    std::int64_t offset = 0;
    if (call->args.size() == 2) {
      const auto* off = call->args[1].As<DurationLiteral>();
      if (off == nullptr) return;
      offset = off->ns % interval->ns;  // as InfluxDB: the sign is kept
    }
    d.kind = Dimension::Kind::kTime;
    d.interval_ns = interval->ns;
    d.offset_ns = offset;
  }
}

}  // namespace

bool HasCall(const Expr& expr) {
  if (expr.As<Call>() != nullptr) return true;
  if (const auto* binary = expr.As<BinaryExpr>()) {
    return HasCall(*binary->lhs) || HasCall(*binary->rhs);
  }
  return false;
}

std::int64_t GroupByInterval(const SelectStatement& select, std::string& error) {
  for (const Dimension& d : select.dimensions) {
    const auto* call = d.expr.As<Call>();
    if (call == nullptr || call->name != "time") continue;
    if (call->args.empty() || call->args.size() > 2) {
      error = "time dimension expected 1 or 2 arguments";
      return 0;
    }
    const auto* interval = call->args[0].As<DurationLiteral>();
    if (interval == nullptr) {
      error = "time dimension must have duration argument";
      return 0;
    }
    return interval->ns;
  }
  return 0;
}

bool Parser::ParseSelect(SelectStatement& out, bool into_required) {
  if (!ParseFields(out.fields) || !ParseInto(out.into, into_required) ||
      !Expect(TokenKind::kFrom) || !ParseSources(out.sources) || !ParseCondition(out.condition) ||
      !ParseDimensions(out.dimensions) || !ParseFill(out.fill) || !ParseOrderBy(out.order_desc) ||
      !ParseOptionalInt(TokenKind::kLimit, out.limit) ||
      !ParseOptionalInt(TokenKind::kOffset, out.offset) ||
      !ParseOptionalInt(TokenKind::kSlimit, out.slimit) ||
      !ParseOptionalInt(TokenKind::kSoffset, out.soffset)) {
    return false;
  }
  if (const Token next = Peek(); next.kind == TokenKind::kIdent && Lower(next.text) == "tz") {
    return FailAt("tz() is not supported", next.pos);
  }
  return true;
}

bool Parser::ParseFields(std::vector<Field>& out) {
  do {
    Field field;
    std::optional<Regex> regex;
    if (!ParseRegex(regex)) return false;
    if (regex) {
      field.expr.node = RegexLiteral{std::move(*regex)};
    } else {
      const Position pos = Peek().pos;
      if (!ParseExpr(field.expr)) return false;
      if (const auto op = FindConditionOperator(field.expr)) {
        return FailPlain("invalid operator " + std::string(BinaryOpText(*op)) +
                         " in SELECT clause at line " + std::to_string(pos.line) + ", char " +
                         std::to_string(pos.column) + "; operator is intended for WHERE clause");
      }
    }
    if (Accept(TokenKind::kAs) && !ParseIdent(field.alias)) return false;
    out.push_back(std::move(field));
  } while (Accept(TokenKind::kComma));
  return true;
}

bool Parser::ParseInto(std::optional<Into>& out, bool required) {
  const Token token = Next();
  if (token.kind != TokenKind::kInto) {
    if (required) return Fail(token, {"INTO"});
    Unscan(token);
    return true;
  }
  std::vector<std::string> idents;
  if (!ParseSegmentedIdents(idents)) return false;
  if (idents.size() < 3 && lexer_.PeekChar() == ':') {
    // [db.]rp.:MEASUREMENT: named after each source measurement.
    if (!Expect(TokenKind::kColon) || !Expect(TokenKind::kMeasurement)) return false;
    idents.emplace_back();
  }
  Into into;
  into.measurement = std::move(idents.back());
  if (idents.size() >= 2) into.retention_policy = std::move(idents[idents.size() - 2]);
  if (idents.size() == 3) into.database = std::move(idents[0]);
  out = std::move(into);
  return true;
}

bool Parser::ParseDimensions(std::vector<Dimension>& out) {
  if (!Accept(TokenKind::kGroup)) return true;
  if (!Expect(TokenKind::kBy)) return false;
  do {
    Dimension dimension;
    std::optional<Regex> regex;
    if (!ParseRegex(regex)) return false;
    if (regex) {
      dimension.kind = Dimension::Kind::kRegex;
      dimension.expr.node = RegexLiteral{*regex};
      dimension.regex = std::move(regex);
    } else {
      if (!ParseExpr(dimension.expr)) return false;
      ClassifyDimension(dimension);
    }
    out.push_back(std::move(dimension));
  } while (Accept(TokenKind::kComma));
  return true;
}

bool Parser::ParseFill(Fill& out) {
  const Token next = Peek();
  if (next.kind != TokenKind::kIdent || Lower(next.text) != "fill") return true;
  Expr expr;
  if (!ParseExpr(expr)) return false;
  const auto* call = expr.As<Call>();
  if (call == nullptr) return FailPlain("fill must be a function call");
  if (call->args.size() != 1) {
    return FailPlain("fill requires an argument, e.g.: 0, null, none, previous, linear");
  }
  const Expr& arg = call->args[0];
  const std::string text = ToString(arg);
  out.written = true;
  if (text == "null") {
    out.kind = FillKind::kNull;
  } else if (text == "none") {
    out.kind = FillKind::kNone;
  } else if (text == "previous") {
    out.kind = FillKind::kPrevious;
  } else if (text == "linear") {
    out.kind = FillKind::kLinear;
  } else if (const auto* integer = arg.As<IntegerLiteral>()) {
    out.kind = FillKind::kValue;
    out.value = static_cast<double>(integer->value);
    out.value_is_integer = true;
    out.integer_value = integer->value;
  } else if (const auto* number = arg.As<NumberLiteral>()) {
    out.kind = FillKind::kValue;
    out.value = number->value;
  } else {
    return FailPlain("expected number argument in fill()");
  }
  return true;
}

}  // namespace tidewatch::rules::internal
