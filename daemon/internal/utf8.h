// UTF-8 validation for the text the daemon writes out (JSON, Prometheus labels), which
// must be valid UTF-8 although the bytes it quotes (tag values, bad lines) may not be.
//
// Thread safety: pure function.
#ifndef TIDEWATCH_DAEMON_INTERNAL_UTF8_H_
#define TIDEWATCH_DAEMON_INTERNAL_UTF8_H_

#include <cstddef>
#include <string_view>

namespace tidewatch::daemon::internal {

// The length (1-4) of the valid UTF-8 sequence at text[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if the bytes there are not one; callers
// then write U+FFFD for the one byte and go on. REQUIRES: i < text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_UTF8_H_
