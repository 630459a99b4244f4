// A lexical pre-check of TOML text before toml++ sees it: toml++ builds (and destroys)
// tables recursively, so a file of ~500,000 dotted key parts ("[a.b.b.b...]") nests as
// deep and overflows the stack. Inline tables and arrays are bounded by toml++ itself
// (256 levels); dotted keys are bounded here, by refusing lines with more than
// kMaxDotsPerLine dots outside strings and comments. That bounds nesting at a few
// thousand levels while any sane config line (even a long array of floats) passes.
//
// Thread safety: a pure function.
#ifndef TIDEWATCH_DAEMON_INTERNAL_TOML_GUARD_H_
#define TIDEWATCH_DAEMON_INTERNAL_TOML_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tidewatch::daemon::internal {

inline constexpr std::size_t kMaxDotsPerLine = 1000;

// The 1-based number of the first line with more than kMaxDotsPerLine dots outside
// strings and comments, or 0 if there is none. Malformed strings are left for the TOML
// parser to report.
std::uint32_t FindOverlyDottedLine(std::string_view text);

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_TOML_GUARD_H_
