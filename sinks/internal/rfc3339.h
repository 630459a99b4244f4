// RFC 3339 timestamps in UTC, as docs/NOTIFICATIONS.md and Alertmanager write them.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_SINKS_INTERNAL_RFC3339_H_
#define TIDEWATCH_SINKS_INTERNAL_RFC3339_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidewatch::sinks::internal {

// "2026-11-21T13:00:05.25Z": UTC, the fraction without trailing zeros (none when whole).
std::string FormatRfc3339(std::int64_t ns_since_epoch);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t'/'z' accepted, fraction up to 9
// digits) to ns since the epoch; nullopt when malformed or outside 1678..2261 (int64 ns).
std::optional<std::int64_t> ParseRfc3339(std::string_view text);

}  // namespace tidewatch::sinks::internal

#endif  // TIDEWATCH_SINKS_INTERNAL_RFC3339_H_
