#include "rules/continuous_queries.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/line_protocol.h"
#include "rules/catalog.h"
#include "rules/database_registry.h"
#include "rules/parser.h"
#include "rules/query_executor.h"
#include "tests/rules/catalog_test_util.h"
#include "tests/rules/query_test_util.h"
#include "tests/util/allocation_counter.h"

namespace tidewatch::rules {
namespace {

using catalog_test::MustOpen;
using catalog_test::TempDir;
using testing::kSec;
using testing::Render;

// A store, an executor with the CQs set on it, a real catalog file, and an output that
// decodes the CQs' line protocol with the ingest decoder into the same store.
class CqFixture {
 public:
  explicit CqFixture(ContinuousQueryOptions options = {}, QueryLimits limits = {})
      : options_(options), executor_(store_, registry_, limits) {
    catalog_ = MustOpen(dir_.File("catalog.db"));
    registry_.Create("plant");
    Restart();
  }

  // A new ContinuousQueries over the same catalog and store, loaded and primed.
  void Restart() {
    executor_.set_continuous_queries(nullptr);
    cqs_ = std::make_unique<ContinuousQueries>(
        *catalog_, store_, executor_,
        [this](const ContinuousQueryBatch& batch) {
          sources_.push_back(std::string(batch.cq_db) + "." + std::string(batch.cq_name));
          return Output(batch.into_db, batch.line_protocol);
        },
        options_);
    executor_.set_continuous_queries(cqs_.get());
    const Status loaded = cqs_->Load();
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    cqs_->Prime();
  }

  // Stores one point and shows it to the CQs at processing time now_ns.
  void Write(std::string_view measurement,
             const std::vector<std::pair<std::string, std::string>>& tags, std::string_view field,
             store::FieldType type, std::int64_t ts_ns, double value, std::int64_t now_ns) {
    std::vector<store::TagView> views;
    for (const auto& [k, v] : tags) views.push_back({k, v});
    StatusOr<store::SeriesId> id = store_.Intern({"plant", measurement, views, field}, type);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    const store::Point point{*id, ts_ns, value};
    const store::AppendStats appended = store_.Append({&point, 1});
    ASSERT_EQ(appended.appended + appended.replaced, 1u);
    cqs_->OnPoints({&point, 1}, now_ns);
  }
  void Value(std::int64_t ts_sec, double value, std::int64_t now_sec) {
    Write("m", {{"host", "a"}}, "value", store::FieldType::kFloat, ts_sec * kSec, value,
          now_sec * kSec);
  }

  // Runs `q` and renders the result (series names kept).
  std::string Run(std::string_view q, std::int64_t now_sec = 100'000) {
    StatusOr<Query> query = ParseQuery(q);
    if (!query.ok()) return "parse error: " + query.status().message();
    QueryResult result = executor_.Execute(*query, {"plant", now_sec * kSec});
    std::string out;
    for (const StatementResult& r : result.results) out += Render(r);
    return out;
  }

  ContinuousQueries& cqs() { return *cqs_; }
  QueryExecutor& executor() { return executor_; }
  store::Store& store() { return store_; }
  Catalog& catalog() { return *catalog_; }
  // Every output call as "db: lines".
  std::vector<std::string>& outputs() { return outputs_; }
  // The CQ of every output call, as "<db>.<cq name>".
  const std::vector<std::string>& sources() const { return sources_; }
  void FailOutput(bool fail) { fail_output_ = fail; }

 private:
  Status Output(std::string_view db, std::string_view lines) {
    if (fail_output_) return Status(StatusCode::kUnavailable, "ring full");
    outputs_.push_back(std::string(db) + ": " + std::string(lines));
    std::vector<ingest::LineError> errors;
    decoder_.Decode(
        lines, 0,
        [&](const ingest::DecodedLine& line) {
          for (const ingest::DecodedField& f : line.fields) {
            StatusOr<store::SeriesId> id =
                store_.Intern({db, line.measurement, line.tags, f.key}, f.type);
            EXPECT_TRUE(id.ok()) << id.status().ToString();
            if (!id.ok()) continue;
            const store::Point point{*id, line.ts_ns, f.value};
            static_cast<void>(store_.Append({&point, 1}));
          }
        },
        errors);
    for (const ingest::LineError& e : errors) ADD_FAILURE() << e.ToString();
    return Status::Ok();
  }

  const ContinuousQueryOptions options_;
  TempDir dir_;
  store::Store store_;
  DatabaseRegistry registry_{store_};
  QueryExecutor executor_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ContinuousQueries> cqs_;
  std::vector<std::string> sources_;
  ingest::LineProtocolDecoder decoder_;
  std::vector<std::string> outputs_;
  bool fail_output_ = false;
};

// The rendered result without its series names (a CQ's target is named otherwise).
std::string WithoutNames(std::string rendered) {
  std::string out;
  std::size_t pos = 0;
  while (pos < rendered.size()) {
    std::size_t end = rendered.find('\n', pos);
    if (end == std::string::npos) end = rendered.size();
    std::string line = rendered.substr(pos, end - pos);
    if (!line.empty() && line[0] != ' ') line = line.substr(line.find(' '));
    out += line + "\n";
    pos = end + 1;
  }
  return out;
}

// A multi-series stream: hosts a, b, c (a and c east, b west), fields value (float) and
// load (integer), one point per series per second for 10 minutes, every 5th point
// arriving up to 8 s late (inside the 10 s lateness of the CQs below).
void FeedStream(CqFixture& f) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> series = {
      {{"host", "a"}, {"region", "east"}},
      {{"host", "b"}, {"region", "west"}},
      {{"host", "c"}, {"region", "east"}}};
  std::vector<std::pair<std::int64_t, std::size_t>> delayed;  // (ts, series)
  for (std::int64_t sec = 0; sec < 600; ++sec) {
    for (std::size_t s = 0; s < series.size(); ++s) {
      const std::int64_t n = sec * 3 + static_cast<std::int64_t>(s);
      const double value = static_cast<double>((n * 7919) % 1000) / 8.0 - 40.0;
      const auto write = [&](std::int64_t ts) {
        f.Write("cpu", series[s], "value", store::FieldType::kFloat, ts * kSec + 250, value,
                sec * kSec);
        f.Write("cpu", series[s], "load", store::FieldType::kInteger, ts * kSec + 250,
                static_cast<double>(n % 97), sec * kSec);
      };
      if (n % 5 == 0 && sec >= 8) {
        write(sec - static_cast<std::int64_t>(n % 9));  // late, inside the bound
      } else {
        write(sec);
      }
    }
    if (sec % 17 == 0) f.cqs().RunDue(sec * kSec);
  }
  f.cqs().RunDue(700 * kSec);  // idle close of the last buckets
}

TEST(ContinuousQueriesTest, OutputEqualsTheAdHocQuery) {
  ContinuousQueryOptions options;
  options.default_lateness_ns = 10 * kSec;
  CqFixture f(options);
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY by_host ON plant RESAMPLE FOR 20s BEGIN "
                  "SELECT mean(value), max(value), count(value), percentile(value, 90) "
                  "INTO plant..cpu_10s FROM cpu GROUP BY time(10s), host END"),
            "");
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY all_tags ON plant BEGIN SELECT max(load) AS peak, "
                  "min(value) INTO cpu_all FROM cpu GROUP BY time(10s, 3s), * END"),
            "");
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY east ON plant BEGIN SELECT count(value), "
                  "sum(load) INTO cpu_east FROM cpu WHERE region = 'east' GROUP BY time(30s) "
                  "END"),
            "");
  FeedStream(f);

  const std::string range = " WHERE time >= -100s AND time < 1000s ";
  const struct {
    std::string adhoc;
    std::string target;
  } cases[] = {
      {"SELECT mean(value), max(value), count(value), percentile(value, 90) FROM cpu" + range +
           "GROUP BY time(10s), host fill(none)",
       "SELECT mean, max, count, percentile FROM cpu_10s" + range + "GROUP BY host"},
      {"SELECT max(load) AS peak, min(value) FROM cpu" + range +
           "GROUP BY time(10s, 3s), * "
           "fill(none)",
       "SELECT peak, min FROM cpu_all" + range + "GROUP BY *"},
      {"SELECT count(value), sum(load) FROM cpu" + range +
           "AND region = 'east' GROUP BY "
           "time(30s) fill(none)",
       "SELECT count, sum FROM cpu_east" + range},
  };
  for (const auto& c : cases) {
    const std::string expected = f.Run(c.adhoc);
    ASSERT_EQ(expected.find("error"), std::string::npos) << expected;
    EXPECT_GT(expected.size(), 300u) << expected;  // 60 or 20 buckets per series
    EXPECT_EQ(WithoutNames(f.Run(c.target)), WithoutNames(expected)) << c.target;
  }
  for (const ContinuousQueryStats& s : f.cqs().stats()) {
    EXPECT_EQ(s.too_late, 0u) << s.name;
    EXPECT_EQ(s.run_errors, 0u) << s.name << ": " << s.last_error;
    EXPECT_EQ(s.last_error, "") << s.name;
    EXPECT_GE(s.buckets_emitted, s.name == "east" ? 20u : 60u) << s.name;
    EXPECT_GT(s.lines_written, 0u) << s.name;
  }
}

TEST(ContinuousQueriesTest, OnPointsAllocatesNothingOnceWarm) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(10s) END"),
            "");
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY d ON plant BEGIN SELECT count(value) INTO n FROM "
                  "/^m/ GROUP BY time(1m) END"),
            "");
  std::vector<store::Point> batch;
  for (const std::string host : {"a", "b", "c"}) {
    f.Write("m", {{"host", host}}, "value", store::FieldType::kFloat, 0, 1, 0);
    f.Write("other", {{"host", host}}, "value", store::FieldType::kFloat, 0, 1, 0);
  }
  f.store().index().ForEach([&batch](store::SeriesId id, const store::SeriesInfo&) {
    batch.push_back({id, 0, 1});
  });
  ASSERT_EQ(batch.size(), 6u);
  f.cqs().OnPoints(batch, 0);  // warm: routes resolved
  const std::size_t before = test_util::ThreadAllocations();
  for (std::int64_t i = 1; i <= 100; ++i) {
    for (store::Point& p : batch) p.ts = i * kSec;
    f.cqs().OnPoints(batch, i * kSec);
  }
  EXPECT_EQ(test_util::ThreadAllocations(), before);
  EXPECT_EQ(f.cqs().stats().at(0).watermark, 100 * kSec);
}

TEST(ContinuousQueriesTest, RoutesFollowSeriesRemovals) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(10s) END"),
            "");
  f.Write("m", {{"host", "a"}}, "value", store::FieldType::kFloat, 1 * kSec, 1, 0);
  f.Write("m", {{"host", "b"}}, "value", store::FieldType::kFloat, 2 * kSec, 1, 0);
  const StatusOr<store::SeriesId> b =
      f.store().index().Find({"plant", "m", std::vector<store::TagView>{{"host", "b"}}, "value"});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(f.Run("DROP SERIES FROM m WHERE host = 'b'"), "");
  // The freed id goes to a series the CQ does not read: its points must not move the CQ.
  f.Write("other", {{"host", "z"}}, "value", store::FieldType::kFloat, 500 * kSec, 1, 0);
  ASSERT_EQ(*f.store().index().Find(
                {"plant", "other", std::vector<store::TagView>{{"host", "z"}}, "value"}),
            *b);
  EXPECT_EQ(f.cqs().stats().at(0).watermark, 2 * kSec);
}

TEST(ContinuousQueriesTest, LinesAreLineProtocolForTheIntoDatabase) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE DATABASE other"), "");
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT sum(value) AS \"a b,c\", "
                  "count(load) INTO other..\"out m\" FROM \"m\" GROUP BY time(10s), host END"),
            "");
  f.Write("m", {{"host", "x=1 y"}}, "value", store::FieldType::kFloat, 2 * kSec, 1.5, 0);
  f.Write("m", {{"host", "x=1 y"}}, "value", store::FieldType::kFloat, 3 * kSec, 0.25, 0);
  f.Write("m", {}, "load", store::FieldType::kInteger, 12 * kSec, 4, 0);
  f.cqs().RunDue(0);
  ASSERT_EQ(f.outputs().size(), 1u);
  // The series without a host has no value in [0,10): no line; an empty host is left out.
  EXPECT_EQ(f.outputs()[0], "other: out\\ m,host=x\\=1\\ y a\\ b\\,c=1.75,count=0i 0\n");
  EXPECT_THAT(f.sources(), ::testing::ElementsAre("plant.c"));  // the CQ, not the INTO db
}

TEST(ContinuousQueriesTest, LatePointReemitsTheCorrectedBucket) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY s ON plant RESAMPLE EVERY 5s BEGIN SELECT "
                  "sum(value) INTO sums FROM m GROUP BY time(10s) END"),
            "");
  f.Value(1, 1, 0);
  f.Value(4, 2, 0);
  f.cqs().RunDue(1 * kSec);
  EXPECT_TRUE(f.outputs().empty());  // neither the watermark nor the idle timeout passed
  f.cqs().RunDue(5 * kSec);          // idle close
  EXPECT_EQ(f.Run("SELECT sum FROM sums"), "sums time,sum\n  0s,3\n");
  f.Value(7, 10, 6);  // late, inside the bound (watermark 7)
  f.cqs().RunDue(6 * kSec);
  EXPECT_EQ(f.Run("SELECT sum FROM sums"), "sums time,sum\n  0s,13\n");
  ASSERT_EQ(f.outputs().size(), 2u);
  EXPECT_EQ(f.outputs()[1], "plant: sums sum=13 0\n");  // same key and timestamp
  f.Value(25, 5, 7);
  f.Value(3, 100, 7);  // watermark 25: too late, stored but not in the output
  f.cqs().RunDue(7 * kSec);
  EXPECT_EQ(f.Run("SELECT sum FROM sums"), "sums time,sum\n  0s,13\n");
  const ContinuousQueryStats s = f.cqs().stats().at(0);
  EXPECT_EQ(s.reemissions, 1u);
  EXPECT_EQ(s.too_late, 1u);
  EXPECT_EQ(s.buckets_emitted, 2u);  // [0,10) and the empty [10,20)
  EXPECT_EQ(s.watermark, 25 * kSec);
}

TEST(ContinuousQueriesTest, IgnorePolicyLeavesTheOutput) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY s ON plant RESAMPLE EVERY 5s LATE IGNORE BEGIN "
                  "SELECT sum(value) INTO sums FROM m GROUP BY time(10s) END"),
            "");
  f.Value(1, 1, 0);
  f.cqs().RunDue(5 * kSec);
  f.Value(7, 10, 6);
  f.cqs().RunDue(6 * kSec);
  EXPECT_EQ(f.Run("SELECT sum FROM sums"), "sums time,sum\n  0s,1\n");
  EXPECT_EQ(f.outputs().size(), 1u);
  EXPECT_EQ(f.cqs().stats().at(0).late_ignored, 1u);
}

TEST(ContinuousQueriesTest, IdleCloseUsesTheConfiguredDefault) {
  ContinuousQueryOptions options;
  options.default_idle_timeout_ns = 30 * kSec;
  CqFixture f(options);
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(1m) END"),
            "");
  f.Value(10, 4, 100);
  f.cqs().RunDue(129 * kSec);
  EXPECT_TRUE(f.outputs().empty());
  f.cqs().RunDue(130 * kSec);
  EXPECT_EQ(f.Run("SELECT max FROM mx"), "mx time,max\n  0s,4\n");
}

TEST(ContinuousQueriesTest, FailedOutputIsRetried) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(10s) END"),
            "");
  f.Value(1, 4, 0);
  f.Value(11, 5, 0);
  f.FailOutput(true);
  f.cqs().RunDue(0);
  ContinuousQueryStats s = f.cqs().stats().at(0);
  EXPECT_EQ(s.last_error, "output: ring full");
  EXPECT_EQ(s.run_errors, 1u);
  EXPECT_EQ(s.buckets_emitted, 0u);
  f.FailOutput(false);
  f.cqs().RunDue(0);
  EXPECT_EQ(f.Run("SELECT max FROM mx"), "mx time,max\n  0s,4\n");
  s = f.cqs().stats().at(0);
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(s.buckets_emitted, 1u);
}

TEST(ContinuousQueriesTest, LongRangesAreQueriedInPieces) {
  ContinuousQueryOptions options;
  options.max_buckets_per_query = 2;
  options.max_lines_per_write = 1;
  CqFixture f(options);
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(10s) END"),
            "");
  for (std::int64_t t = 1; t < 50; t += 12) f.Value(t, static_cast<double>(t), 0);
  f.Value(55, 0, 0);
  f.cqs().RunDue(0);  // [0,50) in three queries, one line per output call
  EXPECT_EQ(f.outputs(), (std::vector<std::string>{
                             "plant: mx max=1 0\n", "plant: mx max=13 10000000000\n",
                             "plant: mx max=25 20000000000\n", "plant: mx max=37 30000000000\n",
                             "plant: mx max=49 40000000000\n"}));
  EXPECT_EQ(f.cqs().stats().at(0).buckets_emitted, 5u);
}

TEST(ContinuousQueriesTest, FailedQuerySkipsItsRange) {
  QueryLimits limits;
  limits.max_series = 1;
  CqFixture f({}, limits);
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
                  "GROUP BY time(10s), host END"),
            "");
  f.Write("m", {{"host", "a"}}, "value", store::FieldType::kFloat, 1 * kSec, 1, 0);
  f.Write("m", {{"host", "b"}}, "value", store::FieldType::kFloat, 2 * kSec, 2, 0);
  f.Value(11, 3, 0);
  f.cqs().RunDue(0);
  ContinuousQueryStats s = f.cqs().stats().at(0);
  EXPECT_EQ(s.run_errors, 1u);
  EXPECT_EQ(s.last_error, "query [0, 10000000000): max-select-series limit exceeded: (2/1)");
  EXPECT_EQ(s.buckets_emitted, 0u);
  ASSERT_EQ(f.Run("DROP SERIES FROM m WHERE host = 'b'"), "");
  f.Value(21, 3, 0);  // the next range runs (host a only); ids were removed meanwhile
  f.cqs().RunDue(0);
  EXPECT_EQ(f.outputs(), std::vector<std::string>{"plant: mx,host=a max=3 10000000000\n"});
  s = f.cqs().stats().at(0);
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(s.buckets_emitted, 1u);
}

TEST(ContinuousQueriesTest, RestartReemitsIdenticalValues) {
  CqFixture f;
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT mean(value) INTO avg FROM m "
                  "GROUP BY time(10s) END"),
            "");
  for (std::int64_t t = 0; t < 40; t += 3) f.Value(t, static_cast<double>(t) / 3.0, t);
  f.cqs().RunDue(40 * kSec);  // watermark 39: [0,30) closed
  const std::vector<std::string> before = f.outputs();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0], "plant: avg mean=1.5 0\navg mean=5 10000000000\navg mean=8 20000000000\n");

  f.outputs().clear();
  f.Restart();  // primed at [20,30): the last closed bucket is emitted again
  EXPECT_EQ(f.Run("SHOW CONTINUOUS QUERIES"),
            "plant name,query\n  c,CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT mean(value) "
            "INTO avg FROM m GROUP BY time(10s) END\n");
  f.cqs().RunDue(41 * kSec);
  EXPECT_TRUE(f.outputs().empty());  // nothing observed yet
  f.Value(41, 1, 41);
  f.cqs().RunDue(42 * kSec);
  ASSERT_EQ(f.outputs().size(), 1u);
  EXPECT_EQ(f.outputs()[0], "plant: avg mean=8 20000000000\navg mean=11.5 30000000000\n");
}

TEST(ContinuousQueriesTest, StatementsThroughTheExecutor) {
  CqFixture f;
  f.Value(1, 1, 0);
  const std::string cq =
      "CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx "
      "FROM m GROUP BY time(1m) END";
  EXPECT_EQ(f.Run(cq), "");
  EXPECT_EQ(f.Run(cq), "");  // the same query again: a no-op, as in InfluxDB
  EXPECT_EQ(f.Run("create continuous query c on plant begin select max(value) into mx from m "
                  "group by time(60s) end"),
            "");
  EXPECT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT min(value) INTO mx FROM m "
                  "GROUP BY time(1m) END"),
            "error: continuous query already exists\n");
  EXPECT_EQ(f.Run("CREATE CONTINUOUS QUERY c ON nope BEGIN SELECT min(value) INTO mx FROM m "
                  "GROUP BY time(1m) END"),
            "error: database not found: nope\n");
  EXPECT_EQ(f.Run("CREATE DATABASE empty"), "");
  EXPECT_EQ(f.Run("CREATE CONTINUOUS QUERY \"b,q\" ON plant RESAMPLE EVERY 1m FOR 2m LATE "
                  "IGNORE BEGIN SELECT count(value) INTO cnt FROM m GROUP BY time(1m), * END; "
                  "SHOW CONTINUOUS QUERIES"),
            "empty name,query\n"
            "plant name,query\n"
            "  b,q,CREATE CONTINUOUS QUERY \"b,q\" ON plant RESAMPLE EVERY 1m FOR 2m LATE IGNORE "
            "BEGIN SELECT count(value) INTO cnt FROM m GROUP BY time(1m), * END\n"
            "  c,CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(value) INTO mx FROM m "
            "GROUP BY time(1m) END\n");
  EXPECT_EQ(f.Run("DROP CONTINUOUS QUERY c ON plant"), "");
  EXPECT_EQ(f.Run("DROP CONTINUOUS QUERY c ON plant"), "error: continuous query not found\n");
  EXPECT_EQ(f.Run("DROP CONTINUOUS QUERY c ON nope"), "error: continuous query not found\n");
  ASSERT_EQ(f.cqs().stats().size(), 1u);
  EXPECT_EQ(f.catalog().ListContinuousQueries()->size(), 1u);
  // DROP DATABASE takes its CQs along.
  EXPECT_EQ(f.Run("DROP DATABASE plant"), "");
  EXPECT_EQ(f.cqs().stats().size(), 0u);
  EXPECT_EQ(f.catalog().ListContinuousQueries()->size(), 0u);
  EXPECT_EQ(f.Run("SHOW CONTINUOUS QUERIES"), "empty name,query\n");
}

TEST(ContinuousQueriesTest, BadQueriesAreRejected) {
  CqFixture f;
  f.Value(1, 1, 0);
  const struct {
    std::string q;
    std::string error;
  } cases[] = {
      {"CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT value INTO o FROM m END",
       "error: continuous query requires GROUP BY time() and an aggregate function\n"},
      {"CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT foo(value) INTO o FROM m GROUP BY "
       "time(1m) END",
       "error: undefined function foo()\n"},
      {"CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT mean(value), value INTO o FROM m GROUP "
       "BY time(1m) END",
       "error: mixing aggregate and non-aggregate queries is not supported\n"},
      {"CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT mean(value) FROM m GROUP BY time(1m) END",
       "parse error: error parsing query: found FROM, expected INTO at line 1, char 61"},
  };
  for (const auto& c : cases) EXPECT_EQ(f.Run(c.q), c.error) << c.q;
  EXPECT_EQ(f.Run("SHOW CONTINUOUS QUERIES"), "plant name,query\n");
  EXPECT_EQ(f.catalog().ListContinuousQueries()->size(), 0u);
}

TEST(ContinuousQueriesTest, WithoutTheCqLayerTheOldAnswersStay) {
  store::Store store;
  DatabaseRegistry registry(store);
  QueryExecutor executor(store, registry, {});
  registry.Create("plant");
  StatusOr<Query> q = ParseQuery(
      "CREATE CONTINUOUS QUERY c ON plant BEGIN SELECT max(v) INTO o FROM m GROUP BY time(1m) "
      "END; SHOW CONTINUOUS QUERIES; DROP CONTINUOUS QUERY c ON plant");
  ASSERT_TRUE(q.ok());
  const QueryResult r = executor.Execute(*q, {"plant", 0});
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].error, "continuous queries are not supported yet");
  EXPECT_EQ(Render(r.results[1]), "");
  EXPECT_EQ(r.results[2].error, "continuous queries are not supported yet");
}

TEST(ContinuousQueriesTest, LoadReportsAStoredTextThatNoLongerParses) {
  CqFixture f;
  ASSERT_TRUE(f.catalog().CreateContinuousQuery("plant", "bad", "CREATE CONTINUOUS QUERY").ok());
  ASSERT_EQ(f.Run("CREATE CONTINUOUS QUERY good ON plant BEGIN SELECT max(value) INTO mx FROM "
                  "m GROUP BY time(1m) END"),
            "");
  ContinuousQueries reloaded(f.catalog(), f.store(), f.executor(),
                             [](const ContinuousQueryBatch&) { return Status::Ok(); });
  const Status loaded = reloaded.Load();
  EXPECT_EQ(loaded.code(), StatusCode::kDataLoss);
  EXPECT_EQ(loaded.message().rfind("continuous query plant.bad: ", 0), 0u) << loaded.message();
  ASSERT_EQ(reloaded.stats().size(), 1u);
  EXPECT_EQ(reloaded.stats()[0].name, "good");
}

}  // namespace
}  // namespace tidewatch::rules
