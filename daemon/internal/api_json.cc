#include "daemon/internal/api_json.h"

#include <cmath>
#include <utility>

#include "store/rfc3339.h"

namespace tidewatch::daemon::internal {

Role ReadForGetElseWrite(std::string_view method) {
  return method == "GET" || method == "HEAD" ? Role::kRead : Role::kWrite;
}

Response JsonResponse(int status, const Json& value) {
  return Response::Json(status, value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Response StatusResponse(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return Response::Error(404, status.message());
    case StatusCode::kInvalidArgument:
      return Response::Error(400, status.message());
    default:
      return Response::Error(500, status.message());
  }
}

Response MethodNotAllowed(std::initializer_list<std::string_view> allowed) {
  std::string allow;
  for (std::string_view m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
    if (m == "GET") allow += ", HEAD";
  }
  Response response = Response::Error(405, "method not allowed");
  response.headers.emplace_back("Allow", std::move(allow));
  return response;
}

bool IsGet(const Request& request) { return request.method == "GET" || request.method == "HEAD"; }

StatusOr<Json> ParseJsonObject(std::string_view body) {
  Json value;
  try {
    value = Json::parse(body);
  } catch (const Json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string_view what = e.what();
    if (const std::size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    return Status(StatusCode::kInvalidArgument, "invalid JSON body: " + std::string(what));
  }
  if (!value.is_object()) {
    return Status(StatusCode::kInvalidArgument, "the body must be a JSON object");
  }
  return value;
}

const Json* JsonFields::Find(std::string_view name, bool required) {
  asked_.emplace(name);
  const auto it = object_.find(name);
  if (it == object_.end()) {
    if (required) Note("missing member \"" + std::string(name) + "\"");
    return nullptr;
  }
  return &*it;
}

void JsonFields::Note(std::string message) {
  if (!error_) error_ = std::move(message);
}

std::optional<std::string> JsonFields::OptionalString(std::string_view name) {
  const Json* member = Find(name, false);
  if (member == nullptr) return std::nullopt;
  if (!member->is_string()) {
    Note(std::string(name) + ": must be a string");
    return std::nullopt;
  }
  return member->get<std::string>();
}

std::optional<bool> JsonFields::OptionalBool(std::string_view name) {
  const Json* member = Find(name, false);
  if (member == nullptr) return std::nullopt;
  if (!member->is_boolean()) {
    Note(std::string(name) + ": must be true or false");
    return std::nullopt;
  }
  return member->get<bool>();
}

std::string JsonFields::String(std::string_view name) {
  if (Find(name, true) == nullptr) return {};
  return OptionalString(name).value_or("");
}

bool JsonFields::Bool(std::string_view name) {
  if (Find(name, true) == nullptr) return false;
  return OptionalBool(name).value_or(false);
}

Status JsonFields::status() const {
  if (error_) return Status(StatusCode::kInvalidArgument, *error_);
  for (const auto& [key, value] : object_.items()) {
    if (asked_.count(key) == 0) {
      return Status(StatusCode::kInvalidArgument, "unknown member \"" + key + "\"");
    }
  }
  return Status::Ok();
}

std::string Rfc3339(store::Timestamp ns) { return store::FormatRfc3339(ns); }

Json Rfc3339OrNull(std::optional<store::Timestamp> ns) {
  return ns ? Json(Rfc3339(*ns)) : Json(nullptr);
}

Json NumberOrNull(std::optional<double> value) {
  return value && std::isfinite(*value) ? Json(*value) : Json(nullptr);
}

}  // namespace tidewatch::daemon::internal
