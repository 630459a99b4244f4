// The InfluxDB 1.x write endpoint: `POST /write?db=<db>[&precision=][&rp=][&u=&p=]`
// with a line-protocol body, optionally `Content-Encoding: gzip`.
//
// Glue only: the body is inflated here (bounded by max_body, 413 beyond; corrupt gzip
// 400), everything else is ingest::HttpWrite (ingest/http_write.h), whose outcome maps
// to 204 / 400 / 404 / 503 (+ `Retry-After: 1`) with InfluxDB's JSON error body. `rp`
// is accepted and ignored. The route requires the write role.
//
// Thread safety: the handler may run on any number of HTTP threads at once.
#ifndef TIDEWATCH_DAEMON_WRITE_ENDPOINT_H_
#define TIDEWATCH_DAEMON_WRITE_ENDPOINT_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "daemon/http_server.h"
#include "ingest/http_write.h"

namespace tidewatch::daemon {

struct WriteEndpointOptions {
  // Bound on the inflated body; the raw body is bounded by the server's max_body.
  std::size_t max_body = 25u << 20;
  // The time of lines without a timestamp, ns since the epoch. Default: the system
  // clock. Tests inject a fixed one.
  std::function<std::int64_t()> now_ns;
};

// The handler of POST /write. REQUIRES: `write` outlives the handler.
HttpServer::Handler MakeWriteHandler(ingest::HttpWrite& write, WriteEndpointOptions options = {});

// Routes POST /write (role write) to MakeWriteHandler(). REQUIRES: before server.Start().
void AddWriteEndpoint(HttpServer& server, ingest::HttpWrite& write,
                      WriteEndpointOptions options = {});

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_WRITE_ENDPOINT_H_
