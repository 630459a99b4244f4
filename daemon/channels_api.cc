#include "daemon/channels_api.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/channel_config.h"
#include "daemon/internal/api_json.h"
#include "sinks/circuit_breaker.h"

namespace tidewatch::daemon {
namespace {

using internal::Json;
using internal::JsonResponse;
using internal::Rfc3339;
using internal::StatusResponse;

Json StatsJson(const sinks::ChannelStats& s) {
  return Json{{"delivered", s.delivered},
              {"delivered_via_fallback", s.delivered_via_fallback},
              {"retries", s.retries},
              {"dead", s.dead},
              {"permanent_failures", s.permanent_failures},
              {"in_flight", s.in_flight},
              {"breaker", sinks::BreakerStateName(s.breaker)},
              {"last_error", s.last_error}};
}

// `stats` holds the worker's channels by name; a channel it does not know shows zeros.
Json ChannelJson(const ChannelInfo& channel, const std::vector<sinks::ChannelStats>& stats) {
  Json out = Json::parse(RedactChannelJson(channel.config));
  out["source"] = ChannelSourceName(channel.source);
  out["created_at"] = Rfc3339(channel.created_at);
  out["updated_at"] = Rfc3339(channel.updated_at);
  sinks::ChannelStats zeros;
  const sinks::ChannelStats* found = &zeros;
  for (const sinks::ChannelStats& s : stats) {
    if (s.channel == channel.config.name) found = &s;
  }
  out["stats"] = StatsJson(*found);
  return out;
}

Response ChannelResponse(int status, const Notifier& notifier, const ChannelInfo& channel) {
  return JsonResponse(status, ChannelJson(channel, notifier.Stats().channels));
}

std::string Quoted(std::string_view name) { return "channel \"" + std::string(name) + "\""; }

std::string_view ActorOf(const Request& request) {
  return request.principal.empty() ? std::string_view("api") : std::string_view(request.principal);
}

// `body` with "name": <name> added when it is a JSON object without a name; else as it
// is, so that ParseChannelJson() judges the client's own text. The member is spliced in
// as text rather than re-serialised, which would hide duplicate members.
std::string WithName(std::string_view body, std::string_view name) {
  const Json parsed = Json::parse(body, nullptr, false);
  if (!parsed.is_object() || parsed.contains("name")) return std::string(body);
  const std::size_t brace = body.find('{');  // an object's first non-blank character
  std::string_view rest = body.substr(brace + 1);
  const std::size_t next = rest.find_first_not_of(" \t\r\n");
  const bool empty = next != std::string_view::npos && rest[next] == '}';
  std::string out(body.substr(0, brace + 1));
  out += "\"name\":";
  out += Json(std::string(name)).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (!empty) out += ',';
  out += rest;
  return out;
}

// The body as a channel, or the 400 answer.
std::variant<ChannelConfig, Response> ParseBody(std::string_view body) {
  StatusOr<ChannelConfig> channel = ParseChannelJson(body);
  if (!channel.ok()) return Response::Error(400, channel.status().message());
  return std::move(channel).value();
}

Response ListChannels(const Notifier& notifier) {
  const std::vector<ChannelInfo> channels = notifier.List();  // by name
  const std::vector<sinks::ChannelStats> stats = notifier.Stats().channels;
  Json list = Json::array();
  for (const ChannelInfo& channel : channels) list.push_back(ChannelJson(channel, stats));
  return JsonResponse(200, Json{{"channels", std::move(list)}});
}

// Stores `channel` (created, or replaced unless kCreateOnly); 409 for a config channel,
// and under kCreateOnly for any that exists.
Response PutChannel(Notifier& notifier, const Request& request, const ChannelConfig& channel,
                    Notifier::PutMode mode) {
  StatusOr<std::pair<ChannelInfo, bool>> put = notifier.Put(channel, mode);
  if (put.ok() && !put.value().second && mode == Notifier::PutMode::kCreateOnly) {
    return Response::Error(409, Quoted(channel.name) + " already exists");
  }
  if (!put.ok()) {
    // The notifier says kInvalidArgument for a config channel too; the source tells.
    if (notifier.ManagedByConfig(channel.name)) {
      return Response::Error(409, Quoted(channel.name) + " is managed by the config file");
    }
    return StatusResponse(put.status());
  }
  const bool created = put.value().second;
  spdlog::info("{} {} by {}", Quoted(channel.name), created ? "created" : "replaced",
               ActorOf(request));
  return ChannelResponse(created ? 201 : 200, notifier, put.value().first);
}

Response CreateChannel(Notifier& notifier, const Request& request) {
  auto parsed = ParseBody(request.body);
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  const ChannelConfig& channel = std::get<ChannelConfig>(parsed);
  return PutChannel(notifier, request, channel, Notifier::PutMode::kCreateOnly);
}

Response ReplaceChannel(Notifier& notifier, const Request& request, std::string_view name) {
  auto parsed = ParseBody(WithName(request.body, name));
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  ChannelConfig& channel = std::get<ChannelConfig>(parsed);
  if (channel.name != name) {
    return Response::Error(400, "name: \"" + channel.name +
                                    "\" does not match the channel in the path, \"" +
                                    std::string(name) + "\"");
  }
  if (notifier.ManagedByConfig(name)) {
    return Response::Error(409, Quoted(name) + " is managed by the config file");
  }
  return PutChannel(notifier, request, channel, Notifier::PutMode::kCreateOrReplace);
}

Response DeleteChannel(Notifier& notifier, const Request& request, std::string_view name) {
  const Status deleted = notifier.Delete(name);
  if (deleted.ok()) {
    spdlog::info("{} deleted by {}", Quoted(name), ActorOf(request));
    return Response::NoContent();
  }
  // kInvalidArgument: a config channel, another channel's fallback, or one rules name.
  if (deleted.code() == StatusCode::kInvalidArgument) {
    return Response::Error(409, "channel " + deleted.message());
  }
  return StatusResponse(deleted);
}

Response OneChannel(Notifier& notifier, const Request& request, std::string_view name) {
  if (internal::IsGet(request)) {
    StatusOr<ChannelInfo> channel = notifier.Get(name);
    if (!channel.ok()) return StatusResponse(channel.status());
    return ChannelResponse(200, notifier, channel.value());
  }
  if (request.method == "PUT") return ReplaceChannel(notifier, request, name);
  if (request.method == "DELETE") return DeleteChannel(notifier, request, name);
  return internal::MethodNotAllowed({"GET", "PUT", "DELETE"});
}

Response HandleChannels(Notifier& notifier, const Request& request) {
  if (request.body.size() > kMaxChannelBody) {
    return Response::Error(413, "Request Entity Too Large");  // InfluxDB's words
  }
  std::string_view rest = std::string_view(request.path).substr(kChannelsApiPath.size());
  if (rest.empty()) {
    if (internal::IsGet(request)) return ListChannels(notifier);
    if (request.method == "POST") return CreateChannel(notifier, request);
    return internal::MethodNotAllowed({"GET", "POST"});
  }
  rest.remove_prefix(1);  // the server routes only "/api/v1/channels/..." here
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Response::Error(404, "not found");
  }
  return OneChannel(notifier, request, rest);
}

Role ReadForGetElseAdmin(std::string_view method) {
  return method == "GET" || method == "HEAD" ? Role::kRead : Role::kAdmin;
}

}  // namespace

HttpServer::Handler MakeChannelsHandler(Notifier& notifier) {
  return [&notifier](const Request& request) { return HandleChannels(notifier, request); };
}

void AddChannelsApi(HttpServer& server, Notifier& notifier) {
  server.HandlePrefix(std::string(kChannelsApiPath), {"GET", "POST", "PUT", "DELETE"},
                      ReadForGetElseAdmin, MakeChannelsHandler(notifier));
}

}  // namespace tidewatch::daemon
