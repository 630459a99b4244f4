#include "sinks/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <type_traits>

namespace tidewatch::sinks {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using ErrorCode = beast::error_code;

constexpr std::uint32_t kMaxResponseHeader = 16 * 1024;

Status InvalidUrl(std::string_view url, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "invalid URL \"" + std::string(url) + "\": " + std::string(why));
}

Status Unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

std::string Ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Runs the io_context until the operations started on it have completed.
void RunAll(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

}  // namespace

StatusOr<ParsedUrl> ParseUrl(std::string_view url) {
  ParsedUrl parsed;
  std::string_view rest;
  if (url.size() >= 7 && EqualsIgnoreCase(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
    parsed.port = 80;
  } else if (url.size() >= 8 && EqualsIgnoreCase(url.substr(0, 8), "https://")) {
    rest = url.substr(8);
    parsed.tls = true;
    parsed.port = 443;
  } else {
    return InvalidUrl(url, "the scheme must be http:// or https://");
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));  // the fragment is not sent
  if (authority.find('@') != std::string_view::npos) {
    return InvalidUrl(url, "user info is not supported; configure an Authorization header");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidUrl(url, "unterminated [IPv6 address]");
    parsed.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidUrl(url, "junk after the [IPv6 address]");
      port = after.substr(1);
    }
    ErrorCode ec;
    net::ip::make_address_v6(parsed.host, ec);
    if (ec) return InvalidUrl(url, "bad IPv6 address");
  } else {
    const std::size_t colon = authority.find(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    for (char c : parsed.host) {
      if (!IsHostChar(c)) return InvalidUrl(url, "bad character in the host");
    }
  }
  if (parsed.host.empty()) return InvalidUrl(url, "no host");
  if (port.data() != nullptr) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return InvalidUrl(url, "the port must be a number from 1 to 65535");
    }
    parsed.port = static_cast<std::uint16_t>(value);
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return InvalidUrl(url, "spaces or control characters in the path (percent-encode them)");
    }
  }
  if (target.empty() || target.front() != '/') {
    parsed.target = "/" + std::string(target);
  } else {
    parsed.target = std::string(target);
  }
  return parsed;
}

Status ValidateHeaders(const HttpHeaders& headers) {
  for (const auto& [name, value] : headers) {
    if (!IsToken(name)) {
      return Status(StatusCode::kInvalidArgument, "invalid header name \"" + name + "\"");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Status(StatusCode::kInvalidArgument,
                    "header " + name + ": the value contains CR, LF or NUL");
    }
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
        EqualsIgnoreCase(name, "connection")) {
      return Status(StatusCode::kInvalidArgument,
                    "header " + name + " is set by the client and cannot be configured");
    }
  }
  return Status::Ok();
}

Status ValidateNotificationHeaders(const HttpHeaders& headers) {
  if (Status s = ValidateHeaders(headers); !s.ok()) return s;
  for (const auto& header : headers) {
    if (EqualsIgnoreCase(header.first, "Idempotency-Key")) {
      return Status(StatusCode::kInvalidArgument,
                    "the Idempotency-Key header is set per notification and cannot be configured");
    }
  }
  return Status::Ok();
}

const std::string* HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

class HttpClient::TlsContext {
 public:
  ssl::context context{ssl::context::tls_client};
};

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  auto tls = std::make_unique<TlsContext>();
  SSL_CTX_set_min_proto_version(tls->context.native_handle(), TLS1_2_VERSION);
  if (options.insecure_skip_verify) {
    tls->context.set_verify_mode(ssl::verify_none);
  } else {
    tls->context.set_verify_mode(ssl::verify_peer);
    ErrorCode ec;
    if (options.ca_file.empty()) {
      tls->context.set_default_verify_paths(ec);
    } else {
      tls->context.load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return Status(StatusCode::kInvalidArgument,
                    options.ca_file.empty()
                        ? "cannot load the system CA store: " + ec.message()
                        : "cannot load CA file " + options.ca_file + ": " + ec.message());
    }
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(options), std::move(tls)));
}

HttpClient::HttpClient(HttpClientOptions options, std::unique_ptr<TlsContext> tls)
    : options_(std::move(options)), tls_(std::move(tls)) {}

HttpClient::~HttpClient() = default;

namespace {

// One exchange over `stream` (beast::tcp_stream or an ssl_stream over one).
template <class Stream>
StatusOr<HttpResponse> Exchange(net::io_context& ioc, Stream& stream, const ParsedUrl& url,
                                const HttpRequest& request, const HttpClientOptions& options) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  auto& tcp_stream = beast::get_lowest_layer(stream);
  const bool ipv6 = url.host.find(':') != std::string::npos;
  const std::string host_port =
      (ipv6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
  const auto connect_deadline = std::chrono::steady_clock::now() + options.connect_timeout;

  // Resolve, bounded by a timer that cancels the resolver.
  tcp::resolver resolver(ioc);
  net::steady_timer resolve_timer(ioc);
  tcp::resolver::results_type endpoints;
  ErrorCode ec;
  bool resolve_timed_out = false;
  resolve_timer.expires_at(connect_deadline);
  resolve_timer.async_wait([&](ErrorCode timer_ec) {
    if (timer_ec) return;
    resolve_timed_out = true;
    resolver.cancel();
  });
  resolver.async_resolve(url.host, std::to_string(url.port), tcp::resolver::numeric_service,
                         [&](ErrorCode resolve_ec, tcp::resolver::results_type results) {
                           ec = resolve_ec;
                           endpoints = std::move(results);
                           resolve_timer.cancel();
                         });
  RunAll(ioc);
  if (resolve_timed_out) {
    return Unavailable("resolve " + url.host + " timed out after " + Ms(options.connect_timeout));
  }
  if (ec) return Unavailable("resolve " + url.host + " failed: " + ec.message());

  tcp_stream.expires_at(connect_deadline);
  tcp_stream.async_connect(endpoints,
                           [&](ErrorCode connect_ec, const tcp::endpoint&) { ec = connect_ec; });
  RunAll(ioc);
  if (ec == beast::error::timeout) {
    return Unavailable("connect to " + host_port + " timed out after " +
                       Ms(options.connect_timeout));
  }
  if (ec) return Unavailable("connect to " + host_port + " failed: " + ec.message());

  // From here one deadline covers the handshake, the request and the whole response.
  tcp_stream.expires_after(options.request_timeout);
  const std::string timed_out = "timed out after " + Ms(options.request_timeout);
  if constexpr (kTls) {
    SSL* ssl_handle = stream.native_handle();
    ErrorCode not_an_address;
    net::ip::make_address(url.host, not_an_address);
    if (!options.insecure_skip_verify) {
      // OpenSSL checks the name (or address) against subjectAltName during the handshake.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
      const int set = not_an_address ? X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0)
                                     : X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
      if (set != 1) return Unavailable("cannot set up host verification for " + url.host);
    }
    if (not_an_address) {  // SNI, for names only (SSL_set_tlsext_host_name without its C cast)
      SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(url.host.c_str()));
    }
    stream.async_handshake(ssl::stream_base::client,
                           [&](ErrorCode handshake_ec) { ec = handshake_ec; });
    RunAll(ioc);
    if (ec == beast::error::timeout) {
      return Unavailable(timed_out + " in the TLS handshake with " + host_port);
    }
    if (ec) {
      const long verify = SSL_get_verify_result(ssl_handle);
      return Unavailable("TLS handshake with " + host_port + " failed: " +
                         (verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                                    X509_verify_cert_error_string(verify)
                                              : ec.message()));
    }
  }

  http::request<http::string_body> message;
  message.version(11);
  if (const http::verb verb = http::string_to_verb(request.method); verb != http::verb::unknown) {
    message.method(verb);
  } else {
    message.method_string(request.method);
  }
  message.target(url.target);
  const bool default_port = url.port == (url.tls ? 443 : 80);
  message.set(http::field::host, (ipv6 ? "[" + url.host + "]" : url.host) +
                                     (default_port ? "" : ":" + std::to_string(url.port)));
  message.set(http::field::user_agent, "tidewatch");
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "host")) {
      message.set(http::field::host, value);
    } else {
      message.insert(name, value);
    }
  }
  message.keep_alive(false);
  message.body() = request.body;
  message.prepare_payload();
  http::async_write(stream, message, [&](ErrorCode write_ec, std::size_t) { ec = write_ec; });
  RunAll(ioc);
  if (ec == beast::error::timeout) {
    return Unavailable(timed_out + " writing the request to " + host_port);
  }
  if (ec) return Unavailable("writing the request to " + host_port + " failed: " + ec.message());

  // The header first, then the body through a fixed buffer, keeping at most
  // max_response_body bytes and reading no further.
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kMaxResponseHeader);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // bounded below
  beast::flat_buffer buffer;
  http::async_read_header(stream, buffer, parser,
                          [&](ErrorCode read_ec, std::size_t) { ec = read_ec; });
  RunAll(ioc);
  std::string body;
  bool truncated = false;
  std::array<char, 8192> chunk;
  while (!ec && !parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::async_read(stream, buffer, parser, [&](ErrorCode read_ec, std::size_t) { ec = read_ec; });
    RunAll(ioc);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break;
    const std::size_t got = chunk.size() - parser.get().body().size;
    const std::size_t keep = std::min(got, options.max_response_body - body.size());
    body.append(chunk.data(), keep);
    if (keep < got) {
      truncated = true;
      break;
    }
  }
  if (ec == beast::error::timeout) {
    return Unavailable(timed_out + " reading the response from " + host_port);
  }
  if (ec) {
    return Unavailable("reading the response from " + host_port + " failed: " + ec.message());
  }
  ErrorCode ignored;
  tcp_stream.socket().close(ignored);  // one request per connection; no TLS close_notify

  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    response.headers.emplace_back(Str(field.name_string()), Str(field.value()));
  }
  response.body = std::move(body);
  response.body_truncated = truncated;
  return response;
}

}  // namespace

StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request) const {
  StatusOr<ParsedUrl> url = ParseUrl(request.url);
  if (!url.ok()) return url.status();
  if (!IsToken(request.method)) {
    return Status(StatusCode::kInvalidArgument, "invalid HTTP method \"" + request.method + "\"");
  }
  if (Status status = ValidateHeaders(request.headers); !status.ok()) return status;
  net::io_context ioc;
  if (url->tls) {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_->context);
    return Exchange(ioc, stream, *url, request, options_);
  }
  beast::tcp_stream stream(ioc);
  return Exchange(ioc, stream, *url, request, options_);
}

}  // namespace tidewatch::sinks
