// A small blocking HTTP/1.1 test client over a real socket, with a deadline on every
// operation (Beast's tcp_stream timeouts driven by a private io_context), so a test
// against a misbehaving server fails instead of hanging.
//
// Thread safety: one client per thread.
#ifndef TIDEWATCH_TESTS_DAEMON_HTTP_TEST_CLIENT_H_
#define TIDEWATCH_TESTS_DAEMON_HTTP_TEST_CLIENT_H_

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidewatch::test_http {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

using Response = http::response<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::milliseconds kDeadline{10'000};

inline std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.expires_after(kDeadline);
    const net::ip::tcp::endpoint endpoint{net::ip::make_address("127.0.0.1"), port};
    stream_.async_connect(endpoint, [this](beast::error_code ec) { ec_ = ec; });
    Run();
    connected_ = !ec_;
  }

  bool connected() const { return connected_; }

  // Sends raw bytes; the error (none on success).
  beast::error_code WriteRaw(std::string_view bytes) {
    stream_.expires_after(kDeadline);
    net::async_write(stream_, net::buffer(bytes.data(), bytes.size()),
                     [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    Run();
    return ec_;
  }

  // Reads one response; nullopt on error (closed, reset, timeout), `last_error()` says
  // which. `head`: the request was HEAD (no body follows).
  std::optional<Response> Read(bool head = false, std::chrono::milliseconds deadline = kDeadline) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.skip(head);
    stream_.expires_after(deadline);
    http::async_read(stream_, buffer_, parser,
                     [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    Run();
    if (ec_) return std::nullopt;
    return parser.release();
  }

  // Sends a request and reads its response.
  std::optional<Response> Send(http::verb method, std::string_view target, std::string body = {},
                               const Headers& headers = {}, bool keep_alive = true) {
    http::request<http::string_body> request{method,
                                             beast::string_view(target.data(), target.size()), 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.keep_alive(keep_alive);
    request.body() = std::move(body);
    request.prepare_payload();
    stream_.expires_after(kDeadline);
    http::async_write(stream_, request, [this](beast::error_code ec, std::size_t) { ec_ = ec; });
    Run();
    if (ec_) return std::nullopt;
    return Read(method == http::verb::head);
  }

  // True if the server closes the connection (EOF or reset) within `deadline`; false
  // if the deadline passes with the connection open. Discards whatever arrives.
  bool WaitClosed(std::chrono::milliseconds deadline = kDeadline) {
    stream_.expires_after(deadline);
    for (;;) {
      char sink[512];
      stream_.async_read_some(net::buffer(sink),
                              [this](beast::error_code ec, std::size_t) { ec_ = ec; });
      Run();
      if (ec_ == beast::error::timeout) return false;
      if (ec_) return true;
    }
  }

  const beast::error_code& last_error() const { return ec_; }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
  bool connected_ = false;
};

// One request on a fresh connection.
inline std::optional<Response> Fetch(std::uint16_t port, http::verb method, std::string_view target,
                                     std::string body = {}, const Headers& headers = {}) {
  Client client(port);
  if (!client.connected()) return std::nullopt;
  return client.Send(method, target, std::move(body), headers);
}

}  // namespace tidewatch::test_http

#endif  // TIDEWATCH_TESTS_DAEMON_HTTP_TEST_CLIENT_H_
