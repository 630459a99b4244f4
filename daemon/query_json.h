// Renders query results as InfluxDB 1.x's /query answers them, so the influx CLI and
// Grafana read them unchanged:
//   {"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},
//     "columns":["time","mean"],"values":[["2026-11-21T10:00:00Z",0.5]]}]}]}
// An empty statement is {"statement_id":N}; a failed one {"statement_id":N,"error":".."}.
//
// Numbers are written as Go's encoding/json writes float64 (shortest text that reads
// back exactly; exponent form below 1e-6 and from 1e21), so a value prints as InfluxDB
// prints it. JSON has no NaN or infinity: such a value (the store refuses them, but
// arithmetic like 1/0 in a SELECT can produce one) is written as null.
//
// Thread safety: stateless functions.
#ifndef TIDEWATCH_DAEMON_QUERY_JSON_H_
#define TIDEWATCH_DAEMON_QUERY_JSON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rules/query_result.h"

namespace tidewatch::daemon {

// How the time column is written: InfluxDB's `epoch` parameter.
enum class EpochFormat : std::uint8_t {
  kRfc3339,  // no epoch parameter: "2026-11-21T10:00:00.5Z" (RFC3339Nano, zeros trimmed)
  kNanoseconds,
  kMicroseconds,
  kMilliseconds,
  kSeconds,
  kMinutes,
  kHours,
};

// The format named by `epoch`: "" → RFC 3339, "ns" or "n", "u" or "µ", "ms", "s", "m",
// "h" as InfluxDB accepts them. nullopt for anything else. (InfluxDB silently falls
// back to nanoseconds on an unknown unit; we answer 400 instead — docs/QUERY.md.)
std::optional<EpochFormat> ParseEpoch(std::string_view text);

struct JsonOptions {
  EpochFormat epoch = EpochFormat::kRfc3339;
  // Indented output (InfluxDB's pretty=true: four spaces per level).
  bool pretty = false;
};

// The whole answer, {"results":[...]}.
std::string RenderQueryResult(const rules::QueryResult& result, const JsonOptions& options);

// One statement's result as a complete answer of its own, {"results":[{...}]}: the
// unit of InfluxDB's chunked=true responses, which send one such object per line.
// Rows beyond `chunk_size` per series are split into several objects, every one but
// the last of a series marked "partial":true, and every one but the last of the
// statement marked "partial":true at the statement level, as InfluxDB does.
// Calls emit(std::string_view json_line) for each chunk (without the newline).
// REQUIRES: chunk_size >= 1.
template <class Emit>
void RenderChunked(const rules::StatementResult& statement, const JsonOptions& options,
                   std::size_t chunk_size, Emit&& emit);

// The error body every non-200 answer carries, {"error":"..."}.
std::string RenderError(std::string_view message);

// Appends `text` as a JSON string (quotes included): control characters, '"' and '\\'
// escaped; '<', '>' and '&' as \u003c \u003e \u0026 (Go's HTML-safe default); bytes
// that are not valid UTF-8 as U+FFFD, as Go does.
void AppendJsonString(std::string_view text, std::string& out);

// Appends a time cell in `epoch` format (a JSON string or number).
void AppendTime(std::int64_t ns, EpochFormat epoch, std::string& out);

namespace internal {
std::string RenderStatementChunk(const rules::StatementResult& statement,
                                 const JsonOptions& options, std::size_t series_begin,
                                 std::size_t row_begin, std::size_t chunk_size,
                                 std::size_t& series_end, std::size_t& row_end);
}  // namespace internal

template <class Emit>
void RenderChunked(const rules::StatementResult& statement, const JsonOptions& options,
                   std::size_t chunk_size, Emit&& emit) {
  std::size_t series = 0;
  std::size_t row = 0;
  do {
    std::size_t next_series = 0;
    std::size_t next_row = 0;
    emit(internal::RenderStatementChunk(statement, options, series, row, chunk_size, next_series,
                                        next_row));
    series = next_series;
    row = next_row;
  } while (series < statement.series.size());
}

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_QUERY_JSON_H_
