#include "daemon/internal/http_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <limits>
#include <random>
#include <utility>

#include "daemon/internal/http_text.h"

namespace tidewatch::daemon::internal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// How long a lingering close drains what the client still sends.
constexpr std::chrono::milliseconds kLinger{500};

beast::string_view View(std::string_view s) { return {s.data(), s.size()}; }
std::string String(beast::string_view s) { return std::string(s.data(), s.size()); }

// A random UUID (version 4), as InfluxDB's request ids are UUIDs.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  const std::uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
    const std::uint64_t word = i < 16 ? hi : lo;
    id.push_back(kHex[(word >> (4 * (15 - (i % 16)))) & 0xF]);
  }
  return id;
}

// The client's request id if it sent a sane one, else a new one.
std::string RequestIdOf(const Request& request) {
  std::string_view id = request.header("x-request-id");
  if (id.empty()) id = request.header("request-id");
  if (!id.empty() && id.size() <= 128) return std::string(id);
  return NewRequestId();
}

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_method).category();
}

}  // namespace

HttpSession::HttpSession(tcp::socket socket, HttpServer& server, bool reject)
    : server_(server), reject_(reject), stream_(std::move(socket)) {
  if (!reject_) server_.open_.fetch_add(1, std::memory_order_relaxed);
}

HttpSession::~HttpSession() {
  if (!reject_) server_.open_.fetch_sub(1, std::memory_order_relaxed);
  server_.Unregister(this);
}

void HttpSession::Run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->reject_) {
      self->server_.Count(HttpServer::kOther, 503);
      self->Send(Response::Error(503, "too many open connections"), NewRequestId(), false, false);
    } else {
      self->DoAwait();
    }
  });
}

void HttpSession::Close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    self->stream_.close();
  });
}

void HttpSession::DoAwait() {
  if (server_.stopping()) {
    stream_.close();
    return;
  }
  const HttpServerOptions& options = server_.options_;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_header, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(static_cast<std::uint64_t>(options.max_body));
  if (buffer_.size() > 0) {  // a pipelined request is already here
    DoReadHeader();
    return;
  }
  stream_.expires_after(options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(1024),
                          beast::bind_front_handler(&HttpSession::OnAwait, shared_from_this()));
}

void HttpSession::OnAwait(ErrorCode ec, std::size_t bytes) {
  if (ec) {
    stream_.close();  // idle timeout, the client went away, or Stop()
    return;
  }
  buffer_.commit(bytes);
  DoReadHeader();
}

void HttpSession::DoReadHeader() {
  deadline_ = std::chrono::steady_clock::now() + server_.options_.read_timeout;
  stream_.expires_at(deadline_);
  http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&HttpSession::OnReadHeader, shared_from_this()));
}

void HttpSession::OnReadHeader(ErrorCode ec, std::size_t) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  if (parser_->is_done()) {
    Serve();
    return;
  }
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    continue_ = {http::status::continue_, parser_->get().version()};
    stream_.expires_at(deadline_);
    http::async_write(stream_, continue_,
                      beast::bind_front_handler(&HttpSession::OnContinue, shared_from_this()));
    return;
  }
  DoReadBody();
}

void HttpSession::OnContinue(ErrorCode ec, std::size_t) {
  if (ec) {
    stream_.close();
    return;
  }
  DoReadBody();
}

void HttpSession::DoReadBody() {
  stream_.expires_at(deadline_);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnReadBody, shared_from_this()));
}

void HttpSession::OnReadBody(ErrorCode ec, std::size_t) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  Serve();
}

void HttpSession::OnReadError(ErrorCode ec) {
  if (ec == http::error::header_limit) {
    Fail(431, "request header fields too large");
  } else if (ec == http::error::body_limit) {
    Fail(413, "Request Entity Too Large");  // InfluxDB's words
  } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
             !IsParseError(ec)) {
    // The client closed, the read deadline passed (slowloris), or Stop(): no answer.
    stream_.close();
  } else {
    Fail(400, "malformed HTTP request: " + ec.message());
  }
}

void HttpSession::Serve() {
  http::request<http::string_body> message = parser_->release();
  Request request;
  request.method = String(message.method_string());
  request.target = String(message.target());
  const std::string_view target = request.target;
  const std::size_t q = target.find('?');
  request.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) request.query = ParseQuery(target.substr(q + 1));
  request.headers.reserve(static_cast<std::size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    std::string name = String(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    request.headers.emplace_back(std::move(name), String(field.value()));
  }
  request.body = std::move(message.body());
  request.request_id = RequestIdOf(request);

  std::size_t route = HttpServer::kOther;
  Response response = server_.Dispatch(request, route);
  server_.Count(route, response.status);
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("http {} {} -> {} ({} bytes) id={}", request.method, request.path,
                  response.status, response.body.size(), request.request_id);
  }
  Send(std::move(response), request.request_id, message.keep_alive() && !server_.stopping(),
       message.method() == http::verb::head);
}

void HttpSession::Fail(int status, std::string_view message) {
  std::size_t route = HttpServer::kOther;
  // The request line is parsed before the fields, so the target is known even when a
  // field broke a limit.
  if (parser_ && !parser_->get().target().empty()) {
    const std::string_view target{parser_->get().target().data(), parser_->get().target().size()};
    route = server_.FindRoute(PercentDecode(target.substr(0, target.find('?')), false));
  }
  server_.Count(route, status);
  Send(Response::Error(status, message), NewRequestId(), false, false);
}

void HttpSession::Send(Response response, const std::string& request_id, bool keep_alive,
                       bool head) {
  const int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  response_ = {};
  response_.version(11);
  response_.result(static_cast<unsigned>(status));
  response_.set("X-Influxdb-Build", View(kInfluxBuild));
  response_.set("X-Influxdb-Version", View(kInfluxVersion));
  response_.set("Request-Id", request_id);
  response_.set("X-Request-Id", request_id);
  if (!response.content_type.empty())
    response_.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) response_.insert(name, value);
  response_.keep_alive(keep_alive);
  if (status == 204 || status == 304 || status < 200) {
    // No body and no Content-Length, as RFC 9110 wants.
  } else if (head) {
    response_.content_length(response.body.size());
  } else {
    response_.body() = std::move(response.body);
    response_.prepare_payload();
  }
  stream_.expires_after(server_.options_.write_timeout);
  http::async_write(
      stream_, response_,
      beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(), keep_alive));
}

void HttpSession::OnWrite(bool keep_alive, ErrorCode ec, std::size_t) {
  if (ec) {
    stream_.close();
    return;
  }
  response_ = {};
  if (keep_alive) {
    DoAwait();
  } else {
    DoLinger();
  }
}

void HttpSession::DoLinger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(
      std::min<std::chrono::milliseconds>(kLinger, server_.options_.read_timeout));
  stream_.async_read_some(net::buffer(drain_),
                          beast::bind_front_handler(&HttpSession::OnLinger, shared_from_this()));
}

void HttpSession::OnLinger(ErrorCode ec, std::size_t) {
  if (ec) {  // EOF from the client, or the linger time is up
    stream_.close();
    return;
  }
  // Same deadline: keep draining until it passes.
  stream_.async_read_some(net::buffer(drain_),
                          beast::bind_front_handler(&HttpSession::OnLinger, shared_from_this()));
}

HttpListener::HttpListener(net::io_context& ioc, HttpServer& server)
    : ioc_(ioc),
      server_(server),
      acceptor_(net::make_strand(ioc)),
      retry_(acceptor_.get_executor()) {}

Status HttpListener::Listen(const std::string& host, std::uint16_t port, std::uint16_t& bound) {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return Status(StatusCode::kInvalidArgument, "http listen: not an IP address: " + host);
  const tcp::endpoint endpoint{address, port};
  const std::string where = "http listen on " + host + ":" + std::to_string(port) + ": ";
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return Status(StatusCode::kUnavailable, where + ec.message());
  }
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Status(StatusCode::kUnavailable, where + ec.message());
  }
  if (acceptor_.bind(endpoint, ec); ec)
    return Status(StatusCode::kUnavailable, where + ec.message());
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Status(StatusCode::kUnavailable, where + ec.message());
  }
  bound = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void HttpListener::Run() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->DoAccept(); });
}

void HttpListener::Close() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
  });
}

void HttpListener::DoAccept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&HttpListener::OnAccept, shared_from_this()));
}

void HttpListener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: back off instead of spinning; log the
    // 1st, 2nd, 4th, 8th... error only.
    ++accept_errors_;
    if ((accept_errors_ & (accept_errors_ - 1)) == 0) {
      spdlog::warn("http accept failed ({} times so far): {}", accept_errors_, ec.message());
    }
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
    return;
  }
  const bool reject =
      server_.open_.load(std::memory_order_relaxed) >= server_.options_.max_connections;
  (reject ? server_.rejected_ : server_.accepted_).fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<HttpSession>(std::move(socket), server_, reject);
  if (server_.Register(session)) session->Run();
  DoAccept();
}

}  // namespace tidewatch::daemon::internal
