#include "daemon/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/internal/http_text.h"
#include "daemon/query_json.h"
#include "tests/daemon/http_test_client.h"

namespace tidewatch::daemon {
namespace {

using test_http::Client;
using test_http::Fetch;
using test_http::Str;
namespace http = boost::beast::http;

// Echoes what the handler saw: method, path, the query parameters a and b, the body.
Response Echo(const Request& r) {
  return Response::Json(200, "{\"method\":\"" + r.method + "\",\"path\":\"" + r.path +
                                 "\",\"a\":\"" + std::string(r.param("a")) + "\",\"b\":\"" +
                                 std::string(r.param("b")) + "\",\"body\":\"" + r.body + "\"}");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}, const Auth* auth = nullptr) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, auth);
    server_->Handle("/echo", {"GET", "POST"}, Role::kNone, Echo);
    server_->Handle("/submit", {"POST"}, Role::kNone, Echo);
    server_->Handle("/throw", {"GET"}, Role::kNone,
                    [](const Request&) -> Response { throw std::runtime_error("boom"); });
    server_->Handle("/secret", {"GET"}, Role::kWrite, Echo);
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpServerTest, RoutesAndDecodesQuery) {
  StartServer();
  auto res = Fetch(port_, http::verb::get, "/echo?a=1%2F2&b=x+y&b=last%20one&c");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200u);
  EXPECT_EQ(res->body(), R"({"method":"GET","path":"/echo","a":"1/2","b":"last one","body":""})");
  EXPECT_EQ(Str((*res)["X-Influxdb-Version"]), "1.8.10");
  EXPECT_EQ(Str((*res)["X-Influxdb-Build"]), "OSS");
  EXPECT_EQ(Str((*res)["Request-Id"]).size(), 36u);
  EXPECT_EQ(Str((*res)[http::field::content_type]), "application/json");
}

TEST_F(HttpServerTest, KeepsTheClientsRequestId) {
  StartServer();
  auto res = Fetch(port_, http::verb::get, "/echo", {}, {{"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(Str((*res)["Request-Id"]), "abc-123");
  EXPECT_EQ(Str((*res)["X-Request-Id"]), "abc-123");
}

TEST_F(HttpServerTest, UnknownPathIs404Json) {
  StartServer();
  auto res = Fetch(port_, http::verb::get, "/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404u);
  EXPECT_EQ(res->body(), R"({"error":"not found"})");
  EXPECT_EQ(Str((*res)[http::field::content_type]), "application/json");
  EXPECT_EQ(Str((*res)["X-Influxdb-Version"]), "1.8.10");
  EXPECT_EQ(server_->stats().count("other", 404), 1u);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  StartServer();
  auto res = Fetch(port_, http::verb::delete_, "/echo");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 405u);
  EXPECT_EQ(Str((*res)[http::field::allow]), "GET, POST, HEAD");
  EXPECT_EQ(res->body(), R"({"error":"method not allowed"})");
  auto post_only = Fetch(port_, http::verb::get, "/submit");
  ASSERT_TRUE(post_only);
  EXPECT_EQ(post_only->result_int(), 405u);
  EXPECT_EQ(Str((*post_only)[http::field::allow]), "POST");
}

TEST_F(HttpServerTest, HeadIsServedLikeGetWithoutBody) {
  StartServer();
  auto get = Fetch(port_, http::verb::get, "/echo?a=1");
  Client client(port_);
  auto head = client.Send(http::verb::head, "/echo?a=1");
  ASSERT_TRUE(get && head);
  EXPECT_EQ(head->result_int(), 200u);
  // The echoed method "HEAD" is one byte longer than "GET".
  EXPECT_EQ(Str((*head)[http::field::content_length]), std::to_string(get->body().size() + 1));
  EXPECT_TRUE(head->body().empty());
  // The connection is still usable: no stray body bytes were sent.
  auto again = client.Send(http::verb::get, "/echo?a=2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200u);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  Client client(port_);
  for (int i = 0; i < 5; ++i) {
    auto res = client.Send(http::verb::post, "/echo?a=" + std::to_string(i), "x");
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->result_int(), 200u);
    EXPECT_NE(res->body().find("\"a\":\"" + std::to_string(i) + "\""), std::string::npos);
  }
  const HttpStatsSnapshot stats = server_->stats();
  EXPECT_EQ(stats.count("/echo", 200), 5u);
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connections_open, 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(
      client.WriteRaw("GET /echo?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /echo?a=2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->body().find("\"a\":\"1\""), std::string::npos);
  EXPECT_NE(second->body().find("\"a\":\"2\""), std::string::npos);
}

TEST_F(HttpServerTest, HeaderTooLargeIs431AndCloses) {
  HttpServerOptions options;
  options.max_header = 1024;
  StartServer(options);
  Client client(port_);
  auto res = client.Send(http::verb::get, "/echo", {}, {{"X-Big", std::string(4096, 'a')}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 431u);
  EXPECT_EQ(res->body(), R"({"error":"request header fields too large"})");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, BodyTooLargeIs413AndCloses) {
  HttpServerOptions options;
  options.max_body = 100;
  StartServer(options);
  Client client(port_);
  auto res = client.Send(http::verb::post, "/echo", std::string(101, 'x'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
  EXPECT_EQ(res->body(), R"({"error":"Request Entity Too Large"})");
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(server_->stats().count("/echo", 413), 1u);
  // Exactly the limit passes.
  auto ok = Fetch(port_, http::verb::post, "/echo", std::string(100, 'x'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200u);
}

TEST_F(HttpServerTest, ChunkedBodyTooLargeIs413) {
  HttpServerOptions options;
  options.max_body = 100;
  StartServer(options);
  Client client(port_);
  ASSERT_FALSE(client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "40\r\n" +
      std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'b') + "\r\n0\r\n\r\n"));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
}

TEST_F(HttpServerTest, SlowlorisHeaderIsCutOffByReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  Client client(port_);
  // Half a header, then nothing.
  ASSERT_FALSE(client.WriteRaw("GET /echo HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, SlowlorisBodyIsCutOffByReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  StartServer(options);
  Client client(port_);
  ASSERT_FALSE(
      client.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(server_->stats().count("/echo", 200), 0u);
}

TEST_F(HttpServerTest, TricklingClientIsCutOffAlthoughEveryByteIsTimely) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(10'000);
  StartServer(options);
  Client client(port_);
  // 200 bytes at one per 20 ms would take 4 s; the whole request must arrive in 300 ms.
  const std::string request = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(160, 'p');
  bool write_failed = false;
  for (const char c : request) {
    if (client.WriteRaw(std::string_view(&c, 1))) {
      write_failed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing, not syncing
  }
  EXPECT_TRUE(write_failed || client.WaitClosed());
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  StartServer(options);
  Client client(port_);
  ASSERT_TRUE(client.Send(http::verb::get, "/echo"));
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  HttpServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  Client a(port_);
  Client b(port_);
  ASSERT_TRUE(a.Send(http::verb::get, "/echo"));
  ASSERT_TRUE(b.Send(http::verb::get, "/echo"));
  Client c(port_);
  auto refused = c.Send(http::verb::get, "/echo");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result_int(), 503u);
  EXPECT_EQ(refused->body(), R"({"error":"too many open connections"})");
  EXPECT_TRUE(c.WaitClosed());
  // The admitted connections still work.
  auto still = a.Send(http::verb::get, "/echo");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->result_int(), 200u);
  const HttpStatsSnapshot stats = server_->stats();
  EXPECT_EQ(stats.connections_rejected, 1u);
  EXPECT_EQ(stats.connections_open, 2u);
}

TEST_F(HttpServerTest, ExpectContinueGets100ThenTheAnswer) {
  StartServer();
  Client client(port_);
  ASSERT_FALSE(client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100u);
  ASSERT_FALSE(client.WriteRaw("hello"));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200u);
  EXPECT_NE(res->body().find("\"body\":\"hello\""), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueWithTooLargeBodyIs413WithoutContinue) {
  HttpServerOptions options;
  options.max_body = 10;
  StartServer(options);
  Client client(port_);
  ASSERT_FALSE(client.WriteRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
}

TEST_F(HttpServerTest, GarbageIs400AndCloses) {
  StartServer();
  Client client(port_);
  static constexpr char kGarbage[] = "\x16\x03\x01\x02\x00 garbage\r\n\r\n";  // TLS-ish bytes
  ASSERT_FALSE(client.WriteRaw(std::string_view(kGarbage, sizeof(kGarbage) - 1)));
  auto res = client.Read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_EQ(Str((*res)[http::field::content_type]), "application/json");
  EXPECT_EQ(res->body().rfind("{\"error\":\"malformed HTTP request: ", 0), 0u) << res->body();
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, BadVersionAndBadContentLengthAre400) {
  StartServer();
  for (const std::string raw :
       {"GET /echo HTTP/9.9\r\n\r\n", "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /echo HTTP/1.1\r\nBad Header Name: x\r\n\r\n"}) {
    Client client(port_);
    ASSERT_FALSE(client.WriteRaw(raw));
    auto res = client.Read();
    ASSERT_TRUE(res) << raw;
    EXPECT_EQ(res->result_int(), 400u) << raw;
  }
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  StartServer();
  auto res = Fetch(port_, http::verb::get, "/throw");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 500u);
  EXPECT_EQ(res->body(), R"({"error":"internal error: boom"})");
}

TEST_F(HttpServerTest, ConcurrentClients) {
  HttpServerOptions options;
  options.threads = 4;
  StartServer(options);
  constexpr int kClients = 8;
  constexpr int kRequests = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client client(port_);
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto res = client.Send(http::verb::post, "/echo", body);
        if (res && res->result_int() == 200 &&
            res->body().find("\"body\":\"" + body + "\"") != std::string::npos) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(server_->stats().count("/echo", 200), static_cast<std::uint64_t>(kClients * kRequests));
}

TEST_F(HttpServerTest, AuthGuardsRoutesByRole) {
  Auth auth(AuthOptions{
      true, {{"reader", "r-secret", Role::kRead}, {"writer", "w-secret", Role::kWrite}}});
  StartServer({}, &auth);
  auto none = Fetch(port_, http::verb::get, "/secret");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->result_int(), 401u);
  EXPECT_EQ(Str((*none)[http::field::www_authenticate]), "Basic realm=\"tidewatch\"");
  EXPECT_EQ(none->body(), R"({"error":"unable to parse authentication credentials"})");
  auto wrong = Fetch(port_, http::verb::get, "/secret", {}, {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->result_int(), 401u);
  EXPECT_EQ(wrong->body(), R"({"error":"authorization failed"})");
  auto reader =
      Fetch(port_, http::verb::get, "/secret", {}, {{"Authorization", "Bearer r-secret"}});
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->result_int(), 403u);
  auto writer = Fetch(port_, http::verb::get, "/secret?u=writer&p=w-secret");
  ASSERT_TRUE(writer);
  EXPECT_EQ(writer->result_int(), 200u);
  auto open = Fetch(port_, http::verb::get, "/echo");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->result_int(), 200u);
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsAndIsIdempotent) {
  StartServer();
  Client idle(port_);
  ASSERT_TRUE(idle.Send(http::verb::get, "/echo"));
  server_->Stop();
  EXPECT_TRUE(idle.WaitClosed());
  server_->Stop();
  Client late(port_);
  EXPECT_FALSE(late.connected() && late.Send(http::verb::get, "/echo").has_value());
}

TEST(HttpTextTest, PercentDecodingAndQueries) {
  using internal::ParseQuery;
  using internal::PercentDecode;
  EXPECT_EQ(PercentDecode("a%20b%2fc+d", false), "a b/c+d");
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("100%", true), "100%");
  EXPECT_EQ(PercentDecode("%zz%4", true), "%zz%4");
  EXPECT_EQ(PercentDecode("%00x", true), std::string("\0x", 2));
  const auto q = ParseQuery("db=my%20db&q=SELECT+*+FROM+%22cpu%22&flag&=skipped&db=last&&e=");
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.at("db"), "last");
  EXPECT_EQ(q.at("q"), "SELECT * FROM \"cpu\"");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("e"), "");
}

TEST(HttpTextTest, JsonErrorEscapesAndRepairsUtf8) {
  const auto JsonError = [](std::string_view m) { return RenderError(m); };
  EXPECT_EQ(JsonError("a \"q\" \\ b"), R"({"error":"a \"q\" \\ b"})");
  EXPECT_EQ(JsonError("l1\nl2\t\x01\x7f"), "{\"error\":\"l1\\nl2\\t\\u0001\x7f\"}");
  EXPECT_EQ(JsonError("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "{\"error\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
  // Truncated, overlong, surrogate and stray continuation bytes become U+FFFD each.
  EXPECT_EQ(JsonError("\xc3"), "{\"error\":\"\xef\xbf\xbd\"}");
  EXPECT_EQ(JsonError("\xc0\xaf"), "{\"error\":\"\xef\xbf\xbd\xef\xbf\xbd\"}");
  EXPECT_EQ(JsonError("\xed\xa0\x80"), "{\"error\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
  EXPECT_EQ(JsonError("\x80x"), "{\"error\":\"\xef\xbf\xbdx\"}");
}

TEST(HttpServerStartTest, RejectsBadHostAndBusyPort) {
  HttpServerOptions bad;
  bad.host = "not-an-address";
  bad.port = 0;
  HttpServer a(bad);
  EXPECT_EQ(a.Start().code(), StatusCode::kInvalidArgument);

  HttpServerOptions first;
  first.port = 0;
  HttpServer b(first);
  ASSERT_TRUE(b.Start().ok());
  HttpServerOptions second;
  second.port = b.port();
  HttpServer c(second);
  EXPECT_EQ(c.Start().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tidewatch::daemon

namespace tidewatch::daemon {
namespace {

Role ReadForGetElseWrite(std::string_view method) {
  return method == "GET" || method == "HEAD" ? Role::kRead : Role::kWrite;
}

// Answers which route served the request, and the path it saw.
HttpServer::Handler Named(std::string name) {
  return [name](const Request& r) { return Response::Json(200, name + " " + r.path); };
}

TEST(HttpServerPrefixTest, ExactRouteThenLongestPrefixWithRolePerMethod) {
  Auth auth(AuthOptions{
      true, {{"reader", "r-secret", Role::kRead}, {"writer", "w-secret", Role::kWrite}}});
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(options, &auth);
  server.HandlePrefix("/api/items", {"GET", "POST"}, ReadForGetElseWrite, Named("items"));
  server.HandlePrefix("/api/items/deep", {"GET"}, ReadForGetElseWrite, Named("deep"));
  server.Handle("/api/items/special", {"GET"}, Role::kNone, Named("special"));
  EXPECT_THROW(server.HandlePrefix("/api/items", {"GET"}, ReadForGetElseWrite, Named("x")),
               std::logic_error);
  EXPECT_THROW(server.HandlePrefix("/api/", {"GET"}, ReadForGetElseWrite, Named("x")),
               std::logic_error);
  EXPECT_THROW(server.HandlePrefix("api", {"GET"}, ReadForGetElseWrite, Named("x")),
               std::logic_error);
  ASSERT_TRUE(server.Start().ok());
  const test_http::Headers reader = {{"Authorization", "Bearer r-secret"}};
  const test_http::Headers writer = {{"Authorization", "Bearer w-secret"}};
  const auto Get = [&](std::string_view target, const test_http::Headers& headers,
                       http::verb verb = http::verb::get) {
    auto res = Fetch(server.port(), verb, target, {}, headers);
    return res ? std::to_string(res->result_int()) + " " + res->body() : std::string("none");
  };
  EXPECT_EQ(Get("/api/items", reader), "200 items /api/items");
  EXPECT_EQ(Get("/api/items/a/b?x=1", reader), "200 items /api/items/a/b");
  EXPECT_EQ(Get("/api/items/", reader), "200 items /api/items/");
  EXPECT_EQ(Get("/api/items/deep", reader), "200 deep /api/items/deep");
  EXPECT_EQ(Get("/api/items/deep/1", reader), "200 deep /api/items/deep/1");
  EXPECT_EQ(Get("/api/items/deeper", reader), "200 items /api/items/deeper");
  EXPECT_EQ(Get("/api/items/special", {}), "200 special /api/items/special");
  EXPECT_EQ(Get("/api/items/special/x", reader), "200 items /api/items/special/x");
  EXPECT_EQ(Get("/api/itemsx", reader), R"(404 {"error":"not found"})");
  EXPECT_EQ(Get("/api", reader), R"(404 {"error":"not found"})");
  // The role depends on the method: GET (and HEAD) read, POST write.
  EXPECT_EQ(Get("/api/items/a", {}).substr(0, 3), "401");
  EXPECT_EQ(Get("/api/items/a", reader, http::verb::post).substr(0, 3), "403");
  EXPECT_EQ(Get("/api/items/a", writer, http::verb::post), "200 items /api/items/a");
  EXPECT_EQ(Get("/api/items/a", reader, http::verb::head), "200 ");
  auto put = Fetch(server.port(), http::verb::put, "/api/items/a", {}, writer);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->result_int(), 405u);
  EXPECT_EQ(Str((*put)[http::field::allow]), "GET, POST, HEAD");
  const HttpStatsSnapshot stats = server.stats();
  EXPECT_EQ(stats.count("/api/items", 200), 7u);
  EXPECT_EQ(stats.count("/api/items/deep", 200), 2u);
  EXPECT_EQ(stats.count("other", 404), 2u);
  server.Stop();
}

}  // namespace
}  // namespace tidewatch::daemon
