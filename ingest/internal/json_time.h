// Timestamps in JSON payloads: numbers in a unit, and RFC 3339 strings. Both convert
// exactly (no detour through double), so 1700000000.123456789 seconds is
// 1700000000123456789 ns to the last digit.
//
// Thread safety: stateless; safe from any thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_JSON_TIME_H_
#define TIDEWATCH_INGEST_INTERNAL_JSON_TIME_H_

#include <cstdint>
#include <string_view>

namespace tidewatch::ingest::internal {

// The reason both functions give for a time that does not fit in int64 nanoseconds; an
// array, so that it has one address everywhere and can be compared by it.
inline constexpr char kTimeOutOfRange[] = "out of range";

// Converts `number`, a valid JSON number, counted in units of 10^unit_exponent ns
// (0 for ns, 3 for us, 6 for ms, 9 for s), to nanoseconds in `ts_ns`, truncating digits
// below a nanosecond toward zero. Returns nullptr, or kTimeOutOfRange if the result does
// not fit in int64.
const char* ScaleJsonTimestamp(std::string_view number, int unit_exponent, std::int64_t& ts_ns);

// Parses an RFC 3339 date-time, YYYY-MM-DD"T"hh:mm:ss[.fraction]("Z" | ("+"|"-")hh:mm),
// into nanoseconds since the epoch in `ts_ns`. "t" and "z" may be lower case (RFC 3339
// 5.6); the fraction has one or more digits, those past the ninth are truncated; the date
// must exist (no February 30); hh <= 23, mm <= 59, ss <= 59 (no leap second, as in Go and
// InfluxDB); the offset at most 23:59. Returns nullptr, kTimeOutOfRange (year 9999 does
// not fit), or why the text is not such a date-time.
const char* ParseRfc3339(std::string_view text, std::int64_t& ts_ns);

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_JSON_TIME_H_
