// The rules file ([rules] file in the config): alert rules kept in version control next
// to the config, loaded at start-up (and on reload) into the rule engine as file rules.
//
// Format: TOML, zero or more [[rule]] tables whose keys are exactly the members of a
// rule's JSON form (rules/rule_definition.h); nested members are nested tables:
//
//   [[rule]]
//   name = "high-pressure"
//   db = "plant"
//   query = "SELECT value FROM pressure"
//   condition = ">"
//   for = "30s"
//   [[rule.levels]]
//   name = "warning"
//   trip = 8.0
//   reset = 7.5
//   [rule.labels]
//   team = "ops"
//
// Each table is converted to JSON and validated by rules::ParseRuleJsonValue, so the file
// and the HTTP API accept exactly the same rules. Errors: kInvalidArgument listing every
// problem of the file, one per line, in file order:
//   "<file>:<line>:<col>: rule[<i>] (<name>): <member path>: <what>"
// pointing at the offending key where the file has it (else at its rule), e.g.
//   "rules.toml:12:9: rule[1] (high-pressure): levels[0].reset: must not be above trip
//    for condition \">\"". Two rules with the same name are an error.
//
// Thread safety: pure functions (LoadRulesFile reads the file system).
#ifndef TIDEWATCH_DAEMON_RULES_FILE_H_
#define TIDEWATCH_DAEMON_RULES_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule_definition.h"
#include "store/status.h"

namespace tidewatch::daemon {

// Rules files larger than this are refused unread.
inline constexpr std::size_t kMaxRulesFileBytes = std::size_t{4} << 20;

// Parses TOML text; `source_name` names it in error messages (a path, "<test>").
// An empty text holds no rules.
[[nodiscard]] StatusOr<std::vector<rules::RuleDefinition>> ParseRulesToml(
    std::string_view text, std::string_view source_name);

// Reads and parses the file at `path`. Errors: kNotFound (no such file),
// kInvalidArgument (unreadable, too large, or ParseRulesToml's errors).
[[nodiscard]] StatusOr<std::vector<rules::RuleDefinition>> LoadRulesFile(const std::string& path);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_RULES_FILE_H_
