// /api/v1/channels end to end: real sockets, a real Notifier (started, its worker
// running) over a real SQLite catalog file. Channels point at 127.0.0.1:1, where nobody
// listens, unless a test needs a receiver.
#include "daemon/channels_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/auth.h"
#include "daemon/channel_config.h"
#include "daemon/http_server.h"
#include "daemon/query_json.h"
#include "store/rfc3339.h"
// GCC 12 with sanitizers at -O2 reports a false -Wmaybe-uninitialized inside Beast's
// parser (boost::optional's storage); silenced for the test client's headers only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "tests/daemon/json_api_client.h"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include "tests/rules/catalog_test_util.h"
#include "tests/sinks/test_receiver.h"

namespace tidewatch::daemon {
namespace {

using Json = nlohmann::json;
namespace http = boost::beast::http;
using api_test::Answer;
using api_test::ErrorOf;
using rules::catalog_test::MustOpen;
using rules::catalog_test::TempDir;

constexpr std::string_view kChannels = "/api/v1/channels";
constexpr std::string_view kNowhere = "http://127.0.0.1:1/hook";


// A webhook channel's body; `extra` is spliced in as more members (",\"rate\":5").
std::string Hook(const std::string& name, const std::string& extra = "") {
  return R"({"name":")" + name + R"(","kind":"webhook","url":")" + std::string(kNowhere) + "\"" +
         extra + "}";
}

ChannelConfig ConfigHook(const std::string& name) {
  ChannelConfig c;
  c.name = name;
  c.url = std::string(kNowhere);
  return c;
}

bool IsRfc3339(const Json& v) {
  return v.is_string() && store::ParseRfc3339(v.get<std::string>()).has_value();
}

// Polls `done` until it holds or 10 s pass.
bool Eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

class ChannelsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MustOpen(dir_.File("catalog.db"));
    ASSERT_NE(catalog_, nullptr);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (notifier_) notifier_->Stop();
  }

  void Start(std::vector<ChannelConfig> config_channels = {}, const Auth* auth = nullptr) {
    NotifierOptions options;
    options.config_channels = std::move(config_channels);
    options.rules_naming = [this](std::string_view channel) {
      const auto it = rules_naming_.find(channel);
      return it == rules_naming_.end() ? std::vector<std::string>{} : it->second;
    };
    options.worker.poll_interval = std::chrono::milliseconds(20);
    options.housekeeping_interval = std::chrono::milliseconds(20);
    notifier_ = std::make_unique<Notifier>(*catalog_, std::move(options));
    const Status notifier_started = notifier_->Start();
    ASSERT_TRUE(notifier_started.ok()) << notifier_started.ToString();
    HttpServerOptions http_options;
    http_options.port = 0;
    http_options.threads = 2;
    http_options.max_body = 1u << 20;  // above the API's own limit, which the test checks
    server_ = std::make_unique<HttpServer>(http_options, auth);
    AddChannelsApi(*server_, *notifier_);
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  // Stops both and starts them again over a freshly opened catalog of the same file.
  void Restart(std::vector<ChannelConfig> config_channels = {}) {
    server_->Stop();
    notifier_->Stop();
    server_.reset();
    notifier_.reset();
    catalog_.reset();
    catalog_ = MustOpen(dir_.File("catalog.db"));
    ASSERT_NE(catalog_, nullptr);
    Start(std::move(config_channels));
  }

  Answer Call(http::verb method, std::string_view target, std::string body = {},
              const test_http::Headers& headers = {}) {
    return api_test::FetchJson(server_->port(), method, target, std::move(body), headers);
  }
  Answer Get(std::string_view target, const test_http::Headers& headers = {}) {
    return Call(http::verb::get, target, {}, headers);
  }
  Answer Post(std::string body, const test_http::Headers& headers = {}) {
    return Call(http::verb::post, kChannels, std::move(body), headers);
  }
  Answer Put(const std::string& name, std::string body) {
    return Call(http::verb::put, Path(name), std::move(body));
  }
  Answer Delete(const std::string& name, const test_http::Headers& headers = {}) {
    return Call(http::verb::delete_, Path(name), {}, headers);
  }
  static std::string Path(const std::string& name) { return std::string(kChannels) + "/" + name; }

  TempDir dir_;
  // What the notifier is told about the rules that send to a channel; set before Start().
  std::map<std::string, std::vector<std::string>, std::less<>> rules_naming_;
  std::unique_ptr<rules::Catalog> catalog_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ChannelsApiTest, CreateGetListDelete) {
  Start({ConfigHook("pager")});
  const Answer created = Post(Hook("ops", R"(,"rate":5,"headers":{"X-Team":"ops"})"));
  ASSERT_EQ(created.status, 201u) << created.body;
  const Json& channel = created.body;
  // The canonical form with secrets redacted, plus source, times and stats.
  const Json canonical = Json::parse(
      RedactChannelJson(*ParseChannelJson(Hook("ops", R"(,"rate":5,"headers":{"X-Team":"ops"})"))));
  for (const auto& [key, value] : canonical.items()) EXPECT_EQ(channel[key], value) << key;
  EXPECT_EQ(channel.size(), canonical.size() + 4) << channel;
  EXPECT_EQ(channel["rate"], 5.0);
  EXPECT_EQ(channel["headers"]["X-Team"], "ops");
  EXPECT_EQ(channel["source"], "api");
  EXPECT_TRUE(IsRfc3339(channel["created_at"])) << channel["created_at"];
  EXPECT_TRUE(IsRfc3339(channel["updated_at"])) << channel["updated_at"];
  EXPECT_EQ(channel["stats"], Json::parse(R"({"delivered":0,"delivered_via_fallback":0,
      "retries":0,"dead":0,"permanent_failures":0,"in_flight":0,"breaker":"closed",
      "last_error":""})"));

  ASSERT_EQ(Post(Hook("alpha")).status, 201u);
  const Answer list = Get(kChannels);
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.body["channels"].size(), 3u) << list.body;
  EXPECT_EQ(list.body["channels"][0]["name"], "alpha");  // by name
  EXPECT_EQ(list.body["channels"][1]["name"], "ops");
  EXPECT_EQ(list.body["channels"][2]["name"], "pager");
  EXPECT_EQ(list.body["channels"][2]["source"], "config");
  EXPECT_EQ(list.body["channels"][1]["created_at"], channel["created_at"]);

  const Answer one = Get(Path("ops"));
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.body["url"], "http://127.0.0.1:1/<redacted>");  // a token may be in the path
  EXPECT_EQ(one.body["created_at"], channel["created_at"]);
  const Answer head = Call(http::verb::head, Path("ops"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.is_null());

  const Answer deleted = Delete("ops");
  EXPECT_EQ(deleted.status, 204u);
  EXPECT_TRUE(deleted.body.is_null());
  EXPECT_FALSE(catalog_->GetChannel("ops").ok());
  const Answer gone = Get(Path("ops"));
  EXPECT_EQ(gone.status, 404u);
  EXPECT_EQ(ErrorOf(gone), "no channel named \"ops\"");
  EXPECT_EQ(Delete("ops").status, 404u);
  EXPECT_EQ(Get(kChannels).body["channels"].size(), 2u);
}

TEST_F(ChannelsApiTest, CreateRefusesBadBodiesWithTheReadersMessage) {
  Start();
  constexpr char kWithNul[] = "{\"name\":\"a\0b\",\"kind\":\"webhook\"}";
  const std::vector<std::string> bad = {
      "",
      "{",
      "[]",
      "null",
      "42",
      R"("webhook")",
      R"([{"name":"a","kind":"webhook","url":"http://127.0.0.1:1/"}])",
      R"({"name":"a"})",
      R"({"kind":"webhook","url":"http://127.0.0.1:1/"})",
      Hook("bad name!"),
      Hook(std::string(65, 'n')),
      R"({"name":"a","kind":"pigeon","url":"http://127.0.0.1:1/"})",
      R"({"name":"a","kind":"webhook","url":"ftp://127.0.0.1/"})",
      R"({"name":"a","kind":"webhook"})",
      Hook("a", R"(,"rate":"fast")"),
      Hook("a", R"(,"rate":-1)"),
      Hook("a", R"(,"max_concurrency":0)"),
      Hook("a", R"(,"max_concurrency":1e999)"),
      Hook("a", R"(,"request_timeout":"soon")"),
      Hook("a", R"(,"request_timeout":10)"),
      Hook("a", R"(,"insecure_skip_verify":"yes")"),
      Hook("a", R"(,"no_such_key":1)"),
      Hook("a", R"(,"topic":"alerts")"),  // a kafka key on a webhook
      Hook("a", R"(,"fallback":"a")"),    // itself
      Hook("a", R"(,"headers":["X-A: 1"])"),
      Hook("a", R"(,"headers":{"X-A":["v"]})"),
      Hook("a", R"(,"headers":{"X-A":"v\r\nInjected: yes"})"),
      Hook("a", R"(,"headers":{"X-A":"v\nInjected: yes"})"),
      Hook("a", R"(,"headers":{"Bad Header":"v"})"),
      Hook("a", R"(,"headers":{"X-A\r\nInjected":"v"})"),
      Hook("a", R"(,"headers":{"":"v"})"),
      Hook("a", R"(,"name":"b")"),  // a duplicate member
      Hook("a", R"(,"headers":{"a":{"b":{"c":{"d":1}}}})"),
      std::string(10'000, '['),
      std::string(30'000, '{'),
      "{\"name\":\"\xff\xfe\",\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:1/\"}",
      std::string(kWithNul, sizeof(kWithNul) - 1),
      Hook("a", ",\"body_template\":\"" + std::string(60'000, 'x') + "\""),
  };
  for (const std::string& body : bad) {
    const StatusOr<ChannelConfig> parsed = ParseChannelJson(body);
    ASSERT_FALSE(parsed.ok()) << body.substr(0, 80);
    const Answer a = Post(body);
    EXPECT_EQ(a.status, 400u) << body.substr(0, 80);
    // As the server sends it: invalid UTF-8 replaced.
    EXPECT_EQ(ErrorOf(a), Json::parse(RenderError(parsed.status().message()))["error"])
        << body.substr(0, 80);
  }
  EXPECT_EQ(Get(kChannels).body["channels"].size(), 0u);

  // The set's check: a fallback must name a channel.
  const Answer orphan = Post(Hook("a", R"(,"fallback":"sms")"));
  EXPECT_EQ(orphan.status, 400u);
  EXPECT_NE(ErrorOf(orphan).find("fallback: no channel named \"sms\""), std::string::npos)
      << ErrorOf(orphan);
  // Well-formed but not buildable: refused with the emitter's reason, nothing stored.
  const Answer no_ca = Post(Hook("a", R"(,"ca_file":"/nonexistent/ca.pem")"));
  EXPECT_EQ(no_ca.status, 400u);
  EXPECT_NE(ErrorOf(no_ca).find("cannot be built: cannot load CA file /nonexistent/ca.pem"),
            std::string::npos)
      << ErrorOf(no_ca);
  const Answer bad_property = Post(R"({"name":"k","kind":"kafka","brokers":"127.0.0.1:1",
      "topic":"alerts","properties":{"no.such.property":"1"}})");
  EXPECT_EQ(bad_property.status, 400u);
  EXPECT_NE(ErrorOf(bad_property).find("cannot be built: "), std::string::npos)
      << ErrorOf(bad_property);
  EXPECT_NE(ErrorOf(bad_property).find("no.such.property"), std::string::npos)
      << ErrorOf(bad_property);
  // Over 64 KiB: refused by the API (the server would take up to 1 MiB), before parsing.
  const Answer huge = Post(Hook("a", ",\"body_template\":\"" + std::string(70'000, 'x') + "\""));
  EXPECT_EQ(huge.status, 413u);
  EXPECT_EQ(Call(http::verb::put, Path("a"), std::string(kMaxChannelBody + 1, ' ')).status, 413u);
  EXPECT_EQ(Get(kChannels).body["channels"].size(), 0u);
  // A hostile body left the server serving.
  EXPECT_EQ(Post(Hook("a")).status, 201u);
}

TEST_F(ChannelsApiTest, CreateOfAnExistingNameIs409) {
  Start({ConfigHook("pager")});
  ASSERT_EQ(Post(Hook("ops")).status, 201u);
  const Answer again = Post(Hook("ops", R"(,"rate":9)"));
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(ErrorOf(again), "channel \"ops\" already exists");
  EXPECT_EQ(Get(Path("ops")).body["rate"], 0.0);
  const Answer config = Post(Hook("pager"));
  EXPECT_EQ(config.status, 409u);
  EXPECT_EQ(Get(Path("pager")).body["source"], "config");
}

TEST_F(ChannelsApiTest, RacingCreatesOfOneNameHaveOneWinner) {
  Start();
  constexpr std::size_t kClients = 6;
  std::vector<Answer> answers(kClients);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.emplace_back(
        [&, i] { answers[i] = Post(Hook("ops", R"(,"rate":)" + std::to_string(i + 1))); });
  }
  for (std::thread& client : clients) client.join();
  int created = 0;
  double winner_rate = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    if (answers[i].status == 201u) {
      ++created;
      winner_rate = static_cast<double>(i + 1);
    } else {
      EXPECT_EQ(answers[i].status, 409u) << answers[i].body;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(Get(Path("ops")).body["rate"], winner_rate);
}

TEST_F(ChannelsApiTest, PutCreatesAndReplaces) {
  Start();
  const Answer created = Put("ops", Hook("ops"));
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(created.body["source"], "api");
  const Answer replaced = Put("ops", Hook("ops", R"(,"rate":7)"));
  ASSERT_EQ(replaced.status, 200u) << replaced.body;
  EXPECT_EQ(replaced.body["rate"], 7.0);
  EXPECT_EQ(replaced.body["created_at"], created.body["created_at"]);
  EXPECT_EQ(Get(Path("ops")).body["rate"], 7.0);
  // The stored row is the new one.
  StatusOr<rules::ChannelRecord> row = catalog_->GetChannel("ops");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(ParseChannelJson(row->config)->rate, 7);

  // An alertmanager now, the name from the path.
  const Answer am = Put("ops", R"({"kind":"alertmanager","url":"http://127.0.0.1:1",
                                   "resend_interval":"30s"})");
  ASSERT_EQ(am.status, 200u) << am.body;
  EXPECT_EQ(am.body["name"], "ops");
  EXPECT_EQ(am.body["kind"], "alertmanager");
  EXPECT_EQ(am.body["resend_interval"], "30s");
  EXPECT_FALSE(am.body.contains("body_template"));
  const Answer named = Put("named", R"( {} )");
  EXPECT_EQ(named.status, 400u);
  EXPECT_EQ(ErrorOf(named), ParseChannelJson(R"({"name":"named"})").status().message());

  const Answer renamed = Put("ops", Hook("other"));
  EXPECT_EQ(renamed.status, 400u);
  EXPECT_EQ(ErrorOf(renamed), "name: \"other\" does not match the channel in the path, \"ops\"");
  const Answer bad = Put("ops", "{\"name\":");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(ErrorOf(bad), ParseChannelJson("{\"name\":").status().message());
  const Answer bad_name = Put("bad%20name", R"({"kind":"webhook","url":"http://127.0.0.1:1/"})");
  EXPECT_EQ(bad_name.status, 400u);
  EXPECT_EQ(Put("x", "[]").status, 400u);
  // Deep but well-formed: the path's name is not spliced into what is not an object.
  EXPECT_EQ(Put("x", std::string(20'000, '[') + std::string(20'000, ']')).status, 400u);
  std::string deep_object;
  for (int i = 0; i < 5'000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(5'000, '}');
  EXPECT_EQ(Put("x", deep_object).status, 400u);
  EXPECT_EQ(Get(Path("ops")).body["kind"], "alertmanager");
  EXPECT_EQ(Get(kChannels).body["channels"].size(), 1u);
}

TEST_F(ChannelsApiTest, SecretsAreRedactedAndRefusedWhenSentBackRedacted) {
  Start();
  const std::string secret = "Bearer s3cret-value";
  const Answer created =
      Post(Hook("ops", R"(,"headers":{"Authorization":")" + secret + R"(","X-Team":"ops"})"));
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(created.body["headers"]["Authorization"], "<redacted>");
  EXPECT_EQ(created.body["headers"]["X-Team"], "ops");
  for (const Answer& a : {created, Get(Path("ops")), Get(kChannels)}) {
    EXPECT_EQ(a.body.dump().find("s3cret"), std::string::npos) << a.body;
  }
  EXPECT_EQ(notifier_->Get("ops")->config.headers.at("Authorization"), secret);

  // GET, edit, PUT back with the placeholder: refused, the secret stays.
  Json edited = Get(Path("ops")).body;
  for (const char* key : {"source", "created_at", "updated_at", "stats"}) edited.erase(key);
  edited["rate"] = 3;
  edited["url"] = std::string(kNowhere);  // shown as scheme://host:port/<redacted>
  const Answer put = Put("ops", edited.dump());
  EXPECT_EQ(put.status, 400u) << put.body;
  EXPECT_EQ(ErrorOf(put),
            "headers: \"Authorization\" holds \"<redacted>\": send the real value");
  EXPECT_EQ(notifier_->Get("ops")->config.headers.at("Authorization"), secret);
  // With the real value it is stored.
  edited["headers"]["Authorization"] = "Bearer other";
  const Answer replaced = Put("ops", edited.dump());
  ASSERT_EQ(replaced.status, 200u) << replaced.body;
  EXPECT_EQ(replaced.body["rate"], 3.0);
  EXPECT_EQ(notifier_->Get("ops")->config.headers.at("Authorization"), "Bearer other");
}

TEST_F(ChannelsApiTest, ConfigChannelsAreReadOnly) {
  Start({ConfigHook("pager")});
  const Answer got = Get(Path("pager"));
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(got.body["source"], "config");
  const std::string managed = "channel \"pager\" is managed by the config file";
  const Answer put = Put("pager", Hook("pager", R"(,"rate":9)"));
  EXPECT_EQ(put.status, 409u);
  EXPECT_EQ(ErrorOf(put), managed);
  const Answer deleted = Delete("pager");
  EXPECT_EQ(deleted.status, 409u);
  EXPECT_EQ(ErrorOf(deleted), managed);
  const Answer got_again = Get(Path("pager"));
  EXPECT_EQ(got_again.body["rate"], got.body["rate"]);
  EXPECT_EQ(got_again.body["updated_at"], got.body["updated_at"]);
}

TEST_F(ChannelsApiTest, AFallbackCannotBeDeletedWhileNamed) {
  Start({ConfigHook("pager")});
  ASSERT_EQ(Post(Hook("backup")).status, 201u);
  ASSERT_EQ(Post(Hook("primary", R"(,"fallback":"backup")")).status, 201u);
  // An API channel may fall back on a config channel, and blocks nothing there.
  ASSERT_EQ(Post(Hook("third", R"(,"fallback":"pager")")).status, 201u);
  const Answer blocked = Delete("backup");
  EXPECT_EQ(blocked.status, 409u);
  EXPECT_EQ(ErrorOf(blocked), "channel \"backup\" is the fallback of channel \"primary\"");
  EXPECT_EQ(Get(Path("backup")).status, 200u);
  EXPECT_EQ(Delete("primary").status, 204u);
  EXPECT_EQ(Delete("backup").status, 204u);
  EXPECT_EQ(Get(kChannels).body["channels"].size(), 2u);
}

TEST_F(ChannelsApiTest, AChannelRulesSendToCannotBeDeleted) {
  rules_naming_["ops"] = {"high-pressure", "low-flow"};
  Start();
  ASSERT_EQ(Post(Hook("ops")).status, 201u);
  ASSERT_EQ(Post(Hook("spare")).status, 201u);
  const Answer blocked = Delete("ops");
  EXPECT_EQ(blocked.status, 409u);
  EXPECT_EQ(ErrorOf(blocked), "channel \"ops\" is used by rules: \"high-pressure\", \"low-flow\"");
  EXPECT_EQ(Get(Path("ops")).status, 200u);
  EXPECT_EQ(Delete("spare").status, 204u);
}

TEST_F(ChannelsApiTest, WrongMethodsAndPaths) {
  Start();
  ASSERT_EQ(Post(Hook("ops")).status, 201u);
  const Answer put = Call(http::verb::put, kChannels, Hook("ops"));
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.allow, "GET, HEAD, POST");
  const Answer post = Call(http::verb::post, Path("ops"), Hook("ops"));
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(Call(http::verb::patch, Path("ops")).status, 405u);  // by the server
  EXPECT_EQ(Get("/api/v1/channels/").status, 404u);
  EXPECT_EQ(Get("/api/v1/channels/ops/stats").status, 404u);
  EXPECT_EQ(Call(http::verb::delete_, "/api/v1/channels/ops/x").status, 404u);
  EXPECT_EQ(Get("/api/v1/channelsx").status, 404u);
  EXPECT_EQ(Get("/api/v1/channels/nope").status, 404u);
  EXPECT_EQ(Get(Path("ops")).status, 200u);
}

TEST_F(ChannelsApiTest, RolesByMethod) {
  Auth auth(AuthOptions{true,
                        {{"reader", "r-secret", Role::kRead},
                         {"writer", "w-secret", Role::kWrite},
                         {"root", "a-secret", Role::kAdmin}}});
  Start({}, &auth);
  const test_http::Headers reader = {{"Authorization", "Bearer r-secret"}};
  const test_http::Headers writer = {{"Authorization", "Bearer w-secret"}};
  const test_http::Headers admin = {{"Authorization", "Bearer a-secret"}};
  EXPECT_EQ(Get(kChannels).status, 401u);
  EXPECT_EQ(Get(kChannels, reader).status, 200u);
  EXPECT_EQ(Post(Hook("ops"), reader).status, 403u);
  EXPECT_EQ(Post(Hook("ops"), writer).status, 403u);
  EXPECT_EQ(Post(Hook("ops"), admin).status, 201u);
  EXPECT_EQ(Get(Path("ops"), reader).status, 200u);
  EXPECT_EQ(Call(http::verb::put, Path("ops"), Hook("ops"), writer).status, 403u);
  EXPECT_EQ(Call(http::verb::put, Path("ops"), Hook("ops"), admin).status, 200u);
  EXPECT_EQ(Delete("ops", reader).status, 403u);
  EXPECT_EQ(Delete("ops", writer).status, 403u);
  EXPECT_EQ(Delete("ops", admin).status, 204u);
}

TEST_F(ChannelsApiTest, ApiChannelsOutliveARestartAndConfigChannelsWin) {
  Start();
  const Answer created = Post(Hook("ops", R"(,"rate":4)"));
  ASSERT_EQ(created.status, 201u);
  ASSERT_EQ(Post(Hook("pager")).status, 201u);
  // "pager" is now in the config file: it replaces the API channel of that name.
  Restart({ConfigHook("pager")});
  const Answer list = Get(kChannels);
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.body["channels"].size(), 2u) << list.body;
  const Json& ops = list.body["channels"][0];
  EXPECT_EQ(ops["name"], "ops");
  EXPECT_EQ(ops["source"], "api");
  EXPECT_EQ(ops["rate"], 4.0);
  EXPECT_EQ(ops["created_at"], created.body["created_at"]);
  EXPECT_EQ(list.body["channels"][1]["source"], "config");
  EXPECT_EQ(Delete("pager").status, 409u);
  EXPECT_EQ(Delete("ops").status, 204u);
  Restart({ConfigHook("pager")});
  EXPECT_EQ(Get(Path("ops")).status, 404u);
}

TEST_F(ChannelsApiTest, StatsFollowTheDeliveries) {
  sinks::testing::TestReceiver receiver;
  Start();
  const std::string body = R"({"name":"ops","kind":"webhook","url":")" + receiver.Url("/hook") +
                           R"(","backoff_base":"10ms","backoff_cap":"50ms"})";
  ASSERT_EQ(Post(body).status, 201u);
  StatusOr<rules::RuleRecord> rule = catalog_->CreateRule({"high-pressure", "plant", "{}"});
  ASSERT_TRUE(rule.ok());
  const rules::OutboxRow row{"ops", "k-1/ops", R"({"version":1})"};
  rules::AlertInstanceRecord instance =
      rules::catalog_test::Instance(rule->id, "sensor=pt-001", "firing", 1);
  ASSERT_TRUE(
      catalog_->RecordTransition(rules::catalog_test::Transition(instance, "inactive"), {&row, 1})
          .ok());
  notifier_->Notify();
  ASSERT_TRUE(receiver.WaitForRequests(1));
  ASSERT_TRUE(Eventually([&] { return Get(Path("ops")).body["stats"]["delivered"] == 1; }));
  const Json stats = Get(kChannels).body["channels"][0]["stats"];
  EXPECT_EQ(stats["delivered"], 1);
  EXPECT_EQ(stats["dead"], 0);
  EXPECT_EQ(stats["in_flight"], 0);
  EXPECT_EQ(stats["breaker"], "closed");
}

}  // namespace
}  // namespace tidewatch::daemon
