#include "tests/sinks/test_receiver.h"

#include <strings.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace tidewatch::sinks::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

std::string ReceivedRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return value;
    }
  }
  return "";
}

namespace {

// What the sessions share: the script and the record.
class Journal {
 public:
  // Records a complete request and picks its answer.
  ScriptedResponse Record(ReceivedRequest request) {
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(request));
    cv_.notify_all();
    if (script_.empty()) return default_;
    ScriptedResponse next = std::move(script_.front());
    script_.pop_front();
    return next;
  }

  void Respond(ScriptedResponse response, int times) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < times; ++i) script_.push_back(response);
  }
  void SetDefault(ScriptedResponse response) {
    std::lock_guard lock(mu_);
    default_ = std::move(response);
  }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<ScriptedResponse> script_;    // guarded by mu_
  ScriptedResponse default_;               // guarded by mu_
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
};

// One connection: [TLS handshake,] then read a request, record it, stall, answer; loop
// while keep-alive. Runs on the receiver's single thread.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(Journal& journal, Args&&... args)
      : journal_(journal), stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      DoRead();
    } else {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->DoRead();
                              });
    }
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(64u << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->OnRead();
                     });
  }

  void OnRead() {
    http::request<http::string_body> request = parser_->release();
    ReceivedRequest received;
    received.method = Str(request.method_string());
    received.target = Str(request.target());
    for (const auto& field : request) {
      received.headers.emplace_back(Str(field.name_string()), Str(field.value()));
    }
    received.body = request.body();
    keep_alive_ = request.keep_alive();
    answer_ = journal_.Record(std::move(received));
    timer_.expires_after(answer_.stall);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->Answer();
    });
  }

  void Answer() {
    if (answer_.close_without_answer) {
      beast::get_lowest_layer(stream_).close();
      return;
    }
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(answer_.status));
    for (const auto& [name, value] : answer_.headers) response_.set(name, value);
    response_.body() = answer_.body;
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (self->keep_alive_) {
                          self->DoRead();
                        } else {
                          beast::get_lowest_layer(self->stream_).close();
                        }
                      });
  }

  Journal& journal_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ScriptedResponse answer_;
  bool keep_alive_ = false;
  http::response<http::string_body> response_;
};

}  // namespace

class TestReceiver::Impl {
 public:
  explicit Impl(const std::optional<TlsFiles>& tls) : acceptor_(ioc_) {
    if (tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls->cert_file);
      tls_->use_private_key_file(tls->key_file, ssl::context::pem);
    }
    const tcp::endpoint endpoint{net::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~Impl() {
    ioc_.stop();  // pending handlers, and the sessions they own, die with ioc_
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_.has_value(); }
  Journal& journal() { return journal_; }

 private:
  void DoAccept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed: the receiver is stopping
      if (tls_) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(journal_, std::move(socket),
                                                                        *tls_)
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(journal_, std::move(socket))->Start();
      }
      DoAccept();
    });
  }

  // Declared so that sessions (owned by handlers inside ioc_) die before what they use.
  Journal journal_;
  std::optional<ssl::context> tls_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TestReceiver::TestReceiver(std::optional<TlsFiles> tls) : impl_(std::make_unique<Impl>(tls)) {}
TestReceiver::~TestReceiver() = default;

std::uint16_t TestReceiver::port() const { return impl_->port(); }

std::string TestReceiver::Url(std::string_view target) const {
  return std::string(impl_->tls() ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port()) + std::string(target);
}

void TestReceiver::Respond(ScriptedResponse response, int times) {
  impl_->journal().Respond(std::move(response), times);
}
void TestReceiver::SetDefault(ScriptedResponse response) {
  impl_->journal().SetDefault(std::move(response));
}
std::vector<ReceivedRequest> TestReceiver::requests() const { return impl_->journal().requests(); }
bool TestReceiver::WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
  return impl_->journal().WaitForRequests(count, timeout);
}

TlsFiles MakeSelfSignedCertificate(const std::string& dir) {
  TlsFiles files{dir + "/cert.pem", dir + "/key.pem"};
  const std::string log = dir + "/openssl.log";
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost"
      " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 1 -keyout '" +
      files.key_file + "' -out '" + files.cert_file + "' > '" + log + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream in(log);
    throw std::runtime_error("openssl failed: " + std::string(std::istreambuf_iterator<char>(in),
                                                              std::istreambuf_iterator<char>()));
  }
  return files;
}

}  // namespace tidewatch::sinks::testing
