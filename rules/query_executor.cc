#include "rules/query_executor.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "rules/internal/statements.h"

namespace tidewatch::rules {

namespace internal {

Status StatementEnv::CheckDeadline() const {
  if (std::chrono::steady_clock::now() < deadline) return Status::Ok();
  return Status(StatusCode::kResourceExhausted, "query-timeout limit exceeded");
}

StatusOr<std::string> ResolveDb(const StatementEnv& env, const std::string& explicit_db) {
  const std::string& db = explicit_db.empty() ? env.context.default_db : explicit_db;
  if (db.empty()) return Status(StatusCode::kInvalidArgument, "database name required");
  if (!env.databases.Exists(db)) {
    return Status(StatusCode::kNotFound, "database not found: " + db);
  }
  return db;
}

std::vector<std::string> ResolveMeasurements(const store::SeriesIndex& index, const std::string& db,
                                             const std::vector<Source>& sources) {
  std::vector<std::string> all = index.Measurements(db);
  if (sources.empty()) return all;
  std::set<std::string> out;
  for (const Source& s : sources) {
    for (const std::string& m : all) {
      const bool match = s.regex ? std::regex_search(m, *s.regex->compiled) : m == s.name;
      if (match) out.insert(m);
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace internal

QueryResult QueryExecutor::Execute(const Query& query, const ExecuteContext& context) {
  const auto timeout = limits_.timeout.count() > 0 ? limits_.timeout : std::chrono::hours(24 * 365);
  const internal::StatementEnv env{store_, databases_, limits_, context,
                                   std::chrono::steady_clock::now() + timeout};
  QueryResult result;
  for (std::size_t i = 0; i < query.statements.size(); ++i) {
    StatementResult statement;
    statement.statement_id = static_cast<int>(i);
    const Statement& s = query.statements[i];
    std::optional<StatusOr<std::vector<ResultSeries>>> series = ExecuteContinuous(s);
    if (!series) {
      series.emplace(std::holds_alternative<SelectStatement>(s)
                         ? internal::ExecuteSelect(std::get<SelectStatement>(s), env)
                         : internal::ExecuteOther(s, env));
    }
    if (const auto* drop = std::get_if<DropDatabase>(&s); drop && cqs_ && series->ok()) {
      cqs_->DropDatabase(drop->name);
    }
    if (series->ok()) {
      statement.series = std::move(*series).value();
    } else {
      statement.error = series->status().message();
    }
    result.results.push_back(std::move(statement));
  }
  return result;
}

std::optional<StatusOr<std::vector<ResultSeries>>> QueryExecutor::ExecuteContinuous(
    const Statement& s) {
  using Result = StatusOr<std::vector<ResultSeries>>;
  if (cqs_ == nullptr) return std::nullopt;
  if (std::holds_alternative<ShowContinuousQueries>(s)) {
    return Result(cqs_->Show(databases_.List()));
  }
  if (const auto* create = std::get_if<CreateContinuousQuery>(&s)) {
    if (!databases_.Exists(create->db)) {
      return Result(Status(StatusCode::kNotFound, "database not found: " + create->db));
    }
    if (Status status = cqs_->Create(*create); !status.ok()) return Result(std::move(status));
    return Result(std::vector<ResultSeries>{});
  }
  if (const auto* drop = std::get_if<DropContinuousQuery>(&s)) {
    if (Status status = cqs_->Drop(*drop); !status.ok()) return Result(std::move(status));
    return Result(std::vector<ResultSeries>{});
  }
  return std::nullopt;
}

}  // namespace tidewatch::rules
