// Text codecs of the HTTP layer: percent-decoding of targets and query strings.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_DAEMON_INTERNAL_HTTP_TEXT_H_
#define TIDEWATCH_DAEMON_INTERNAL_HTTP_TEXT_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace tidewatch::daemon::internal {

// Decodes %XX escapes (either case of hex digits); with `plus_is_space` (query
// strings) '+' becomes a space. A '%' not followed by two hex digits is kept as is.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Splits a query string ("a=1&b=x%20y&c") into decoded key/value pairs; a key without
// '=' gets "", empty keys are skipped, and of repeated keys the last one wins.
std::map<std::string, std::string, std::less<>> ParseQuery(std::string_view query);

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_HTTP_TEXT_H_
