#include "daemon/query_endpoint.h"

#include <charconv>
#include <chrono>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "daemon/internal/http_text.h"
#include "daemon/query_json.h"
#include "rules/parser.h"

namespace tidewatch::daemon {
namespace {

constexpr std::size_t kDefaultChunkSize = 10'000;

// The role a statement needs beyond read, as InfluxDB grants privileges.
Role RequiredRole(const rules::Statement& statement) {
  return std::visit(
      [](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, rules::CreateDatabase> ||
                      std::is_same_v<T, rules::DropDatabase> ||
                      std::is_same_v<T, rules::CreateContinuousQuery> ||
                      std::is_same_v<T, rules::DropContinuousQuery>) {
          return Role::kAdmin;
        } else if constexpr (std::is_same_v<T, rules::Delete> ||
                             std::is_same_v<T, rules::DropSeries> ||
                             std::is_same_v<T, rules::DropMeasurement>) {
          return Role::kWrite;
        } else if constexpr (std::is_same_v<T, rules::SelectStatement>) {
          return s.into ? Role::kWrite : Role::kRead;
        } else {
          return Role::kRead;
        }
      },
      statement);
}

// Query-string parameters, overridden by a form body's (InfluxDB reads r.FormValue).
std::map<std::string, std::string, std::less<>> Parameters(const Request& request) {
  auto params = request.query;
  if (request.method == "POST" &&
      request.header("content-type").starts_with("application/x-www-form-urlencoded")) {
    for (auto& [key, value] : internal::ParseQuery(request.body)) {
      params[key] = std::move(value);
    }
  }
  return params;
}

std::string_view Param(const std::map<std::string, std::string, std::less<>>& params,
                       std::string_view key) {
  const auto it = params.find(key);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

bool IsTrue(std::string_view value) { return value == "true"; }

}  // namespace

store::Timestamp WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

QueryEndpoint::QueryEndpoint(rules::QueryExecutor& executor, const Auth* auth,
                             LatencyHistogram* latency, Clock clock)
    : executor_(executor), auth_(auth), latency_(latency), clock_(std::move(clock)) {}

Response QueryEndpoint::Handle(const Request& request) const {
  const auto started = std::chrono::steady_clock::now();
  const auto params = Parameters(request);
  const std::string_view q = Param(params, "q");
  if (q.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Response::Error(400, "missing required parameter \"q\"");
  }

  const std::optional<EpochFormat> epoch = ParseEpoch(Param(params, "epoch"));
  if (!epoch) return Response::Error(400, "invalid epoch: must be one of ns, u, ms, s, m, h");
  JsonOptions json{*epoch, IsTrue(Param(params, "pretty"))};
  const bool chunked = IsTrue(Param(params, "chunked"));
  std::size_t chunk_size = kDefaultChunkSize;
  if (const std::string_view text = Param(params, "chunk_size"); !text.empty()) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), chunk_size);
    if (ec != std::errc() || end != text.data() + text.size() || chunk_size == 0) {
      return Response::Error(400, "invalid chunk_size: must be a positive integer");
    }
  }

  // Only comments and semicolons parse to no statements: {"results":[]}, as InfluxDB.
  const StatusOr<rules::Query> query = rules::ParseQuery(q);
  if (!query.ok()) return Response::Error(400, query.status().message());

  if (auth_ != nullptr && auth_->enabled()) {
    Role needed = Role::kRead;
    for (const rules::Statement& statement : query->statements) {
      needed = std::max(needed, RequiredRole(statement));
    }
    if (needed > Role::kRead) {
      const AuthDecision decision = auth_->Check(
          Credentials{request.header("authorization"), Param(params, "u"), Param(params, "p")},
          needed);
      if (!decision.allowed()) return Response::Error(decision.status, decision.error);
    }
  }

  const rules::QueryResult result =
      executor_.Execute(*query, rules::ExecuteContext{std::string(Param(params, "db")), clock_()});
  std::string body;
  if (chunked) {
    for (const rules::StatementResult& statement : result.results) {
      RenderChunked(statement, json, chunk_size, [&body](std::string_view chunk) {
        body.append(chunk);
        body.push_back('\n');
      });
    }
  } else {
    body = RenderQueryResult(result, json);
    body.push_back('\n');  // as Go's json.Encoder ends it
  }
  if (latency_ != nullptr) latency_->Observe(std::chrono::steady_clock::now() - started);
  return Response::Json(200, std::move(body));
}

}  // namespace tidewatch::daemon
