// The result of an InfluxQL query, in the shape InfluxDB 1.x answers /query with:
// one StatementResult per `;`-separated statement, each holding series of rows.
// The HTTP layer renders it as JSON (daemon/); the executor (rules/) fills it.
//
// Thread safety: plain values; no shared state.
#ifndef TIDEWATCH_RULES_QUERY_RESULT_H_
#define TIDEWATCH_RULES_QUERY_RESULT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tidewatch::rules {

// A time column cell: nanoseconds since the epoch. The renderer formats it per the
// request's `epoch` parameter (RFC3339 by default), so it is a type of its own.
struct TimeValue {
  std::int64_t ns = 0;
  friend bool operator==(const TimeValue&, const TimeValue&) = default;
};

// One cell: null, a float, an integer, a boolean, a string (SHOW results, tag values in
// raw selects), or a time. Integers and booleans are how fields written as such answer,
// as in InfluxDB (count() answers integers too).
using Value = std::variant<std::monostate, double, std::int64_t, bool, std::string, TimeValue>;

struct ResultSeries {
  std::string name;  // the measurement, or e.g. "databases" / "measurements" for SHOW
  // GROUP BY tags of this series, sorted by key; empty: rendered without "tags".
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> columns;       // "time" first where there is a time column
  std::vector<std::vector<Value>> values;  // rows, each with columns.size() cells
  // Only when the result was cut by a row limit the server enforces; rendered as
  // "partial": true as InfluxDB does.
  bool partial = false;

  friend bool operator==(const ResultSeries&, const ResultSeries&) = default;
};

struct StatementResult {
  int statement_id = 0;
  std::vector<ResultSeries> series;  // empty and no error: rendered {"statement_id":N}
  // A statement that failed at execution (unknown database, too many buckets, ...):
  // rendered {"statement_id":N,"error":"..."} with HTTP 200, as InfluxDB does.
  std::optional<std::string> error;
  // Informational messages ("warning: ...") InfluxDB puts in "messages"; rarely used.
  std::vector<std::string> messages;

  friend bool operator==(const StatementResult&, const StatementResult&) = default;
};

struct QueryResult {
  std::vector<StatementResult> results;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_QUERY_RESULT_H_
