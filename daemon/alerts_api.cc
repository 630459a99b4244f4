#include "daemon/alerts_api.h"

#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/internal/api_json.h"
#include "daemon/query_endpoint.h"
#include "ingest/internal/json_time.h"
#include "rules/lexer.h"

namespace tidewatch::daemon {
namespace {

using internal::Json;
using internal::JsonFields;
using internal::JsonResponse;
using internal::Rfc3339;
using internal::Rfc3339OrNull;
using internal::StatusResponse;
using store::Timestamp;

constexpr std::int64_t kDefaultHistory = 100;
constexpr std::int64_t kMaxHistory = 1000;

std::string_view ShelveKindName(rules::ShelveKind kind) {
  switch (kind) {
    case rules::ShelveKind::kNone:
      return "none";
    case rules::ShelveKind::kTimed:
      return "timed";
    case rules::ShelveKind::kOneShot:
      return "one_shot";
  }
  return "none";
}

Json AlertJson(const rules::AlertView& a) {
  const rules::ShelveState& shelve = a.shelve;
  return Json{{"rule", a.rule},
              {"rule_id", a.rule_id},
              {"instance", a.instance_key},
              {"labels", a.labels},
              {"annotations", a.annotations},
              {"state", a.state},
              {"isa_state", rules::AlarmStateName(a.isa_state)},
              {"severity", a.severity},
              {"severity_name", a.severity_name},
              {"value", internal::NumberOrNull(a.value)},
              {"threshold", internal::NumberOrNull(a.threshold)},
              {"active_since", Rfc3339OrNull(a.active_since)},
              {"pending_since", Rfc3339OrNull(a.pending_since)},
              {"last_change", Rfc3339(a.last_change)},
              {"last_event_time", Rfc3339(a.last_event_time)},
              {"shelve",
               {{"kind", ShelveKindName(shelve.kind)},
                {"until", shelve.kind == rules::ShelveKind::kTimed ? Json(Rfc3339(shelve.until))
                                                                   : Json(nullptr)},
                {"user", shelve.user},
                {"reason", shelve.reason}}},
              {"suppressed", a.suppressed},
              {"out_of_service", a.out_of_service},
              {"stale", a.stale},
              {"chattering", a.chattering}};
}

Json HistoryJson(const rules::AuditEntry& e, std::string_view rule) {
  return Json{{"id", e.id},           {"time", Rfc3339(e.time)},    {"rule", rule},
              {"rule_id", e.rule_id}, {"instance", e.instance_key}, {"actor", e.actor},
              {"action", e.action},   {"from_state", e.from_state}, {"to_state", e.to_state},
              {"details", e.details}};
}

bool IsStateName(std::string_view state) {
  if (state == "inactive" || state == "pending" || state == "firing") return true;
  for (int s = 0; s <= static_cast<int>(rules::AlarmState::kLatched); ++s) {
    if (state == rules::AlarmStateName(static_cast<rules::AlarmState>(s))) return true;
  }
  return false;
}

Response ListAlerts(const rules::RuleEngine& engine, const Request& request) {
  rules::AlertFilter filter;
  filter.rule = request.param("rule");
  filter.state = request.param("state");
  if (!filter.state.empty() && !IsStateName(filter.state)) {
    return Response::Error(400, "state: \"" + filter.state +
                                    "\" is not inactive, pending, firing, normal, unacked, "
                                    "acked, rtn_unacked or latched");
  }
  if (const auto it = request.query.find("in_alarm"); it != request.query.end()) {
    if (it->second != "true" && it->second != "false") {
      return Response::Error(400, "in_alarm: must be true or false");
    }
    filter.in_alarm_only = it->second == "true";
  }
  Json list = Json::array();
  for (const rules::AlertView& alert : engine.ListAlerts(filter)) list.push_back(AlertJson(alert));
  return JsonResponse(200, Json{{"alerts", std::move(list)}});
}

Response History(const rules::RuleEngine& engine, const Request& request) {
  const auto rule = request.query.find("rule");
  if (rule == request.query.end() || rule->second.empty()) {
    return Response::Error(400, "missing required parameter \"rule\"");
  }
  const auto instance = request.query.find("instance");
  if (instance == request.query.end()) {
    return Response::Error(400, "missing required parameter \"instance\"");
  }
  std::int64_t limit = kDefaultHistory;
  if (const auto it = request.query.find("limit"); it != request.query.end()) {
    const std::string& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > kMaxHistory) {
      return Response::Error(400, "limit: must be an integer from 1 to 1000");
    }
  }
  StatusOr<std::vector<rules::AuditEntry>> entries =
      engine.History(rule->second, instance->second, limit);
  if (!entries.ok()) return StatusResponse(entries.status());
  Json list = Json::array();
  for (const rules::AuditEntry& entry : entries.value()) {
    list.push_back(HistoryJson(entry, rule->second));
  }
  return JsonResponse(200, Json{{"history", std::move(list)}});
}

enum class Action { kAcknowledge, kShelve, kUnshelve, kOutOfService };

std::optional<Action> ActionOf(std::string_view name) {
  if (name == "/ack") return Action::kAcknowledge;
  if (name == "/shelve") return Action::kShelve;
  if (name == "/unshelve") return Action::kUnshelve;
  if (name == "/out_of_service") return Action::kOutOfService;
  return std::nullopt;
}

// The user an action is recorded under (see the header), or the error response.
std::optional<Response> ResolveUser(const Request& request,
                                    const std::optional<std::string>& body_user,
                                    std::string& user) {
  if (!request.principal.empty()) {
    if (body_user && *body_user != request.principal) {
      return Response::Error(403, "user: \"" + *body_user + "\" is not the authenticated user \"" +
                                      request.principal + "\"");
    }
    user = request.principal;
    return std::nullopt;
  }
  if (!body_user || body_user->empty()) {
    return Response::Error(400, "missing member \"user\" (required when auth is off)");
  }
  user = *body_user;
  return std::nullopt;
}

// A shelve's members: exactly one of duration, until, one_shot.
struct ShelveRequest {
  std::optional<std::string> reason;
  std::optional<std::string> duration;
  std::optional<std::string> until;
  std::optional<bool> one_shot;
};

StatusOr<std::pair<rules::ShelveKind, Timestamp>> ShelveUntil(const ShelveRequest& r,
                                                              Timestamp now) {
  const int given =
      int{r.duration.has_value()} + int{r.until.has_value()} + int{r.one_shot.has_value()};
  if (given != 1) {
    return Status(StatusCode::kInvalidArgument,
                  "give exactly one of \"duration\", \"until\" and \"one_shot\"");
  }
  if (r.one_shot) {
    if (!*r.one_shot) return Status(StatusCode::kInvalidArgument, "one_shot: must be true");
    return std::pair{rules::ShelveKind::kOneShot, Timestamp{0}};
  }
  if (r.until) {
    std::int64_t until = 0;
    if (const char* error = ingest::internal::ParseRfc3339(*r.until, until)) {
      return Status(StatusCode::kInvalidArgument,
                    "until: \"" + *r.until + "\" is not an RFC 3339 time: " + error);
    }
    return std::pair{rules::ShelveKind::kTimed, until};
  }
  StatusOr<std::int64_t> duration = rules::ParseDuration(*r.duration);
  if (!duration.ok()) {
    return Status(StatusCode::kInvalidArgument, "duration: " + duration.status().message());
  }
  if (duration.value() <= 0) {
    return Status(StatusCode::kInvalidArgument, "duration: must be positive");
  }
  if (now > std::numeric_limits<Timestamp>::max() - duration.value()) {
    return Status(StatusCode::kInvalidArgument, "duration: too long");
  }
  return std::pair{rules::ShelveKind::kTimed, now + duration.value()};
}

// The instance after an action, or 404 if it went away meanwhile.
Response AlertResponse(const rules::RuleEngine& engine, const std::string& rule,
                       const std::string& instance) {
  rules::AlertFilter filter;
  filter.rule = rule;
  for (const rules::AlertView& alert : engine.ListAlerts(filter)) {
    if (alert.instance_key == instance) return JsonResponse(200, AlertJson(alert));
  }
  return Response::Error(404, "alert instance not found");
}

Response Act(rules::RuleEngine& engine, const AlertsApiOptions& options, const Request& request,
             Action action) {
  StatusOr<Json> body = internal::ParseJsonObject(request.body);
  if (!body.ok()) return StatusResponse(body.status());
  JsonFields fields(body.value());
  const std::string rule = fields.String("rule");
  const std::string instance = fields.String("instance");
  const std::optional<std::string> body_user = fields.OptionalString("user");
  ShelveRequest shelve;
  bool out_of_service = false;
  if (action == Action::kShelve) {
    shelve.reason = fields.OptionalString("reason");
    shelve.duration = fields.OptionalString("duration");
    shelve.until = fields.OptionalString("until");
    shelve.one_shot = fields.OptionalBool("one_shot");
  } else if (action == Action::kOutOfService) {
    out_of_service = fields.Bool("enabled");
  }
  if (Status s = fields.status(); !s.ok()) return StatusResponse(s);
  std::string user;
  if (auto refused = ResolveUser(request, body_user, user)) return std::move(*refused);

  Status done;
  switch (action) {
    case Action::kAcknowledge:
      done = engine.Acknowledge(rule, instance, user);
      break;
    case Action::kShelve: {
      const auto until = ShelveUntil(shelve, options.clock());
      if (!until.ok()) return StatusResponse(until.status());
      done = engine.Shelve(rule, instance, user, shelve.reason.value_or(""), until.value().first,
                           until.value().second);
      break;
    }
    case Action::kUnshelve:
      done = engine.Unshelve(rule, instance, user);
      break;
    case Action::kOutOfService:
      done = engine.SetOutOfService(rule, instance, out_of_service, user);
      break;
  }
  if (!done.ok()) return StatusResponse(done);
  return AlertResponse(engine, rule, instance);
}

Response HandleAlerts(rules::RuleEngine& engine, const AlertsApiOptions& options,
                      const Request& request) {
  const std::string_view rest = std::string_view(request.path).substr(kAlertsApiPath.size());
  if (rest.empty() || rest == "/history") {
    if (!internal::IsGet(request)) return internal::MethodNotAllowed({"GET"});
    return rest.empty() ? ListAlerts(engine, request) : History(engine, request);
  }
  const std::optional<Action> action = ActionOf(rest);
  if (!action) return Response::Error(404, "not found");
  if (request.method != "POST") return internal::MethodNotAllowed({"POST"});
  return Act(engine, options, request, *action);
}

}  // namespace

HttpServer::Handler MakeAlertsHandler(rules::RuleEngine& engine, AlertsApiOptions options) {
  if (!options.clock) options.clock = WallClockNs;
  return [&engine, options = std::move(options)](const Request& request) {
    return HandleAlerts(engine, options, request);
  };
}

void AddAlertsApi(HttpServer& server, rules::RuleEngine& engine, AlertsApiOptions options) {
  server.HandlePrefix(std::string(kAlertsApiPath), {"GET", "POST"}, internal::ReadForGetElseWrite,
                      MakeAlertsHandler(engine, std::move(options)));
}

}  // namespace tidewatch::daemon
