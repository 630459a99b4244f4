// The alert rules API, /api/v1/rules, over rules::RuleEngine (rules/rule_engine.h).
//
//   GET    /api/v1/rules                  200 {"rules":[<rule>...]}, by name
//   POST   /api/v1/rules                  201 <rule>; 400 {"error": ParseRuleJson's message,
//                                         or a channel that does not exist}; 409 the name
//                                         exists
//   POST   /api/v1/rules?dry_run=true     200 {"alerts":[<dry-run alert>...]}: what the rule
//                                         would put in alarm over the data in the store now;
//                                         nothing is stored
//   GET    /api/v1/rules/<name>           200 <rule>; 404
//   PUT    /api/v1/rules/<name>           200 <rule>; 400 a bad body, a body whose name is
//                                         not <name>, or a channel that does not exist;
//                                         404; 409 a rule of the rules file
//   DELETE /api/v1/rules/<name>           204; 404; 409 a rule of the rules file
//   POST   /api/v1/rules/<name>/enable    200 <rule>; 404; 409 a rule of the rules file
//   POST   /api/v1/rules/<name>/disable   (the same)
//
// <rule> is the rule's canonical JSON (rules::RuleToJson, rules/rule_definition.h) plus
//   "id", "version", "source" ("api" | "file"), "created_at", "updated_at" (RFC 3339) and
//   "counts" {"instances", "in_alarm", "unacked", "shelved", "suppressed",
//   "out_of_service", "stale", "chattering", "announced_alarms"}.
// <dry-run alert> is {"instance", "labels", "annotations", "state" ("pending" |
//   "firing"), "severity", "severity_name", "value", "event_time"}.
// Other errors: 405 (with Allow) for a method a path does not take, 404 for paths below
// /api/v1/rules/<name> other than enable and disable, 400 for a dry_run other than
// "true" or "false", 500 when the catalog fails.
//
// Roles: GET and HEAD read, everything else write. The actor recorded in the audit log
// is the request's principal when auth is on, else "api".
//
// Thread safety: the handler may run on any number of HTTP threads at once (the engine
// serialises rule changes).
#ifndef TIDEWATCH_DAEMON_RULES_API_H_
#define TIDEWATCH_DAEMON_RULES_API_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/http_server.h"
#include "rules/rule_engine.h"

namespace tidewatch::daemon {

inline constexpr std::string_view kRulesApiPath = "/api/v1/rules";

// Runs `change` (storing a rule that sends to `channels`) only if every one of them
// exists, and holds them there until it returns, so a concurrent channel delete cannot
// slip between the check and the change; else kNotFound with the reason ("no channel
// named ..."). The daemon passes Notifier::WithChannels. Called on HTTP threads.
using WithChannels = std::function<Status(const std::vector<std::string>& channels,
                                          const std::function<void()>& change)>;

// The handler of everything under /api/v1/rules. REQUIRES: `engine` outlives it.
HttpServer::Handler MakeRulesHandler(rules::RuleEngine& engine, WithChannels with_channels);

// Routes /api/v1/rules and the paths below it to MakeRulesHandler().
// REQUIRES: before server.Start().
void AddRulesApi(HttpServer& server, rules::RuleEngine& engine, WithChannels with_channels);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_RULES_API_H_
