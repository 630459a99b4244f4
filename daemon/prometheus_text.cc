#include "daemon/prometheus_text.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <system_error>

#include "daemon/internal/utf8.h"

namespace tidewatch::daemon {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "le" is the histogram writer's own; promtool flags it anywhere else.
[[maybe_unused]] bool LabelsValid(std::span<const Label> labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!IsValidLabelName(labels[i].name) || labels[i].name == "le") return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].name == labels[i].name) return false;
    }
  }
  return true;
}

[[maybe_unused]] bool NameFitsType(std::string_view name, MetricType type) {
  if (type == MetricType::kCounter) return EndsWith(name, "_total");
  if (EndsWith(name, "_total")) return false;
  return type != MetricType::kHistogram ||
         !(EndsWith(name, "_bucket") || EndsWith(name, "_sum") || EndsWith(name, "_count"));
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

template <class T>
void AppendChars(std::string& out, T value) {
  char buf[32];  // the longest double ("-2.2250738585072014e-308") is 24 characters
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  assert(r.ec == std::errc());
  out.append(buf, r.ptr);
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!IsNameChar(c) && c != ':') return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

void AppendNumber(std::string& out, std::uint64_t value) { AppendChars(out, value); }
void AppendNumber(std::string& out, std::int64_t value) { AppendChars(out, value); }

void AppendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    // Exact integers below 2^53 without exponent: "1000000", not "1e+06". -0 prints "0".
    AppendChars(out, static_cast<std::int64_t>(value));
  } else {
    // Shortest round-trip form, %g style like Go's FormatFloat(v, 'g', -1, 64):
    // "0.25", "0.0001", "1e-05", "1e+20".
    char buf[32];
    const std::to_chars_result r =
        std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general);
    assert(r.ec == std::errc());
    out.append(buf, r.ptr);
  }
}

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  while (!value.empty()) {
    const char c = value[0];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      const std::size_t len = internal::Utf8SequenceLength(value, 0);
      if (len == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, for one bad byte
        value.remove_prefix(1);
        continue;
      }
      out.append(value.substr(0, len));
      value.remove_prefix(len);
      continue;
    }
    value.remove_prefix(1);
  }
}

void AppendEscapedHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void PrometheusTextWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  assert(IsValidMetricName(name));
  assert(NameFitsType(name, type));
  if (auto it = index_.find(name); it != index_.end()) {
    current_ = it->second;
    assert(families_[current_].help == help && families_[current_].type == type);
    return;
  }
  current_ = families_.size();
  families_.push_back(FamilyText{std::string(name), std::string(help), type, {}});
  index_.emplace(std::string(name), current_);
}

std::string& PrometheusTextWriter::BeginSample(std::span<const Label> labels,
                                               std::string_view suffix, std::string_view le) {
  assert(current_ != kNone);
  FamilyText& family = families_[current_];
  assert(LabelsValid(labels));
  assert((family.type == MetricType::kHistogram) == !suffix.empty());
  std::string& out = family.samples;
  out += family.name;
  out += suffix;
  if (!labels.empty() || !le.empty()) {
    out += '{';
    for (const Label& label : labels) {
      out += label.name;
      out += "=\"";
      AppendEscapedLabelValue(out, label.value);
      out += "\",";
    }
    if (!le.empty()) {
      out += "le=\"";
      out += le;
      out += "\",";
    }
    out.back() = '}';
  }
  out += ' ';
  return out;
}

void PrometheusTextWriter::Histogram(std::span<const Label> labels,
                                     const HistogramSample& histogram) {
  assert(histogram.upper_bounds.size() == histogram.cumulative_counts.size());
  std::string le;
  for (std::size_t i = 0; i < histogram.upper_bounds.size(); ++i) {
    le.clear();
    AppendNumber(le, histogram.upper_bounds[i]);
    std::string& out = BeginSample(labels, "_bucket", le);
    AppendNumber(out, histogram.cumulative_counts[i]);
    out += '\n';
  }
  std::string& inf = BeginSample(labels, "_bucket", "+Inf");
  AppendNumber(inf, histogram.count);
  inf += '\n';
  std::string& sum = BeginSample(labels, "_sum");
  AppendNumber(sum, histogram.sum);
  sum += '\n';
  std::string& count = BeginSample(labels, "_count");
  AppendNumber(count, histogram.count);
  count += '\n';
}

std::string PrometheusTextWriter::Finish() && {
  std::string page;
  for (const FamilyText& family : families_) {
    if (family.samples.empty()) continue;
    page += "# HELP ";
    page += family.name;
    page += ' ';
    AppendEscapedHelp(page, family.help);
    page += "\n# TYPE ";
    page += family.name;
    page += ' ';
    page += TypeName(family.type);
    page += '\n';
    page += family.samples;
  }
  return page;
}

}  // namespace tidewatch::daemon
