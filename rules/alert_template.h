// Alert templates: the text of a rule's labels and annotations, with placeholders
// filled per alert instance and transition, in the spirit of Prometheus' Go templates
// (only field references, no pipelines or functions):
//
//   {{ .Labels.<name> }}  the instance's label <name> (its series tags, then the rule's
//                         static labels); "" when absent
//   {{ .Value }}          the value that caused the transition (shortest round-trip
//                         decimal, "NaN" before the first point)
//   {{ .Threshold }}      the threshold of the transition (see Transition::threshold)
//   {{ .Severity }}       the severity level's name ("" for normal)
//   {{ .Rule }}           the rule's name
//
// Spaces inside the braces are optional ("{{.Value}}"). Text outside placeholders is
// copied as is; a lone "{{" without its "}}" or an unknown field is a parse error.
//
// Thread safety: plain values and pure functions.
#ifndef TIDEWATCH_RULES_ALERT_TEMPLATE_H_
#define TIDEWATCH_RULES_ALERT_TEMPLATE_H_

#include <map>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::rules {

struct TemplateData {
  const std::map<std::string, std::string, std::less<>>* labels = nullptr;  // may be null
  double value = 0;
  double threshold = 0;
  std::string_view severity;
  std::string_view rule;
};

// OK, or kInvalidArgument: "unknown field {{ .Foo }} at offset 12", "unclosed {{ at
// offset 3".
[[nodiscard]] Status CheckTemplate(std::string_view text);

// REQUIRES: CheckTemplate(text).ok().
std::string ExpandTemplate(std::string_view text, const TemplateData& data);

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_ALERT_TEMPLATE_H_
