// The notification channels API, /api/v1/channels, over daemon::Notifier
// (daemon/notifier.h). A channel's keys are those of daemon/channel_config.h.
//
//   GET    /api/v1/channels           200 {"channels":[<channel>...]}, by name
//   POST   /api/v1/channels           201 <channel>; 400 {"error": ParseChannelJson's
//                                     message, or the set's (a fallback naming no
//                                     channel)}; 409 the name exists
//   GET    /api/v1/channels/<name>    200 <channel>; 404
//   PUT    /api/v1/channels/<name>    200 <channel> replaced, 201 created; 400 a bad body,
//                                     or a body whose name is not <name> (a body without
//                                     "name" takes <name>); 409 a channel of the config
//                                     file
//   DELETE /api/v1/channels/<name>    204; 404; 409 a channel of the config file, the
//                                     fallback of another channel, or one that rules
//                                     send to (the message names them)
//
// <channel> is the channel's canonical JSON with its secrets hidden (RedactChannelJson)
//   plus "source" ("config" | "api"), "created_at", "updated_at" (RFC 3339) and "stats"
//   {"delivered", "delivered_via_fallback", "retries", "dead", "permanent_failures",
//   "in_flight", "breaker" ("closed" | "open" | "half_open"), "last_error"} from
//   Notifier::Stats(), zeros (and "closed", "") while the worker has none for it.
// A body holding "<redacted>" where the API hides secrets (a header value, a kafka
// property, the URL) is refused with 400: a PUT carries the real values, so what the API
// showed cannot be stored back as the secret by mistake.
// Other errors: 413 for a body over 64 KiB, 405 (with Allow) for a method a path does
// not take, 404 for paths below /api/v1/channels/<name>, 500 when the catalog fails.
//
// Roles: GET and HEAD read; everything else admin (channels hold credentials). Every
// change is logged at info level with the request's principal (else "api") as actor.
//
// Thread safety: the handler may run on any number of HTTP threads at once (the
// notifier serialises channel changes).
#ifndef TIDEWATCH_DAEMON_CHANNELS_API_H_
#define TIDEWATCH_DAEMON_CHANNELS_API_H_

#include <cstddef>
#include <string_view>

#include "daemon/http_server.h"
#include "daemon/notifier.h"

namespace tidewatch::daemon {

inline constexpr std::string_view kChannelsApiPath = "/api/v1/channels";
inline constexpr std::size_t kMaxChannelBody = 64u << 10;

// The handler of everything under /api/v1/channels. REQUIRES: `notifier` outlives it.
HttpServer::Handler MakeChannelsHandler(Notifier& notifier);

// Routes /api/v1/channels and the paths below it to MakeChannelsHandler().
// REQUIRES: before server.Start().
void AddChannelsApi(HttpServer& server, Notifier& notifier);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_CHANNELS_API_H_
