#include "daemon/rules_file.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>

#include "daemon/internal/toml.h"
#include "daemon/internal/toml_guard.h"
#include "daemon/internal/toml_reader.h"
#include "daemon/units.h"

namespace tidewatch::daemon {
namespace {

using nlohmann::json;

// A valid rule nests three levels deep (rule.levels[0].trip); anything much deeper is
// refused before it is copied.
constexpr int kMaxRuleDepth = 8;

struct ConvertError {
  const toml::node* node = nullptr;
  std::string message;
};

// `node` as JSON; false with `error` set for dates, times and deep nesting.
bool ToJson(const toml::node& node, int depth, json& out, ConvertError& error) {
  if (depth > kMaxRuleDepth) {
    error = {&node, "nested too deep for a rule"};
    return false;
  }
  if (const auto* table = node.as_table()) {
    out = json::object();
    for (const auto& [key, value] : *table) {
      if (!ToJson(value, depth + 1, out[std::string(key.str())], error)) return false;
    }
    return true;
  }
  if (const auto* array = node.as_array()) {
    out = json::array();
    for (const toml::node& element : *array) {
      out.push_back(nullptr);
      if (!ToJson(element, depth + 1, out.back(), error)) return false;
    }
    return true;
  }
  if (const auto* s = node.as_string()) {
    out = s->get();
  } else if (const auto* i = node.as_integer()) {
    out = i->get();
  } else if (const auto* f = node.as_floating_point()) {
    out = f->get();
  } else if (const auto* b = node.as_boolean()) {
    out = b->get();
  } else {
    error = {&node, "dates and times are not rule values (durations are strings like \"30s\")"};
    return false;
  }
  return true;
}

// The node a rule error's member path ("levels[1].reset", "labels[\"a b\"]") names, or
// the deepest part of it the file has.
const toml::node& Locate(const toml::table& rule, std::string_view path) {
  const toml::node* node = &rule;
  std::size_t i = 0;
  while (i < path.size()) {
    const toml::node* next = nullptr;
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      const std::size_t close = i + 1 < path.size() && path[i + 1] == '"'
                                    ? path.find("\"]", i + 2) + 1
                                    : path.find(']', i);
      if (close == std::string_view::npos || close == 0) break;
      const std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.starts_with('"')) {
        const json key = json::parse(inner, nullptr, false);
        if (key.is_string() && node->is_table()) {
          next = node->as_table()->get(key.get<std::string>());
        }
      } else if (node->is_array()) {
        std::size_t index = 0;
        const auto [end, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), index);
        if (ec == std::errc() && end == inner.data() + inner.size()) {
          next = node->as_array()->get(index);
        }
      }
      i = close + 1;
    } else {
      const std::size_t end = std::min(path.find_first_of(".[", i), path.size());
      if (node->is_table()) next = node->as_table()->get(path.substr(i, end - i));
      i = end;
    }
    if (next == nullptr) break;
    node = next;
  }
  return *node;
}

// "rule[i] (name)", the name shown only when it is plain text of sane length.
std::string RuleLabel(std::size_t index, const toml::table& rule) {
  std::string label = "rule[" + std::to_string(index) + "]";
  const std::optional<std::string_view> name = rule["name"].value<std::string_view>();
  if (name && !name->empty() && name->size() <= 128 &&
      std::all_of(name->begin(), name->end(), [](char c) { return c > ' ' && c != 0x7f; })) {
    label += " (" + std::string(*name) + ")";
  }
  return label;
}

// The path at the front of a rule error ("levels[1].reset: must ..." -> "levels[1].reset").
std::string_view ErrorPath(std::string_view message) {
  const std::size_t colon = message.find(": ");
  return colon == std::string_view::npos ? std::string_view() : message.substr(0, colon);
}

void ReadRule(const toml::table& table, std::size_t index, internal::ConfigErrors& errors,
              std::vector<rules::RuleDefinition>& out, std::map<std::string, std::size_t>& names) {
  const std::string label = RuleLabel(index, table);
  json rule;
  ConvertError error;
  if (!ToJson(table, 0, rule, error)) {
    errors.Add(error.node->source().begin, label, error.message);
    return;
  }
  StatusOr<rules::RuleDefinition> parsed = rules::ParseRuleJsonValue(rule);
  if (!parsed.ok()) {
    const Status status = parsed.status();
    const std::string& message = status.message();
    errors.Add(Locate(table, ErrorPath(message)).source().begin, label, message);
    return;
  }
  const auto [it, inserted] = names.emplace(parsed->name, index);
  if (!inserted) {
    errors.Add(Locate(table, "name").source().begin, label,
               "name: duplicate rule name (also rule[" + std::to_string(it->second) + "])");
    return;
  }
  out.push_back(std::move(parsed).value());
}

}  // namespace

StatusOr<std::vector<rules::RuleDefinition>> ParseRulesToml(std::string_view text,
                                                            std::string_view source_name) {
  if (text.size() > kMaxRulesFileBytes) {
    return Status(StatusCode::kInvalidArgument, std::string(source_name) + ": larger than " +
                                                    FormatSize(kMaxRulesFileBytes) +
                                                    "; not a rules file?");
  }
  internal::ConfigErrors errors{std::string(source_name)};
  if (const std::uint32_t line = internal::FindOverlyDottedLine(text); line != 0) {
    errors.Add(toml::source_position{line, 1}, "",
               "more than " + std::to_string(internal::kMaxDotsPerLine) +
                   " dots on one line; keys nested that deep are refused");
    return errors.ToStatus();
  }
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    errors.Add(parsed.error().source().begin, "", parsed.error().description());
    return errors.ToStatus();
  }
  std::vector<rules::RuleDefinition> out;
  std::map<std::string, std::size_t> names;
  for (const auto& [key, node] : parsed.table()) {
    if (key.str() != "rule") {
      errors.Add(key.source().begin, key.str(), "unknown key; a rules file holds [[rule]] tables");
      continue;
    }
    const toml::array* array = node.as_array();
    if (array != nullptr && array->empty()) continue;  // rule = []
    if (array == nullptr || !array->is_array_of_tables()) {
      errors.Add(node.source().begin, "rule", "expected an array of tables [[rule]]");
      continue;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      ReadRule(*array->get(i)->as_table(), i, errors, out, names);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

StatusOr<std::vector<rules::RuleDefinition>> LoadRulesFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {  // opens, then reads as empty
    return Status(StatusCode::kInvalidArgument,
                  "cannot read rules file " + path + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Status(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
                  "cannot read rules file " + path + ": " + std::strerror(error));
  }
  std::string text(kMaxRulesFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status(StatusCode::kInvalidArgument, "cannot read rules file " + path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  return ParseRulesToml(text, path);
}

}  // namespace tidewatch::daemon
