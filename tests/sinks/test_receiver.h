// TestReceiver: a real HTTP/1.1 server (Boost.Beast) on 127.0.0.1, ephemeral port, for
// tests of outbound delivery (webhooks, Alertmanager, the delivery worker). Plain HTTP,
// or HTTPS with a PEM certificate and key the test provides.
//
// Scripting. Each request is answered by the next scripted response, taken in arrival
// order when the request has fully arrived: Respond(r, k) queues r for the next k
// requests; with the queue empty, requests get the default response (200, empty body,
// until SetDefault changes it). A response may stall (wait before answering, on a timer:
// the server keeps serving other connections meanwhile) or close the connection without
// an answer. Keep-alive is honoured (the client's Connection header decides).
//
// Recording. Every complete request (method, target, headers as received, body) is
// recorded before it is answered; WaitForRequests() waits on a condition variable with a
// bounded deadline, so tests need no sleeps.
//
// Lifetime: the constructor listens and starts one serving thread; the destructor closes
// the listener and every connection (stalled ones too) and joins the thread.
//
// Thread safety: every member function may be called from any thread.
#ifndef TIDEWATCH_TESTS_SINKS_TEST_RECEIVER_H_
#define TIDEWATCH_TESTS_SINKS_TEST_RECEIVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidewatch::sinks::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ReceivedRequest {
  std::string method;  // "POST"
  std::string target;  // "/hook?x=1"
  HeaderList headers;  // as received, in order
  std::string body;

  // The value of the first header called `name` (case-insensitive); "" when absent.
  std::string Header(std::string_view name) const;
};

struct ScriptedResponse {
  int status = 200;
  HeaderList headers;  // e.g. {{"Retry-After", "7"}}; Content-Length is set for you
  std::string body;
  std::chrono::milliseconds stall{0};  // wait this long before answering (or closing)
  bool close_without_answer = false;   // close the connection instead of answering
};

// PEM files for HTTPS.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
};

// Writes a self-signed certificate (CN=localhost, subjectAltName IP:127.0.0.1 and
// DNS:localhost, valid one day) and its key as cert.pem / key.pem into the existing
// directory `dir`, with the openssl command-line tool. Throws std::runtime_error when
// openssl fails. The certificate is its own CA: pass cert_file as the client's CA file.
TlsFiles MakeSelfSignedCertificate(const std::string& dir);

class TestReceiver {
 public:
  // Listens on 127.0.0.1:0. Throws std::runtime_error when it cannot listen or load the
  // certificate (a test setup failure).
  explicit TestReceiver(std::optional<TlsFiles> tls = std::nullopt);
  ~TestReceiver();
  TestReceiver(const TestReceiver&) = delete;
  TestReceiver& operator=(const TestReceiver&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:<port><target>" ("https://" when serving TLS).
  std::string Url(std::string_view target = "/") const;

  // Queues `response` for the next `times` requests (after those already queued).
  void Respond(ScriptedResponse response, int times = 1);
  // The response once the queue is empty.
  void SetDefault(ScriptedResponse response);

  // Every complete request so far, in arrival order.
  std::vector<ReceivedRequest> requests() const;
  // Waits until at least `count` requests have arrived or `timeout` has passed; true when
  // they have.
  [[nodiscard]] bool WaitForRequests(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidewatch::sinks::testing

#endif  // TIDEWATCH_TESTS_SINKS_TEST_RECEIVER_H_
