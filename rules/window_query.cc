#include "rules/window_query.h"

#include <string>
#include <utility>

namespace tidewatch::rules {

namespace {

Expr TimeComparison(BinaryOp op, store::Timestamp t) {
  return Expr{BinaryExpr{op, Expr{VarRef{"time"}}, Expr{IntegerLiteral{t}}}};
}

Expr And(Expr lhs, Expr rhs) {
  return Expr{BinaryExpr{BinaryOp::kAnd, std::move(lhs), std::move(rhs)}};
}

}  // namespace

StatementResult RunSelectOver(QueryExecutor& executor, const SelectStatement& select,
                              std::string_view db, BucketRange range, store::Timestamp now) {
  SelectStatement bounded = select;
  bounded.into.reset();
  // The select's own condition stays one operand, so an OR in it keeps its grouping and
  // the time terms are top-level conjuncts the planner narrows the range with.
  Expr time =
      And(TimeComparison(BinaryOp::kGte, range.start), TimeComparison(BinaryOp::kLt, range.end));
  bounded.condition =
      bounded.condition ? And(std::move(*bounded.condition), std::move(time)) : std::move(time);
  Query query;
  query.statements.emplace_back(std::move(bounded));
  QueryResult result = executor.Execute(query, ExecuteContext{std::string(db), now});
  return std::move(result.results.front());
}

}  // namespace tidewatch::rules
