// Running a GROUP BY time() SELECT over whole closed buckets: what continuous queries
// and aggregate alert rules do when their window closes (rules/window_tracker.h).
//
// Thread safety: as QueryExecutor::Execute (any thread, concurrent with appends).
#ifndef TIDEWATCH_RULES_WINDOW_QUERY_H_
#define TIDEWATCH_RULES_WINDOW_QUERY_H_

#include <string_view>

#include "rules/ast.h"
#include "rules/query_executor.h"
#include "rules/query_result.h"
#include "rules/window_tracker.h"
#include "store/types.h"

namespace tidewatch::rules {

// Runs `select` in database `db` restricted to event times [range.start, range.end):
// the range is ANDed to the statement's own WHERE (which may hold no time condition of
// its own), INTO is ignored, and fill() applies inside the range only. The result is
// exactly what an ad-hoc query of the same SELECT with
// `WHERE <its conditions> AND time >= start AND time < end` answers.
StatementResult RunSelectOver(QueryExecutor& executor, const SelectStatement& select,
                              std::string_view db, BucketRange range, store::Timestamp now);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_WINDOW_QUERY_H_
