// KafkaSource against a real single-node Kafka 3.9.2 broker (deploy/kafka/), started and
// stopped by each test: points across partitions land in the store and the processed
// offsets cover every partition's end; a JSON topic and a line protocol topic land side
// by side; poison messages reach the dead-letter topic with their headers while the good
// ones around them are stored; two sources in one group split the partitions, and when
// one stops the other takes over without loss.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingest/kafka_source.h"
#include "tests/ingest/kafka_test_util.h"
#include "tests/integration/local_kafka.h"

namespace tidewatch::ingest {
namespace {

using namespace std::chrono_literals;
using integration::LocalKafka;
using test::CommittedReader;
using test::Ends;
using test::NowNs;
using test::Pipeline;
using test::Producer;
using test::ReadTopic;
using test::Record;
using test::WaitFor;

store::SnapshotOffsets Committed(const std::string& brokers, const std::string& group,
                                 const std::string& topic, int partitions) {
  return CommittedReader(brokers, group).Read(topic, partitions);
}

Producer NewProducer(const std::string& brokers) {
  return Producer({{"bootstrap.servers", brokers}, {"acks", "all"}, {"linger.ms", "5"}});
}

KafkaSourceConfig Config(const std::string& brokers, const std::string& group,
                         std::vector<std::string> topics) {
  KafkaSourceConfig config;
  config.brokers = brokers;
  config.group_id = group;
  config.topics = std::move(topics);
  config.properties = {
      {"session.timeout.ms", "6000"},  // the broker's minimum: quick takeover
      {"heartbeat.interval.ms", "500"},
      {"auto.commit.interval.ms", "200"},
      {"topic.metadata.refresh.interval.ms", "2000"},
  };
  config.drain_timeout_ms = 2s;
  return config;
}

// `messages` messages of `lines` lines (2 points each) spread over `partitions`, keyed
// by series; adds each partition's count to `ends`.
void ProduceLines(Producer& producer, const std::string& topic, int partitions, int messages,
                  int lines, std::int64_t base_ts, std::vector<std::int64_t>& ends) {
  ends.resize(static_cast<std::size_t>(partitions), 0);
  for (int m = 0; m < messages; ++m) {
    const int series = m % 16;
    const int p = series % partitions;  // a series stays on one partition
    std::string value;
    for (int l = 0; l < lines; ++l) {
      value += "plant,sensor=s" + std::to_string(series) + " temp=" + std::to_string(m) +
               ".25,alarms=" + std::to_string(l) + "i " + std::to_string(base_ts + m * 100 + l) +
               "\n";
    }
    producer.Send(topic, p, "s" + std::to_string(series), value);
    ++ends[static_cast<std::size_t>(p)];
  }
  producer.Flush();
}

class KafkaIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!integration::HaveJava()) {
      GTEST_SKIP() << "\n\n*** SKIPPED: java is not installed, so no Kafka broker can run. ***\n"
                      "*** Run deploy/install-deps.sh; CI has java and runs this test. ***\n";
    }
    std::string error;
    kafka_ = LocalKafka::Start(error);
    ASSERT_NE(kafka_, nullptr) << error;
  }

  std::unique_ptr<LocalKafka> kafka_;
};

TEST_F(KafkaIngestTest, PointsAcrossPartitionsLandAndOffsetsCoverEveryEnd) {
  ASSERT_TRUE(kafka_->CreateTopic("plant", 4));
  Producer producer = NewProducer(kafka_->brokers());
  std::vector<std::int64_t> ends;
#ifdef TIDEWATCH_SANITIZED
  constexpr int kMessages = 400;
#else
  constexpr int kMessages = 4000;
#endif
  ProduceLines(producer, "plant", 4, kMessages, 5, NowNs(), ends);

  Pipeline pipeline;
  KafkaSource& source = pipeline.Add(Config(kafka_->brokers(), "ingest", {"plant"}));
  pipeline.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return pipeline.Processed() == Ends("plant", ends); }));
  EXPECT_EQ(pipeline.points(), static_cast<std::uint64_t>(kMessages) * 5 * 2);
  EXPECT_EQ(source.stats().messages_rejected, 0u);

  // Committed only once handed back (after a snapshot, in the daemon).
  store::SnapshotOffsets none = Ends("plant", ends);
  for (auto& [key, offset] : none) offset = RD_KAFKA_OFFSET_INVALID;
  EXPECT_EQ(Committed(kafka_->brokers(), "ingest", "plant", 4), none);
  source.CommitOffsets(source.ProcessedOffsets());
  ASSERT_TRUE(WaitFor(
      [&] { return Committed(kafka_->brokers(), "ingest", "plant", 4) == Ends("plant", ends); }));
}

// A daemon with two sources, one per format: a line protocol topic and a JSON topic
// (arrays of objects, one partly bad message) land side by side in the store.
TEST_F(KafkaIngestTest, JsonAndLineTopicsLandSideBySide) {
  ASSERT_TRUE(kafka_->CreateTopic("lines", 2));
  ASSERT_TRUE(kafka_->CreateTopic("objects", 3));
  ASSERT_TRUE(kafka_->CreateTopic("objects-dlq", 1));
  Producer producer = NewProducer(kafka_->brokers());
  std::vector<std::int64_t> line_ends;
  const std::int64_t now_ns = NowNs();
  ProduceLines(producer, "lines", 2, 200, 3, now_ns, line_ends);

  // 300 messages of 4 objects, 2 fields each, keyed by sensor; message 7 has a bad
  // object (no timestamp) between good ones.
  constexpr int kMessages = 300;
  const std::int64_t ms = now_ns / 1'000'000;
  std::vector<std::int64_t> json_ends(3, 0);
  for (int m = 0; m < kMessages; ++m) {
    const int sensor = m % 9;
    const int p = sensor % 3;
    std::string value = "[";
    for (int o = 0; o < 4; ++o) {
      if (o > 0) value += ",";
      if (m == 7 && o == 2) {
        value += "{\"site\": \"x\", \"flow\": 1}";
        continue;
      }
      value += "{\"ts\": " + std::to_string(ms + m * 4 + o) + ", \"site\": \"s" +
               std::to_string(sensor % 2) + "\", \"sensor\": {\"id\": \"ft-" +
               std::to_string(sensor) + "\"}, \"flow\": " + std::to_string(m) +
               ".5, \"open\": " + (o % 2 == 0 ? "true" : "false") + "}";
    }
    value += "]";
    producer.Send("objects", p, "ft-" + std::to_string(sensor), value);
    ++json_ends[static_cast<std::size_t>(p)];
  }
  producer.Flush();

  Pipeline pipeline;
  KafkaSource& lines = pipeline.Add(Config(kafka_->brokers(), "formats", {"lines"}));
  KafkaSourceConfig json = Config(kafka_->brokers(), "formats-json", {"objects"});
  json.format = "json";
  json.dead_letter_topic = "objects-dlq";
  json.json = JsonMapping{};
  json.json->timestamp_key = "ts";
  json.json->measurement = "flow";
  json.json->tag_keys = {"site", "sensor.id"};
  KafkaSource& objects = pipeline.Add(json);
  pipeline.StartWorkers();
  ASSERT_TRUE(lines.Start().ok());
  ASSERT_TRUE(objects.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return lines.ProcessedOffsets() == Ends("lines", line_ends); }));
  ASSERT_TRUE(WaitFor([&] { return objects.ProcessedOffsets() == Ends("objects", json_ends); }));
  EXPECT_EQ(pipeline.points(), 200u * 3 * 2 + (kMessages * 4u - 1) * 2);
  EXPECT_EQ(objects.stats().points, (kMessages * 4u - 1) * 2);
  EXPECT_EQ(objects.stats().bad_lines, 1u);
  // 9 sensors x 2 fields.
  EXPECT_EQ(pipeline.store().index().SeriesOf("kafka", "flow").size(), 18u);

  const std::vector<Record> letters = ReadTopic(kafka_->brokers(), "objects-dlq", 1, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].key, "ft-7");
  EXPECT_EQ(letters[0].headers.at("tidewatch-error"),
            "malformed: 1 of 4 objects bad: object 2: missing timestamp \"ts\" in "
            "'{\"site\": \"x\", \"flow\": 1}'");
}

TEST_F(KafkaIngestTest, PoisonMessagesLandOnTheDeadLetterTopicAndGoodOnesAreStored) {
  ASSERT_TRUE(kafka_->CreateTopic("sensors", 2));
  ASSERT_TRUE(kafka_->CreateTopic("sensors-dlq", 1));
  Producer producer = NewProducer(kafka_->brokers());
  const std::string ts = std::to_string(NowNs());
  // (partition, value, expected start of tidewatch-error or "" for a good message)
  struct Case {
    std::int32_t partition;
    std::optional<std::string> value;
    std::string error;
  };
  const std::vector<Case> cases = {
      {0, "plant,sensor=a temp=1 " + ts, ""},
      {0, "plant,sensor=a temp=oops " + ts, "malformed: 1 of 1 lines bad: line 1, column "},
      {1, std::nullopt, "tombstone: NULL value"},
      {1, "plant,sensor=b temp=2 " + ts + "\nplant,sensor=b temp=NaN " + ts,
       "malformed: 1 of 2 lines bad: line 2"},
      {0, "", "empty_payload: zero bytes"},
      {1, "plant,sensor=c temp=3 9000000000000000000",
       "timestamp_out_of_range: 1 of 1 lines bad: line 1: timestamp out of range"},
      {0, "plant,sensor=d temp=4 " + ts, ""},
  };
  std::vector<std::int64_t> ends(2, 0);
  std::map<std::string, std::pair<std::int32_t, std::int64_t>>
      origin;  // key -> (partition, offset)
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string key = "case-" + std::to_string(i);
    producer.Send("sensors", cases[i].partition, key,
                  cases[i].value ? std::optional<std::string_view>(*cases[i].value) : std::nullopt);
    origin[key] = {cases[i].partition, ends[static_cast<std::size_t>(cases[i].partition)]++};
  }
  producer.Flush();

  Pipeline pipeline;
  KafkaSourceConfig config = Config(kafka_->brokers(), "poison", {"sensors"});
  config.dead_letter_topic = "sensors-dlq";
  KafkaSource& source = pipeline.Add(config);
  pipeline.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return pipeline.Processed() == Ends("sensors", ends); }));
  EXPECT_EQ(pipeline.points(), 3u);  // a, b's good line, d

  const std::vector<Record> letters = ReadTopic(kafka_->brokers(), "sensors-dlq", 1, 5);
  ASSERT_EQ(letters.size(), 5u);
  std::map<std::string, const Record*> by_key;
  for (const Record& r : letters) by_key[r.key.value_or("")] = &r;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string key = "case-" + std::to_string(i);
    SCOPED_TRACE(key);
    if (cases[i].error.empty()) {
      EXPECT_FALSE(by_key.contains(key));
      continue;
    }
    ASSERT_TRUE(by_key.contains(key));
    const Record& r = *by_key[key];
    EXPECT_EQ(r.value, cases[i].value);
    EXPECT_EQ(r.headers.at("tidewatch-source-topic"), "sensors");
    EXPECT_EQ(r.headers.at("tidewatch-source-partition"), std::to_string(origin[key].first));
    EXPECT_EQ(r.headers.at("tidewatch-source-offset"), std::to_string(origin[key].second));
    EXPECT_EQ(r.headers.at("tidewatch-error").substr(0, cases[i].error.size()), cases[i].error)
        << r.headers.at("tidewatch-error");
  }
  EXPECT_EQ(source.stats().dead_letters.delivered, 5u);
}

TEST_F(KafkaIngestTest, TwoSourcesSplitPartitionsAndOneTakesOverWithoutLoss) {
  ASSERT_TRUE(kafka_->CreateTopic("shared", 4));
  Producer producer = NewProducer(kafka_->brokers());
  Pipeline pipeline;
  KafkaSourceConfig config = Config(kafka_->brokers(), "pair", {"shared"});
  config.commit_without_snapshot = true;
  KafkaSource& first = pipeline.Add(config);
  KafkaSource& second = pipeline.Add(config);
  pipeline.StartWorkers();
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(second.Start().ok());

  // Batches keep coming until the group has settled: each source then holds some of
  // the partitions, every partition is held by exactly one, and together they have
  // processed everything.
  std::vector<std::int64_t> ends;
  const std::int64_t ts = NowNs();
  int batches = 0;
  const auto split = [&] {
    const store::SnapshotOffsets a = first.ProcessedOffsets();
    const store::SnapshotOffsets b = second.ProcessedOffsets();
    return !a.empty() && !b.empty() && a.size() + b.size() == 4 &&
           pipeline.Processed() == Ends("shared", ends);
  };
  bool settled = false;
  for (const auto deadline = std::chrono::steady_clock::now() + test::kKafkaTimeout;
       !settled && std::chrono::steady_clock::now() < deadline;) {
    ProduceLines(producer, "shared", 4, 40, 2, ts + batches++ * 1'000'000'000, ends);
    settled = WaitFor(split, 3s);
  }
  ASSERT_TRUE(settled) << first.ProcessedOffsets().size() << " + "
                       << second.ProcessedOffsets().size() << " partitions";
  EXPECT_EQ(pipeline.points(), static_cast<std::uint64_t>(batches) * 40 * 2 * 2);

  // One leaves; the other takes its partitions over from the committed offsets.
  first.Stop();
  ProduceLines(producer, "shared", 4, 400, 2, ts + batches * 1'000'000'000, ends);
  ASSERT_TRUE(WaitFor([&] { return second.ProcessedOffsets() == Ends("shared", ends); }));
  EXPECT_EQ(pipeline.points(), (static_cast<std::uint64_t>(batches) * 40 + 400) * 2 * 2);
  second.Stop();
  EXPECT_EQ(Committed(kafka_->brokers(), "pair", "shared", 4), Ends("shared", ends));
}

}  // namespace
}  // namespace tidewatch::ingest
