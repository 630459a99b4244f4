// Shared by the notification benchmarks (delivery_bench.cc, kafka_notify_bench.cc):
// a minimal webhook receiver on 127.0.0.1:0 that timestamps every notification's
// receipt against the times in its payload (docs/NOTIFICATIONS.md).
//
// Receiver: Boost.Beast on one io thread; reads one request per connection (as
// sinks::HttpClient sends one per connection), answers 200 and waits for the client to
// close. While recording,
// each body's "event_time" and "transition_at" are parsed (a substring search, no JSON
// parser: the payload is compact JSON) and receipt - each is kept.
//
// Thread safety: every Receiver member from any thread.
#ifndef TIDEWATCH_TESTS_BENCH_WEBHOOK_RECEIVER_H_
#define TIDEWATCH_TESTS_BENCH_WEBHOOK_RECEIVER_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "store/rfc3339.h"
#include "tests/bench/bench_util.h"

namespace tidewatch::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The RFC 3339 string member `key` of a compact JSON object, in ns; nullopt if absent.
inline std::optional<std::int64_t> TimeMember(std::string_view json, std::string_view key) {
  const std::size_t at = json.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t open = json.find('"', at + key.size());
  const std::size_t close = open == std::string_view::npos ? open : json.find('"', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return store::ParseRfc3339(json.substr(open + 1, close - open - 1));
}

// The webhook receiver: counts requests and, while recording, the latencies of the
// notifications' times to their receipt.
class Receiver {
 public:
  Receiver() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    DoAccept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    net::post(io_, [this] { acceptor_.close(); });
    io_.stop();
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::uint64_t received() const { return received_.load(std::memory_order_acquire); }

  // Drops the samples so far and records from now on.
  void StartRecording() {
    std::lock_guard lock(mu_);
    from_event_.clear();
    from_transition_.clear();
    recording_ = true;
  }
  // Stops recording; returns receipt - event_time and receipt - transition_at, in ns.
  std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> StopRecording() {
    std::lock_guard lock(mu_);
    recording_ = false;
    return {std::move(from_event_), std::move(from_transition_)};
  }
  std::string last_body() const {
    std::lock_guard lock(mu_);
    return last_body_;
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, Receiver& receiver) : stream(std::move(socket)), owner(receiver) {}
    void Run() {
      http::async_read(stream, buffer, request,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->OnRead();
                       });
    }
    void OnRead() {
      owner.Record(request.body(), WallNs());
      response.result(http::status::ok);
      response.keep_alive(false);
      response.prepare_payload();
      http::async_write(stream, response,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (!ec) self->AwaitClose();
                        });
    }
    // The client closes first (it sent Connection: close), so the TIME_WAIT entries of
    // many short connections stay on its side, which picks its ports around them.
    void AwaitClose() {
      stream.socket().async_wait(tcp::socket::wait_read,
                                 [self = shared_from_this()](beast::error_code) {});
    }
    beast::tcp_stream stream;
    Receiver& owner;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::empty_body> response;
  };

  void DoAccept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      std::make_shared<Session>(std::move(socket), *this)->Run();
      DoAccept();
    });
  }

  void Record(const std::string& body, std::int64_t receipt) {
    const std::optional<std::int64_t> event = TimeMember(body, "\"event_time\":");
    const std::optional<std::int64_t> transition = TimeMember(body, "\"transition_at\":");
    {
      std::lock_guard lock(mu_);
      if (recording_ && event && transition) {
        from_event_.push_back(receipt - *event);
        from_transition_.push_back(receipt - *transition);
      }
      if (last_body_.empty()) last_body_ = body;
    }
    received_.fetch_add(1, std::memory_order_release);
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<std::uint64_t> received_{0};
  mutable std::mutex mu_;
  bool recording_ = false;  // guarded by mu_, as the three below
  std::vector<std::int64_t> from_event_;
  std::vector<std::int64_t> from_transition_;
  std::string last_body_;
};

// The first three fields of /proc/loadavg.
inline std::string LoadAverage() {
  char buf[64] = {};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fgets(buf, sizeof(buf), f) == nullptr) buf[0] = '\0';
    std::fclose(f);
  }
  std::string s(buf);
  std::size_t third = 0;
  for (int i = 0; i < 3 && third != std::string::npos; ++i) third = s.find(' ', third + 1);
  return s.substr(0, third);
}

}  // namespace tidewatch::bench

#endif  // TIDEWATCH_TESTS_BENCH_WEBHOOK_RECEIVER_H_
