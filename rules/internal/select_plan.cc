#include "rules/internal/select_plan.h"

#include <algorithm>
#include <string>

#include "rules/internal/time_literal.h"
#include "rules/internal/value_ops.h"

namespace tidewatch::rules::internal {

namespace {

using store::PostingList;
using store::Timestamp;

constexpr Timestamp kMinTime = std::numeric_limits<Timestamp>::min();
constexpr Timestamp kMaxTime = std::numeric_limits<Timestamp>::max();

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNeq || op == BinaryOp::kLt ||
         op == BinaryOp::kLte || op == BinaryOp::kGt || op == BinaryOp::kGte;
}

// `a op b` as `b op' a`.
BinaryOp Flip(BinaryOp op) {
  switch (op) {
    case BinaryOp::kLt:
      return BinaryOp::kGt;
    case BinaryOp::kLte:
      return BinaryOp::kGte;
    case BinaryOp::kGt:
      return BinaryOp::kLt;
    case BinaryOp::kGte:
      return BinaryOp::kLte;
    default:
      return op;
  }
}

bool MentionsTime(const Expr& e) {
  if (IsTimeRef(e)) return true;
  if (const auto* b = e.As<BinaryExpr>()) return MentionsTime(*b->lhs) || MentionsTime(*b->rhs);
  return false;
}

Timestamp SaturatingAdd(Timestamp a, Timestamp b) {
  Timestamp out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

StatusOr<Timestamp> EvalTime(const Expr& e, Timestamp now) {
  if (const auto* c = e.As<Call>(); c && c->name == "now" && c->args.empty()) return now;
  if (const auto* s = e.As<StringLiteral>()) {
    if (std::optional<Timestamp> t = ParseTimeLiteral(s->value)) return *t;
    return Invalid("invalid time string: '" + s->value + "'");
  }
  if (const auto* i = e.As<IntegerLiteral>()) return i->value;
  if (const auto* d = e.As<DurationLiteral>()) return d->ns;
  if (const auto* n = e.As<NumberLiteral>()) {
    if (!(n->value >= -9.2e18 && n->value <= 9.2e18)) return Invalid("time value out of range");
    return static_cast<Timestamp>(n->value);
  }
  if (const auto* b = e.As<BinaryExpr>();
      b && (b->op == BinaryOp::kAdd || b->op == BinaryOp::kSub)) {
    StatusOr<Timestamp> l = EvalTime(*b->lhs, now);
    if (!l.ok()) return l;
    StatusOr<Timestamp> r = EvalTime(*b->rhs, now);
    if (!r.ok()) return r;
    if (b->op == BinaryOp::kAdd) return SaturatingAdd(*l, *r);
    return *r == kMinTime ? kMaxTime : SaturatingAdd(*l, -*r);
  }
  return Invalid("invalid time comparison: expected a time, now() or a duration");
}

Status NarrowRange(const BinaryExpr& cmp, Timestamp now, TimeRange& range) {
  BinaryOp op = cmp.op;
  const Expr* other = cmp.rhs.operator->();
  if (!IsTimeRef(*cmp.lhs)) {
    op = Flip(op);
    other = cmp.lhs.operator->();
  }
  if (!IsComparison(op) || op == BinaryOp::kNeq) {
    return Invalid("invalid time condition: only =, <, <=, >, >= compare time");
  }
  StatusOr<Timestamp> t = EvalTime(*other, now);
  if (!t.ok()) return t.status();
  const Timestamp after = *t == kMaxTime ? kMaxTime : *t + 1;
  if (op == BinaryOp::kGt || op == BinaryOp::kGte || op == BinaryOp::kEq) {
    range.start = std::max(range.start, op == BinaryOp::kGt ? after : *t);
    range.bounded_start = true;
  }
  if (op == BinaryOp::kLt || op == BinaryOp::kLte || op == BinaryOp::kEq) {
    range.end = std::min(range.end, op == BinaryOp::kLt ? *t : after);
    range.bounded_end = true;
  }
  return Status::Ok();
}

void Conjuncts(const Expr& e, std::vector<const Expr*>& out) {
  if (const auto* b = e.As<BinaryExpr>(); b && b->op == BinaryOp::kAnd) {
    Conjuncts(*b->lhs, out);
    Conjuncts(*b->rhs, out);
    return;
  }
  out.push_back(&e);
}

// Whether every variable of `e` is a tag and there is at least one.
bool OnlyTags(const Expr& e, const IsTag& is_tag, bool& any) {
  if (const auto* v = e.As<VarRef>()) {
    any = true;
    return is_tag(*v);
  }
  if (const auto* b = e.As<BinaryExpr>()) {
    return OnlyTags(*b->lhs, is_tag, any) && OnlyTags(*b->rhs, is_tag, any);
  }
  return e.As<Call>() == nullptr;
}

bool RegexMatches(const Regex& re, std::string_view s) {
  return std::regex_search(s.begin(), s.end(), *re.compiled);
}

}  // namespace

bool IsTimeRef(const Expr& e) {
  const auto* v = e.As<VarRef>();
  if (v == nullptr || v->name.size() != 4) return false;
  std::string lower = v->name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "time";
}

StatusOr<SplitCondition> SplitWhere(const Expr* where, const IsTag& is_tag, Timestamp now) {
  SplitCondition out;
  if (where == nullptr) return out;
  std::vector<const Expr*> terms;
  Conjuncts(*where, terms);
  for (const Expr* term : terms) {
    if (!MentionsTime(*term)) {
      bool any = false;
      if (OnlyTags(*term, is_tag, any) && any) {
        out.tag_terms.push_back(term);
      } else {
        out.row_terms.push_back(term);
      }
      continue;
    }
    const auto* cmp = term->As<BinaryExpr>();
    if (cmp == nullptr || !(IsTimeRef(*cmp->lhs) || IsTimeRef(*cmp->rhs))) {
      return Invalid("invalid time condition: time may only be compared in AND-ed terms");
    }
    if (Status s = NarrowRange(*cmp, now, out.range); !s.ok()) return s;
  }
  return out;
}

namespace {

StatusOr<PostingList> TagTerm(const store::SeriesIndex& index, std::string_view db,
                              std::string_view m, const Expr& term, const PostingList& all) {
  const auto* b = term.As<BinaryExpr>();
  if (b == nullptr) return Invalid("unsupported tag condition");
  if (b->op == BinaryOp::kAnd || b->op == BinaryOp::kOr) {
    StatusOr<PostingList> l = TagTerm(index, db, m, *b->lhs, all);
    if (!l.ok()) return l;
    StatusOr<PostingList> r = TagTerm(index, db, m, *b->rhs, all);
    if (!r.ok()) return r;
    return b->op == BinaryOp::kAnd ? store::Intersect(*l, *r) : store::Union(*l, *r);
  }
  const VarRef* key = b->lhs->As<VarRef>();
  const Expr* other = b->rhs.operator->();
  if (key == nullptr) {
    key = b->rhs->As<VarRef>();
    other = b->lhs.operator->();
  }
  if (key == nullptr) return Invalid("unsupported tag condition: expected tag <op> value");
  const auto with_key = [&] {
    return index.SeriesWhereTagValue(db, m, key->name, [](std::string_view) { return true; });
  };
  switch (b->op) {
    case BinaryOp::kEq:
    case BinaryOp::kNeq: {
      const auto* s = other->As<StringLiteral>();
      if (s == nullptr)
        return Invalid("invalid tag comparison: tag '" + key->name + "' compares with a string");
      PostingList eq = s->value.empty() ? store::Difference(all, with_key())
                                        : index.SeriesWithTag(db, m, key->name, s->value);
      return b->op == BinaryOp::kEq ? eq : store::Difference(all, eq);
    }
    case BinaryOp::kEqRegex:
    case BinaryOp::kNeqRegex: {
      const auto* r = other->As<RegexLiteral>();
      if (r == nullptr) return Invalid("invalid tag comparison: =~ and !~ take a /regex/");
      const Regex& re = r->regex;
      PostingList match = index.SeriesWhereTagValue(
          db, m, key->name, [&re](std::string_view v) { return RegexMatches(re, v); });
      // A series without the tag has the value "" for matching, as in InfluxDB.
      if (RegexMatches(re, "")) match = store::Union(match, store::Difference(all, with_key()));
      return b->op == BinaryOp::kEqRegex ? match : store::Difference(all, match);
    }
    default:
      return Invalid("unsupported tag condition on '" + key->name + "': only =, !=, =~, !~");
  }
}

}  // namespace

StatusOr<PostingList> FilterSeries(const store::SeriesIndex& index, std::string_view db,
                                   std::string_view measurement,
                                   const std::vector<const Expr*>& tag_terms) {
  const PostingList all = index.SeriesOf(db, measurement);
  PostingList out = all;
  for (const Expr* term : tag_terms) {
    StatusOr<PostingList> ids = TagTerm(index, db, measurement, *term, all);
    if (!ids.ok()) return ids;
    out = store::Intersect(out, *ids);
  }
  return out;
}

Value EvalRow(const Expr& e, const RowLookup& lookup) {
  if (const auto* v = e.As<VarRef>()) return lookup(*v);
  if (const auto* n = e.As<NumberLiteral>()) return n->value;
  if (const auto* i = e.As<IntegerLiteral>()) return i->value;
  if (const auto* s = e.As<StringLiteral>()) return s->value;
  if (const auto* bl = e.As<BooleanLiteral>()) return bl->value;
  const auto* b = e.As<BinaryExpr>();
  if (b == nullptr) return std::monostate{};
  switch (b->op) {
    case BinaryOp::kAnd:
    case BinaryOp::kOr: {
      const Value l = EvalRow(*b->lhs, lookup);
      const Value r = EvalRow(*b->rhs, lookup);
      const bool lt = std::holds_alternative<bool>(l) && std::get<bool>(l);
      const bool rt = std::holds_alternative<bool>(r) && std::get<bool>(r);
      return b->op == BinaryOp::kAnd ? lt && rt : lt || rt;
    }
    case BinaryOp::kEqRegex:
    case BinaryOp::kNeqRegex: {
      const Value l = EvalRow(*b->lhs, lookup);
      const auto* s = std::get_if<std::string>(&l);
      const auto* r = b->rhs->As<RegexLiteral>();
      if (s == nullptr || r == nullptr) return std::monostate{};
      return RegexMatches(r->regex, *s) == (b->op == BinaryOp::kEqRegex);
    }
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return Arithmetic(b->op, EvalRow(*b->lhs, lookup), EvalRow(*b->rhs, lookup));
    default: {
      const std::optional<bool> c =
          Compare(b->op, EvalRow(*b->lhs, lookup), EvalRow(*b->rhs, lookup));
      if (!c) return std::monostate{};
      return *c;
    }
  }
}

bool RowPasses(const std::vector<const Expr*>& row_terms, const RowLookup& lookup) {
  for (const Expr* term : row_terms) {
    const Value v = EvalRow(*term, lookup);
    if (!std::holds_alternative<bool>(v) || !std::get<bool>(v)) return false;
  }
  return true;
}

}  // namespace tidewatch::rules::internal
