#include "daemon/internal/toml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

#include "daemon/units.h"
#include "store/edit_distance.h"

namespace tidewatch::daemon::internal {
namespace {

constexpr std::size_t kMaxReportedErrors = 100;

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A TOML basic string.
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string DoubleText(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  // TOML floats need a '.' or an exponent ("nan" and "inf" are fine as they are).
  if (text.find_first_not_of("-0123456789") == std::string::npos) text += ".0";
  return text;
}

// The scalar `node` as text for a string-valued setting; nullopt for other types.
std::optional<std::string> ScalarText(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return DoubleText(f->get());
  if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
  return std::nullopt;
}

}  // namespace

void ConfigErrors::Add(const toml::source_position& where, std::string_view path,
                       std::string_view message) {
  std::string text;
  if (!source_name_.empty()) {
    text =
        source_name_ + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": ";
  }
  if (!path.empty()) text.append(path).append(": ");
  text.append(message);
  errors_.push_back(Entry{where.line, where.column, std::move(text)});
}

Status ConfigErrors::ToStatus() const {
  std::vector<const Entry*> sorted;
  sorted.reserve(errors_.size());
  for (const Entry& e : errors_) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return std::pair(a->line, a->column) < std::pair(b->line, b->column);
  });
  std::string message;
  for (std::size_t i = 0; i < sorted.size() && i < kMaxReportedErrors; ++i) {
    if (i > 0) message += '\n';
    message += sorted[i]->text;
  }
  if (sorted.size() > kMaxReportedErrors) {
    message += "\n... and " + std::to_string(sorted.size() - kMaxReportedErrors) + " more errors";
  }
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

std::string TableReader::Join(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::Find(std::string_view key) {
  known_.emplace_back(key);
  if (table_ == nullptr) return nullptr;
  return table_->get(key);
}

bool TableReader::Has(std::string_view key) const {
  return table_ != nullptr && table_->get(key) != nullptr;
}

void TableReader::Describe(std::string_view key, std::string text) {
  known_.emplace_back(key);
  describe_->emplace_back(Join(key), std::move(text));
}

void TableReader::Error(const toml::node& node, std::string_view key, std::string_view message) {
  errors_->Add(node.source().begin, Join(key), message);
}

void TableReader::TypeError(const toml::node& node, std::string_view key,
                            std::string_view expected) {
  Error(node, key,
        "expected " + std::string(expected) + ", got " + std::string(TypeName(node.type())));
}

void TableReader::Fail(std::string_view key, std::string_view message) {
  if (describe_ != nullptr) return;
  const toml::node* node = table_ != nullptr ? table_->get(key) : nullptr;
  if (node != nullptr) {
    Error(*node, key, message);
  } else {
    const toml::source_position where =
        table_ != nullptr ? table_->source().begin : toml::source_position{};
    errors_->Add(where, Join(key), message);
  }
}

void TableReader::Bool(std::string_view key, bool& out) {
  if (describe_ != nullptr) return Describe(key, out ? "true" : "false");
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (const auto* value = node->as_boolean()) {
    out = value->get();
  } else {
    TypeError(*node, key, "true or false");
  }
}

void TableReader::String(std::string_view key, std::string& out) {
  if (describe_ != nullptr) return Describe(key, TomlString(out));
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (const auto* value = node->as_string()) {
    out = value->get();
  } else {
    TypeError(*node, key, "a string");
  }
}

void TableReader::RequiredString(std::string_view key, std::string& out) {
  if (describe_ != nullptr) return Describe(key, "");
  if (table_ != nullptr && table_->get(key) == nullptr) {
    Fail(key, "missing required key");
    known_.emplace_back(key);
    return;
  }
  String(key, out);
  if (Has(key) && out.empty()) Fail(key, "must not be empty");
}

void TableReader::OptionalString(std::string_view key, std::optional<std::string>& out) {
  if (describe_ != nullptr) return Describe(key, out ? TomlString(*out) : "");
  std::string value;
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (!node->is_string()) return TypeError(*node, key, "a string");
  value = node->as_string()->get();
  if (value.empty()) return Error(*node, key, "must not be empty (leave the key out instead)");
  out = std::move(value);
}

void TableReader::StringList(std::string_view key, std::vector<std::string>& out, bool required) {
  if (describe_ != nullptr) {
    std::string text = "[";
    for (std::size_t i = 0; i < out.size(); ++i) {
      text += (i > 0 ? ", " : "") + TomlString(out[i]);
    }
    return Describe(key, required ? "" : text + "]");
  }
  const toml::node* node = Find(key);
  if (node == nullptr) {
    if (required && table_ != nullptr) Fail(key, "missing required key");
    return;
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) return TypeError(*node, key, "an array of strings");
  if (required && array->empty()) return Error(*node, key, "must list at least one");
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    if (!element.is_string()) return TypeError(element, key, "an array of strings");
    const std::string& value = element.as_string()->get();
    if (value.empty()) return Error(element, key, "must not contain an empty string");
    if (std::find(values.begin(), values.end(), value) != values.end()) {
      return Error(element, key, "duplicate " + QuoteForError(value));
    }
    values.push_back(value);
  }
  out = std::move(values);
}

void TableReader::StringMap(std::string_view key, std::map<std::string, std::string>& out) {
  if (describe_ != nullptr) {
    std::string text = "{";
    for (const auto& [k, v] : out)
      text += (text.size() > 1 ? ", " : " ") + TomlString(k) + " = " + TomlString(v);
    return Describe(key, text + (out.empty() ? "}" : " }"));
  }
  const toml::table* table = SubTable(key);
  if (table == nullptr) return;
  std::map<std::string, std::string> values;
  bool ok = true;
  for (const auto& [name, node] : *table) {
    const std::string path = Join(key) + "." + std::string(name.str());
    if (std::optional<std::string> text = ScalarText(node)) {
      values.emplace(std::string(name.str()), std::move(*text));
      continue;
    }
    ok = false;
    std::string message =
        "expected a string, number or boolean, got " + std::string(TypeName(node.type()));
    if (node.is_table()) message += " (quote dotted names: \"a.b\" = \"value\")";
    errors_->Add(node.source().begin, path, message);
  }
  if (ok) out = std::move(values);
}

void TableReader::DurationMap(std::string_view key,
                              std::map<std::string, std::chrono::nanoseconds>& out,
                              std::chrono::nanoseconds min) {
  if (describe_ != nullptr) {
    std::string text = "{";
    for (const auto& [k, v] : out)
      text +=
          (text.size() > 1 ? ", " : " ") + TomlString(k) + " = " + TomlString(FormatDuration(v));
    return Describe(key, text + (out.empty() ? "}" : " }"));
  }
  const toml::table* table = SubTable(key);
  if (table == nullptr) return;
  std::map<std::string, std::chrono::nanoseconds> values;
  for (const auto& [name, node] : *table) {
    TableReader sub(table, Join(key), errors_);
    std::chrono::nanoseconds value = min;
    sub.Duration(name.str(), value, min);
    values.emplace(std::string(name.str()), value);
  }
  out = std::move(values);
}

void TableReader::Unsigned(std::string_view key, std::uint64_t& out, std::uint64_t min,
                           std::uint64_t max) {
  if (describe_ != nullptr) return Describe(key, std::to_string(out));
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto* value = node->as_integer();
  if (value == nullptr) return TypeError(*node, key, "an integer");
  const std::int64_t v = value->get();
  if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
    return Error(*node, key,
                 "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                     std::to_string(v));
  }
  out = static_cast<std::uint64_t>(v);
}

void TableReader::Double(std::string_view key, double& out, double min, double max) {
  if (describe_ != nullptr) return Describe(key, DoubleText(out));
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  double v = 0;
  if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    return TypeError(*node, key, "a number");
  }
  if (!(v >= min && v <= max)) {  // also refuses NaN
    return Error(
        *node, key,
        "must be in " + DoubleText(min) + ".." + DoubleText(max) + ", got " + DoubleText(v));
  }
  out = v;
}

void TableReader::Duration(std::string_view key, std::chrono::nanoseconds& out,
                           std::chrono::nanoseconds min, std::chrono::nanoseconds max) {
  if (describe_ != nullptr) return Describe(key, TomlString(FormatDuration(out)));
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (!node->is_string()) {
    return TypeError(*node, key, "a duration string like \"30s\"");
  }
  StatusOr<std::chrono::nanoseconds> value = ParseDuration(node->as_string()->get());
  if (!value.ok()) return Error(*node, key, value.status().message());
  if (*value < min) {
    return Error(*node, key, "must be at least " + FormatDuration(min));
  }
  if (*value > max) {
    return Error(*node, key, "must be at most " + FormatDuration(max));
  }
  out = *value;
}

void TableReader::Size(std::string_view key, std::uint64_t& out, std::uint64_t min,
                       std::uint64_t max) {
  if (describe_ != nullptr) {
    return Describe(key, out == 0 ? "0" : TomlString(FormatSize(out)));
  }
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  std::uint64_t bytes = 0;
  if (const auto* i = node->as_integer()) {
    if (i->get() < 0) return Error(*node, key, "must not be negative");
    bytes = static_cast<std::uint64_t>(i->get());
  } else if (const auto* s = node->as_string()) {
    StatusOr<std::uint64_t> value = ParseSize(s->get());
    if (!value.ok()) return Error(*node, key, value.status().message());
    bytes = *value;
  } else {
    return TypeError(*node, key, "a size like \"64MiB\" or an integer");
  }
  if (bytes < min || bytes > max) {
    return Error(
        *node, key,
        "must be in " + FormatSize(min) + ".." + FormatSize(max) + ", got " + FormatSize(bytes));
  }
  out = bytes;
}

void TableReader::EnumIndex(std::string_view key, std::span<const std::string_view> names,
                            std::size_t& index) {
  if (describe_ != nullptr) return Describe(key, TomlString(names[index]));
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  std::string choices;
  for (std::string_view name : names) choices += (choices.empty() ? "" : ", ") + std::string(name);
  if (!node->is_string()) return TypeError(*node, key, "one of " + choices);
  const std::string& text = node->as_string()->get();
  const auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end()) {
    return Error(*node, key, "expected one of " + choices + ", got " + QuoteForError(text));
  }
  index = static_cast<std::size_t>(it - names.begin());
}

const toml::table* TableReader::SubTable(std::string_view key) {
  const toml::node* node = Find(key);
  if (node == nullptr) return nullptr;
  if (const auto* table = node->as_table()) return table;
  TypeError(*node, key, "a table [" + Join(key) + "]");
  return nullptr;
}

std::vector<const toml::table*> TableReader::SubTables(std::string_view key) {
  std::vector<const toml::table*> tables;
  const toml::node* node = Find(key);
  if (node == nullptr) return tables;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    TypeError(*node, key, "an array of tables [[" + Join(key) + "]]");
    return tables;
  }
  for (const toml::node& element : *array) {
    if (const auto* table = element.as_table()) {
      tables.push_back(table);
    } else {
      TypeError(element, key, "an array of tables [[" + Join(key) + "]]");
    }
  }
  return tables;
}

void TableReader::RejectUnknownKeys() {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    const std::string_view name = key.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    std::string message = node.is_table() ? "unknown table" : "unknown key";
    std::size_t best = 3;
    std::string_view suggestion;
    for (const std::string& candidate : known_) {
      const std::size_t distance = store::EditDistance(name, candidate);
      if (distance < best) {
        best = distance;
        suggestion = candidate;
      }
    }
    if (!suggestion.empty()) message += " (did you mean \"" + std::string(suggestion) + "\"?)";
    errors_->Add(key.source().begin, Join(name), message);
  }
}

}  // namespace tidewatch::daemon::internal
