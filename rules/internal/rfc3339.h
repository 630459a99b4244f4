// RFC 3339 time strings as Go's time.RFC3339Nano writes them (what Prometheus and
// Alertmanager send): UTC, "Z", the fraction with trailing zeros removed and none when
// the time is a whole second ("2026-11-21T13:00:05Z", "2026-11-21T13:00:05.25Z").
//
// daemon/query_json.cc has the same formatter for /query results; rules/ cannot depend
// on daemon/, so this is its twin until one of them moves to store/.
//
// Thread safety: pure function.
#ifndef TIDEWATCH_RULES_INTERNAL_RFC3339_H_
#define TIDEWATCH_RULES_INTERNAL_RFC3339_H_

#include <cstdint>
#include <string>

namespace tidewatch::rules::internal {

// Any int64 nanoseconds since the epoch (times before 1970 included), no quotes.
std::string FormatRfc3339Nano(std::int64_t ns);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_RFC3339_H_
