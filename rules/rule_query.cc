// CompileRuleQuery and TagsMatch (rules/rule_definition.h): the InfluxQL subset a rule's
// query may use, and matching a series' tags against its WHERE.
#include <algorithm>
#include <array>
#include <string>

#include "rules/internal/select_plan.h"
#include "rules/parser.h"
#include "rules/rule_definition.h"
#include "rules/statement_text.h"

namespace tidewatch::rules {
namespace {

constexpr std::size_t kMaxRuleQueryBytes = 16384;  // query and suppress_when.query

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

constexpr std::array<std::string_view, 11> kRuleFunctions = {
    "count", "sum", "mean",  "median", "spread",    "stddev",
    "min",   "max", "first", "last",   "percentile"};

// "error parsing query: <what> at line L, char C" -> "L:C: <what>".
std::string ParserMessage(std::string_view message) {
  constexpr std::string_view kPrefix = "error parsing query: ";
  if (message.starts_with(kPrefix)) message.remove_prefix(kPrefix.size());
  const std::size_t at = message.rfind(" at line ");
  const std::size_t comma = message.rfind(", char ");
  if (at == std::string_view::npos || comma == std::string_view::npos || comma < at) {
    return std::string(message);
  }
  const std::string_view line = message.substr(at + 9, comma - at - 9);
  const std::string_view column = message.substr(comma + 7);
  return std::string(line) + ":" + std::string(column) + ": " + std::string(message.substr(0, at));
}

Status CheckField(const Field& field, bool allow_aggregate, RuleQuery& out) {
  const Expr* arg = &field.expr;
  if (const auto* call = field.expr.As<Call>()) {
    if (!allow_aggregate) return Invalid("must select a bare field (no aggregate here)");
    if (std::find(kRuleFunctions.begin(), kRuleFunctions.end(), call->name) ==
        kRuleFunctions.end()) {
      std::string list;
      for (std::string_view f : kRuleFunctions) list += (list.empty() ? "" : ", ") + std::string(f);
      return Invalid(call->name + "() cannot drive a rule; use one of " + list);
    }
    if (call->args.empty() || call->args[0].As<VarRef>() == nullptr) {
      return Invalid(call->name + "() must take a bare field");
    }
    arg = &call->args[0];
    out.aggregate = true;
  }
  const auto* ref = arg->As<VarRef>();
  if (ref == nullptr) {
    return Invalid("must select one field or one aggregate of a field, not " +
                   ToString(field.expr));
  }
  if (internal::IsTimeRef(*arg)) return Invalid("must select a field, not time");
  if (ref->type == VarType::kTag || ref->type == VarType::kString) {
    return Invalid("must select a numeric or boolean field, not " + ToString(*arg));
  }
  out.field = ref->name;
  return Status::Ok();
}

Status CheckTagRef(const Expr& e, std::string_view field) {
  const auto* ref = e.As<VarRef>();
  if (internal::IsTimeRef(e)) {
    return Invalid("WHERE may not test time: a rule sees every point as it arrives");
  }
  if (ref->name == field) {
    return Invalid("WHERE may only test tags; " + QuoteIdent(field) + " is the queried field");
  }
  if (ref->type != VarType::kAny && ref->type != VarType::kTag) {
    return Invalid("WHERE may only test tags, not " + ToString(e));
  }
  return Status::Ok();
}

// Only tag comparisons with string or regex literals, joined by AND and OR. Recursion
// is bounded by the parser's kMaxExprDepth.
Status CheckTagCondition(const Expr& e, std::string_view field) {
  const auto* b = e.As<BinaryExpr>();
  if (b != nullptr) {
    switch (b->op) {
      case BinaryOp::kAnd:
      case BinaryOp::kOr:
        if (Status s = CheckTagCondition(*b->lhs, field); !s.ok()) return s;
        return CheckTagCondition(*b->rhs, field);
      case BinaryOp::kEq:
      case BinaryOp::kNeq:
        if (b->lhs->As<VarRef>() && b->rhs->As<StringLiteral>()) return CheckTagRef(*b->lhs, field);
        if (b->rhs->As<VarRef>() && b->lhs->As<StringLiteral>()) return CheckTagRef(*b->rhs, field);
        break;
      case BinaryOp::kEqRegex:
      case BinaryOp::kNeqRegex:
        if (b->lhs->As<VarRef>() && b->rhs->As<RegexLiteral>()) return CheckTagRef(*b->lhs, field);
        break;
      default:
        break;
    }
  }
  if (b != nullptr && (internal::IsTimeRef(*b->lhs) || internal::IsTimeRef(*b->rhs))) {
    return Invalid("WHERE may not test time: a rule sees every point as it arrives");
  }
  return Invalid(
      "WHERE may only compare tags with strings (=, !=) or regexes (=~, !~), "
      "joined by AND and OR; found " +
      ToString(e));
}

Status CheckClauses(const SelectStatement& select) {
  if (select.into) return Invalid("INTO is not allowed in a rule's query");
  if (select.limit != 0 || select.offset != 0) return Invalid("LIMIT and OFFSET are not allowed");
  if (select.slimit != 0 || select.soffset != 0) {
    return Invalid("SLIMIT and SOFFSET are not allowed");
  }
  if (select.order_desc) return Invalid("ORDER BY time DESC is not allowed");
  if (select.fill.kind != FillKind::kNull && select.fill.kind != FillKind::kNone) {
    return Invalid("only fill(none) or no fill is allowed");
  }
  if (select.sources.size() != 1) {
    return Invalid("must select from exactly one measurement, got " +
                   std::to_string(select.sources.size()));
  }
  const Source& source = select.sources[0];
  if (source.regex) return Invalid("FROM must name one measurement, not a regex");
  if (!source.database.empty() || !source.retention_policy.empty()) {
    return Invalid("FROM must not name a database or retention policy; the rule's db applies");
  }
  if (select.fields.size() != 1) {
    return Invalid("must select exactly one field, got " + std::to_string(select.fields.size()));
  }
  return Status::Ok();
}

Status CheckDimensions(const SelectStatement& select, RuleQuery& out) {
  bool has_time = false;
  for (const Dimension& d : select.dimensions) {
    switch (d.kind) {
      case Dimension::Kind::kTime:
        if (!out.aggregate) {
          return Invalid("a raw query may GROUP BY tags only; time() needs an aggregate");
        }
        if (has_time) return Invalid("GROUP BY time() given twice");
        has_time = true;
        out.interval_ns = d.interval_ns;
        out.offset_ns = d.offset_ns;
        break;
      case Dimension::Kind::kTag:
        out.group_by_tags.push_back(d.tag);
        break;
      case Dimension::Kind::kWildcard:
        out.group_by_all = true;
        break;
      case Dimension::Kind::kRegex:
        return Invalid("GROUP BY /regex/ is not supported in a rule; list the tags or use *");
      case Dimension::Kind::kOther:
        return Invalid("GROUP BY may only list time(), tags or *; found " + ToString(d.expr));
    }
  }
  if (out.aggregate && !has_time) {
    return Invalid("an aggregate query needs GROUP BY time(<interval>)");
  }
  if (out.group_by_all) {
    out.group_by_tags.clear();
  } else {
    std::sort(out.group_by_tags.begin(), out.group_by_tags.end());
    out.group_by_tags.erase(std::unique(out.group_by_tags.begin(), out.group_by_tags.end()),
                            out.group_by_tags.end());
  }
  return Status::Ok();
}

std::string_view TagValue(std::span<const store::Tag> tags, std::string_view key) {
  const auto it =
      std::lower_bound(tags.begin(), tags.end(), key,
                       [](const store::Tag& t, std::string_view k) { return t.key < k; });
  return it != tags.end() && it->key == key ? std::string_view(it->value) : std::string_view();
}

bool Matches(const Expr& e, std::span<const store::Tag> tags) {
  const auto* b = e.As<BinaryExpr>();
  if (b == nullptr) return false;
  switch (b->op) {
    case BinaryOp::kAnd:
      return Matches(*b->lhs, tags) && Matches(*b->rhs, tags);
    case BinaryOp::kOr:
      return Matches(*b->lhs, tags) || Matches(*b->rhs, tags);
    case BinaryOp::kEq:
    case BinaryOp::kNeq: {
      const VarRef* key = b->lhs->As<VarRef>();
      const StringLiteral* text = b->rhs->As<StringLiteral>();
      if (key == nullptr) {
        key = b->rhs->As<VarRef>();
        text = b->lhs->As<StringLiteral>();
      }
      if (key == nullptr || text == nullptr) return false;
      // A series without the tag has the value "" (InfluxDB, and FilterSeries).
      return (TagValue(tags, key->name) == text->value) == (b->op == BinaryOp::kEq);
    }
    case BinaryOp::kEqRegex:
    case BinaryOp::kNeqRegex: {
      const VarRef* key = b->lhs->As<VarRef>();
      const RegexLiteral* re = b->rhs->As<RegexLiteral>();
      if (key == nullptr || re == nullptr) return false;
      const std::string_view value = TagValue(tags, key->name);
      const bool found = std::regex_search(value.begin(), value.end(), *re->regex.compiled);
      return found == (b->op == BinaryOp::kEqRegex);
    }
    default:
      return false;
  }
}

}  // namespace

StatusOr<RuleQuery> CompileRuleQuery(std::string_view query, bool allow_aggregate) {
  if (query.size() > kMaxRuleQueryBytes) {
    return Invalid("longer than " + std::to_string(kMaxRuleQueryBytes) + " bytes");
  }
  StatusOr<Statement> statement = ParseStatement(query);
  if (!statement.ok()) return Invalid(ParserMessage(statement.status().message()));
  auto* select = std::get_if<SelectStatement>(&*statement);
  if (select == nullptr) return Invalid("must be a SELECT statement");
  RuleQuery out;
  if (Status s = CheckClauses(*select); !s.ok()) return s;
  if (Status s = CheckField(select->fields[0], allow_aggregate, out); !s.ok()) return s;
  if (Status s = CheckDimensions(*select, out); !s.ok()) return s;
  if (select->condition) {
    if (Status s = CheckTagCondition(*select->condition, out.field); !s.ok()) return s;
  }
  // InfluxDB's own checks (argument counts, percentile's argument, ...): what passes
  // them the executor runs.
  if (Status s = ValidateSelect(*select); !s.ok()) return s;
  out.measurement = select->sources[0].name;
  out.where = select->condition;
  out.select = std::move(*select);
  return out;
}

bool TagsMatch(const std::optional<Expr>& where, std::span<const store::Tag> tags) {
  return !where || Matches(*where, tags);
}

}  // namespace tidewatch::rules
