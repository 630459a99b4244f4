// HttpClient against the real test receiver: requests, timeouts, refused connections,
// limits, HTTPS verification; and ParseUrl on good and hostile URLs.
#include "sinks/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <string>

#include "tests/sinks/test_receiver.h"

namespace tidewatch::sinks {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TestReceiver;

std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = {}) {
  StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(*client);
}

HttpRequest Post(std::string url, std::string body, HttpHeaders headers = {}) {
  return HttpRequest{"POST", std::move(url), std::move(headers), std::move(body)};
}

std::string Render(const ParsedUrl& url) {
  return std::string(url.tls ? "https" : "http") + " [" + url.host + "] " +
         std::to_string(url.port) + " " + url.target;
}

TEST(ParseUrlTest, AcceptsHostsPortsAndTargets) {
  EXPECT_EQ(Render(*ParseUrl("http://example.com")), "http [example.com] 80 /");
  EXPECT_EQ(Render(*ParseUrl("HTTPS://Example.com/a/b?x=1#frag")),
            "https [Example.com] 443 /a/b?x=1");
  EXPECT_EQ(Render(*ParseUrl("http://127.0.0.1:9093/api")), "http [127.0.0.1] 9093 /api");
  EXPECT_EQ(Render(*ParseUrl("http://[::1]:8080?q")), "http [::1] 8080 /?q");
  EXPECT_EQ(Render(*ParseUrl("https://[fe80::1]")), "https [fe80::1] 443 /");
}

TEST(ParseUrlTest, RejectsMalformedAndHostileUrls) {
  for (const char* url : {"",
                          "ftp://x",
                          "http://",
                          "http:///path",
                          "http://host:0",
                          "http://host:65536",
                          "http://host:",
                          "http://host:12a",
                          "http://host:99999999999999999999",
                          "http://[::1",
                          "http://[::1]x",
                          "http://[zz::1]/",
                          "http://user:pw@host/",
                          "http://ho st/",
                          "http://host/a b",
                          "http://host/a\r\nX-Injected: 1",
                          "http://host\r\n/",
                          "http://a:1:2/",
                          "//host/",
                          "http:/host"}) {
    const StatusOr<ParsedUrl> parsed = ParseUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << url;
  }
}

TEST(HttpClientTest, PostsBodyAndHeadersAndReadsTheResponse) {
  TestReceiver receiver;
  receiver.Respond({201, {{"X-Reply", "yes"}}, "created", milliseconds(0), false});
  auto client = MakeClient();
  StatusOr<HttpResponse> response = client->Send(
      Post(receiver.Url("/hook?x=1"), R"({"a":1})",
           {{"Content-Type", "application/json"}, {"X-Multi", "1"}, {"X-Multi", "2"}}));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "created");
  EXPECT_FALSE(response->body_truncated);
  ASSERT_NE(response->Header("x-reply"), nullptr);
  EXPECT_EQ(*response->Header("X-REPLY"), "yes");
  EXPECT_EQ(response->Header("Retry-After"), nullptr);

  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hook?x=1");
  EXPECT_EQ(requests[0].body, R"({"a":1})");
  EXPECT_EQ(requests[0].Header("Host"), "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("Content-Length"), "7");
  EXPECT_EQ(requests[0].Header("Connection"), "close");
  int multi = 0;
  for (const auto& [name, value] : requests[0].headers) multi += name == "X-Multi";
  EXPECT_EQ(multi, 2);
}

TEST(HttpClientTest, GetAndRedirectsAreNotFollowed) {
  TestReceiver receiver;
  receiver.Respond({302, {{"Location", "/elsewhere"}}, "", milliseconds(0), false});
  auto client = MakeClient();
  StatusOr<HttpResponse> response = client->Send({"GET", receiver.Url("/health"), {}, ""});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 302);
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].method, "GET");
  EXPECT_EQ(receiver.requests()[0].target, "/health");
}

TEST(HttpClientTest, RejectsHeadersThatWouldBreakTheRequest) {
  TestReceiver receiver;
  auto client = MakeClient();
  const HttpHeaders bad[] = {{{"X-A", "v\r\nX-Injected: 1"}},
                             {{"X-A", std::string("v\0w", 3)}},
                             {{"Bad Name", "v"}},
                             {{"", "v"}},
                             {{"Content-Length", "5"}},
                             {{"transfer-encoding", "chunked"}},
                             {{"Connection", "keep-alive"}}};
  for (const HttpHeaders& headers : bad) {
    StatusOr<HttpResponse> response = client->Send(Post(receiver.Url(), "x", headers));
    ASSERT_FALSE(response.ok()) << headers[0].first;
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  }
  StatusOr<HttpResponse> response = client->Send({"PO ST", receiver.Url(), {}, ""});
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(HttpClientTest, RefusedConnectionSaysWhere) {
  // A port that was just free: bind, read the port, close.
  std::uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  auto client = MakeClient();
  const std::string where = "127.0.0.1:" + std::to_string(port);
  StatusOr<HttpResponse> response = client->Send(Post("http://" + where + "/", "x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(response.status().message(), "connect to " + where + " failed: Connection refused");
}

TEST(HttpClientTest, StallingReceiverTimesOut) {
  TestReceiver receiver;
  receiver.Respond({200, {}, "late", milliseconds(30'000), false});
  HttpClientOptions options;
  options.request_timeout = milliseconds(300);
  auto client = MakeClient(options);
  StatusOr<HttpResponse> response = client->Send(Post(receiver.Url(), "x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(response.status().message(),
            "timed out after 300 ms reading the response from "
            "127.0.0.1:" +
                std::to_string(receiver.port()));
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(HttpClientTest, ConnectionClosedWithoutAnswerIsAnError) {
  TestReceiver receiver;
  receiver.Respond({200, {}, "", milliseconds(0), /*close_without_answer=*/true});
  auto client = MakeClient();
  StatusOr<HttpResponse> response = client->Send(Post(receiver.Url(), "x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("reading the response from 127.0.0.1:"));
}

TEST(HttpClientTest, OversizeBodyIsTruncatedNotBuffered) {
  TestReceiver receiver;
  receiver.Respond(
      {500, {{"Retry-After", "3"}}, std::string(1 << 20, 'x'), milliseconds(0), false});
  receiver.Respond({200, {}, std::string(100, 'y'), milliseconds(0), false});
  HttpClientOptions options;
  options.max_response_body = 64;
  auto client = MakeClient(options);
  StatusOr<HttpResponse> big = client->Send(Post(receiver.Url(), "x"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->status, 500);
  EXPECT_TRUE(big->body_truncated);
  EXPECT_LE(big->body.size(), 64u);
  ASSERT_NE(big->Header("Retry-After"), nullptr);
  EXPECT_EQ(*big->Header("Retry-After"), "3");

  StatusOr<HttpResponse> small = client->Send(Post(receiver.Url(), "x"));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_TRUE(small->body_truncated);
}

TEST(HttpClientTest, MissingCaFileFailsCreate) {
  HttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

// HTTPS against a receiver with a self-signed certificate made at test time.
class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/tidewatch-tls-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    files_ = testing::MakeSelfSignedCertificate(dir_);
    receiver_.emplace(files_);
  }
  void TearDown() override {
    receiver_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  testing::TlsFiles files_;
  std::optional<TestReceiver> receiver_;
};

TEST_F(HttpsTest, UnknownCertificateIsRejected) {
  auto client = MakeClient();  // system CA store: does not know our certificate
  StatusOr<HttpResponse> response = client->Send(Post(receiver_->Url("/x"), "x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(),
              HasSubstr("TLS handshake with 127.0.0.1:" + std::to_string(receiver_->port()) +
                        " failed: certificate verify failed: self-signed certificate"));
  EXPECT_TRUE(receiver_->requests().empty());
}

TEST_F(HttpsTest, CaFileVerifiesTheServer) {
  HttpClientOptions options;
  options.ca_file = files_.cert_file;
  auto client = MakeClient(options);
  StatusOr<HttpResponse> response = client->Send(Post(receiver_->Url("/x"), "secret"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(receiver_->requests().size(), 1u);
  EXPECT_EQ(receiver_->requests()[0].body, "secret");
  // "localhost" is in the certificate's subjectAltName too.
  response =
      client->Send(Post("https://localhost:" + std::to_string(receiver_->port()) + "/x", "again"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
}

TEST_F(HttpsTest, AddressNotInTheCertificateIsRejected) {
  HttpClientOptions options;
  options.ca_file = files_.cert_file;
  auto client = MakeClient(options);
  // The same listener through its IPv4-mapped IPv6 address, which the certificate
  // (IP:127.0.0.1, DNS:localhost) does not name: the chain is trusted, the name is not.
  StatusOr<HttpResponse> response = client->Send(
      Post("https://[::ffff:127.0.0.1]:" + std::to_string(receiver_->port()) + "/", "x"));
  ASSERT_FALSE(response.ok());
  if (response.status().message().starts_with("connect to")) {
    GTEST_SKIP() << "no IPv6 socket support here: " << response.status().message();
  }
  EXPECT_THAT(response.status().message(),
              HasSubstr("certificate verify failed: IP address mismatch"));
  EXPECT_TRUE(receiver_->requests().empty());
}

TEST_F(HttpsTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  HttpClientOptions options;
  options.insecure_skip_verify = true;
  auto client = MakeClient(options);
  StatusOr<HttpResponse> response = client->Send(Post(receiver_->Url("/x"), "x"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpsTest, PlainHttpToTlsPortFails) {
  auto client = MakeClient();
  StatusOr<HttpResponse> response =
      client->Send(Post("http://127.0.0.1:" + std::to_string(receiver_->port()) + "/", "x"));
  EXPECT_FALSE(response.ok());
}

}  // namespace
}  // namespace tidewatch::sinks
