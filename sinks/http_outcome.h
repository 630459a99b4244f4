// The classification every HTTP emitter shares: one HTTP attempt (sinks/http_client.h)
// becomes a DeliveryResult (sinks/emitter.h).
//
//   2xx                                           kDelivered
//   408, 429, 5xx; a failed call (resolve,        kRetry, with `retry_after` when the
//   connect, TLS, timeout, reset, not HTTP)       response carried a valid Retry-After
//   a call refused before sending (bad URL or     kPermanent (retrying cannot help)
//   header: kInvalidArgument)
//   anything else: other 4xx, 3xx (redirects      kPermanent
//   are not followed), 1xx
//
// `error` is empty when delivered, else "HTTP <status>: <up to 256 bytes of the body>"
// (control characters made spaces) or the failed call's message.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_SINKS_HTTP_OUTCOME_H_
#define TIDEWATCH_SINKS_HTTP_OUTCOME_H_

#include <chrono>
#include <optional>
#include <string_view>

#include "sinks/emitter.h"
#include "sinks/http_client.h"
#include "store/status.h"

namespace tidewatch::sinks {

// `now` resolves a Retry-After given as an HTTP date.
DeliveryResult ClassifyHttpResult(const StatusOr<HttpResponse>& result,
                                  std::chrono::system_clock::time_point now);

// Retry-After (RFC 9110 10.2.3): delay-seconds ("120") or an IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT"). A date in the past gives 0; values are capped at
// one day so a hostile receiver cannot park deliveries for ever. nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_HTTP_OUTCOME_H_
