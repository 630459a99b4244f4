// The /metrics page: the text writer's escaping and number formats, the latency
// histogram's bucket maths, and RenderMetrics over a real store, rings and workers —
// every page is also checked by promtool, as a Prometheus server would read it.
#include "daemon/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/latency_histogram.h"
#include "daemon/prometheus_text.h"
#include "tests/daemon/promtool_check.h"

namespace tidewatch::daemon {
namespace {

using namespace std::chrono_literals;

// Label values a user can put into measurement, field, database and topic names.
constexpr std::string_view kHostile = "a\"b\\c\nd} e=\"f\",g";
constexpr std::string_view kUtf8 = "temp\xC3\xA9rature \xE2\x9C\x93 \xF0\x9F\x8C\xA1";

std::string Number(double v) {
  std::string out;
  AppendNumber(out, v);
  return out;
}

std::string Escaped(std::string_view v) {
  std::string out;
  AppendEscapedLabelValue(out, v);
  return out;
}

// The value of the sample line that starts with `series` (name and labels as printed).
std::optional<double> SampleValue(const std::string& page, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = page.find(series + ' ', pos)) != std::string::npos) {
    if (pos == 0 || page[pos - 1] == '\n') {
      const std::size_t end = page.find('\n', pos);
      return std::strtod(
          page.substr(pos + series.size() + 1, end - pos - series.size() - 1).c_str(), nullptr);
    }
    ++pos;
  }
  return std::nullopt;
}

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

using test_promtool::CheckWithPromtool;
using test_promtool::ExpectPromtoolAccepts;

TEST(PrometheusTextTest, EscapesLabelValues) {
  EXPECT_EQ(Escaped(kHostile), "a\\\"b\\\\c\\nd} e=\\\"f\\\",g");
  EXPECT_EQ(Escaped(kUtf8), kUtf8);  // valid UTF-8 passes unchanged
  EXPECT_EQ(Escaped(std::string_view("x\0y\r\t", 5)), std::string_view("x\0y\r\t", 5));
}

TEST(PrometheusTextTest, ReplacesInvalidUtf8InLabelValues) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Escaped("\xFF"), fffd);
  EXPECT_EQ(Escaped("a\xC0\xAF"
                    "b"),
            "a" + fffd + fffd + "b");                                 // overlong '/'
  EXPECT_EQ(Escaped("\xED\xA0\x80"), fffd + fffd + fffd);             // a surrogate
  EXPECT_EQ(Escaped("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(Escaped("\xE2\x82"), fffd + fffd);                        // truncated
  EXPECT_EQ(Escaped("\xE2\x82\"\n"), fffd + fffd + "\\\"\\n");
}

TEST(PrometheusTextTest, EscapesHelpText) {
  std::string out;
  AppendEscapedHelp(out, "a\\b\nc \"quoted\"");
  EXPECT_EQ(out, "a\\\\b\\nc \"quoted\"");
}

TEST(PrometheusTextTest, FormatsNumbers) {
  EXPECT_EQ(Number(0), "0");
  EXPECT_EQ(Number(-0.0), "0");
  EXPECT_EQ(Number(1), "1");
  EXPECT_EQ(Number(-3), "-3");
  EXPECT_EQ(Number(1e6), "1000000");
  EXPECT_EQ(Number(9007199254740991.0), "9007199254740991");  // 2^53 - 1, exact
  EXPECT_EQ(Number(9007199254740992.0), "9.007199254740992e+15");
  EXPECT_EQ(Number(1e20), "1e+20");
  EXPECT_EQ(Number(0.5), "0.5");
  EXPECT_EQ(Number(0.1), "0.1");
  EXPECT_EQ(Number(0.0001), "0.0001");
  EXPECT_EQ(Number(0.00025), "0.00025");
  EXPECT_EQ(Number(1e-5), "1e-05");
  EXPECT_EQ(Number(-2.5), "-2.5");
  EXPECT_EQ(Number(123456.789), "123456.789");
  EXPECT_EQ(std::strtod(Number(1.0 / 3).c_str(), nullptr), 1.0 / 3);  // round-trips
  EXPECT_EQ(Number(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(Number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Number(-std::numeric_limits<double>::infinity()), "-Inf");
  std::string ints;
  AppendNumber(ints, std::numeric_limits<std::uint64_t>::max());
  ints += ' ';
  AppendNumber(ints, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(ints, "18446744073709551615 -9223372036854775808");
}

TEST(PrometheusTextTest, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("tidewatch_ring_depth"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x1"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1x"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_FALSE(IsValidMetricName("temp\xC3\xA9"));
  EXPECT_TRUE(IsValidLabelName("topic"));
  EXPECT_TRUE(IsValidLabelName("_a9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9a"));
}

TEST(PrometheusTextTest, GroupsSamplesOfReopenedFamilies) {
  PrometheusTextWriter w;
  w.Family("t_requests_total", "Requests.", MetricType::kCounter);
  w.Sample({{"source", "a"}}, std::uint64_t{1});
  w.Family("t_depth", "Depth.\nSecond line \\.", MetricType::kGauge);
  w.Sample({}, 2.5);
  w.Family("t_empty", "Never sampled.", MetricType::kGauge);
  w.Family("t_requests_total", "Requests.", MetricType::kCounter);
  w.Sample({{"source", kHostile}, {"topic", kUtf8}}, 7);
  const std::string page = std::move(w).Finish();
  EXPECT_EQ(page,
            "# HELP t_requests_total Requests.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{source=\"a\"} 1\n"
            "t_requests_total{source=\"" +
                Escaped(kHostile) + "\",topic=\"" + std::string(kUtf8) +
                "\"} 7\n"
                "# HELP t_depth Depth.\\nSecond line \\\\.\n"
                "# TYPE t_depth gauge\n"
                "t_depth 2.5\n");
  ExpectPromtoolAccepts(page);
}

TEST(PrometheusTextTest, WritesHistograms) {
  const double bounds[] = {0.5, 1, 2.5};
  const std::uint64_t cumulative[] = {1, 3, 3};
  PrometheusTextWriter w;
  w.Family("t_latency_seconds", "Latency.", MetricType::kHistogram);
  w.Histogram({{"path", "/q\""}}, HistogramSample{bounds, cumulative, 4, 7.25});
  const std::string page = std::move(w).Finish();
  EXPECT_EQ(page,
            "# HELP t_latency_seconds Latency.\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{path=\"/q\\\"\",le=\"0.5\"} 1\n"
            "t_latency_seconds_bucket{path=\"/q\\\"\",le=\"1\"} 3\n"
            "t_latency_seconds_bucket{path=\"/q\\\"\",le=\"2.5\"} 3\n"
            "t_latency_seconds_bucket{path=\"/q\\\"\",le=\"+Inf\"} 4\n"
            "t_latency_seconds_sum{path=\"/q\\\"\"} 7.25\n"
            "t_latency_seconds_count{path=\"/q\\\"\"} 4\n");
  ExpectPromtoolAccepts(page);
}

TEST(PrometheusTextTest, PromtoolAcceptsHostileValuesAndSpecialNumbers) {
  PrometheusTextWriter w;
  w.Family("t_values", "Values with \\ and\nnewlines.", MetricType::kGauge);
  w.Sample({{"v", kHostile}}, std::numeric_limits<double>::quiet_NaN());
  w.Sample({{"v", kUtf8}}, std::numeric_limits<double>::infinity());
  w.Sample({{"v", "\xFF\xC0\xAF\xED\xA0\x80"}}, -std::numeric_limits<double>::infinity());
  w.Sample({{"v", std::string_view("\0nul", 4)}}, 1e-300);
  w.Sample({{"v", ""}}, std::numeric_limits<std::int64_t>::min());
  w.Family("t_big_total", "Big.", MetricType::kCounter);
  w.Sample({}, std::numeric_limits<std::uint64_t>::max());
  ExpectPromtoolAccepts(std::move(w).Finish());
}

TEST(PrometheusTextTest, PromtoolRejectsWhatWeNeverWrite) {
  // The check itself must be able to fail: a counter without _total, invalid UTF-8.
  EXPECT_NE(CheckWithPromtool("# HELP a x\n# TYPE a counter\na 1\n").output, "");
  EXPECT_NE(CheckWithPromtool("# HELP a x\n# TYPE a gauge\na{v=\"\xFF\"} 1\n").exit_code, 0);
}

TEST(LatencyHistogramTest, BucketsAreInclusiveUpperBounds) {
  LatencyHistogram h;
  h.Observe(0ns);
  h.Observe(-5ms);         // counts as 0
  h.Observe(100us);        // exactly the first bound: le="0.0001"
  h.Observe(100us + 1ns);  // just above: le="0.00025"
  h.Observe(1s);           // le="1"
  h.Observe(30s);          // the last bound
  h.Observe(31s);          // only +Inf
  const LatencyHistogram::Snapshot s = h.TakeSnapshot();
  EXPECT_EQ(s.count, 7u);
  EXPECT_EQ(s.upper_bounds_seconds.front(), 0.0001);
  EXPECT_EQ(s.upper_bounds_seconds.back(), 30.0);
  std::vector<std::uint64_t> expected(LatencyHistogram::kBounds);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double le = s.upper_bounds_seconds[i];
    expected[i] = 3u + (le >= 0.00025 ? 1u : 0u) + (le >= 1 ? 1u : 0u) + (le >= 30 ? 1u : 0u);
  }
  EXPECT_EQ(std::vector<std::uint64_t>(s.cumulative.begin(), s.cumulative.end()), expected);
  EXPECT_DOUBLE_EQ(s.sum_seconds, 0.0001 + 0.000100001 + 1 + 30 + 31);
}

TEST(LatencyHistogramTest, BoundsAscendAndRender) {
  for (std::size_t i = 1; i < LatencyHistogram::kBounds; ++i) {
    EXPECT_LT(LatencyHistogram::kBoundsNs[i - 1], LatencyHistogram::kBoundsNs[i]);
  }
  LatencyHistogram h;
  h.Observe(3ms);
  h.Observe(40s);
  const LatencyHistogram::Snapshot s = h.TakeSnapshot();
  PrometheusTextWriter w;
  w.Family("t_query_duration_seconds", "Query time.", MetricType::kHistogram);
  w.Histogram({}, s.sample());
  const std::string page = std::move(w).Finish();
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_bucket{le=\"0.0025\"}"), 0);
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_bucket{le=\"30\"}"), 1);
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_bucket{le=\"+Inf\"}"), 2);
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_count"), 2);
  EXPECT_EQ(SampleValue(page, "t_query_duration_seconds_sum"), 40.003);
  ExpectPromtoolAccepts(page);
}

TEST(MetricsTest, KafkaMetricsPerTopicAndReason) {
  ingest::KafkaSourceStats stats;
  stats.messages = 10;
  stats.dead_letters.delivered = 2;
  stats
      .rejected[std::string(kHostile)][static_cast<std::size_t>(ingest::RejectReason::kMalformed)] =
      3;
  stats.rejected["sensors"][static_cast<std::size_t>(ingest::RejectReason::kTombstone)] = 1;
  PrometheusTextWriter w;
  WriteKafkaMetrics(w, "k0", stats, {{"sensors/3", 42}, {"odd", 7}});
  WriteKafkaMetrics(w, std::string(kUtf8), {}, {});
  const std::string page = std::move(w).Finish();
  EXPECT_EQ(SampleValue(page, "tidewatch_ingest_messages_total{source=\"k0\"}"), 10);
  EXPECT_EQ(
      SampleValue(page, "tidewatch_ingest_messages_total{source=\"" + std::string(kUtf8) + "\"}"),
      0);
  EXPECT_EQ(SampleValue(page, "tidewatch_kafka_dead_letters_delivered_total{source=\"k0\"}"), 2);
  EXPECT_EQ(SampleValue(page, "tidewatch_ingest_rejections_total{source=\"k0\",topic=\"" +
                                  Escaped(kHostile) + "\",reason=\"malformed\"}"),
            3);
  EXPECT_EQ(SampleValue(page,
                        "tidewatch_ingest_rejections_total{source=\"k0\",topic=\"sensors\","
                        "reason=\"tombstone\"}"),
            1);
  EXPECT_EQ(SampleValue(page,
                        "tidewatch_ingest_rejections_total{source=\"k0\",topic=\"sensors\","
                        "reason=\"store_refused\"}"),
            0);
  EXPECT_EQ(SampleValue(page,
                        "tidewatch_kafka_processed_offset{source=\"k0\",topic=\"sensors\","
                        "partition=\"3\"}"),
            42);
  EXPECT_EQ(Count(page, "# TYPE tidewatch_ingest_messages_total "), 1u);
  ExpectPromtoolAccepts(page);
}

TEST(MetricsTest, KafkaLagAndPerTopicRates) {
  ingest::KafkaSourceStats stats;
  stats.per_topic["sensors"] = {7, 21, 700};
  stats.per_topic[std::string(kHostile)] = {1, 0, 3};
  stats.high_watermarks = {
      {"sensors/3", 50},    // processed 42: lag 8
      {"sensors/9", 1000},  // no processed offset: no lag
      {"odd", 5},           // behind the processed offset (read earlier): clamped to 0
      {"empty/0", 0},
  };
  const store::SnapshotOffsets processed = {
      {"sensors/3", 42}, {"odd", 7}, {"sensors/4", 10}, {"empty/0", 0}};
  PrometheusTextWriter w;
  WriteKafkaMetrics(w, "k0", stats, processed);
  ingest::KafkaSourceStats other;
  other.high_watermarks = {{"sensors/3", 43}};
  other.per_topic["sensors"] = {2, 4, 6};
  WriteKafkaMetrics(w, "k1", other, {{"sensors/3", 40}});
  const std::string page = std::move(w).Finish();

  const std::string lag = "tidewatch_kafka_consumer_lag{source=";
  EXPECT_EQ(SampleValue(page, lag + "\"k0\",topic=\"sensors\",partition=\"3\"}"), 8);
  EXPECT_EQ(SampleValue(page, lag + "\"k0\",topic=\"odd\",partition=\"\"}"), 0);
  EXPECT_EQ(SampleValue(page, lag + "\"k0\",topic=\"empty\",partition=\"0\"}"), 0);
  EXPECT_EQ(SampleValue(page, lag + "\"k1\",topic=\"sensors\",partition=\"3\"}"), 3);
  // Only partitions with both values known.
  EXPECT_EQ(Count(page, lag), 4u);
  EXPECT_EQ(Count(page, "partition=\"9\""), 0u);
  EXPECT_EQ(Count(page,
                  "tidewatch_kafka_consumer_lag{source=\"k0\",topic=\"sensors\","
                  "partition=\"4\"}"),
            0u);
  EXPECT_EQ(Count(page, "} -"), 0u);  // nothing negative anywhere

  EXPECT_EQ(
      SampleValue(page, "tidewatch_ingest_topic_messages_total{source=\"k0\",topic=\"sensors\"}"),
      7);
  EXPECT_EQ(
      SampleValue(page, "tidewatch_ingest_topic_points_total{source=\"k0\",topic=\"sensors\"}"),
      21);
  EXPECT_EQ(
      SampleValue(page, "tidewatch_ingest_topic_bytes_total{source=\"k0\",topic=\"sensors\"}"),
      700);
  EXPECT_EQ(SampleValue(page, "tidewatch_ingest_topic_bytes_total{source=\"k0\",topic=\"" +
                                  Escaped(kHostile) + "\"}"),
            3);
  EXPECT_EQ(
      SampleValue(page, "tidewatch_ingest_topic_points_total{source=\"k1\",topic=\"sensors\"}"), 4);
  EXPECT_EQ(Count(page, "# TYPE tidewatch_kafka_consumer_lag gauge"), 1u);
  EXPECT_EQ(Count(page, "# TYPE tidewatch_ingest_topic_bytes_total counter"), 1u);
  ExpectPromtoolAccepts(page);
}

TEST(MetricsTest, RendersThePipeline) {
  store::StoreOptions options;
  options.index.max_series_per_db = 3;
  store::Store db(options);
  store::FieldRingsOptions ring_options;
  ring_options.defaults.capacity = 16;
  store::FieldRings rings(ring_options);
  ingest::EvaluationWorkers workers(rings, db, {}, 2);

  const store::TagView site[] = {{"site", kHostile}};
  const std::string hostile_db = "pl\"ant\\";
  struct Series {
    std::string_view db, measurement, field;
  };
  const Series series[] = {{"plant", "pressure", "value"},
                           {"plant", kUtf8, "value"},
                           {"plant", kUtf8, kHostile},
                           {hostile_db, "flow", "value"}};
  constexpr int kRecords = 25;  // more than a ring holds: the writer meets full rings
  store::RecordWriter writer(rings);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (const Series& s : series) {
    const store::SeriesId id =
        *db.Intern({s.db, s.measurement, site, s.field}, store::FieldType::kFloat);
    const store::FieldId field = *rings.FieldFor(s.measurement, s.field);
    for (int r = 0; r < kRecords; ++r) {
      writer.BeginRecord(1'700'000'000'000'000'000 + r * 1'000'000'000LL, 1);
      while (!writer.Push(field, id, r * 0.5)) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
        std::this_thread::yield();
      }
    }
  }
  const std::uint64_t total = std::size(series) * kRecords;
  while (workers.stats().points_stored < total) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  workers.Stop();
  // One point refused by the series limit, one by a type conflict.
  EXPECT_FALSE(db.Intern({"plant", "pressure", site, "other"}, store::FieldType::kFloat).ok());
  EXPECT_FALSE(db.Intern({"plant", "pressure", site, "value"}, store::FieldType::kInteger).ok());

  ingest::KafkaSourceConfig kafka_config;
  kafka_config.brokers = "127.0.0.1:1";  // never started: no connection
  kafka_config.group_id = "g";
  kafka_config.topics = {"sensors"};
  auto kafka = ingest::KafkaSource::Create(kafka_config, db, rings, 1);
  ASSERT_TRUE(kafka.ok()) << kafka.status().ToString();

  LatencyHistogram queries;
  queries.Observe(2ms);
  queries.Observe(700ms);
  queries.Observe(45s);
  MetricsSources sources;
  sources.store = &db;
  sources.rings = &rings;
  sources.kafka = {{"kafka0", kafka->get()}, {"missing", nullptr}};
  sources.workers = &workers;
  sources.checkpoint_age_seconds = [] { return 12.5; };
  sources.query_latency = &queries;
  sources.version = "0.1.0 \"dev\"";
  sources.extra.push_back([](PrometheusTextWriter& w) {
    w.Family("tidewatch_http_requests_total", "Requests.", MetricType::kCounter);
    w.Sample({{"code", "200"}}, 5);
  });
  const std::string page = RenderMetrics(sources);

  const auto value = [&page](const std::string& s) { return SampleValue(page, s); };
  const std::string rings_utf8 = "{measurement=\"" + std::string(kUtf8) + "\",field=\"";
  EXPECT_EQ(value("tidewatch_build_info{version=\"0.1.0 \\\"dev\\\"\"}"), 1);
  EXPECT_EQ(value("tidewatch_store_series{db=\"plant\"}"), 3);
  EXPECT_EQ(value("tidewatch_store_series{db=\"pl\\\"ant\\\\\"}"), 1);
  EXPECT_EQ(value("tidewatch_store_rejected_series_total{db=\"plant\"}"), 1);
  EXPECT_EQ(value("tidewatch_store_type_conflicts_total{db=\"plant\"}"), 1);
  EXPECT_EQ(value("tidewatch_store_type_conflicts_total{db=\"pl\\\"ant\\\\\"}"), 0);
  EXPECT_EQ(value("tidewatch_store_newest_timestamp_seconds{db=\"plant\"}"), 1'700'000'024.0);
  EXPECT_EQ(value("tidewatch_store_points"), static_cast<double>(total));
  EXPECT_GT(value("tidewatch_store_memory_bytes{component=\"windows\"}").value_or(0), 0);
  EXPECT_GT(value("tidewatch_store_memory_bytes{component=\"index\"}").value_or(0), 0);
  EXPECT_EQ(value("tidewatch_store_budget_evicted_points_total"), 0);
  EXPECT_EQ(value("tidewatch_ring_fields"), 4);
  EXPECT_EQ(value("tidewatch_ring_fields_rejected_total"), 0);
  EXPECT_EQ(value("tidewatch_ring_depth{measurement=\"pressure\",field=\"value\"}"), 0);
  EXPECT_EQ(value("tidewatch_ring_capacity{measurement=\"pressure\",field=\"value\"}"), 16);
  EXPECT_EQ(value("tidewatch_ring_pushed_total" + rings_utf8 + Escaped(kHostile) + "\"}"),
            kRecords);
  EXPECT_EQ(value("tidewatch_ring_dropped_total" + rings_utf8 + "value\"}"), 0);
  EXPECT_TRUE(value("tidewatch_ring_rejected_total" + rings_utf8 + "value\"}").has_value());
  EXPECT_EQ(value("tidewatch_ingest_messages_total{source=\"kafka0\"}"), 0);
  EXPECT_EQ(page.find("source=\"missing\""), std::string::npos);
  EXPECT_EQ(value("tidewatch_evaluation_points_stored_total"), static_cast<double>(total));
  EXPECT_EQ(value("tidewatch_evaluation_points_refused_total"), 0);
  EXPECT_EQ(value("tidewatch_checkpoint_age_seconds"), 12.5);
  EXPECT_EQ(value("tidewatch_query_duration_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(value("tidewatch_query_duration_seconds_bucket{le=\"1\"}"), 2);
  EXPECT_EQ(value("tidewatch_query_duration_seconds_count"), 3);
  EXPECT_EQ(value("tidewatch_http_requests_total{code=\"200\"}"), 5);
  EXPECT_GT(value("process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GT(value("process_virtual_memory_bytes").value_or(0), 0);
  EXPECT_GE(value("process_cpu_seconds_total").value_or(-1), 0);
  EXPECT_GT(value("process_open_fds").value_or(0), 2);
  // Sanity, not timing: started within the last day, not in the future.
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = value("process_start_time_seconds").value_or(0);
  EXPECT_GT(start, now - 86400);
  EXPECT_LT(start, now + 5);
  // Each family once, its samples together.
  EXPECT_EQ(Count(page, "# TYPE tidewatch_ring_depth gauge\n"), 1u);
  EXPECT_EQ(Count(page, "# HELP tidewatch_ring_depth "), 1u);
  ExpectPromtoolAccepts(page);
}

TEST(MetricsTest, RendersWithNoSources) {
  MetricsSources sources;
  sources.process = false;
  const std::string page = RenderMetrics(sources);
  EXPECT_EQ(page,
            "# HELP tidewatch_build_info Always 1; the labels describe the running build.\n"
            "# TYPE tidewatch_build_info gauge\n"
            "tidewatch_build_info{version=\"unknown\"} 1\n");
  ExpectPromtoolAccepts(page);
}

}  // namespace
}  // namespace tidewatch::daemon
