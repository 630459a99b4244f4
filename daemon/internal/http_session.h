// HttpSession: one HTTP/1.1 connection of HttpServer (daemon/http_server.h has the
// contract: timeouts, limits, error answers).
//
// The request cycle, all on the connection's strand, one request at a time:
//   DoAwait      wait up to idle_timeout for the first byte of the next request
//   DoReadHeader read the header; from here on the whole request must arrive before
//                one deadline, read_timeout after the first byte
//   (100 Continue when the client asked for it), DoReadBody
//   Serve        run the route's handler (on this pool thread), then Send the answer
//                within write_timeout; keep-alive loops to DoAwait.
// Errors close the connection after the answer with a lingering close (stop sending,
// drain what the client still sends for a moment, then close), so that the client
// reads the answer instead of a reset.
//
// Thread safety: every member function except Close() runs on the strand; Close() may
// be called from any thread.
#ifndef TIDEWATCH_DAEMON_INTERNAL_HTTP_SESSION_H_
#define TIDEWATCH_DAEMON_INTERNAL_HTTP_SESSION_H_

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/http_server.h"

namespace tidewatch::daemon::internal {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `reject`: the server is at max_connections; answer 503 at once and close.
  HttpSession(boost::asio::ip::tcp::socket socket, HttpServer& server, bool reject);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void Run();
  // Closes the socket; pending operations end with operation_aborted.
  void Close();

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using ErrorCode = boost::beast::error_code;

  void DoAwait();
  void OnAwait(ErrorCode ec, std::size_t bytes);
  void DoReadHeader();
  void OnReadHeader(ErrorCode ec, std::size_t bytes);
  void OnContinue(ErrorCode ec, std::size_t bytes);
  void DoReadBody();
  void OnReadBody(ErrorCode ec, std::size_t bytes);
  void OnReadError(ErrorCode ec);
  void Serve();
  // Answers an error and closes; counted under the route of the parsed target if any.
  void Fail(int status, std::string_view message);
  void Send(Response response, const std::string& request_id, bool keep_alive, bool head);
  void OnWrite(bool keep_alive, ErrorCode ec, std::size_t bytes);
  void DoLinger();
  void OnLinger(ErrorCode ec, std::size_t bytes);

  HttpServer& server_;
  const bool reject_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;  // kept across requests (pipelining)
  std::optional<Parser> parser_;
  std::chrono::steady_clock::time_point deadline_;  // of the request being read
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  boost::beast::http::response<boost::beast::http::string_body> response_;  // in flight
  std::array<char, 1024> drain_{};                                          // lingering close
};

// HttpListener: accepts connections and starts a session for each.
// Thread safety: Listen() before Run(); the rest on the acceptor's strand, except
// Close(), callable from any thread.
class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  HttpListener(boost::asio::io_context& ioc, HttpServer& server);

  // Binds and listens; `bound` receives the port. See HttpServer::Start() for errors.
  Status Listen(const std::string& host, std::uint16_t port, std::uint16_t& bound);
  void Run();
  void Close();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  HttpServer& server_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (EMFILE), try again later
  std::uint64_t accept_errors_ = 0;
};

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_HTTP_SESSION_H_
