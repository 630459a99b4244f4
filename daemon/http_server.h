// HttpServer: the daemon's HTTP/1.1 server (Boost.Beast over one Asio io_context run
// by a pool of threads the server owns).
//
// Routing is by exact path, or by prefix: a prefix route "/a/b" also serves every path
// below it ("/a/b/...", not "/a/bc"); an exact route wins, then the longest prefix.
// Each route names its methods, the role it requires (see daemon/auth.h; a prefix route
// may require a role per method) and a handler. The server answers on its own:
//   unknown path                  404 {"error":"not found"}
//   method not routed             405 with `Allow`
//   no or bad credentials         401 with `WWW-Authenticate`; role too low 403
//   header over max_header        431, then closes the connection
//   body over max_body            413, then closes the connection
//   bytes that are not HTTP/1.x   400, then closes the connection
//   beyond max_connections        503 at once, then closes the connection
//   a handler that throws         500
// Every error body is InfluxDB's shape {"error":"..."} with Content-Type
// application/json and the message also in `X-Influxdb-Error` (as InfluxDB does). Every
// response carries `X-Influxdb-Version: 1.8.10`, `X-Influxdb-Build: OSS` (the influx
// CLI and Grafana read them) and `Request-Id` / `X-Request-Id` (the client's own if it
// sent one, else a fresh random id). A HEAD request is served by the GET handler with
// the body left out. `Expect: 100-continue` is answered with 100 Continue once the
// header has passed its checks.
//
// Connections. Keep-alive; one request at a time per connection (each connection's
// handlers run on its own strand). Timeouts per connection:
//   idle_timeout   waiting for the first byte of a request (keep-alive idle);
//   read_timeout   the WHOLE request, header and body, from its first byte: a client
//                  that trickles bytes (slowloris) is cut off when it runs out;
//   write_timeout  sending the response.
// On a timeout the connection is closed without a response.
//
// Handlers run on the pool thread that read the request and may block (the /write
// handler waits for its points to be stored); a blocked handler holds one pool thread,
// so `threads` bounds how many requests are served at the same time.
//
// Stats: requests by (route path, status) — unknown paths, requests too broken to have
// a path, and connections refused at the limit count under "other" — and
// connections; counted with relaxed atomics, never logged per request (debug level
// only, checked before formatting).
//
// Thread safety: Handle() and HandlePrefix() only before Start(). Start(), Stop() and the
// destructor from one controlling thread. port() and stats() from any thread.
#ifndef TIDEWATCH_DAEMON_HTTP_SERVER_H_
#define TIDEWATCH_DAEMON_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/auth.h"
#include "store/status.h"

namespace tidewatch::daemon {

namespace internal {
class HttpSession;
class HttpListener;
}  // namespace internal

// The InfluxDB version and build we answer as (X-Influxdb-Version, /ping?verbose).
inline constexpr std::string_view kInfluxVersion = "1.8.10";
inline constexpr std::string_view kInfluxBuild = "OSS";

struct HttpServerOptions {
  // Address to listen on: an IPv4 or IPv6 literal ("127.0.0.1", "::", "0.0.0.0").
  std::string host = "127.0.0.1";
  // 0 picks a free port (tests); port() tells which.
  std::uint16_t port = 8086;
  // Pool threads running the io_context and the handlers. Default 2.
  int threads = 2;
  // Request bodies longer than this are refused with 413. Default 25 MiB.
  std::size_t max_body = 25u << 20;
  // Request line plus header fields longer than this are refused with 431. 16 KiB.
  std::size_t max_header = 16u << 10;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Open connections beyond this are answered 503 and closed. Default 1024.
  std::size_t max_connections = 1024;
  // Stop() waits this long for connections to finish before abandoning them; a
  // handler that is running then still runs to its end.
  std::chrono::milliseconds stop_grace{2'000};
};

// A request as handlers see it.
struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // raw request target, "/write?db=x"
  std::string path;    // percent-decoded path without the query, "/write"
  // Decoded query parameters: %XX decoded, '+' as space; of repeated keys the last wins.
  std::map<std::string, std::string, std::less<>> query;
  // Header fields with lower-cased names, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string request_id;
  std::string principal;  // the accepted token's name, when auth is on

  // The value of header `name` (any case), "" if absent; of repeated ones the first.
  std::string_view header(std::string_view name) const;
  // The value of query parameter `name`, "" if absent.
  std::string_view param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;  // "" sends none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Response Json(int status, std::string body);
  // {"error":"<message>"} (message JSON-escaped), plus X-Influxdb-Error.
  static Response Error(int status, std::string_view message);
  static Response NoContent() { return Response{204, {}, {}, {}}; }
};

struct HttpStatsSnapshot {
  struct Requests {
    std::string path;  // a route's path, or "other"
    int status = 0;
    std::uint64_t count = 0;
    friend bool operator==(const Requests&, const Requests&) = default;
  };
  std::vector<Requests> requests;  // non-zero counts, by path then status
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  // beyond max_connections

  // The count of (path, status); 0 if none.
  std::uint64_t count(std::string_view path, int status) const;
};

class HttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  // The role a request with this method needs (HEAD is asked as HEAD).
  using RoleForMethod = std::function<Role(std::string_view method)>;

  // REQUIRES: auth (if given) outlives the server.
  explicit HttpServer(HttpServerOptions options, const Auth* auth = nullptr);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes `path` for `methods` ("GET", "POST", ...; GET implies HEAD) to `handler`,
  // open to tokens of at least `role`. REQUIRES: before Start(); each path once.
  void Handle(std::string path, std::vector<std::string> methods, Role role, Handler handler);
  // Routes `prefix` and every path below it (see the file comment); the handler reads
  // Request::path for the rest. Requests count in the stats under `prefix`.
  // REQUIRES: before Start(); `prefix` starts with '/', does not end with one, and is
  // not routed yet (exact or prefix).
  void HandlePrefix(std::string prefix, std::vector<std::string> methods,
                    RoleForMethod role_for_method, Handler handler);

  // Binds, listens and starts the threads. Errors: kInvalidArgument (host is not an
  // address literal), kUnavailable (bind/listen failed, with the system's reason).
  Status Start();

  // Closes the listener and every connection, waits up to stop_grace for the threads
  // to go idle, then stops the io_context and joins. Idempotent.
  void Stop();

  // The bound port. REQUIRES: Start() succeeded.
  std::uint16_t port() const { return port_; }

  HttpStatsSnapshot stats() const;

 private:
  friend class internal::HttpSession;
  friend class internal::HttpListener;

  struct Route {
    std::string path;
    std::vector<std::string> methods;
    Role role = Role::kNone;
    RoleForMethod role_for_method;  // set: overrides `role`
    bool prefix = false;
    Handler handler;
  };
  // Requests per status code 100..599 of one route.
  struct StatusCounters {
    std::atomic<std::uint64_t> by_status[500] = {};
  };

  // Routes, authenticates and runs the handler; what the session sends back. Sets
  // `route` to the route index for the stats (kOther when none).
  Response Dispatch(Request& request, std::size_t& route) const;
  // The route index of `path` (exact, else the longest prefix), or kOther.
  std::size_t FindRoute(std::string_view path) const;
  void AddRoute(Route route);
  void Count(std::size_t route, int status) const;
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // Session registry, so Stop() can close every connection.
  bool Register(const std::shared_ptr<internal::HttpSession>& session);
  void Unregister(internal::HttpSession* session);
  void RunThread();

  static constexpr std::size_t kOther = static_cast<std::size_t>(-1);

  // Constant after Start().
  const HttpServerOptions options_;
  const Auth* const auth_;
  std::vector<Route> routes_;
  std::map<std::string, std::size_t, std::less<>> route_index_;
  std::vector<std::unique_ptr<StatusCounters>> counters_;  // routes_.size() + 1 ("other")
  std::uint16_t port_ = 0;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> open_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};

  std::mutex sessions_mu_;
  std::map<internal::HttpSession*, std::weak_ptr<internal::HttpSession>> sessions_;  // guarded

  std::mutex threads_mu_;
  std::condition_variable threads_idle_;
  int running_threads_ = 0;  // guarded by threads_mu_
  std::vector<std::thread> threads_;

  // The io_context, acceptor and work guard (Beast types stay out of this header).
  struct Io;
  std::unique_ptr<Io> io_;  // last: destroyed first, with every pending handler
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_HTTP_SERVER_H_
