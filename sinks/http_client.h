// HttpClient: a small synchronous HTTP/1.1 client for outbound notifications
// (Boost.Beast over Asio, HTTPS through OpenSSL).
//
// One call = one connection: resolve, connect, [TLS handshake,] write the request, read
// the response, close. Each call runs its own io_context on the calling thread, so calls
// are independent and bounded:
//   connect_timeout  resolving the host (see below) and connecting;
//   request_timeout  everything after the connection: TLS handshake, writing the request
//                    and reading the whole response.
// Name resolution is given connect_timeout too, but a resolver that hangs inside the C
// library is only bounded by the system resolver's own timeouts.
//
// HTTPS verifies the server by default: the chain against the system CA store, or only
// against `ca_file` when set, and the host name (or IP address) of the URL against the
// certificate's subjectAltName; the host name is sent as SNI. `insecure_skip_verify`
// turns both checks off (tests, lab setups).
//
// Responses: status, headers and the body up to `max_response_body` bytes. Of a larger
// body the first max_response_body bytes are kept and `body_truncated` is set; the rest
// is not read, so a receiver cannot make us buffer without limit. Redirects
// (3xx) are returned as they are, never followed. Headers beyond 16 KiB fail the call.
//
// Errors (the Status message says what failed and where):
//   kInvalidArgument  a malformed URL, an unsupported scheme, a header name or value
//                     that would break the request (CR, LF, NUL, non-token name);
//   kUnavailable      "resolve <host> failed: ...", "connect to <host:port> failed: ...",
//                     "TLS handshake with <host:port> failed: certificate verify failed:
//                     ...", "timed out after <n> ms reading the response", a response that
//                     is not HTTP/1.x.
//
// Thread safety: Send() may be called from any number of threads at once (the TLS
// context is built once in Create() and only read afterwards).
#ifndef TIDEWATCH_SINKS_HTTP_CLIENT_H_
#define TIDEWATCH_SINKS_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/status.h"

namespace tidewatch::sinks {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpClientOptions {
  // Resolve + TCP connect. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // TLS handshake + request + whole response. Default 10 s: long enough for a slow
  // receiver, short enough that a stalled one does not hold a delivery thread for long.
  std::chrono::milliseconds request_timeout{10000};
  // PEM file of trusted CAs for HTTPS; empty: the system CA store. Default empty.
  std::string ca_file;
  // Skip certificate and host name verification. Default false; never in production.
  bool insecure_skip_verify = false;
  // Response bodies are kept up to this many bytes (see above). Default 64 KiB.
  std::size_t max_response_body = 64 * 1024;
};

// http://host[:port][/target] or https://...; host may be a name, an IPv4 address or a
// bracketed IPv6 address.
struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" when the URL has none
};
[[nodiscard]] StatusOr<ParsedUrl> ParseUrl(std::string_view url);

// OK when every header can be sent as it is: a token name, a value without CR, LF or
// NUL, and none of Content-Length, Transfer-Encoding, Connection (the client sets those).
// A configured Host replaces the URL's.
[[nodiscard]] Status ValidateHeaders(const HttpHeaders& headers);
// ValidateHeaders, and no Idempotency-Key: the emitters set it per notification.
[[nodiscard]] Status ValidateNotificationHeaders(const HttpHeaders& headers);

struct HttpRequest {
  std::string method = "POST";  // any token: "POST", "GET", ...
  std::string url;
  HttpHeaders headers;  // added as given; Host, Content-Length, Connection are set for you
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // as received, in order
  std::string body;     // at most max_response_body bytes
  bool body_truncated = false;

  // The first header called `name` (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

class HttpClient {
 public:
  // Fails (kInvalidArgument) when `ca_file` cannot be loaded.
  [[nodiscard]] static StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request, one connection; any HTTP status is a successful call.
  [[nodiscard]] StatusOr<HttpResponse> Send(const HttpRequest& request) const;

  const HttpClientOptions& options() const { return options_; }

 private:
  class TlsContext;
  HttpClient(HttpClientOptions options, std::unique_ptr<TlsContext> tls);

  const HttpClientOptions options_;
  const std::unique_ptr<TlsContext> tls_;
};

}  // namespace tidewatch::sinks

#endif  // TIDEWATCH_SINKS_HTTP_CLIENT_H_
