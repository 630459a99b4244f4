// QueryExecutor: runs parsed InfluxQL statements over the store with InfluxDB 1.x
// semantics and answers in rules::QueryResult's shape (one StatementResult per
// statement; a failing statement carries its error and later statements still run, as
// InfluxDB does).
//
// Statements: SELECT (raw fields, aggregates, selectors, transformations, arithmetic,
// GROUP BY time/tags, fill, ORDER BY time DESC, LIMIT/OFFSET/SLIMIT/SOFFSET), SHOW
// DATABASES/MEASUREMENTS/TAG KEYS/TAG VALUES/FIELD KEYS/SERIES/RETENTION POLICIES/
// CONTINUOUS QUERIES, CREATE/DROP DATABASE, DROP MEASUREMENT/SERIES, DELETE. Continuous
// query statements go to the ContinuousQueryStatements set on the executor; without
// one, CREATE/DROP CONTINUOUS QUERY answer "continuous queries are not supported yet"
// and SHOW CONTINUOUS QUERIES answers nothing.
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ast.h"
#include "rules/database_registry.h"
#include "rules/query_result.h"
#include "store/status.h"
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

// The continuous query statements, answered by the CQ layer (rules/continuous_queries.h).
// Called from Execute(), so implementations must be as thread-safe as Execute().
class ContinuousQueryStatements {
 public:
  virtual ~ContinuousQueryStatements() = default;
  // CREATE CONTINUOUS QUERY. The executor has checked that its database exists.
  virtual Status Create(const CreateContinuousQuery& statement) = 0;
  virtual Status Drop(const DropContinuousQuery& statement) = 0;
  // SHOW CONTINUOUS QUERIES: one series per database of `databases`, in that order.
  virtual std::vector<ResultSeries> Show(const std::vector<std::string>& databases) = 0;
  // DROP DATABASE `db` succeeded: its continuous queries go with it, as in InfluxDB.
  virtual void DropDatabase(std::string_view db) = 0;
};

class QueryExecutor {
 public:
  // `store` and `databases` must outlive the executor.
  QueryExecutor(store::Store& store, DatabaseRegistry& databases, QueryLimits limits)
      : store_(store), databases_(databases), limits_(limits) {}

  QueryResult Execute(const Query& query, const ExecuteContext& context);

  // Routes the continuous query statements to `statements` (null: none). REQUIRES:
  // called before Execute() runs on any thread; `statements` outlives the executor.
  void set_continuous_queries(ContinuousQueryStatements* statements) { cqs_ = statements; }

 private:
  // A CQ statement's result when cqs_ is set; nullopt otherwise and for every other
  // statement.
  std::optional<StatusOr<std::vector<ResultSeries>>> ExecuteContinuous(const Statement& s);

  store::Store& store_;
  DatabaseRegistry& databases_;
  const QueryLimits limits_;
  ContinuousQueryStatements* cqs_ = nullptr;  // set before use, then constant
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_QUERY_EXECUTOR_H_
