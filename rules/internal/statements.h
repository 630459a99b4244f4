// The per-statement executors behind QueryExecutor (select_executor.cc,
// show_executor.cc) and what they share.
//
// Thread safety: as QueryExecutor.
#ifndef TIDEWATCH_RULES_INTERNAL_STATEMENTS_H_
#define TIDEWATCH_RULES_INTERNAL_STATEMENTS_H_

#include <chrono>
#include <string>
#include <vector>

#include "rules/ast.h"
#include "rules/database_registry.h"
#include "rules/query_executor.h"
#include "rules/query_result.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::rules::internal {

struct StatementEnv {
  store::Store& store;
  DatabaseRegistry& databases;
  const QueryLimits& limits;
  const ExecuteContext& context;
  std::chrono::steady_clock::time_point deadline;

  // OK, or the timeout error once the deadline has passed.
  Status CheckDeadline() const;
};

// The database a statement addresses: `explicit_db` if set, else the request's.
// Errors: none given ("database name required"), unknown ("database not found: x").
StatusOr<std::string> ResolveDb(const StatementEnv& env, const std::string& explicit_db);

// The measurements of `db` named by `sources` (names and /regex/), sorted, distinct;
// all of them when `sources` is empty.
std::vector<std::string> ResolveMeasurements(const store::SeriesIndex& index, const std::string& db,
                                             const std::vector<Source>& sources);

StatusOr<std::vector<ResultSeries>> ExecuteSelect(const SelectStatement& select,
                                                  const StatementEnv& env);
// Every other statement kind.
StatusOr<std::vector<ResultSeries>> ExecuteOther(const Statement& statement,
                                                 const StatementEnv& env);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_STATEMENTS_H_
