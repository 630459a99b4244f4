// Shared by the /api/v1/rules and /api/v1/alerts tests: a real RuleEngine over a real
// store and SQLite catalog (tests/rules/rule_engine_test_util.h) behind a real
// HttpServer on 127.0.0.1 with both APIs routed, and a client call that answers the
// status with the body parsed as JSON.
#ifndef TIDEWATCH_TESTS_DAEMON_RULES_API_TEST_UTIL_H_
#define TIDEWATCH_TESTS_DAEMON_RULES_API_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/alerts_api.h"
#include "daemon/auth.h"
#include "daemon/http_server.h"
#include "daemon/rules_api.h"
#include "store/rfc3339.h"
#include "tests/daemon/http_test_client.h"
#include "tests/daemon/json_api_client.h"
#include "tests/rules/rule_engine_test_util.h"

namespace tidewatch::daemon::api_test {

using Json = nlohmann::json;
namespace http = boost::beast::http;
using rules::engine_test::kT0;
using rules::engine_test::S;

constexpr std::size_t kMaxBody = 64u << 10;
// The instance key of the fixture's sensors.
inline std::string Key(const std::string& sensor) { return "sensor=" + sensor + ",site=site1"; }

class ApiTest : public ::testing::Test {
 protected:
  void StartServer(const Auth* auth = nullptr) {
    HttpServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_body = kMaxBody;
    server_ = std::make_unique<HttpServer>(options, auth);
    AddRulesApi(
        *server_, engine(),
        [this](const std::vector<std::string>& channels, const std::function<void()>& change) {
          for (const std::string& channel : channels) {
            if (!channels_.contains(channel)) {
              return Status(StatusCode::kNotFound, "no channel named \"" + channel + "\"");
            }
          }
          change();
          return Status::Ok();
        });
    AlertsApiOptions alerts;
    alerts.clock = [this] { return fixture_.now(); };
    AddAlertsApi(*server_, engine(), alerts);
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  Answer Call(http::verb method, std::string_view target, std::string body = {},
              const test_http::Headers& headers = {}) {
    return FetchJson(server_->port(), method, target, std::move(body), headers);
  }
  Answer Get(std::string_view target, const test_http::Headers& headers = {}) {
    return Call(http::verb::get, target, {}, headers);
  }
  Answer Post(std::string_view target, std::string body, const test_http::Headers& headers = {}) {
    return Call(http::verb::post, target, std::move(body), headers);
  }

  rules::RuleEngine& engine() { return fixture_.engine(); }

  // "high-pressure": pressure > 8 (reset 7.5), immediate.
  static std::string PressureJson(const std::string& name = "high-pressure", double trip = 8) {
    return R"({"name": ")" + name + R"(", "db": "plant", "query": "SELECT value FROM pressure",
        "condition": ">", "severity": "critical", "trip": )" +
           std::to_string(trip) + R"(, "reset": 7.5})";
  }

  rules::engine_test::EngineFixture fixture_;
  std::set<std::string, std::less<>> channels_{"ops"};  // the channels that exist
  std::unique_ptr<HttpServer> server_;
};

inline std::string Rfc3339(store::Timestamp ns) { return store::FormatRfc3339(ns); }

}  // namespace tidewatch::daemon::api_test

#endif  // TIDEWATCH_TESTS_DAEMON_RULES_API_TEST_UTIL_H_
