// Gunzip: inflates a gzip-encoded request body (`Content-Encoding: gzip`) with a bound
// on the inflated size, so a small "zip bomb" cannot make the daemon allocate more
// than the body limit.
//
// Concatenated gzip members are inflated one after another (as Go's gzip reader, and
// so InfluxDB, does).
//
// Thread safety: a pure function.
#ifndef TIDEWATCH_DAEMON_GZIP_H_
#define TIDEWATCH_DAEMON_GZIP_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::daemon {

// The inflated bytes of `compressed`. Errors: kResourceExhausted if they would exceed
// `max_bytes` (inflation stops there); kInvalidArgument if `compressed` is not gzip,
// is corrupt, or ends early ("gzip: <zlib's reason>", "gzip: unexpected EOF").
StatusOr<std::string> Gunzip(std::string_view compressed, std::size_t max_bytes);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_GZIP_H_
