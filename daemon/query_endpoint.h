// QueryEndpoint: InfluxDB 1.x's `GET|POST /query`, over the InfluxQL parser and the
// query executor (rules/).
//
// Parameters (URL query, or for POST also an application/x-www-form-urlencoded body,
// whose values win, as in InfluxDB): q (required), db, epoch, pretty, chunked,
// chunk_size. Answers:
//   200  results, statement errors inside (InfluxDB's shape, daemon/query_json.h)
//   400  {"error":"missing required parameter \"q\""}, a grammar error
//        ("error parsing query: ... at line L, char C"), a bad epoch or chunk_size
//   403  a statement needs more than the caller's role: CREATE/DROP DATABASE and
//        continuous queries need admin; DELETE, DROP SERIES/MEASUREMENT and
//        SELECT ... INTO need write; everything else read (the route's own role).
// chunked=true answers one JSON object per line, chunk_size rows (default 10000) per
// object, as InfluxDB streams them; tidewatch builds the whole body before sending it
// (docs/QUERY.md), so chunking splits the answer for the client but does not bound the
// server's memory — max_rows does.
//
// Thread safety: Handle() may be called concurrently (one call per HTTP thread).
#ifndef TIDEWATCH_DAEMON_QUERY_ENDPOINT_H_
#define TIDEWATCH_DAEMON_QUERY_ENDPOINT_H_

#include <functional>

#include "daemon/auth.h"
#include "daemon/http_server.h"
#include "daemon/latency_histogram.h"
#include "rules/query_executor.h"
#include "store/types.h"

namespace tidewatch::daemon {

class QueryEndpoint {
 public:
  using Clock = std::function<store::Timestamp()>;  // now() in ns since the epoch

  // `auth` may be null (auth off); `latency` may be null. All borrowed: they must
  // outlive the endpoint.
  QueryEndpoint(rules::QueryExecutor& executor, const Auth* auth, LatencyHistogram* latency,
                Clock clock);

  Response Handle(const Request& request) const;

 private:
  rules::QueryExecutor& executor_;
  const Auth* const auth_;
  LatencyHistogram* const latency_;
  const Clock clock_;
};

// The wall clock in ns since the epoch: the default Clock.
store::Timestamp WallClockNs();

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_QUERY_ENDPOINT_H_
