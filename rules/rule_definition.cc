#include "rules/rule_definition.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "rules/alert_template.h"
#include "rules/internal/select_plan.h"
#include "rules/lexer.h"
#include "rules/parser.h"
#include "rules/statement_text.h"
#include "store/edit_distance.h"

namespace tidewatch::rules {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxRuleJsonBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxTemplates = 64;        // labels, and annotations
constexpr std::size_t kMaxTemplateBytes = 4096;  // one label or annotation value
constexpr std::size_t kMaxChannels = 16;
constexpr std::size_t kMaxLevelNameBytes = 64;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

Status Err(std::string_view path, std::string_view message) {
  if (path.empty()) return Invalid(std::string(message));
  return Invalid(std::string(path) + ": " + std::string(message));
}

// A string as a JSON literal for messages, cut short when long.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  const bool cut = text.size() > kMax;
  std::string quoted = json(std::string(text.substr(0, cut ? kMax : text.size())))
                           .dump(-1, ' ', false, json::error_handler_t::replace);
  if (cut) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

bool IsIdent(std::string_view s) {
  if (s.empty() || s.size() > 64 || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Member(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (IsIdent(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += "[" + Quote(key) + "]";
  }
  return out;
}

std::string Index(std::string_view parent, std::size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}

std::string TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an invalid value";
  }
}

Status TypeError(std::string_view path, std::string_view expected, const json& got) {
  return Err(path, "expected " + std::string(expected) + ", got " + TypeName(got));
}

// The first member of `object` not in `known`, with the nearest known name suggested.
Status RejectUnknown(const json& object, std::string_view path,
                     std::span<const std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown member";
    std::size_t best = 3;
    std::string_view suggestion;
    for (std::string_view candidate : known) {
      if (key.size() > 64) break;
      if (const std::size_t d = store::EditDistance(key, candidate); d < best) {
        best = d;
        suggestion = candidate;
      }
    }
    if (!suggestion.empty()) message += " (did you mean \"" + std::string(suggestion) + "\"?)";
    return Err(Member(path, key), message);
  }
  return Status::Ok();
}

const json* Find(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Status ReadString(const json& object, std::string_view key, std::string_view parent,
                  std::string& out, bool required) {
  const json* v = Find(object, key);
  const std::string path = Member(parent, key);
  if (v == nullptr) return required ? Err(path, "missing required member") : Status::Ok();
  if (!v->is_string()) return TypeError(path, "a string", *v);
  out = v->get<std::string>();
  return Status::Ok();
}

Status ReadBool(const json& object, std::string_view key, std::string_view parent, bool& out) {
  const json* v = Find(object, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return TypeError(Member(parent, key), "true or false", *v);
  out = v->get<bool>();
  return Status::Ok();
}

// A finite number; `out` untouched when absent (error when required).
Status ReadNumber(const json& object, std::string_view key, std::string_view parent,
                  std::optional<double>& out, bool required) {
  const json* v = Find(object, key);
  const std::string path = Member(parent, key);
  if (v == nullptr) return required ? Err(path, "missing required member") : Status::Ok();
  if (!v->is_number()) return TypeError(path, "a number", *v);
  const double d = v->get<double>();
  if (!std::isfinite(d)) return Err(path, "must be a finite number");
  out = d;
  return Status::Ok();
}

// An InfluxQL duration literal, >= 0; `out` untouched when absent.
Status ReadDuration(const json& object, std::string_view key, std::string_view parent,
                    Duration& out) {
  if (Find(object, key) == nullptr) return Status::Ok();
  std::string text;
  if (Status s = ReadString(object, key, parent, text, true); !s.ok()) return s;
  const std::string path = Member(parent, key);
  if (text.empty()) return Err(path, "must not be empty");
  StatusOr<std::int64_t> ns = ParseDuration(text);
  if (!ns.ok()) {
    if (ns.status().message() != "invalid duration") return Err(path, ns.status().message());
    return Err(path, "invalid duration " + Quote(text) + " (expected e.g. \"30s\", \"1h30m\")");
  }
  if (*ns < 0) return Err(path, "must not be negative");
  out = *ns;
  return Status::Ok();
}

std::optional<Comparison> ParseComparison(std::string_view text) {
  for (Comparison c :
       {Comparison::kGreater, Comparison::kGreaterEqual, Comparison::kLess, Comparison::kLessEqual,
        Comparison::kEqual, Comparison::kNotEqual, Comparison::kOutsideRange}) {
    if (ComparisonSymbol(c) == text) return c;
  }
  return std::nullopt;
}

Status ReadComparison(const json& object, std::string_view parent, bool allow_outside,
                      bool required, Comparison& out) {
  std::string text;
  if (Status s = ReadString(object, "condition", parent, text, required); !s.ok()) return s;
  if (Find(object, "condition") == nullptr) return Status::Ok();
  const std::optional<Comparison> c = ParseComparison(text);
  if (!c || (*c == Comparison::kOutsideRange && !allow_outside)) {
    return Err(Member(parent, "condition"), std::string("must be one of >, >=, <, <=, ==, !=") +
                                                (allow_outside ? ", outside" : "") + "; got " +
                                                Quote(text));
  }
  out = *c;
  return Status::Ok();
}

bool IsRuleName(std::string_view s) {
  return !s.empty() && s.size() <= kMaxNameBytes && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.starts_with("__") || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// ---- levels --------------------------------------------------------------------------

constexpr std::array<std::string_view, 3> kThresholdKeys = {"name", "trip", "reset"};
constexpr std::array<std::string_view, 5> kRangeKeys = {"name", "low", "high", "reset_low",
                                                        "reset_high"};

// Reads one level's numbers from `object` (a "levels" element, or the rule itself for
// an inline level) into `level`; `parent` is the path of `object`. An element's unknown
// members are refused (the rule's own were checked already).
Status ReadLevelValues(const json& object, std::string_view parent, Comparison comparison,
                       bool element, SeverityLevel& level) {
  const bool range = comparison == Comparison::kOutsideRange;
  const std::string symbol = "\"" + std::string(ComparisonSymbol(comparison)) + "\"";
  for (std::string_view key : range ? std::span<const std::string_view>(kThresholdKeys).subspan(1)
                                    : std::span<const std::string_view>(kRangeKeys).subspan(1)) {
    if (Find(object, key) != nullptr) {
      return Err(Member(parent, key), range
                                          ? "condition \"outside\" takes low and high"
                                          : "only with condition \"outside\" (use trip and reset)");
    }
  }
  if (element) {
    const std::span<const std::string_view> known =
        range ? std::span<const std::string_view>(kRangeKeys) : kThresholdKeys;
    if (Status s = RejectUnknown(object, parent, known); !s.ok()) return s;
  }
  std::optional<double> a, b, c, d;
  if (!range) {
    if (Status s = ReadNumber(object, "trip", parent, a, true); !s.ok()) return s;
    if (Status s = ReadNumber(object, "reset", parent, b, false); !s.ok()) return s;
    level.trip = *a;
    level.reset = b.value_or(*a);
    const std::string reset = Member(parent, "reset");
    switch (comparison) {
      case Comparison::kGreater:
      case Comparison::kGreaterEqual:
        if (level.reset > level.trip)
          return Err(reset, "must not be above trip for condition " + symbol);
        break;
      case Comparison::kLess:
      case Comparison::kLessEqual:
        if (level.reset < level.trip)
          return Err(reset, "must not be below trip for condition " + symbol);
        break;
      default:
        if (level.reset != level.trip) {
          return Err(reset, "must equal trip for condition " + symbol + " (no deadband)");
        }
    }
    return Status::Ok();
  }
  if (Status s = ReadNumber(object, "low", parent, a, true); !s.ok()) return s;
  if (Status s = ReadNumber(object, "high", parent, b, true); !s.ok()) return s;
  if (Status s = ReadNumber(object, "reset_low", parent, c, false); !s.ok()) return s;
  if (Status s = ReadNumber(object, "reset_high", parent, d, false); !s.ok()) return s;
  level.trip = *a;
  level.trip_high = *b;
  level.reset = c.value_or(*a);
  level.reset_high = d.value_or(*b);
  if (level.trip_high < level.trip) return Err(Member(parent, "high"), "must not be below low");
  if (level.reset < level.trip) return Err(Member(parent, "reset_low"), "must not be below low");
  if (level.reset_high > level.trip_high) {
    return Err(Member(parent, "reset_high"), "must not be above high");
  }
  if (level.reset_high < level.reset) {
    return Err(Member(parent, "reset_high"), "must not be below reset_low");
  }
  return Status::Ok();
}

Status CheckLevelName(std::string_view path, std::string_view name) {
  if (name.empty() || name.size() > kMaxLevelNameBytes) {
    return Err(path, "must be 1 to " + std::to_string(kMaxLevelNameBytes) + " bytes");
  }
  return Status::Ok();
}

Status ReadLevels(const json& rule, Comparison comparison, std::vector<SeverityLevel>& out) {
  static constexpr std::array<std::string_view, 7> kInline = {
      "severity", "trip", "reset", "low", "high", "reset_low", "reset_high"};
  const json* levels = Find(rule, "levels");
  const auto inline_key = std::find_if(kInline.begin(), kInline.end(),
                                       [&rule](std::string_view k) { return rule.contains(k); });
  if (levels != nullptr && inline_key != kInline.end()) {
    return Err(*inline_key, "not allowed together with \"levels\"");
  }
  if (levels == nullptr) {
    if (inline_key == kInline.end()) {
      return Err("levels", "missing required member (or give one level inline with \"trip\")");
    }
    SeverityLevel level;
    level.name = "warning";
    if (Status s = ReadString(rule, "severity", "", level.name, false); !s.ok()) return s;
    if (Status s = CheckLevelName("severity", level.name); !s.ok()) return s;
    if (Status s = ReadLevelValues(rule, "", comparison, false, level); !s.ok()) return s;
    out.push_back(std::move(level));
    return Status::Ok();
  }
  if (!levels->is_array()) return TypeError("levels", "an array", *levels);
  if (levels->empty() || levels->size() > kMaxSeverityLevels) {
    return Err("levels", "needs 1 to " + std::to_string(kMaxSeverityLevels) + " levels, got " +
                             std::to_string(levels->size()));
  }
  for (std::size_t i = 0; i < levels->size(); ++i) {
    const json& element = (*levels)[i];
    const std::string path = Index("levels", i);
    if (!element.is_object()) return TypeError(path, "an object", element);
    SeverityLevel level;
    if (Status s = ReadLevelValues(element, path, comparison, true, level); !s.ok()) return s;
    if (Status s = ReadString(element, "name", path, level.name, true); !s.ok()) return s;
    if (Status s = CheckLevelName(Member(path, "name"), level.name); !s.ok()) return s;
    for (const SeverityLevel& earlier : out) {
      if (earlier.name == level.name) {
        return Err(Member(path, "name"), "duplicate level name " + Quote(level.name));
      }
    }
    out.push_back(std::move(level));
  }
  return Status::Ok();
}

// ---- the other members ----------------------------------------------------------------

Status ReadTemplates(const json& rule, std::string_view key,
                     std::map<std::string, std::string>& out) {
  const json* object = Find(rule, key);
  if (object == nullptr) return Status::Ok();
  if (!object->is_object()) return TypeError(key, "an object", *object);
  if (object->size() > kMaxTemplates) {
    return Err(key, "at most " + std::to_string(kMaxTemplates) + " entries, got " +
                        std::to_string(object->size()));
  }
  for (const auto& [name, value] : object->items()) {
    const std::string path = Member(key, name);
    if (!IsLabelName(name)) {
      return Err(path, "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\")");
    }
    if (!value.is_string()) return TypeError(path, "a string", value);
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > kMaxTemplateBytes) {
      return Err(path, "longer than " + std::to_string(kMaxTemplateBytes) + " bytes");
    }
    if (Status s = CheckTemplate(text); !s.ok()) return Err(path, s.message());
    out.emplace(name, text);
  }
  return Status::Ok();
}

Status ReadChannels(const json& rule, std::vector<std::string>& out) {
  const json* channels = Find(rule, "channels");
  if (channels == nullptr) return Status::Ok();
  if (!channels->is_array()) return TypeError("channels", "an array of strings", *channels);
  if (channels->size() > kMaxChannels) {
    return Err("channels", "at most " + std::to_string(kMaxChannels) + " channels, got " +
                               std::to_string(channels->size()));
  }
  for (std::size_t i = 0; i < channels->size(); ++i) {
    const json& c = (*channels)[i];
    const std::string path = Index("channels", i);
    if (!c.is_string()) return TypeError(path, "a string", c);
    const auto& name = c.get_ref<const std::string&>();
    if (name.empty() || name.size() > kMaxNameBytes) {
      return Err(path, "must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      return Err(path, "duplicate channel " + Quote(name));
    }
    out.push_back(name);
  }
  return Status::Ok();
}

Status ReadQuery(const json& object, std::string_view parent, bool allow_aggregate,
                 std::string& out) {
  if (Status s = ReadString(object, "query", parent, out, true); !s.ok()) return s;
  StatusOr<RuleQuery> compiled = CompileRuleQuery(out, allow_aggregate);
  if (!compiled.ok()) return Err(Member(parent, "query"), compiled.status().message());
  return Status::Ok();
}

Status ReadChatter(const json& rule, ChatterSpec& out) {
  static constexpr std::array<std::string_view, 3> kKeys = {"transitions", "window", "suppress"};
  const json* chatter = Find(rule, "chatter");
  if (chatter == nullptr) return Status::Ok();
  if (!chatter->is_object()) return TypeError("chatter", "an object", *chatter);
  if (Status s = RejectUnknown(*chatter, "chatter", kKeys); !s.ok()) return s;
  if (const json* n = Find(*chatter, "transitions"); n != nullptr) {
    if (!n->is_number_integer()) return TypeError("chatter.transitions", "an integer", *n);
    const auto value = n->get<std::int64_t>();
    if (value < 0 || value > static_cast<std::int64_t>(kMaxChatterTransitions)) {
      return Err("chatter.transitions", "must be 0 to " + std::to_string(kMaxChatterTransitions));
    }
    out.transitions = static_cast<int>(value);
  }
  if (Status s = ReadDuration(*chatter, "window", "chatter", out.window); !s.ok()) return s;
  if (out.transitions > 0 && out.window <= 0) {
    return Err("chatter.window", "must be positive when transitions is set");
  }
  return ReadBool(*chatter, "suppress", "chatter", out.suppress);
}

Status ReadSuppression(const json& rule, std::optional<SuppressionSpec>& out) {
  static constexpr std::array<std::string_view, 3> kKeys = {"query", "condition", "value"};
  const json* object = Find(rule, "suppress_when");
  if (object == nullptr) return Status::Ok();
  if (!object->is_object()) return TypeError("suppress_when", "an object", *object);
  if (Status s = RejectUnknown(*object, "suppress_when", kKeys); !s.ok()) return s;
  SuppressionSpec spec;
  if (Status s = ReadQuery(*object, "suppress_when", false, spec.query); !s.ok()) return s;
  if (Status s = ReadComparison(*object, "suppress_when", false, false, spec.comparison); !s.ok()) {
    return s;
  }
  std::optional<double> value;
  if (Status s = ReadNumber(*object, "value", "suppress_when", value, true); !s.ok()) return s;
  spec.value = *value;
  out = std::move(spec);
  return Status::Ok();
}

// Parses JSON text, refusing duplicate members (nlohmann would keep the last one
// silently) with the path of the duplicate.
StatusOr<json> ParseStrictJson(std::string_view text) {
  struct Frame {
    bool array = false;
    std::size_t next_index = 0;
    std::string key;
    std::set<std::string, std::less<>> keys;
  };
  std::vector<Frame> frames;
  std::optional<std::string> duplicate;
  const auto enter_element = [&frames] {
    if (!frames.empty() && frames.back().array) ++frames.back().next_index;
  };
  const json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        enter_element();
        frames.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& frame = frames.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second && !duplicate) {
          std::string path;
          for (const Frame& f : frames) {
            path = f.array ? Index(path, f.next_index - 1) : Member(path, f.key);
          }
          duplicate = path;
        }
        break;
      }
      case json::parse_event_t::value:
        enter_element();
        break;
    }
    return true;
  };
  try {
    json parsed = json::parse(text, callback);
    if (duplicate) return Err(*duplicate, "duplicate member");
    return parsed;
  } catch (const json::exception& e) {
    std::string_view what = e.what();
    if (const std::size_t end = what.find("] "); what.starts_with("[json.") && end != what.npos) {
      what.remove_prefix(end + 2);
    }
    return Invalid("invalid JSON: " + std::string(what));
  }
}

}  // namespace

StatusOr<RuleDefinition> ParseRuleJson(std::string_view text) {
  if (text.size() > kMaxRuleJsonBytes) {
    return Invalid("rule JSON larger than " + std::to_string(kMaxRuleJsonBytes) + " bytes");
  }
  StatusOr<json> parsed = ParseStrictJson(text);
  if (!parsed.ok()) return parsed.status();
  return ParseRuleJsonValue(*parsed);
}

StatusOr<RuleDefinition> ParseRuleJsonValue(const json& j) {
  static constexpr std::array<std::string_view, 22> kMembers = {"name",          "db",
                                                                "query",         "condition",
                                                                "levels",        "severity",
                                                                "trip",          "reset",
                                                                "low",           "high",
                                                                "reset_low",     "reset_high",
                                                                "for",           "keep_firing_for",
                                                                "no_data_after", "latched",
                                                                "chatter",       "labels",
                                                                "annotations",   "channels",
                                                                "suppress_when", "enabled"};
  if (!j.is_object()) return Invalid("a rule must be a JSON object, got " + TypeName(j));
  if (Status s = RejectUnknown(j, "", kMembers); !s.ok()) return s;
  RuleDefinition rule;
  if (Status s = ReadString(j, "name", "", rule.name, true); !s.ok()) return s;
  if (!IsRuleName(rule.name)) {
    return Err("name",
               "must be 1 to 128 characters of A-Z a-z 0-9 _ . : - (got " + Quote(rule.name) + ")");
  }
  if (Status s = ReadString(j, "db", "", rule.db, true); !s.ok()) return s;
  if (rule.db.empty() || rule.db.size() > kMaxNameBytes) {
    return Err("db", "must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  }
  if (Status s = ReadQuery(j, "", true, rule.query); !s.ok()) return s;
  AlarmSpec& alarm = rule.alarm;
  if (Status s = ReadComparison(j, "", true, true, alarm.condition.comparison); !s.ok()) return s;
  if (Status s = ReadLevels(j, alarm.condition.comparison, alarm.condition.levels); !s.ok()) {
    return s;
  }
  if (Status s = ReadDuration(j, "for", "", alarm.on_delay); !s.ok()) return s;
  if (Status s = ReadDuration(j, "keep_firing_for", "", alarm.off_delay); !s.ok()) return s;
  if (Status s = ReadDuration(j, "no_data_after", "", alarm.no_data_after); !s.ok()) return s;
  if (Status s = ReadBool(j, "latched", "", alarm.latched); !s.ok()) return s;
  if (Status s = ReadChatter(j, alarm.chatter); !s.ok()) return s;
  if (Status s = ReadTemplates(j, "labels", rule.labels); !s.ok()) return s;
  if (Status s = ReadTemplates(j, "annotations", rule.annotations); !s.ok()) return s;
  if (Status s = ReadChannels(j, rule.channels); !s.ok()) return s;
  if (Status s = ReadSuppression(j, rule.suppress_when); !s.ok()) return s;
  if (Status s = ReadBool(j, "enabled", "", rule.enabled); !s.ok()) return s;
  // The checks above are stricter and name the member; this one guards the contract.
  if (Status s = ValidateAlarmSpec(alarm); !s.ok()) return s;
  return rule;
}

std::string RuleToJson(const RuleDefinition& rule) {
  nlohmann::ordered_json out;
  out["name"] = rule.name;
  out["db"] = rule.db;
  out["query"] = rule.query;
  const AlarmCondition& condition = rule.alarm.condition;
  out["condition"] = ComparisonSymbol(condition.comparison);
  nlohmann::ordered_json levels = nlohmann::ordered_json::array();
  for (const SeverityLevel& level : condition.levels) {
    nlohmann::ordered_json l;
    l["name"] = level.name;
    if (condition.comparison == Comparison::kOutsideRange) {
      l["low"] = level.trip;
      l["high"] = level.trip_high;
      l["reset_low"] = level.reset;
      l["reset_high"] = level.reset_high;
    } else {
      l["trip"] = level.trip;
      l["reset"] = level.reset;
    }
    levels.push_back(std::move(l));
  }
  out["levels"] = std::move(levels);
  out["for"] = FormatDuration(rule.alarm.on_delay);
  out["keep_firing_for"] = FormatDuration(rule.alarm.off_delay);
  out["no_data_after"] = FormatDuration(rule.alarm.no_data_after);
  out["latched"] = rule.alarm.latched;
  out["chatter"] = {{"transitions", rule.alarm.chatter.transitions},
                    {"window", FormatDuration(rule.alarm.chatter.window)},
                    {"suppress", rule.alarm.chatter.suppress}};
  out["labels"] = rule.labels;
  out["annotations"] = rule.annotations;
  out["channels"] = rule.channels;
  if (rule.suppress_when) {
    out["suppress_when"] = {{"query", rule.suppress_when->query},
                            {"condition", ComparisonSymbol(rule.suppress_when->comparison)},
                            {"value", rule.suppress_when->value}};
  }
  out["enabled"] = rule.enabled;
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace tidewatch::rules
