// The alerts API, /api/v1/alerts, over rules::RuleEngine (rules/rule_engine.h): what is
// in alarm, its history, and the operator's actions (ISA-18.2).
//
//   GET  /api/v1/alerts[?rule=R][&state=S][&in_alarm=true]
//        200 {"alerts":[<alert>...]}; S is "inactive", "pending", "firing" or an ISA state
//        ("normal", "unacked", "acked", "rtn_unacked", "latched"); 400 another S, or an
//        in_alarm other than "true" or "false"
//   GET  /api/v1/alerts/history?rule=R&instance=K[&limit=N]
//        200 {"history":[<entry>...]}, newest first; N in 1..1000, default 100;
//        400 rule or instance missing (instance= with no value is the instance of a
//        series without tags), bad limit; 404 unknown rule or instance
//   POST /api/v1/alerts/ack             {"rule", "instance", "user"?}
//   POST /api/v1/alerts/shelve          {"rule", "instance", "user"?, "reason"?, and
//                                        exactly one of "duration": "2h" (from now),
//                                        "until": "<RFC 3339>", "one_shot": true}
//   POST /api/v1/alerts/unshelve        {"rule", "instance", "user"?}
//   POST /api/v1/alerts/out_of_service  {"rule", "instance", "user"?, "enabled": bool}
//        200 <alert> after the action; 400 malformed JSON, a member missing, of the
//        wrong type or unknown, a bad duration or time, an action the alert's state
//        does not allow (nothing to acknowledge, not shelved, an expiry in the past);
//        403 a "user" other than the principal; 404 unknown rule or instance.
//
// The user recorded with an action is the request's principal when auth is on (a
// body "user" must then be absent or the same), else the body's "user" (required).
//
// <alert> = {"rule", "rule_id", "instance", "labels", "annotations", "state",
//   "isa_state", "severity", "severity_name", "value" (null before the first point),
//   "threshold" (null at severity 0), "active_since", "pending_since" (null when not),
//   "last_change", "last_event_time", "shelve" {"kind" ("none" | "timed" | "one_shot"),
//   "until" (null unless timed), "user", "reason"}, "suppressed", "out_of_service",
//   "stale", "chattering"}; times are RFC 3339.
// <entry> = {"id", "time", "rule", "rule_id", "instance", "actor", "action",
//   "from_state", "to_state", "details"}.
//
// Roles: GET and HEAD read, POST write.
//
// Thread safety: the handler may run on any number of HTTP threads at once.
#ifndef TIDEWATCH_DAEMON_ALERTS_API_H_
#define TIDEWATCH_DAEMON_ALERTS_API_H_

#include <functional>
#include <string_view>

#include "daemon/http_server.h"
#include "rules/rule_engine.h"

namespace tidewatch::daemon {

inline constexpr std::string_view kAlertsApiPath = "/api/v1/alerts";

struct AlertsApiOptions {
  // Processing time (ns since the epoch), the start of a "duration" shelve: the engine's
  // clock (RuleEngineOptions::clock). Default: the system clock.
  std::function<store::Timestamp()> clock;
};

// The handler of everything under /api/v1/alerts. REQUIRES: `engine` outlives it.
HttpServer::Handler MakeAlertsHandler(rules::RuleEngine& engine, AlertsApiOptions options = {});

// Routes /api/v1/alerts and the paths below it to MakeAlertsHandler().
// REQUIRES: before server.Start().
void AddAlertsApi(HttpServer& server, rules::RuleEngine& engine, AlertsApiOptions options = {});

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_ALERTS_API_H_
