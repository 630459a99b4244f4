#include "rules/alert_template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace tidewatch::rules {
namespace {

std::string Check(std::string_view text) {
  const Status status = CheckTemplate(text);
  return status.ok() ? "OK" : status.message();
}

TEST(AlertTemplateTest, AcceptsEveryField) {
  EXPECT_EQ(Check(""), "OK");
  EXPECT_EQ(Check("plain text, no placeholders } {"), "OK");
  EXPECT_EQ(Check("{{ .Value }}{{.Threshold}}{{  .Severity\t}} {{ .Rule }}"), "OK");
  EXPECT_EQ(Check("{{ .Labels.sensor }} {{ .Labels.sensor-id }} {{ .Labels.ünïcode }}"), "OK");
  EXPECT_EQ(Check("closing only }} is text"), "OK");
}

TEST(AlertTemplateTest, RejectsUnknownFieldsWithOffset) {
  EXPECT_EQ(Check("at {{ .Foo }}"), "unknown field {{ .Foo }} at offset 3");
  EXPECT_EQ(Check("{{}}"), "unknown field {{  }} at offset 0");
  EXPECT_EQ(Check("{{ .value }}"), "unknown field {{ .value }} at offset 0");
  EXPECT_EQ(Check("{{ .Labels. }}"), "unknown field {{ .Labels. }} at offset 0");
  EXPECT_EQ(Check("{{ .Labels.a b }}"), "unknown field {{ .Labels.a b }} at offset 0");
  EXPECT_EQ(Check("{{ .Value | printf \"%.2f\" }}"),
            "unknown field {{ .Value | printf \"%.2f\" }} at offset 0");
  EXPECT_EQ(Check("ok {{ .Value }} then {{ {{ .Value }}"),
            "unknown field {{ {{ .Value }} at offset 21");
}

TEST(AlertTemplateTest, RejectsUnclosedPlaceholder) {
  EXPECT_EQ(Check("abc{{ .Value"), "unclosed {{ at offset 3");
  EXPECT_EQ(Check("{{"), "unclosed {{ at offset 0");
  EXPECT_EQ(Check("{{ .Value }} {{ .Value }"), "unclosed {{ at offset 13");
  EXPECT_EQ(Check(std::string(100000, '{')), "unclosed {{ at offset 0");
}

TEST(AlertTemplateTest, Expands) {
  const std::map<std::string, std::string, std::less<>> labels = {{"sensor", "pt-001"},
                                                                  {"site", "site1"}};
  TemplateData data;
  data.labels = &labels;
  data.value = 9.75;
  data.threshold = 9.5;
  data.severity = "critical";
  data.rule = "high-pressure";
  EXPECT_EQ(ExpandTemplate("{{ .Labels.sensor }}@{{.Labels.site}} = {{ .Value }} > "
                           "{{ .Threshold }} ({{ .Severity }}, {{ .Rule }}){{ .Labels.none }}!",
                           data),
            "pt-001@site1 = 9.75 > 9.5 (critical, high-pressure)!");
  EXPECT_EQ(ExpandTemplate("no placeholders", data), "no placeholders");
  EXPECT_EQ(ExpandTemplate("", data), "");
}

TEST(AlertTemplateTest, FormatsNumbersShortestRoundTrip) {
  TemplateData data;
  const auto value = [&data](double v) {
    data.value = v;
    return ExpandTemplate("{{ .Value }}", data);
  };
  EXPECT_EQ(value(0.1), "0.1");
  EXPECT_EQ(value(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(value(100), "100");
  EXPECT_EQ(value(-2.5), "-2.5");
  EXPECT_EQ(value(1e21), "1e+21");
  EXPECT_EQ(value(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(std::stod(value(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(AlertTemplateTest, MissingLabelsMapExpandsToEmpty) {
  TemplateData data;  // labels null
  data.rule = "r";
  EXPECT_EQ(ExpandTemplate("[{{ .Labels.x }}] {{ .Rule }} [{{ .Severity }}]", data), "[] r []");
}

}  // namespace
}  // namespace tidewatch::rules
