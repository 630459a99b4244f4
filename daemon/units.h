// The value syntaxes of the daemon's config file (docs/CONFIG.md): durations, byte sizes
// and listen addresses, parsed strictly so that a typo is an error, never a surprise.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_DAEMON_UNITS_H_
#define TIDEWATCH_DAEMON_UNITS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::daemon {

// A duration: one or more <digits><unit> groups with units in strictly decreasing order,
// no spaces, no sign, no fractions: "500ms", "30s", "5m", "1h30m", "8760h", "0s". Units:
// h, m, s, ms, us, ns. Errors (kInvalidArgument, the message says what is wrong and
// quotes the input): empty, a missing or unknown unit, a repeated or out-of-order unit,
// a sign or fraction, a total beyond the int64 nanosecond range (about 292 years).
[[nodiscard]] StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// A byte size: plain digits ("1048576", bytes) or digits and one unit, no space: B;
// KiB MiB GiB TiB (powers of 1024); kB (also KB) MB GB TB (powers of 1000). Errors
// (kInvalidArgument): empty, unknown unit, sign, fraction, more than 2^64 - 1 bytes.
[[nodiscard]] StatusOr<std::uint64_t> ParseSize(std::string_view text);

// The shortest text ParseDuration reads back as `d` ("1h30m", "500ms", "0s").
// REQUIRES: d >= 0.
std::string FormatDuration(std::chrono::nanoseconds d);

// The text ParseSize reads back as `bytes`: the largest binary unit that divides it
// exactly ("25MiB", "1GiB"), else plain digits ("1000").
std::string FormatSize(std::uint64_t bytes);

// A listen address "host:port": an IPv4 literal or host name ("127.0.0.1:8086",
// "localhost:8086", "0.0.0.0:8086"), or an IPv6 literal in brackets ("[::1]:8086",
// "[::]:8086"). The port is 0..65535 (0: the system picks a free one).
struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
[[nodiscard]] StatusOr<HostPort> ParseHostPort(std::string_view text);

// `text` in double quotes for an error message: quotes, backslashes, control and
// non-ASCII bytes escaped (\n, \xff), cut after 64 bytes ("...").
std::string QuoteForError(std::string_view text);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_UNITS_H_
