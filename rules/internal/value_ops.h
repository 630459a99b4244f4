// Arithmetic and comparison on result cells, with InfluxDB 1.x's rules: null in, null
// out; integer op integer stays an integer except `/` (a float); a division or modulo
// by zero answers 0; strings and booleans compare (=, !=) but take no arithmetic.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_RULES_INTERNAL_VALUE_OPS_H_
#define TIDEWATCH_RULES_INTERNAL_VALUE_OPS_H_

#include <optional>

#include "rules/ast.h"
#include "rules/query_result.h"

namespace tidewatch::rules::internal {

// a op b for an arithmetic op (+ - * / %); null when either side is null or not a number.
Value Arithmetic(BinaryOp op, const Value& a, const Value& b);

// a op b for a comparison (= != < <= > >=); nullopt when either side is null or the
// kinds do not compare (a number with a string).
std::optional<bool> Compare(BinaryOp op, const Value& a, const Value& b);

// The number in a cell (float, integer, or boolean as 0/1), if any.
std::optional<double> AsNumber(const Value& v);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_VALUE_OPS_H_
