// Pieces shared by the JSON APIs over the rule engine (daemon/rules_api.h,
// daemon/alerts_api.h): role per method, error mapping, request bodies read member by
// member with every mistake named, times as RFC 3339.
//
// Thread safety: pure functions; a JsonFields is a plain value used by one thread.
#ifndef TIDEWATCH_DAEMON_INTERNAL_API_JSON_H_
#define TIDEWATCH_DAEMON_INTERNAL_API_JSON_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/auth.h"
#include "daemon/http_server.h"
#include "store/status.h"
#include "store/types.h"

namespace tidewatch::daemon::internal {

using Json = nlohmann::json;

// GET and HEAD need the read role, every other method write.
Role ReadForGetElseWrite(std::string_view method);

// `value` as the body (invalid UTF-8 in strings replaced by U+FFFD, never a throw).
Response JsonResponse(int status, const Json& value);

// An error Status as a response: kNotFound 404, kInvalidArgument 400, others 500.
Response StatusResponse(const Status& status);

// 405 naming the methods `path` allows.
Response MethodNotAllowed(std::initializer_list<std::string_view> allowed);

bool IsGet(const Request& request);  // GET or HEAD

// The body as a JSON object; kInvalidArgument saying where it is malformed, or that it
// is not an object.
StatusOr<Json> ParseJsonObject(std::string_view body);

// Reads the members of a JSON object. Every accessor notes its first mistake (wrong
// type, missing required member); status() then reports it, or else a member nobody
// asked for, so a typo in a member name is an error rather than silently ignored.
class JsonFields {
 public:
  explicit JsonFields(const Json& object) : object_(object) {}

  // nullopt when absent (or of the wrong type, which is noted).
  std::optional<std::string> OptionalString(std::string_view name);
  std::optional<bool> OptionalBool(std::string_view name);
  // As above; an absent member is noted as missing.
  std::string String(std::string_view name);
  bool Bool(std::string_view name);

  // OK, or kInvalidArgument: the first mistake noted, else the first unknown member.
  Status status() const;

 private:
  const Json* Find(std::string_view name, bool required);
  void Note(std::string message);

  const Json& object_;
  std::set<std::string, std::less<>> asked_;
  std::optional<std::string> error_;
};

// Nanoseconds since the epoch as RFC 3339 ("2026-11-21T13:00:05.25Z").
std::string Rfc3339(store::Timestamp ns);
// The same, or null.
Json Rfc3339OrNull(std::optional<store::Timestamp> ns);
// A double, or null when it is absent or not finite (JSON has no NaN).
Json NumberOrNull(std::optional<double> value);

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_API_JSON_H_
