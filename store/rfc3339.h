// RFC 3339 timestamps in UTC as Go's time.RFC3339Nano writes them (what InfluxDB,
// Prometheus and Alertmanager send): "2026-11-21T13:00:05Z", "2026-11-21T13:00:05.25Z"
// (the fraction without trailing zeros, none for a whole second). Used by /query
// results, notifications, the rules/alerts API and the Alertmanager emitter.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_STORE_RFC3339_H_
#define TIDEWATCH_STORE_RFC3339_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidewatch::store {

// Any int64 nanoseconds since the epoch (times before 1970 included), no quotes.
std::string FormatRfc3339(std::int64_t ns);
void AppendRfc3339(std::int64_t ns, std::string& out);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t'/'z' accepted, fraction up to 9
// digits) to ns since the epoch; nullopt when malformed or outside 1678..2261 (int64 ns).
std::optional<std::int64_t> ParseRfc3339(std::string_view text);

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_RFC3339_H_
