// Time strings in InfluxQL WHERE clauses (`time > '2024-05-01T00:00:00Z'`): the forms
// InfluxDB 1.x accepts there.
//
// Thread safety: pure function.
#ifndef TIDEWATCH_RULES_INTERNAL_TIME_LITERAL_H_
#define TIDEWATCH_RULES_INTERNAL_TIME_LITERAL_H_

#include <optional>
#include <string_view>

#include "store/types.h"

namespace tidewatch::rules::internal {

// Nanoseconds since the epoch of `text` in one of
//   YYYY-MM-DDThh:mm:ss[.fraction](Z | ±hh:mm)   (RFC 3339; 't'/'z' also accepted)
//   YYYY-MM-DD hh:mm:ss[.fraction]               (UTC)
//   YYYY-MM-DD                                   (UTC midnight)
// Fractions take up to 9 digits. nullopt if malformed, an impossible date or time, or
// outside int64 nanoseconds.
std::optional<store::Timestamp> ParseTimeLiteral(std::string_view text);

}  // namespace tidewatch::rules::internal

#endif  // TIDEWATCH_RULES_INTERNAL_TIME_LITERAL_H_
