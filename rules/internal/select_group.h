// Evaluating a SELECT over one GROUP BY group of one measurement: reading raw rows,
// aggregating per field (one aggregation pass per field serving every function on it),
// fill, transformations and arithmetic, down to the rows of one result series.
//
// Thread safety: the store is read concurrently with ingest; everything else is local.
#ifndef TIDEWATCH_RULES_INTERNAL_SELECT_GROUP_H_
#define TIDEWATCH_RULES_INTERNAL_SELECT_GROUP_H_

#include <map>
#include <string>
#include <vector>

#include "rules/ast.h"
#include "rules/fill.h"
#include "rules/internal/select_plan.h"
#include "rules/internal/series_groups.h"
#include "rules/internal/statements.h"
#include "rules/query_result.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::rules::internal {

enum class SelectMode {
  kRaw,           // fields, tags and arithmetic, one row per point
  kAggregate,     // aggregates (maybe under transformations), one row per bucket
  kRawTransform,  // transformations over raw fields
};

// What the whole statement decided, shared by every group.
struct SelectShape {
  std::vector<Field> fields;  // wildcards expanded; `time` removed
  SelectMode mode = SelectMode::kRaw;
  std::int64_t interval = 0;  // GROUP BY time(); 0 for none
  std::int64_t offset = 0;
  FillSpec fill;
  bool descending = false;
  // Aggregate mode without GROUP BY time(): whether the one field is a selector, whose
  // row then carries the selected point's time.
  bool selector_time = false;
};

// One measurement of the statement.
struct MeasurementScope {
  std::string db;
  std::string measurement;
  std::vector<std::string> tag_keys;  // sorted
  std::map<std::string, store::FieldType, std::less<>> field_types;
  SplitCondition where;

  // Whether `v` names a tag here: a ::tag hint, or no ::field hint and no such field.
  bool IsTag(const VarRef& v) const;
};

// The rows of `group` ([time, one cell per field]) in output order, before LIMIT.
// Empty when the group has no data in range.
StatusOr<std::vector<std::vector<Value>>> EvaluateGroup(const StatementEnv& env,
                                                        const SelectShape& shape,
                                                        const MeasurementScope& scope,
                                                        const SeriesGroup& group);

// Whether `name` is an aggregate or selector this executor computes.
bool IsAggregateName(std::string_view name);
bool IsSelectorName(std::string_view name);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_SELECT_GROUP_H_
