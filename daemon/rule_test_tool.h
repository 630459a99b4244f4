// `tidewatchd --test-rules FILE`: unit tests for alert rules, checked offline, in the
// spirit of `promtool test rules`. A test file (TOML) names rules files and scripts input
// series and the alerts expected at given times; the rules run in a private engine (an
// in-memory store and a throw-away catalog) on a simulated clock, so a test of an hour
// of data takes milliseconds and never touches a running daemon.
//
//   rule_files = ["rules.toml"]        # relative to the test file's directory
//   interval = "1s"                    # the step between input values (default 1s)
//
//   [[test]]
//   name = "pressure trips after 30s"
//   db = "plant"                       # database of the inputs (default "test")
//
//   [[test.input]]
//   series = "pressure,site=site1,sensor=pt-001 value"   # measurement[,tag=value...] field
//   values = "5x9 9.7x40 _x3 5x10"
//
//   [[test.alert]]
//   at = "45s"                         # after the input at this offset (a multiple of interval)
//   rule = "high-pressure"
//   [[test.alert.expect]]              # none: the rule has no pending or firing instance
//   labels = { sensor = "pt-001", site = "site1", severity = "critical" }
//   state = "firing"                   # pending | firing
//   isa_state = "unacked"              # optional: normal, pending, unacked, acked, ...
//   annotations = { summary = "..." }  # optional: compared when given
//
// Values, as promtool writes them: numbers separated by blanks; "a+bxn" expands to the
// n + 1 values a, a+b, ..., a+n·b ("a-bxn" counts down, "axn" is "a+0xn"); "_" is a
// step without a point and "_xn" n such steps. Input step i has event time and
// processing time start + i·interval; after each step the engine ticks once.
//
// Expected labels are compared exactly with the instance's labels minus `alertname`.
// Every test starts from empty state.
//
// Thread safety: not thread-safe (a command-line tool).
#ifndef TIDEWATCH_DAEMON_RULE_TEST_TOOL_H_
#define TIDEWATCH_DAEMON_RULE_TEST_TOOL_H_

#include <ostream>
#include <string>

namespace tidewatch::daemon {

// Runs every test of the file at `path`, printing failures (and a summary) to `out`.
// Returns the process exit status: 0 all passed, 1 a test failed, 2 the file or a rules
// file is invalid (the errors are printed).
int RunRuleTests(const std::string& path, std::ostream& out);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_RULE_TEST_TOOL_H_
