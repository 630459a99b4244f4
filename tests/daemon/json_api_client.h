// The JSON APIs' test client: one request to 127.0.0.1 through test_http::Fetch, answered
// as its status, its Allow header and its body parsed as JSON.
#ifndef TIDEWATCH_TESTS_DAEMON_JSON_API_CLIENT_H_
#define TIDEWATCH_TESTS_DAEMON_JSON_API_CLIENT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "tests/daemon/http_test_client.h"

namespace tidewatch::daemon::api_test {

struct Answer {
  unsigned status = 0;       // 0: no answer
  nlohmann::json body;       // null for an empty body; "<not JSON>" if it did not parse
  std::string allow;
};

inline Answer FetchJson(std::uint16_t port, boost::beast::http::verb method,
                        std::string_view target, std::string body = {},
                        const test_http::Headers& headers = {}) {
  Answer answer;
  auto response = test_http::Fetch(port, method, target, std::move(body), headers);
  if (!response) return answer;
  answer.status = response->result_int();
  answer.allow = test_http::Str((*response)[boost::beast::http::field::allow]);
  if (!response->body().empty()) {
    answer.body = nlohmann::json::parse(response->body(), nullptr, false);
    if (answer.body.is_discarded()) answer.body = "<not JSON>";
  }
  return answer;
}

// The error message of an error answer, "" if it is none.
inline std::string ErrorOf(const Answer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"].is_string()
             ? a.body["error"].get<std::string>()
             : std::string();
}

}  // namespace tidewatch::daemon::api_test

#endif  // TIDEWATCH_TESTS_DAEMON_JSON_API_CLIENT_H_
