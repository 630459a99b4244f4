// QueryExecutor: runs parsed InfluxQL statements over the store with InfluxDB 1.x
// semantics and answers in rules::QueryResult's shape (one StatementResult per
// statement; a failing statement carries its error and later statements still run, as
// InfluxDB does).
//
// Statements: SELECT (raw fields, aggregates, selectors, transformations, arithmetic,
// GROUP BY time/tags, fill, ORDER BY time DESC, LIMIT/OFFSET/SLIMIT/SOFFSET), SHOW
// DATABASES/MEASUREMENTS/TAG KEYS/TAG VALUES/FIELD KEYS/SERIES/RETENTION POLICIES/
// CONTINUOUS QUERIES, CREATE/DROP DATABASE, DROP MEASUREMENT/SERIES, DELETE. Continuous
// query statements answer an error until the CQ layer exists.
//
// Limits (QueryLimits) turn into InfluxDB's errors: "max-select-series limit exceeded:
// (N/M)", "max-select-buckets limit exceeded: (N/M)", "query-timeout limit exceeded";
// max_rows truncates the result and marks its last series partial.
//
// Thread safety: Execute() may be called concurrently from any number of threads, and
// concurrently with appends to the store; each series is read from a consistent
// snapshot, the statement as a whole is not a point-in-time view.
#ifndef TIDEWATCH_RULES_QUERY_EXECUTOR_H_
#define TIDEWATCH_RULES_QUERY_EXECUTOR_H_

#include <chrono>
#include <cstddef>
#include <string>

#include "rules/ast.h"
#include "rules/database_registry.h"
#include "rules/query_result.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::rules {

// 0 disables a limit.
struct QueryLimits {
  std::size_t max_buckets = 1'000'000;  // GROUP BY time() buckets per statement
  std::size_t max_series = 100'000;     // InfluxDB series (tag sets) per statement
  std::size_t max_rows = 1'000'000;     // rows per statement; beyond: partial
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);  // per query
  std::size_t threads = 4;                                      // aggregation threads per statement
};

struct ExecuteContext {
  std::string default_db;       // the request's `db` parameter
  store::Timestamp now_ns = 0;  // now(): injected so tests control the clock
};

class QueryExecutor {
 public:
  // `store` and `databases` must outlive the executor.
  QueryExecutor(store::Store& store, DatabaseRegistry& databases, QueryLimits limits)
      : store_(store), databases_(databases), limits_(limits) {}

  QueryResult Execute(const Query& query, const ExecuteContext& context);

 private:
  store::Store& store_;
  DatabaseRegistry& databases_;
  const QueryLimits limits_;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_QUERY_EXECUTOR_H_
