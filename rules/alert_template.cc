#include "rules/alert_template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

namespace tidewatch::rules {
namespace {

enum class FieldKind { kLabel, kValue, kThreshold, kSeverity, kRule };

struct Placeholder {
  FieldKind kind = FieldKind::kValue;
  std::string_view label;  // kLabel: the label's name
};

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
constexpr std::string_view kLabelsPrefix = ".Labels.";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// A label name after ".Labels.": any run of characters but blanks and braces.
bool IsLabelRef(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (IsBlank(c) || c == '{' || c == '}' || c == '\n' || c == '\r') return false;
  }
  return true;
}

std::optional<Placeholder> Classify(std::string_view field) {
  if (field == ".Value") return Placeholder{FieldKind::kValue, {}};
  if (field == ".Threshold") return Placeholder{FieldKind::kThreshold, {}};
  if (field == ".Severity") return Placeholder{FieldKind::kSeverity, {}};
  if (field == ".Rule") return Placeholder{FieldKind::kRule, {}};
  if (field.starts_with(kLabelsPrefix) && IsLabelRef(field.substr(kLabelsPrefix.size()))) {
    return Placeholder{FieldKind::kLabel, field.substr(kLabelsPrefix.size())};
  }
  return std::nullopt;
}

// Splits `text` into literal runs and placeholders, calling on_text(string_view) and
// on_field(const Placeholder&) in order. Stops at the first malformed placeholder.
template <class OnText, class OnField>
Status Scan(std::string_view text, OnText&& on_text, OnField&& on_field) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    on_text(text.substr(pos, open - pos));
    const std::size_t close = text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) {
      return Status(StatusCode::kInvalidArgument, "unclosed {{ at offset " + std::to_string(open));
    }
    const std::string_view field = Trim(text.substr(open + kOpen.size(), close - open - 2));
    const std::optional<Placeholder> placeholder = Classify(field);
    if (!placeholder) {
      return Status(StatusCode::kInvalidArgument, "unknown field {{ " + std::string(field) +
                                                      " }} at offset " + std::to_string(open));
    }
    on_field(*placeholder);
    pos = close + kClose.size();
  }
  on_text(text.substr(std::min(pos, text.size())));
  return Status::Ok();
}

void AppendNumber(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

}  // namespace

Status CheckTemplate(std::string_view text) {
  return Scan(
      text, [](std::string_view) {}, [](const Placeholder&) {});
}

std::string ExpandTemplate(std::string_view text, const TemplateData& data) {
  std::string out;
  out.reserve(text.size());
  Scan(
      text, [&out](std::string_view literal) { out += literal; },
      [&out, &data](const Placeholder& p) {
        switch (p.kind) {
          case FieldKind::kLabel:
            if (data.labels != nullptr) {
              if (auto it = data.labels->find(p.label); it != data.labels->end()) out += it->second;
            }
            break;
          case FieldKind::kValue:
            AppendNumber(data.value, out);
            break;
          case FieldKind::kThreshold:
            AppendNumber(data.threshold, out);
            break;
          case FieldKind::kSeverity:
            out += data.severity;
            break;
          case FieldKind::kRule:
            out += data.rule;
            break;
        }
      })
      .IgnoreError();  // REQUIRES: CheckTemplate(text).ok(); a bad tail is left out
  return out;
}

}  // namespace tidewatch::rules
