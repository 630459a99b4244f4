// Helpers for query executor tests: a real Store filled with line-like points, queries
// parsed and executed, and results rendered as compact text to compare at once.
#ifndef TIDEWATCH_TESTS_RULES_QUERY_TEST_UTIL_H_
#define TIDEWATCH_TESTS_RULES_QUERY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/database_registry.h"
#include "rules/parser.h"
#include "rules/query_executor.h"
#include "store/store.h"

namespace tidewatch::rules::testing {

inline constexpr std::int64_t kSec = 1'000'000'000;

// "[name] [k=v,...] time,col,...\n" then one "  cell,cell,...\n" per row; a failed
// statement renders "error: message\n". Times in seconds when whole, else "<ns>ns";
// integers end in 'i' as in line protocol.
inline std::string RenderValue(const Value& v) {
  char buf[64];
  if (std::holds_alternative<std::monostate>(v)) return "null";
  if (const auto* d = std::get_if<double>(&v)) {
    std::snprintf(buf, sizeof buf, "%.6g", *d);
    return buf;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i) + "i";
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  const std::int64_t ns = std::get<TimeValue>(v).ns;
  if (ns % kSec == 0) return std::to_string(ns / kSec) + "s";
  return std::to_string(ns) + "ns";
}

inline std::string Render(const StatementResult& r) {
  if (r.error) return "error: " + *r.error + "\n";
  std::string out;
  for (const ResultSeries& s : r.series) {
    out += s.name;
    if (!s.tags.empty()) {
      out += " ";
      for (std::size_t i = 0; i < s.tags.size(); ++i) {
        out += (i ? "," : "") + s.tags[i].first + "=" + s.tags[i].second;
      }
    }
    out += " ";
    for (std::size_t i = 0; i < s.columns.size(); ++i) out += (i ? "," : "") + s.columns[i];
    out += s.partial ? " (partial)\n" : "\n";
    for (const std::vector<Value>& row : s.values) {
      out += " ";
      for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : " ") + RenderValue(row[i]);
      out += "\n";
    }
  }
  return out;
}

struct TestPoint {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;  // sorted by key
  std::string field;
  store::FieldType type;
  std::int64_t ts_sec;
  double value;
};

class QueryFixture {
 public:
  explicit QueryFixture(QueryLimits limits = {}) : registry_(store_), limits_(limits) {}

  void Write(const std::string& db, const std::vector<TestPoint>& points) {
    for (const TestPoint& p : points) {
      std::vector<store::TagView> tags;
      for (const auto& [k, v] : p.tags) tags.push_back({k, v});
      StatusOr<store::SeriesId> id = store_.Intern({db, p.measurement, tags, p.field}, p.type);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      const store::Point point{*id, p.ts_sec * kSec, p.value};
      ASSERT_EQ(store_.Append({&point, 1}).appended, 1u);
    }
  }

  // Runs `q` (one statement) and renders its result.
  std::string Run(std::string_view q, std::string db = "plant", std::int64_t now_sec = 60) {
    StatusOr<Query> query = ParseQuery(q);
    if (!query.ok()) return "parse error: " + query.status().message();
    QueryExecutor executor(store_, registry_, limits_);
    QueryResult result = executor.Execute(*query, {std::move(db), now_sec * kSec});
    std::string out;
    for (const StatementResult& r : result.results) out += Render(r);
    return out;
  }

  store::Store& store() { return store_; }
  DatabaseRegistry& registry() { return registry_; }
  QueryLimits& limits() { return limits_; }

 private:
  store::Store store_;
  DatabaseRegistry registry_;
  QueryLimits limits_;
};

// cpu,host=a,region=east value (float) 0s:1 10s:3 20s:5 40s:7; load (integer) 0s:10
//   10s:20 20s:40; up (boolean) 0s:true 10s:false
// cpu,host=b,region=west value 0s:2 10s:4 30s:6
// mem,host=a used 0s:100 10s:200
inline std::vector<TestPoint> PlantData() {
  using store::FieldType;
  const std::vector<std::pair<std::string, std::string>> a = {{"host", "a"}, {"region", "east"}};
  const std::vector<std::pair<std::string, std::string>> b = {{"host", "b"}, {"region", "west"}};
  return {
      {"cpu", a, "value", FieldType::kFloat, 0, 1},
      {"cpu", a, "value", FieldType::kFloat, 10, 3},
      {"cpu", a, "value", FieldType::kFloat, 20, 5},
      {"cpu", a, "value", FieldType::kFloat, 40, 7},
      {"cpu", a, "load", FieldType::kInteger, 0, 10},
      {"cpu", a, "load", FieldType::kInteger, 10, 20},
      {"cpu", a, "load", FieldType::kInteger, 20, 40},
      {"cpu", a, "up", FieldType::kBoolean, 0, 1},
      {"cpu", a, "up", FieldType::kBoolean, 10, 0},
      {"cpu", b, "value", FieldType::kFloat, 0, 2},
      {"cpu", b, "value", FieldType::kFloat, 10, 4},
      {"cpu", b, "value", FieldType::kFloat, 30, 6},
      {"mem", {{"host", "a"}}, "used", FieldType::kFloat, 0, 100},
      {"mem", {{"host", "a"}}, "used", FieldType::kFloat, 10, 200},
  };
}

}  // namespace tidewatch::rules::testing

#endif  // TIDEWATCH_TESTS_RULES_QUERY_TEST_UTIL_H_
