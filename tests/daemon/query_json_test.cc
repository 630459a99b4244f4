#include "daemon/query_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tidewatch::daemon {
namespace {

using rules::QueryResult;
using rules::ResultSeries;
using rules::StatementResult;
using rules::TimeValue;
using rules::Value;

constexpr std::int64_t kT = 1'795'000'000'000'000'000;  // 2026-11-18T11:06:40Z

ResultSeries Cpu() {
  ResultSeries s;
  s.name = "cpu";
  s.tags = {{"host", "a"}};
  s.columns = {"time", "mean", "count"};
  s.values = {{TimeValue{kT}, 0.5, std::int64_t{3}},
              {TimeValue{kT + 60'000'000'000}, Value{}, std::int64_t{0}}};
  return s;
}

std::string Render(const Value& v, EpochFormat epoch = EpochFormat::kRfc3339) {
  ResultSeries s;
  s.name = "m";
  s.columns = {"v"};
  s.values = {{v}};
  QueryResult r;
  r.results.push_back(StatementResult{0, {s}, {}, {}});
  const std::string json = RenderQueryResult(r, {epoch, false});
  const std::string prefix =
      R"({"results":[{"statement_id":0,"series":[{"name":"m","columns":["v"],"values":[[)";
  EXPECT_EQ(json.substr(0, prefix.size()), prefix) << json;
  return json.substr(prefix.size(), json.size() - prefix.size() - 7);
}

TEST(QueryJsonTest, SeriesShapeMatchesInfluxDb) {
  QueryResult r;
  r.results.push_back(StatementResult{0, {Cpu()}, {}, {}});
  EXPECT_EQ(RenderQueryResult(r, {}),
            R"({"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},)"
            R"("columns":["time","mean","count"],"values":[["2026-11-18T11:06:40Z",0.5,3],)"
            R"(["2026-11-18T11:07:40Z",null,0]]}]}]})");
}

TEST(QueryJsonTest, EmptySeriesNameIsLeftOut) {
  ResultSeries s;
  s.columns = {"key"};
  s.values = {{std::string("cpu,host=a")}};
  QueryResult r;
  r.results.push_back(StatementResult{0, {s}, {}, {}});
  EXPECT_EQ(
      RenderQueryResult(r, {}),
      R"({"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,host=a"]]}]}]})");
}

TEST(QueryJsonTest, EmptyAndFailedStatements) {
  QueryResult r;
  r.results.push_back(StatementResult{0, {}, {}, {}});
  r.results.push_back(StatementResult{1, {}, std::string("database not found: x"), {}});
  EXPECT_EQ(
      RenderQueryResult(r, {}),
      R"({"results":[{"statement_id":0},{"statement_id":1,"error":"database not found: x"}]})");
}

TEST(QueryJsonTest, TimesInEveryEpoch) {
  const Value t = TimeValue{kT + 123'456'789};
  EXPECT_EQ(Render(t), R"("2026-11-18T11:06:40.123456789Z")");
  EXPECT_EQ(Render(TimeValue{kT + 500'000'000}), R"("2026-11-18T11:06:40.5Z")");
  EXPECT_EQ(Render(TimeValue{0}), R"("1970-01-01T00:00:00Z")");
  EXPECT_EQ(Render(TimeValue{-1}), R"("1969-12-31T23:59:59.999999999Z")");
  EXPECT_EQ(Render(t, EpochFormat::kNanoseconds), "1795000000123456789");
  EXPECT_EQ(Render(t, EpochFormat::kMicroseconds), "1795000000123456");
  EXPECT_EQ(Render(t, EpochFormat::kMilliseconds), "1795000000123");
  EXPECT_EQ(Render(t, EpochFormat::kSeconds), "1795000000");
  EXPECT_EQ(Render(t, EpochFormat::kMinutes), "29916666");
  EXPECT_EQ(Render(t, EpochFormat::kHours), "498611");
  EXPECT_EQ(Render(TimeValue{-1}, EpochFormat::kSeconds), "-1");
}

TEST(QueryJsonTest, NumbersAsGoWritesThem) {
  EXPECT_EQ(Render(1.0), "1");
  EXPECT_EQ(Render(-0.25), "-0.25");
  EXPECT_EQ(Render(0.1), "0.1");
  EXPECT_EQ(Render(1e20), "100000000000000000000");
  EXPECT_EQ(Render(1e21), "1e+21");
  EXPECT_EQ(Render(1e-7), "1e-7");
  EXPECT_EQ(Render(123456.789e-12), "1.23456789e-7");
  EXPECT_EQ(Render(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Render(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Render(std::int64_t{-9223372036854775807 - 1}), "-9223372036854775808");
  EXPECT_EQ(Render(true), "true");
}

TEST(QueryJsonTest, StringsEscapedSafely) {
  EXPECT_EQ(Render(std::string("a\"b\\c\nd\x01<&>")), R"("a\"b\\c\nd\u0001\u003c\u0026\u003e")");
  EXPECT_EQ(Render(std::string("\xC2\xB0"
                               "C")),
            "\"\xC2\xB0"
            "C\"");
  // Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate, a cut sequence.
  EXPECT_EQ(Render(std::string("\x80|\xC0\xAF|\xED\xA0\x80|\xE2\x82")),
            "\"\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
            "\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(QueryJsonTest, PrettyIndentsLikeMarshalIndent) {
  QueryResult r;
  r.results.push_back(StatementResult{0, {}, {}, {}});
  EXPECT_EQ(
      RenderQueryResult(r, {EpochFormat::kRfc3339, true}),
      "{\n    \"results\": [\n        {\n            \"statement_id\": 0\n        }\n    ]\n}");
  ResultSeries s;
  s.name = "a,b:{c}";
  s.columns = {"x"};
  r.results[0].series = {s};
  EXPECT_EQ(RenderQueryResult(r, {EpochFormat::kRfc3339, true}),
            "{\n    \"results\": [\n        {\n            \"statement_id\": 0,\n"
            "            \"series\": [\n                {\n"
            "                    \"name\": \"a,b:{c}\",\n"
            "                    \"columns\": [\n                        \"x\"\n"
            "                    ]\n                }\n            ]\n        }\n    ]\n}");
}

TEST(QueryJsonTest, ChunkedSplitsRowsAndMarksPartial) {
  StatementResult st{3, {Cpu(), Cpu()}, {}, {}};
  st.series[1].tags = {{"host", "b"}};
  std::vector<std::string> chunks;
  RenderChunked(st, {EpochFormat::kSeconds, false}, 3,
                [&](std::string_view c) { chunks.emplace_back(c); });
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(
      chunks[0],
      R"({"results":[{"statement_id":3,"series":[{"name":"cpu","tags":{"host":"a"},)"
      R"("columns":["time","mean","count"],"values":[[1795000000,0.5,3],[1795000060,null,0]]},)"
      R"({"name":"cpu","tags":{"host":"b"},"columns":["time","mean","count"],)"
      R"("values":[[1795000000,0.5,3]],"partial":true}],"partial":true}]})");
  EXPECT_EQ(chunks[1],
            R"({"results":[{"statement_id":3,"series":[{"name":"cpu","tags":{"host":"b"},)"
            R"("columns":["time","mean","count"],"values":[[1795000060,null,0]]}]}]})");
}

TEST(QueryJsonTest, ChunkedEmptyStatementIsOneChunk) {
  std::vector<std::string> chunks;
  RenderChunked(StatementResult{0, {}, std::string("boom"), {}}, {}, 10,
                [&](std::string_view c) { chunks.emplace_back(c); });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], R"({"results":[{"statement_id":0,"error":"boom"}]})");
}

TEST(QueryJsonTest, EpochParameter) {
  EXPECT_EQ(ParseEpoch(""), EpochFormat::kRfc3339);
  EXPECT_EQ(ParseEpoch("ms"), EpochFormat::kMilliseconds);
  EXPECT_EQ(ParseEpoch("u"), EpochFormat::kMicroseconds);
  EXPECT_EQ(ParseEpoch("n"), EpochFormat::kNanoseconds);
  EXPECT_FALSE(ParseEpoch("d"));
  EXPECT_FALSE(ParseEpoch("MS"));
  EXPECT_EQ(RenderError("bad \"q\""), R"({"error":"bad \"q\""})");
}

}  // namespace
}  // namespace tidewatch::daemon
