#include "daemon/rules_api.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/internal/api_json.h"

namespace tidewatch::daemon {
namespace {

using internal::Json;
using internal::JsonResponse;
using internal::Rfc3339;
using internal::StatusResponse;

Json CountsJson(const rules::AlertRuleCounts& c) {
  return Json{{"instances", c.instances},
              {"in_alarm", c.in_alarm},
              {"unacked", c.unacked},
              {"shelved", c.shelved},
              {"suppressed", c.suppressed},
              {"out_of_service", c.out_of_service},
              {"stale", c.stale},
              {"chattering", c.chattering},
              {"announced_alarms", c.announced_alarms}};
}

Json RuleJson(const rules::RuleStatus& rule) {
  Json out = Json::parse(rules::RuleToJson(rule.definition));
  out["enabled"] = rule.record.enabled;
  out["id"] = rule.record.id;
  out["version"] = rule.record.version;
  out["source"] = rules::RuleSourceName(rule.source);
  out["created_at"] = Rfc3339(rule.record.created_at);
  out["updated_at"] = Rfc3339(rule.record.updated_at);
  out["counts"] = CountsJson(rule.counts);
  return out;
}

Json DryRunJson(const rules::DryRunAlert& alert) {
  return Json{{"instance", alert.instance_key},
              {"labels", alert.labels},
              {"annotations", alert.annotations},
              {"state", alert.state},
              {"severity", alert.severity},
              {"severity_name", alert.severity_name},
              {"value", internal::NumberOrNull(alert.value)},
              {"event_time", Rfc3339(alert.event_time)}};
}

std::string Quoted(std::string_view name) { return "rule \"" + std::string(name) + "\""; }

std::string_view ActorOf(const Request& request) {
  return request.principal.empty() ? std::string_view("api") : std::string_view(request.principal);
}

Response RuleResponse(int status, const StatusOr<rules::RuleStatus>& rule) {
  if (!rule.ok()) return StatusResponse(rule.status());
  return JsonResponse(status, RuleJson(rule.value()));
}

// nullopt when the API may change rule `name`; else why not (404, or 409 for a rule
// of the rules file, which only the file changes).
std::optional<Response> RefuseChange(const rules::RuleEngine& engine, std::string_view name) {
  StatusOr<rules::RuleStatus> rule = engine.GetRule(name);
  if (!rule.ok()) return StatusResponse(rule.status());
  if (rule.value().source == rules::RuleSource::kFile) {
    return Response::Error(409, Quoted(name) + " is managed by the rules file");
  }
  return std::nullopt;
}

Response ListRules(const rules::RuleEngine& engine) {
  std::vector<rules::RuleStatus> rules = engine.ListRules();
  std::sort(rules.begin(), rules.end(),
            [](const auto& a, const auto& b) { return a.definition.name < b.definition.name; });
  Json list = Json::array();
  for (const rules::RuleStatus& rule : rules) list.push_back(RuleJson(rule));
  return JsonResponse(200, Json{{"rules", std::move(list)}});
}

// The answer of `change`, run while the rule's channels exist and stay; 400 when one
// does not exist.
Response WithChannelsOf(const rules::RuleDefinition& definition, const WithChannels& with_channels,
                        const std::function<Response()>& change) {
  Response answer;
  const Status held = with_channels(definition.channels, [&] { answer = change(); });
  if (!held.ok()) return Response::Error(400, "channels: " + held.message());
  return answer;
}

Response CreateRule(rules::RuleEngine& engine, const WithChannels& with_channels,
                    const Request& request) {
  bool dry_run = false;
  if (const auto it = request.query.find("dry_run"); it != request.query.end()) {
    if (it->second != "true" && it->second != "false") {
      return Response::Error(400, "dry_run: must be true or false");
    }
    dry_run = it->second == "true";
  }
  StatusOr<rules::RuleDefinition> definition = rules::ParseRuleJson(request.body);
  if (!definition.ok()) return Response::Error(400, definition.status().message());
  if (dry_run) {
    StatusOr<std::vector<rules::DryRunAlert>> alerts = engine.DryRun(definition.value());
    if (!alerts.ok()) return StatusResponse(alerts.status());
    Json list = Json::array();
    for (const rules::DryRunAlert& alert : alerts.value()) list.push_back(DryRunJson(alert));
    return JsonResponse(200, Json{{"alerts", std::move(list)}});
  }
  return WithChannelsOf(definition.value(), with_channels, [&] {
    StatusOr<rules::RuleStatus> created = engine.CreateRule(definition.value(), ActorOf(request));
    // The engine says kInvalidArgument for a taken name too; the name tells them apart.
    if (!created.ok() && engine.GetRule(definition.value().name).ok()) {
      return Response::Error(409, Quoted(definition.value().name) + " already exists");
    }
    return RuleResponse(201, created);
  });
}

Response UpdateRule(rules::RuleEngine& engine, const WithChannels& with_channels,
                    const Request& request, std::string_view name) {
  StatusOr<rules::RuleDefinition> definition = rules::ParseRuleJson(request.body);
  if (!definition.ok()) return Response::Error(400, definition.status().message());
  if (definition.value().name != name) {
    return Response::Error(400, "name: \"" + definition.value().name +
                                    "\" does not match the rule in the path, \"" +
                                    std::string(name) + "\"");
  }
  if (auto refused = RefuseChange(engine, name)) return std::move(*refused);
  return WithChannelsOf(definition.value(), with_channels, [&] {
    return RuleResponse(200, engine.UpdateRule(definition.value(), ActorOf(request)));
  });
}

Response OneRule(rules::RuleEngine& engine, const WithChannels& with_channels,
                 const Request& request, std::string_view name) {
  if (internal::IsGet(request)) return RuleResponse(200, engine.GetRule(name));
  if (request.method == "PUT") return UpdateRule(engine, with_channels, request, name);
  if (request.method == "DELETE") {
    if (auto refused = RefuseChange(engine, name)) return std::move(*refused);
    const Status deleted = engine.DeleteRule(name, ActorOf(request));
    return deleted.ok() ? Response::NoContent() : StatusResponse(deleted);
  }
  return internal::MethodNotAllowed({"GET", "PUT", "DELETE"});
}

Response SetEnabled(rules::RuleEngine& engine, const Request& request, std::string_view name,
                    bool enabled) {
  if (request.method != "POST") return internal::MethodNotAllowed({"POST"});
  if (auto refused = RefuseChange(engine, name)) return std::move(*refused);
  return RuleResponse(200, engine.SetRuleEnabled(name, enabled, ActorOf(request)));
}

Response HandleRules(rules::RuleEngine& engine, const WithChannels& with_channels,
                     const Request& request) {
  std::string_view rest = std::string_view(request.path).substr(kRulesApiPath.size());
  if (rest.empty()) {
    if (internal::IsGet(request)) return ListRules(engine);
    if (request.method == "POST") return CreateRule(engine, with_channels, request);
    return internal::MethodNotAllowed({"GET", "POST"});
  }
  rest.remove_prefix(1);  // the server routes only "/api/v1/rules/..." here
  const std::size_t slash = rest.find('/');
  const std::string_view name = rest.substr(0, slash);
  if (!name.empty() && slash == std::string_view::npos) {
    return OneRule(engine, with_channels, request, name);
  }
  if (!name.empty()) {
    const std::string_view action = rest.substr(slash + 1);
    if (action == "enable" || action == "disable") {
      return SetEnabled(engine, request, name, action == "enable");
    }
  }
  return Response::Error(404, "not found");
}

}  // namespace

HttpServer::Handler MakeRulesHandler(rules::RuleEngine& engine, WithChannels with_channels) {
  return [&engine, with_channels = std::move(with_channels)](const Request& request) {
    return HandleRules(engine, with_channels, request);
  };
}

void AddRulesApi(HttpServer& server, rules::RuleEngine& engine, WithChannels with_channels) {
  server.HandlePrefix(std::string(kRulesApiPath), {"GET", "POST", "PUT", "DELETE"},
                      internal::ReadForGetElseWrite,
                      MakeRulesHandler(engine, std::move(with_channels)));
}

}  // namespace tidewatch::daemon
