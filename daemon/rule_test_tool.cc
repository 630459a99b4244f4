#include "daemon/rule_test_tool.h"

#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

#include "daemon/internal/toml_reader.h"
#include "daemon/rules_file.h"
#include "rules/catalog.h"
#include "rules/database_registry.h"
#include "rules/query_executor.h"
#include "rules/rule_engine.h"
#include "store/store.h"

namespace tidewatch::daemon {
namespace {

using internal::ConfigErrors;
using internal::TableReader;
using std::chrono::nanoseconds;
using Labels = std::map<std::string, std::string>;

constexpr std::size_t kMaxTestFileBytes = 16 << 20;
constexpr std::size_t kMaxSteps = 10'000'000;                   // per input, after expansion
constexpr store::Timestamp kStart = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z

struct ExpectedAlert {
  Labels labels;
  std::string state;
  std::string isa_state;  // "" not compared
  Labels annotations;     // empty: not compared
};

struct AlertCheck {
  nanoseconds at{0};
  std::string rule;
  std::vector<ExpectedAlert> expect;
};

struct Input {
  std::string series;
  std::string values;
};

struct RuleTest {
  std::string name;
  std::string db = "test";
  std::vector<Input> inputs;
  std::vector<AlertCheck> alerts;
};

struct TestFile {
  std::vector<std::string> rule_files;
  nanoseconds interval = std::chrono::seconds(1);
  std::vector<RuleTest> tests;
};

void ReadExpected(TableReader& t, ExpectedAlert& e) {
  t.StringMap("labels", e.labels);
  t.RequiredString("state", e.state);
  if (!t.describing() && e.state != "pending" && e.state != "firing") {
    t.Fail("state", "must be \"pending\" or \"firing\"");
  }
  t.String("isa_state", e.isa_state);
  t.StringMap("annotations", e.annotations);
}

void ReadTest(TableReader& t, RuleTest& test) {
  t.RequiredString("name", test.name);
  t.String("db", test.db);
  t.TableArray("input", test.inputs, [](TableReader& r, Input& input) {
    r.RequiredString("series", input.series);
    r.RequiredString("values", input.values);
  });
  t.TableArray("alert", test.alerts, [](TableReader& r, AlertCheck& check) {
    r.Duration("at", check.at, nanoseconds(0));
    r.RequiredString("rule", check.rule);
    r.TableArray("expect", check.expect, ReadExpected);
  });
}

StatusOr<TestFile> ParseTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kNotFound, "cannot read test file " + path);
  std::string text(kMaxTestFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxTestFileBytes) {
    return Status(StatusCode::kInvalidArgument, path + ": larger than 16 MiB");
  }
  ConfigErrors errors(path);
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed) {
    errors.Add(parsed.error().source().begin, "", parsed.error().description());
    return errors.ToStatus();
  }
  TestFile file;
  TableReader root(&parsed.table(), "", &errors);
  root.StringList("rule_files", file.rule_files, /*required=*/true);
  root.Duration("interval", file.interval, std::chrono::milliseconds(1));
  root.TableArray("test", file.tests, ReadTest);
  root.RejectUnknownKeys();
  if (!errors.empty()) return errors.ToStatus();
  return file;
}

// One step's value; nullopt: no point at that step.
using Steps = std::vector<std::optional<double>>;

std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::size_t> ParseCount(std::string_view text) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n > kMaxSteps) return std::nullopt;
  return n;
}

// promtool's expanding notation (see the header).
StatusOr<Steps> ExpandValues(std::string_view values) {
  Steps steps;
  std::istringstream tokens{std::string(values)};
  std::string token;
  while (tokens >> token) {
    const std::string bad = "bad value \"" + token + "\" (use 1.5, _, a+bxn, a-bxn, axn or _xn)";
    const std::size_t x = token.find('x');
    if (x == std::string::npos) {
      if (token == "_") {
        steps.push_back(std::nullopt);
      } else if (std::optional<double> v = ParseNumber(token)) {
        steps.push_back(*v);
      } else {
        return Status(StatusCode::kInvalidArgument, bad);
      }
    } else {
      const std::string_view head = std::string_view(token).substr(0, x);
      const std::optional<std::size_t> n = ParseCount(std::string_view(token).substr(x + 1));
      if (!n) return Status(StatusCode::kInvalidArgument, bad);
      if (head == "_") {
        steps.insert(steps.end(), *n, std::nullopt);
      } else {
        // "a+b", "a-b" or "a"; the sign of a itself is part of a.
        const std::size_t op = head.find_first_of("+-", 1);
        const std::optional<double> a = ParseNumber(head.substr(0, op));
        std::optional<double> b = 0.0;
        if (op != std::string_view::npos) {
          b = ParseNumber(head.substr(op + 1));
          if (b && head[op] == '-') b = -*b;
        }
        if (!a || !b) return Status(StatusCode::kInvalidArgument, bad);
        for (std::size_t i = 0; i <= *n; ++i) steps.push_back(*a + static_cast<double>(i) * *b);
      }
    }
    if (steps.size() > kMaxSteps) {
      return Status(StatusCode::kInvalidArgument, "more than 10000000 values");
    }
  }
  return steps;
}

// "measurement[,tag=value...] field", no escapes.
struct SeriesSpec {
  std::string measurement;
  std::vector<store::Tag> tags;  // sorted by key
  std::string field;
};

StatusOr<SeriesSpec> ParseSeries(std::string_view text) {
  const Status bad(StatusCode::kInvalidArgument, "bad series \"" + std::string(text) +
                                                     "\" (use measurement[,tag=value...] field)");
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return bad;
  SeriesSpec spec;
  spec.field = std::string(text.substr(space + 1));
  if (spec.field.empty() || spec.field.find_first_of(" ,=") != std::string::npos) return bad;
  std::string_view rest = text.substr(0, space);
  for (bool first = true; !rest.empty() || first; first = false) {
    const std::size_t comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (comma != std::string_view::npos && rest.empty()) return bad;  // a trailing comma
    if (first) {
      if (part.empty()) return bad;
      spec.measurement = std::string(part);
      continue;
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == part.size()) return bad;
    spec.tags.push_back({std::string(part.substr(0, eq)), std::string(part.substr(eq + 1))});
  }
  std::sort(spec.tags.begin(), spec.tags.end(),
            [](const store::Tag& a, const store::Tag& b) { return a.key < b.key; });
  return spec;
}

std::string FormatLabels(const Labels& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ", ";
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

std::string FormatAlert(const ExpectedAlert& a) {
  std::string out = FormatLabels(a.labels) + " " + a.state;
  if (!a.isa_state.empty()) out += " (" + a.isa_state + ")";
  if (!a.annotations.empty()) out += " annotations " + FormatLabels(a.annotations);
  return out;
}

// The engine's pending and firing instances of `rule`, shaped like the expectations they
// are compared with (isa_state and annotations only where the expectation has them).
std::vector<ExpectedAlert> Actual(const rules::RuleEngine& engine, const AlertCheck& check) {
  std::vector<ExpectedAlert> out;
  rules::AlertFilter filter;
  filter.rule = check.rule;
  for (const rules::AlertView& view : engine.ListAlerts(filter)) {
    if (view.state != "pending" && view.state != "firing") continue;
    ExpectedAlert a;
    a.labels = view.labels;
    a.labels.erase("alertname");
    a.state = view.state;
    const auto same = std::find_if(check.expect.begin(), check.expect.end(),
                                   [&](const ExpectedAlert& e) { return e.labels == a.labels; });
    if (same != check.expect.end()) {
      if (!same->isa_state.empty())
        a.isa_state = std::string(rules::AlarmStateName(view.isa_state));
      if (!same->annotations.empty()) a.annotations = view.annotations;
    }
    out.push_back(std::move(a));
  }
  return out;
}

bool SameAlerts(std::vector<ExpectedAlert> a, std::vector<ExpectedAlert> b) {
  const auto key = [](const ExpectedAlert& e) { return FormatAlert(e); };
  const auto by_text = [&](const ExpectedAlert& x, const ExpectedAlert& y) {
    return key(x) < key(y);
  };
  std::sort(a.begin(), a.end(), by_text);
  std::sort(b.begin(), b.end(), by_text);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return key(x) == key(y); });
}

// A temporary directory for the test's catalog, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    std::string base = std::filesystem::temp_directory_path(ec).string();
    if (ec) base = "/tmp";
    std::string tmpl = base + "/tidewatch-rule-test.XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct PreparedInput {
  store::SeriesId series = 0;
  Steps steps;
};

// Runs one test; returns its failures (empty: passed), or an error for invalid input.
StatusOr<std::vector<std::string>> RunTest(const RuleTest& test,
                                           const std::vector<rules::RuleDefinition>& definitions,
                                           nanoseconds interval) {
  ScratchDir dir;
  if (dir.path().empty()) return Status(StatusCode::kInternal, "cannot create a temp directory");
  store::StoreOptions store_options;
  store_options.default_retention_ns = std::int64_t{10 * 365} * 86'400'000'000'000;
  store::Store store(store_options);
  rules::DatabaseRegistry databases(store);
  rules::QueryExecutor executor(store, databases, rules::QueryLimits{});
  rules::CatalogOptions catalog_options;
  catalog_options.durability = rules::Durability::kNormal;
  StatusOr<std::unique_ptr<rules::Catalog>> catalog =
      rules::Catalog::Open(dir.path() + "/catalog.db", catalog_options);
  if (!catalog.ok()) return catalog.status();

  store::Timestamp now = kStart;
  rules::RuleEngineOptions options;
  options.clock = [&now] { return now; };
  rules::RuleEngine engine(store, executor, **catalog, options);
  for (const rules::RuleDefinition& definition : definitions) {
    if (StatusOr<rules::RuleStatus> s = engine.CreateRule(definition, "test"); !s.ok()) {
      return s.status();
    }
  }

  std::vector<PreparedInput> inputs;
  std::size_t steps = 0;
  for (const Input& input : test.inputs) {
    StatusOr<SeriesSpec> spec = ParseSeries(input.series);
    if (!spec.ok()) return spec.status();
    StatusOr<Steps> values = ExpandValues(input.values);
    if (!values.ok())
      return Status(values.status().code(), input.series + ": " + values.status().message());
    std::vector<store::TagView> tags;
    for (const store::Tag& tag : spec->tags) tags.push_back({tag.key, tag.value});
    StatusOr<store::SeriesId> id =
        store.Intern({test.db, spec->measurement, tags, spec->field}, store::FieldType::kFloat);
    if (!id.ok()) return Status(id.status().code(), input.series + ": " + id.status().message());
    steps = std::max(steps, values->size());
    inputs.push_back({*id, std::move(*values)});
  }
  std::vector<AlertCheck> checks = test.alerts;
  for (const AlertCheck& check : checks) {
    if (check.at.count() % interval.count() != 0) {
      return Status(StatusCode::kInvalidArgument, "alert at " + std::to_string(check.at.count()) +
                                                      "ns: not a multiple of interval");
    }
    steps = std::max(steps, static_cast<std::size_t>(check.at / interval) + 1);
  }
  std::stable_sort(checks.begin(), checks.end(),
                   [](const AlertCheck& a, const AlertCheck& b) { return a.at < b.at; });

  std::vector<std::string> failures;
  auto next_check = checks.begin();
  std::vector<store::Point> batch;
  for (std::size_t step = 0; step < steps; ++step) {
    now = kStart + static_cast<std::int64_t>(step) * interval.count();
    batch.clear();
    for (const PreparedInput& input : inputs) {
      if (step < input.steps.size() && input.steps[step]) {
        batch.push_back({input.series, now, *input.steps[step]});
      }
    }
    store.Append(batch);
    engine.OnPoints(batch);
    engine.Tick();
    for (;
         next_check != checks.end() && next_check->at / interval == static_cast<std::int64_t>(step);
         ++next_check) {
      const std::vector<ExpectedAlert> got = Actual(engine, *next_check);
      if (SameAlerts(got, next_check->expect)) continue;
      std::string text = "  rule \"" + next_check->rule + "\" at " +
                         std::to_string(next_check->at / std::chrono::milliseconds(1)) +
                         "ms (step " + std::to_string(step) + "):\n    expected:";
      for (const ExpectedAlert& e : next_check->expect) text += "\n      " + FormatAlert(e);
      if (next_check->expect.empty()) text += " (none)";
      text += "\n    got:";
      for (const ExpectedAlert& a : got) text += "\n      " + FormatAlert(a);
      if (got.empty()) text += " (none)";
      failures.push_back(std::move(text));
    }
  }
  return failures;
}

}  // namespace

int RunRuleTests(const std::string& path, std::ostream& out) {
  StatusOr<TestFile> file = ParseTestFile(path);
  if (!file.ok()) {
    out << file.status().message() << "\n";
    return 2;
  }
  std::vector<rules::RuleDefinition> definitions;
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  for (const std::string& name : file->rule_files) {
    const std::filesystem::path rules_path =
        std::filesystem::path(name).is_absolute() ? std::filesystem::path(name) : base / name;
    StatusOr<std::vector<rules::RuleDefinition>> loaded = LoadRulesFile(rules_path.string());
    if (!loaded.ok()) {
      out << loaded.status().message() << "\n";
      return 2;
    }
    definitions.insert(definitions.end(), loaded->begin(), loaded->end());
  }
  int failed = 0;
  for (const RuleTest& test : file->tests) {
    StatusOr<std::vector<std::string>> failures = RunTest(test, definitions, file->interval);
    if (!failures.ok()) {
      out << "test \"" << test.name << "\": " << failures.status().message() << "\n";
      return 2;
    }
    if (failures->empty()) continue;
    ++failed;
    out << "FAILED: test \"" << test.name << "\"\n";
    for (const std::string& f : *failures) out << f << "\n";
  }
  if (failed > 0) {
    out << failed << " of " << file->tests.size() << " tests failed\n";
    return 1;
  }
  out << "SUCCESS: " << file->tests.size() << " tests passed\n";
  return 0;
}

}  // namespace tidewatch::daemon
