// WHERE clause analysis for SELECT (and SHOW/DELETE ... WHERE): splits the condition
// into the time range, the tag terms answered from the inverted index as posting
// lists, and the row terms evaluated per point (field comparisons), as InfluxDB 1.x
// does.
//
// The top-level AND conjuncts are classified one by one:
//   - a comparison of `time` with a time expression: narrows the range. Time
//     expressions: now(), 'RFC 3339' strings, integers (ns), durations, and + / - of
//     those (`now() - 1h`). `time = t` is [t, t]. time inside OR is refused.
//   - a term whose variables are all tags (=, !=, =~, !~, AND, OR): a tag term.
//   - anything else: a row term (`value > 5`, `host = 'a' OR value > 5`).
//
// Thread safety: pure functions over a store that is itself thread-safe.
#ifndef TIDEWATCH_RULES_INTERNAL_SELECT_PLAN_H_
#define TIDEWATCH_RULES_INTERNAL_SELECT_PLAN_H_

#include <functional>
#include <limits>
#include <string_view>
#include <vector>

#include "rules/ast.h"
#include "rules/query_result.h"
#include "store/series_index.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::rules::internal {

// [start, end): end exclusive. The bounded_* flags say whether WHERE gave the bound.
struct TimeRange {
  store::Timestamp start = std::numeric_limits<store::Timestamp>::min();
  store::Timestamp end = std::numeric_limits<store::Timestamp>::max();
  bool bounded_start = false;
  bool bounded_end = false;
};

struct SplitCondition {
  TimeRange range;
  std::vector<const Expr*> tag_terms;  // point into the analysed Expr
  std::vector<const Expr*> row_terms;
};

// Whether a variable of the condition names a tag (else a field).
using IsTag = std::function<bool(const VarRef&)>;

bool IsTimeRef(const Expr& e);

// Splits `where` (may be null). Errors (kInvalidArgument): an unparsable time string,
// time in an OR, a comparison of time with something not a time.
StatusOr<SplitCondition> SplitWhere(const Expr* where, const IsTag& is_tag, store::Timestamp now);

// The series of `measurement` in `db` satisfying every tag term (all of them when
// there are none). Errors (kInvalidArgument): an operator tags do not support.
StatusOr<store::PostingList> FilterSeries(const store::SeriesIndex& index, std::string_view db,
                                          std::string_view measurement,
                                          const std::vector<const Expr*>& tag_terms);

// Looks a variable of a row up: a field's or tag's value at the current row (null if
// the row has none).
using RowLookup = std::function<Value(const VarRef&)>;

// Whether a row passes every row term (a null comparison fails, as in InfluxDB).
bool RowPasses(const std::vector<const Expr*>& row_terms, const RowLookup& lookup);

// Evaluates an expression over one row: variables through `lookup`, literals, and
// arithmetic; calls and other nodes are null.
Value EvalRow(const Expr& e, const RowLookup& lookup);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_SELECT_PLAN_H_
