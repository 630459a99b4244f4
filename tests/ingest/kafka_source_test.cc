// KafkaSource against librdkafka's in-process mock cluster: end to end through real
// rings, workers and store, with faults injected (full rings, full ticket table, full
// dead-letter queue, OffsetCommit/Fetch/Produce errors, a broker going down, a
// rebalance revoking stalled partitions, Stop while stalled), and every poison outcome.
#include "ingest/kafka_source.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingest/internal/series_cache.h"
#include "tests/ingest/kafka_test_util.h"

namespace tidewatch::ingest {
namespace {

using namespace std::chrono_literals;
using test::CommittedReader;
using test::Ends;
using test::NowNs;
using test::Pipeline;
using test::Producer;
using test::ReadTopic;
using test::Record;
using test::WaitFor;

// Kafka protocol API keys for rd_kafka_mock_push_request_errors (not in the headers).
constexpr std::int16_t kApiProduce = 0;
constexpr std::int16_t kApiFetch = 1;
constexpr std::int16_t kApiOffsetCommit = 8;

// A mock cluster with one broker (librdkafka's, in process, on 127.0.0.1) and a
// producer on it; the producer's handle owns the cluster.
class MockKafka {
 public:
  MockKafka()
      : producer_({{"test.mock.num.brokers", "1"}, {"linger.ms", "0"}}),
        cluster_(rd_kafka_handle_mock_cluster(producer_.get())),
        brokers_(rd_kafka_mock_cluster_bootstraps(cluster_)) {}

  void CreateTopic(const std::string& topic, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  void Produce(const std::string& topic, std::int32_t partition,
               std::optional<std::string_view> key, std::optional<std::string_view> value) {
    producer_.Send(topic, partition, key, value);
  }

  void Flush() { producer_.Flush(); }

  rd_kafka_mock_cluster_t* cluster() { return cluster_; }
  const std::string& brokers() const { return brokers_; }

 private:
  Producer producer_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string brokers_;
};

// Lines of message `m`: each has two fields (a float and an integer), so 2 points, and
// a timestamp unique per (series, line) so that no point overwrites another.
std::string Lines(int m, int lines, std::int64_t base_ts) {
  std::string out;
  for (int l = 0; l < lines; ++l) {
    out += "cpu,host=h" + std::to_string(m % 4) + " usage=" + std::to_string(m) +
           ".5,count=" + std::to_string(l) + "i " + std::to_string(base_ts + m * 1000 + l) + "\n";
  }
  return out;
}

KafkaSourceConfig MockConfig(const MockKafka& kafka, const std::string& group,
                             std::vector<std::string> topics) {
  KafkaSourceConfig config;
  config.brokers = kafka.brokers();
  config.group_id = group;
  config.topics = std::move(topics);
  config.properties = {
      // The 2.0.2 mock waits session.timeout.ms - 1 s for members before it assigns.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"auto.commit.interval.ms", "100"},
      {"topic.metadata.refresh.interval.ms", "1000"},
  };
  config.drain_timeout_ms = 1s;
  return config;
}

// Produces `messages` messages of `lines` lines round-robin over `partitions`; returns
// each partition's end offset.
std::vector<std::int64_t> ProduceLines(MockKafka& kafka, const std::string& topic, int partitions,
                                       int messages, int lines, std::int64_t base_ts) {
  std::vector<std::int64_t> ends(static_cast<std::size_t>(partitions), 0);
  for (int m = 0; m < messages; ++m) {
    const int p = m % partitions;
    const std::string key = "h" + std::to_string(m % 4);
    kafka.Produce(topic, p, key, Lines(m, lines, base_ts));
    ++ends[static_cast<std::size_t>(p)];
  }
  kafka.Flush();
  return ends;
}

TEST(KafkaSourceConfigTest, RejectsBadConfigurationAtConstruction) {
  store::Store store;
  store::FieldRings rings({});
  const auto error_of = [&](KafkaSourceConfig c, std::uint32_t index = 1) {
    StatusOr<std::unique_ptr<KafkaSource>> s =
        KafkaSource::Create(std::move(c), store, rings, index);
    return s.ok() ? std::string("OK") : s.status().ToString();
  };
  KafkaSourceConfig good;
  good.brokers = "127.0.0.1:1";
  good.group_id = "g";
  good.topics = {"t"};
  EXPECT_EQ(error_of(good), "OK");

  KafkaSourceConfig c = good;
  c.format = "json";
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: format json: requires a json mapping ([kafka.json])");
  c.json = JsonMapping{};
  EXPECT_EQ(error_of(c), "OK");
  c.json->tag_keys = {"site", "a..b"};
  EXPECT_EQ(error_of(c).rfind("INVALID_ARGUMENT: json: ", 0), 0u) << error_of(c);
  EXPECT_NE(error_of(c).find("a..b"), std::string::npos) << error_of(c);
  c.json = JsonMapping{};
  c.json->measurement = "";
  EXPECT_EQ(error_of(c).rfind("INVALID_ARGUMENT: json: ", 0), 0u) << error_of(c);
  c.json = JsonMapping{};
  c.precision = "d";  // unused by json, still checked
  EXPECT_EQ(error_of(c),
            "INVALID_ARGUMENT: unknown precision 'd' (expected n, ns, u, us, ms, s, m or h)");
  c = good;
  c.json = JsonMapping{};
  c.json->tag_keys = {"a..b"};  // ignored for line
  EXPECT_EQ(error_of(c), "OK");
  c.format = "avro";
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: unknown format 'avro' (expected \"line\" or \"json\")");
  c = good;
  c.precision = "d";
  EXPECT_EQ(error_of(c),
            "INVALID_ARGUMENT: unknown precision 'd' (expected n, ns, u, us, ms, s, m or h)");
  c = good;
  c.topics.clear();
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: topics: at least one topic is required");
  c = good;
  c.brokers.clear();
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: brokers: required");
  c = good;
  c.group_id.clear();
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: group_id: required");
  c = good;
  c.ticket_capacity = 0;
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: ticket_capacity: must be in [1, 16777216]");
  EXPECT_EQ(error_of(good, 0), "INVALID_ARGUMENT: ticket table index must be in [1, 255]");
  c = good;
  c.max_message_bytes = 0;
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: max_message_bytes: must be at least 1");
  c = good;
  c.properties["no.such.property"] = "1";
  EXPECT_EQ(error_of(c),
            "INVALID_ARGUMENT: property 'no.such.property': No such configuration property: "
            "\"no.such.property\"");
  c = good;
  c.properties["enable.auto.offset.store"] = "true";
  EXPECT_EQ(error_of(c),
            "INVALID_ARGUMENT: property 'enable.auto.offset.store': managed by the source (offsets "
            "are stored only once processed)");
  c = good;
  c.dead_letter_topic = "";
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: dead_letter_topic: empty topic name");
  c = good;
  c.dead_letter_topic = "dlq";
  c.dead_letter_properties["acks"] = "bogus";
  EXPECT_NE(error_of(c).find("INVALID_ARGUMENT: dead letters: property 'acks'"), std::string::npos)
      << error_of(c);
}

TEST(SeriesCacheTest, CachesIdsAndKeepsTypeConflictsVisible) {
  store::Store store;
  store::FieldRings rings{store::FieldRingsOptions{}};
  internal::SeriesCache cache(2);
  const std::array<store::TagView, 1> tags = {{{"host", "a"}}};
  cache.BeginLine("db", "cpu", tags);
  const StatusOr<internal::ResolvedField> id =
      cache.Resolve(store, rings, "usage", store::FieldType::kFloat);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->series, *store.Intern({"db", "cpu", tags, "usage"}, store::FieldType::kFloat));
  EXPECT_EQ(id->field, *rings.FieldFor("cpu", "usage"));
  cache.BeginLine("db", "cpu", tags);
  EXPECT_EQ(cache.Resolve(store, rings, "usage", store::FieldType::kFloat)->series, id->series);
  EXPECT_EQ(cache.size(), 1u);
  // Another type is not answered from the cache: the store reports the conflict.
  EXPECT_EQ(cache.Resolve(store, rings, "usage", store::FieldType::kInteger).status().code(),
            StatusCode::kInvalidArgument);
  // Bounded: a third series clears the cache first.
  ASSERT_TRUE(cache.Resolve(store, rings, "idle", store::FieldType::kFloat).ok());
  EXPECT_EQ(cache.size(), 2u);
  cache.BeginLine("db", "cpu", {});
  const StatusOr<internal::ResolvedField> untagged =
      cache.Resolve(store, rings, "idle", store::FieldType::kFloat);
  ASSERT_TRUE(untagged.ok());
  EXPECT_NE(untagged->series, id->series);
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  cache.BeginLine("db", "cpu", tags);
  EXPECT_EQ(cache.Resolve(store, rings, "usage", store::FieldType::kFloat)->series, id->series);
}

// Series parts that differ only in where a name ends never share an entry, and a line
// wider than the in-order scan (indexed) resolves every field to its own series, in any
// order.
TEST(SeriesCacheTest, KeepsSeriesApartAndResolvesWideLines) {
  store::Store store;
  store::FieldRings rings{store::FieldRingsOptions{}};
  internal::SeriesCache cache;
  const std::array<store::TagView, 1> ab = {{{"a", "bc"}}};
  const std::array<store::TagView, 1> a_b = {{{"ab", "c"}}};
  cache.BeginLine("db", "m", ab);
  const store::SeriesId first = cache.Resolve(store, rings, "v", store::FieldType::kFloat)->series;
  cache.BeginLine("db", "m", a_b);
  EXPECT_NE(cache.Resolve(store, rings, "v", store::FieldType::kFloat)->series, first);

  constexpr int kFields = 100;
  std::vector<std::string> names;
  for (int f = 0; f < kFields; ++f) names.push_back("f" + std::to_string(f));
  std::vector<store::SeriesId> ids;
  cache.BeginLine("db", "wide", {});
  for (const std::string& name : names) {
    ids.push_back(cache.Resolve(store, rings, name, store::FieldType::kFloat)->series);
  }
  const std::size_t interned = store.index().series_count();
  // Reversed: the in-order guess misses every time; the index answers.
  cache.BeginLine("db", "wide", {});
  for (int f = kFields - 1; f >= 0; --f) {
    const StatusOr<internal::ResolvedField> id =
        cache.Resolve(store, rings, names[static_cast<std::size_t>(f)], store::FieldType::kFloat);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->series, ids[static_cast<std::size_t>(f)]) << names[static_cast<std::size_t>(f)];
    EXPECT_EQ(id->field, *rings.FieldFor("wide", names[static_cast<std::size_t>(f)]));
  }
  EXPECT_EQ(store.index().series_count(), interned);
  EXPECT_EQ(cache.size(), 2u + kFields);
}

TEST(KafkaSourceTest, StoresEveryPointAndCommitsOnlyOffsetsHandedBack) {
  MockKafka kafka;
  kafka.CreateTopic("metrics", 3);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "metrics", 3, 30, 3, NowNs());
  Pipeline h;
  KafkaSource& source = h.Add(MockConfig(kafka, "snapshots", {"metrics"}));
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());

  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("metrics", ends); }))
      << "processed " << h.Processed().size() << " partitions";
  EXPECT_EQ(h.points(), 30u * 3 * 2);
  KafkaSourceStats stats = source.stats();
  EXPECT_EQ(stats.messages, 30u);
  EXPECT_EQ(stats.points, 180u);
  EXPECT_EQ(stats.messages_rejected, 0u);

  // Nothing is committed until the daemon hands offsets back, and then never more than
  // was processed: a request for 999 is capped at the partition's end.
  CommittedReader reader(kafka.brokers(), "snapshots");
  source.CommitOffsets({{"metrics/0", 4}});
  ASSERT_TRUE(WaitFor([&] { return reader.Read("metrics", 3)["metrics/0"] == 4; }));
  EXPECT_EQ(reader.Read("metrics", 3),
            (store::SnapshotOffsets{{"metrics/0", 4},
                                    {"metrics/1", RD_KAFKA_OFFSET_INVALID},
                                    {"metrics/2", RD_KAFKA_OFFSET_INVALID}}));
  source.CommitOffsets({{"metrics/0", 999}, {"metrics/1", ends[1]}, {"metrics/2", ends[2]}});
  ASSERT_TRUE(WaitFor([&] { return reader.Read("metrics", 3)["metrics/2"] == ends[2]; }));
  EXPECT_EQ(reader.Read("metrics", 3), Ends("metrics", ends));

  source.Stop();
  EXPECT_EQ(source.ProcessedOffsets(), Ends("metrics", ends));  // kept for the last snapshot
  EXPECT_EQ(source.tickets().in_use(), 0u);
}

TEST(KafkaSourceTest, CommitsProcessedOffsetsItselfWithoutSnapshotsAndFollowsRegexes) {
  MockKafka kafka;
  kafka.CreateTopic("plant.a", 2);
  kafka.CreateTopic("plant.b", 1);
  kafka.CreateTopic("other", 1);
  const std::int64_t ts = NowNs();
  const std::vector<std::int64_t> a = ProduceLines(kafka, "plant.a", 2, 10, 2, ts);
  const std::vector<std::int64_t> b = ProduceLines(kafka, "plant.b", 1, 5, 2, ts + 1'000'000'000);
  ProduceLines(kafka, "other", 1, 5, 2, ts);
  Pipeline h;
  KafkaSourceConfig config = MockConfig(kafka, "no-snapshots", {"^plant\\..*"});
  config.commit_without_snapshot = true;
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());

  store::SnapshotOffsets expected = Ends("plant.a", a);
  expected.merge(Ends("plant.b", b));
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == expected; }));
  EXPECT_EQ(h.points(), (10u + 5u) * 2 * 2);
  CommittedReader reader(kafka.brokers(), "no-snapshots");
  ASSERT_TRUE(WaitFor([&] { return reader.Read("plant.a", 2) == Ends("plant.a", a); }));
  ASSERT_TRUE(WaitFor([&] { return reader.Read("plant.b", 1) == Ends("plant.b", b); }));

  // Per topic: messages, points and payload bytes; the unsubscribed topic is absent.
  const auto bytes = [](int messages, std::int64_t base_ts) {
    std::uint64_t n = 0;
    for (int m = 0; m < messages; ++m) n += Lines(m, 2, base_ts).size();
    return n;
  };
  const std::map<std::string, TopicCounts> per_topic = {
      {"plant.a", {10, 10 * 2 * 2, bytes(10, ts)}},
      {"plant.b", {5, 5 * 2 * 2, bytes(5, ts + 1'000'000'000)}}};
  EXPECT_EQ(source.stats().per_topic, per_topic);
  // The cached high watermarks reach the end offsets (fetched, then refreshed within
  // about a second), so the lag is 0 everywhere.
  EXPECT_TRUE(WaitFor([&] { return source.stats().high_watermarks == expected; }))
      << source.stats().high_watermarks.size() << " watermarks";
}

TEST(KafkaSourceTest, StartOffsetsFromASnapshotWinOverTheCommittedOnes) {
  MockKafka kafka;
  kafka.CreateTopic("restored", 1);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "restored", 1, 10, 1, NowNs());
  Pipeline h;
  KafkaSource& source = h.Add(MockConfig(kafka, "restart", {"restored"}));
  source.SetStartOffsets({{"restored/0", 6}, {"gone/0", 3}});
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("restored", ends); }));
  EXPECT_EQ(h.points(), 4u * 2);  // messages 6..9
  EXPECT_EQ(source.stats().messages, 4u);
}

TEST(KafkaSourceTest, FullRingsPauseThePartitionAndLoseNothing) {
  MockKafka kafka;
  kafka.CreateTopic("burst", 2);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "burst", 2, 40, 5, NowNs());
  store::FieldRingsOptions tiny;
  tiny.defaults.capacity = 4;
  Pipeline h(tiny);
  KafkaSource& source = h.Add(MockConfig(kafka, "burst", {"burst"}));
  ASSERT_TRUE(source.Start().ok());
  // No workers yet: the rings fill and both partitions pause, while the consumer keeps
  // polling (it stays in the group).
  ASSERT_TRUE(WaitFor([&] { return source.stats().pauses >= 2; }));
  const std::uint64_t pushed_while_stalled = source.stats().points;
  EXPECT_LE(pushed_while_stalled, 8u);  // two rings of 4
  h.StartWorkers();
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("burst", ends); }));
  EXPECT_EQ(h.points(), 40u * 5 * 2);
  EXPECT_EQ(source.stats().points, 400u);
  source.Stop();
  EXPECT_EQ(source.stats().points_abandoned, 0u);
  EXPECT_EQ(source.tickets().in_use(), 0u);
}

TEST(KafkaSourceTest, FullTicketTablePausesUntilMessagesComplete) {
  MockKafka kafka;
  kafka.CreateTopic("tickets", 1);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "tickets", 1, 20, 1, NowNs());
  Pipeline h;
  KafkaSourceConfig config = MockConfig(kafka, "tickets", {"tickets"});
  config.ticket_capacity = 2;
  KafkaSource& source = h.Add(config);
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return source.stats().pauses >= 1; }));
  EXPECT_EQ(source.stats().points, 4u);  // two messages of 2 points hold both tickets
  h.StartWorkers();
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("tickets", ends); }));
  EXPECT_EQ(h.points(), 20u * 2);
}

// One message per outcome, on one partition, between good ones.
TEST(KafkaSourceTest, PoisonMessagesAreDeadLetteredWithReasonAndOrigin) {
  MockKafka kafka;
  kafka.CreateTopic("in", 1);
  kafka.CreateTopic("dlq", 1);
  const std::string ts = std::to_string(NowNs());
  const std::string oversized = "m,host=a v=2 " + ts + std::string(300, ' ');
  struct Case {
    std::optional<std::string> value;
    std::string error;  // expected prefix of tidewatch-error; empty: not rejected
  };
  const std::vector<Case> cases = {
      {"m,host=a v=1 " + ts, ""},
      {"", "empty_payload: zero bytes"},
      {std::nullopt, "tombstone: NULL value"},
      {oversized,
       "oversized: " + std::to_string(oversized.size()) + " bytes > max_message_bytes 256"},
      {"m\xff,host=a v=1 " + ts, "malformed: 1 of 1 lines bad: line 1, column "},
      {"m,host=a v=NaN " + ts, "malformed: 1 of 1 lines bad: line 1"},
      {"m,host=a v=-Inf " + ts, "malformed: 1 of 1 lines bad: line 1"},
      {"m,host=a v=1 9000000000000000000",
       "timestamp_out_of_range: 1 of 1 lines bad: line 1: timestamp out of range: "
       "9000000000000000000 ns"},
      {"m,host=b v=2 " + ts + "\nnot line protocol\nm,host=c v=3 " + ts,
       "malformed: 1 of 3 lines bad: line 2, column "},
      {"# only a comment\n\n", "empty_payload: only blank or comment lines"},
      {"m,host=d v=4i " + ts,
       "store_refused: 0 of 1 lines bad, 1 points refused: line 1, field \"v\": field type "
       "conflict"},
      {"m,host=e v=5 " + ts, ""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string key = "key-" + std::to_string(i);
    kafka.Produce("in", 0, key,
                  cases[i].value ? std::optional<std::string_view>(*cases[i].value) : std::nullopt);
  }
  kafka.Flush();

  Pipeline h;
  KafkaSourceConfig config = MockConfig(kafka, "poison", {"in"});
  config.dead_letter_topic = "dlq";
  config.max_message_bytes = 256;
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == store::SnapshotOffsets{{"in/0", 12}}; }));
  EXPECT_EQ(h.points(), 4u);  // v=1, b and c of the partial batch, e

  std::vector<std::pair<std::int64_t, const Case*>> rejected;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i].error.empty()) rejected.emplace_back(static_cast<std::int64_t>(i), &cases[i]);
  }
  const std::vector<Record> letters = ReadTopic(kafka.brokers(), "dlq", 1, rejected.size());
  ASSERT_EQ(letters.size(), rejected.size());
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const auto& [offset, c] = rejected[i];
    SCOPED_TRACE("offset " + std::to_string(offset));
    EXPECT_EQ(letters[i].key, "key-" + std::to_string(offset));
    EXPECT_EQ(letters[i].value, c->value);
    EXPECT_EQ(letters[i].headers.at("tidewatch-source-topic"), "in");
    EXPECT_EQ(letters[i].headers.at("tidewatch-source-partition"), "0");
    EXPECT_EQ(letters[i].headers.at("tidewatch-source-offset"), std::to_string(offset));
    EXPECT_EQ(letters[i].headers.at("tidewatch-error").substr(0, c->error.size()), c->error)
        << letters[i].headers.at("tidewatch-error");
  }

  const KafkaSourceStats stats = source.stats();
  RejectCounts expected{};
  expected[static_cast<std::size_t>(RejectReason::kEmptyPayload)] = 2;
  expected[static_cast<std::size_t>(RejectReason::kTombstone)] = 1;
  expected[static_cast<std::size_t>(RejectReason::kOversized)] = 1;
  expected[static_cast<std::size_t>(RejectReason::kMalformed)] = 4;
  expected[static_cast<std::size_t>(RejectReason::kTimestampOutOfRange)] = 1;
  expected[static_cast<std::size_t>(RejectReason::kStoreRefused)] = 1;
  EXPECT_EQ(stats.rejected, (std::map<std::string, RejectCounts>{{"in", expected}}));
  EXPECT_EQ(stats.messages_rejected, rejected.size());
  EXPECT_EQ(stats.points_refused, 1u);
  EXPECT_EQ(stats.bad_lines, 5u);
  EXPECT_EQ(stats.dead_letters.delivered, rejected.size());
  EXPECT_EQ(stats.dead_letters.failed, 0u);
}

KafkaSourceConfig JsonConfig(const MockKafka& kafka, const std::string& group,
                             std::vector<std::string> topics) {
  KafkaSourceConfig config = MockConfig(kafka, group, std::move(topics));
  config.format = "json";
  config.json = JsonMapping{};
  config.json->measurement = "plant";
  config.json->tag_keys = {"site", "sensor.id"};
  return config;
}

// {"time": ms, "site": ..., "sensor": {"id": ...}, "temp": ..., "running": ...}
std::string JsonObject(std::int64_t ms, const std::string& site, const std::string& sensor,
                       const std::string& temp, bool running) {
  return "{\"time\": " + std::to_string(ms) + ", \"site\": \"" + site +
         "\", \"sensor\": {\"id\": \"" + sensor + "\"}, \"temp\": " + temp +
         ", \"running\": " + (running ? "true" : "false") + ", \"status\": \"ok\"}";
}

TEST(KafkaSourceJsonTest, ObjectsAndArraysAreStoredAsPoints) {
  MockKafka kafka;
  kafka.CreateTopic("json", 2);
  const std::int64_t ms = NowNs() / 1'000'000;
  const std::string t = std::to_string(ms);
  kafka.Produce("json", 0, "a", JsonObject(ms, "north", "s-1", "21.5", true));
  kafka.Produce("json", 1, "b",
                "[" + JsonObject(ms, "south", "s-2", "19", false) + ",\n " +
                    JsonObject(ms + 1, "south", "s-2", "19.25", true) + "]");
  // A payload escape, a nested object no key leads into, a null tag: all as documented.
  kafka.Produce("json", 0, "c",
                "{\"time\": " + t +
                    ", \"site\": \"n\\u00f6rth\", \"sensor\": null, \"extra\": "
                    "{\"x\": [1, 2]}, \"temp\": -1e2}");
  kafka.Flush();

  Pipeline h;
  KafkaSource& source = h.Add(JsonConfig(kafka, "json", {"json"}));
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("json", {2, 1}); }));
  EXPECT_EQ(test::DumpStore(h.store()), "kafka plant,sensor.id=s-1,site=north running:2 " + t +
                                            "000000=1\n"
                                            "kafka plant,sensor.id=s-1,site=north temp:0 " +
                                            t +
                                            "000000=21.5\n"
                                            "kafka plant,sensor.id=s-2,site=south running:2 " +
                                            t + "000000=0 " + std::to_string(ms + 1) +
                                            "000000=1\n"
                                            "kafka plant,sensor.id=s-2,site=south temp:0 " +
                                            t + "000000=19 " + std::to_string(ms + 1) +
                                            "000000=19.25\n"
                                            "kafka plant,site=n\xc3\xb6rth temp:0 " +
                                            t + "000000=-100\n");
  const KafkaSourceStats stats = source.stats();
  EXPECT_EQ(stats.messages, 3u);
  EXPECT_EQ(stats.points, 7u);
  EXPECT_EQ(stats.string_fields, 0u);  // automatic fields skip strings
  EXPECT_EQ(stats.messages_rejected, 0u);
}

// The JSON twin of PoisonMessagesAreDeadLetteredWithReasonAndOrigin: a partly bad
// message stores its good objects and is dead-lettered whole with every bad one named,
// as a partly bad line protocol batch is.
TEST(KafkaSourceJsonTest, BadObjectsAreDeadLetteredAndTheGoodOnesAroundThemStored) {
  MockKafka kafka;
  kafka.CreateTopic("jin", 1);
  kafka.CreateTopic("jdlq", 1);
  const std::int64_t ms = NowNs() / 1'000'000;
  struct Case {
    std::string value;
    std::string error;  // expected prefix of tidewatch-error; empty: not rejected
  };
  const std::vector<Case> cases = {
      {JsonObject(ms, "a", "s-1", "1", true), ""},
      {"[" + JsonObject(ms, "b", "s-1", "2", true) + ", {\"site\": \"x\", \"temp\": 9}, " +
           JsonObject(ms, "c", "s-1", "3", false) + "]",
       "malformed: 1 of 3 objects bad: object 1: missing timestamp \"time\" in "
       "'{\"site\": \"x\", \"temp\": 9}'"},
      {"[" + JsonObject(ms, "d", "s-1", "4", true) + ", 17, {\"time\": " + std::to_string(ms) +
           ", \"temp\": [1]}]",
       "malformed: 2 of 3 objects bad: object 1: not an object but a number in '17'; "
       "object 2: no fields: no member is a number or a boolean in '{\"time\": "},
      {"{\"time\": " + std::to_string(ms) + ", \"temp\": 1,",
       "malformed: 1 of 1 objects bad: invalid JSON at byte 34: expected a string key in "
       "'{\"time\": "},
      {"[]", "empty_payload: an empty JSON array"},
      {"   ", "malformed: 1 of 1 objects bad: empty payload"},
      {"{\"time\": " + std::to_string(ms) +
           ", \"site\": \"a\", \"sensor\": {\"id\": \"s-1\"}, "
           "\"temp\": true}",
       "store_refused: 0 of 1 objects bad, 1 points refused: object 0, field \"temp\": field "
       "type conflict"},
      {JsonObject(ms + 1, "e", "s-1", "5", true), ""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    kafka.Produce("jin", 0, "key-" + std::to_string(i), cases[i].value);
  }
  kafka.Flush();

  Pipeline h;
  KafkaSourceConfig config = JsonConfig(kafka, "jpoison", {"jin"});
  config.dead_letter_topic = "jdlq";
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == store::SnapshotOffsets{{"jin/0", 8}}; }));
  // a, b and c around the bad object, d before the bad ones, e; 2 fields each.
  EXPECT_EQ(h.points(), 5u * 2);

  std::vector<std::pair<std::int64_t, const Case*>> rejected;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i].error.empty()) rejected.emplace_back(static_cast<std::int64_t>(i), &cases[i]);
  }
  const std::vector<Record> letters = ReadTopic(kafka.brokers(), "jdlq", 1, rejected.size());
  ASSERT_EQ(letters.size(), rejected.size());
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const auto& [offset, c] = rejected[i];
    SCOPED_TRACE("offset " + std::to_string(offset));
    EXPECT_EQ(letters[i].key, "key-" + std::to_string(offset));
    EXPECT_EQ(letters[i].value, c->value);
    EXPECT_EQ(letters[i].headers.at("tidewatch-source-offset"), std::to_string(offset));
    EXPECT_EQ(letters[i].headers.at("tidewatch-error").substr(0, c->error.size()), c->error)
        << letters[i].headers.at("tidewatch-error");
  }
  const KafkaSourceStats stats = source.stats();
  RejectCounts expected{};
  expected[static_cast<std::size_t>(RejectReason::kEmptyPayload)] = 1;
  expected[static_cast<std::size_t>(RejectReason::kMalformed)] = 4;
  expected[static_cast<std::size_t>(RejectReason::kStoreRefused)] = 1;
  EXPECT_EQ(stats.rejected, (std::map<std::string, RejectCounts>{{"jin", expected}}));
  EXPECT_EQ(stats.bad_lines, 5u);
  EXPECT_EQ(stats.points_refused, 1u);
  EXPECT_EQ(stats.dead_letters.delivered, rejected.size());
}

TEST(KafkaSourceTest, SeriesLimitRefusalsAreCountedAndDeadLettered) {
  MockKafka kafka;
  kafka.CreateTopic("many", 1);
  kafka.CreateTopic("many-dlq", 1);
  const std::string ts = std::to_string(NowNs());
  for (const char* host : {"a", "b", "c"})
    kafka.Produce("many", 0, std::nullopt, std::string("m,host=") + host + " v=1 " + ts);
  kafka.Flush();
  store::StoreOptions limited;
  limited.index.max_series_per_db = 2;
  Pipeline h({}, limited);
  KafkaSourceConfig config = MockConfig(kafka, "many", {"many"});
  config.dead_letter_topic = "many-dlq";
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == store::SnapshotOffsets{{"many/0", 3}}; }));
  EXPECT_EQ(h.points(), 2u);
  const std::vector<Record> letters = ReadTopic(kafka.brokers(), "many-dlq", 1, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].headers.at("tidewatch-source-offset"), "2");
  EXPECT_NE(letters[0]
                .headers.at("tidewatch-error")
                .find("store_refused: 0 of 1 lines bad, 1 points refused: line 1, field \"v\": db "
                      "'kafka' has reached max_series_per_db=2"),
            std::string::npos)
      << letters[0].headers.at("tidewatch-error");
  EXPECT_EQ(source.stats().points_refused, 1u);
}

TEST(KafkaSourceTest, FullDeadLetterQueuePausesAndKeepsOrder) {
  MockKafka kafka;
  kafka.CreateTopic("bad", 1);
  kafka.CreateTopic("bad-dlq", 1);
  for (int i = 0; i < 5; ++i)
    kafka.Produce("bad", 0, "k" + std::to_string(i), "garbage " + std::to_string(i));
  kafka.Flush();
  // The dead-letter producer's first requests fail (retriably), so its one-message
  // queue stays full for a while.
  const std::array<rd_kafka_resp_err_t, 4> errors = {
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS};
  rd_kafka_mock_push_request_errors_array(kafka.cluster(), kApiProduce, errors.size(),
                                          errors.data());
  Pipeline h;
  KafkaSourceConfig config = MockConfig(kafka, "bad", {"bad"});
  config.dead_letter_topic = "bad-dlq";
  config.dead_letter_properties = {{"queue.buffering.max.messages", "1"},
                                   {"retry.backoff.ms", "200"}};
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == store::SnapshotOffsets{{"bad/0", 5}}; }));
  const KafkaSourceStats stats = source.stats();
  EXPECT_GE(stats.dead_letters.queue_full, 1u);
  EXPECT_GE(stats.pauses, 1u);
  EXPECT_EQ(stats.dead_letters.delivered, 5u);
  const std::vector<Record> letters = ReadTopic(kafka.brokers(), "bad-dlq", 1, 5);
  ASSERT_EQ(letters.size(), 5u);
  for (std::size_t i = 0; i < letters.size(); ++i)
    EXPECT_EQ(letters[i].key, "k" + std::to_string(i));
}

TEST(KafkaSourceTest, RecoversFromFetchAndCommitErrorsAndABrokerOutage) {
  MockKafka kafka;
  kafka.CreateTopic("flaky", 2);
  const std::int64_t ts = NowNs();
  std::vector<std::int64_t> ends = ProduceLines(kafka, "flaky", 2, 10, 1, ts);
  const std::array<rd_kafka_resp_err_t, 3> fetch_errors = {
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__TRANSPORT,
      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART};
  rd_kafka_mock_push_request_errors_array(kafka.cluster(), kApiFetch, fetch_errors.size(),
                                          fetch_errors.data());
  const std::array<rd_kafka_resp_err_t, 3> commit_errors = {
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
      RD_KAFKA_RESP_ERR__TRANSPORT};
  rd_kafka_mock_push_request_errors_array(kafka.cluster(), kApiOffsetCommit, commit_errors.size(),
                                          commit_errors.data());
  Pipeline h;
  KafkaSourceConfig config = MockConfig(kafka, "flaky", {"flaky"});
  config.commit_without_snapshot = true;
  KafkaSource& source = h.Add(config);
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("flaky", ends); }));
  CommittedReader reader(kafka.brokers(), "flaky");
  ASSERT_TRUE(WaitFor([&] { return reader.Read("flaky", 2) == Ends("flaky", ends); }));

  // The broker goes away (shorter than the session timeout) while more is produced.
  const std::uint64_t errors_before = source.stats().consumer_errors;
  ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(WaitFor([&] { return source.stats().consumer_errors > errors_before; }, 10s));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::vector<std::int64_t> more = ProduceLines(kafka, "flaky", 2, 10, 1, ts + 1'000'000'000);
  for (std::size_t p = 0; p < ends.size(); ++p) ends[p] += more[p];
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("flaky", ends); }));
  ASSERT_TRUE(WaitFor([&] { return reader.Read("flaky", 2) == Ends("flaky", ends); }));
  EXPECT_EQ(h.points(), 20u * 2);
}

TEST(KafkaSourceTest, RevocationAbandonsStalledWorkAndTheNewOwnerConsumesIt) {
  MockKafka kafka;
  kafka.CreateTopic("shared", 4);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "shared", 4, 40, 2, NowNs());
  store::FieldRingsOptions tiny;
  tiny.defaults.capacity = 2;
  Pipeline h(tiny);
  KafkaSourceConfig config = MockConfig(kafka, "pair", {"shared"});
  config.commit_without_snapshot = true;
  config.drain_timeout_ms = 300ms;
  KafkaSource& first = h.Add(config);
  KafkaSource& second = h.Add(config);
  ASSERT_TRUE(first.Start().ok());
  // Rings full, no workers: every partition of `first` stalls.
  ASSERT_TRUE(WaitFor([&] { return first.stats().pauses >= 4; }));
  ASSERT_TRUE(second.Start().ok());
  // The cooperative rebalance moves partitions to `second`; `first` cannot drain them
  // and abandons what it could not push.
  ASSERT_TRUE(WaitFor([&] { return first.stats().points_abandoned > 0; }));
  h.StartWorkers();
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("shared", ends); }));
  EXPECT_EQ(h.points(), 40u * 2 * 2);
  EXPECT_GT(second.stats().messages, 0u);
  EXPECT_EQ(first.ProcessedOffsets().size() + second.ProcessedOffsets().size(), 4u);

  // `first` leaves: `second` takes over its partitions from the committed offsets and
  // consumes what comes next, without loss.
  first.Stop();
  EXPECT_EQ(first.tickets().in_use(), 0u);  // abandoned tickets were released
  std::vector<std::int64_t> all = ProduceLines(kafka, "shared", 4, 40, 2, NowNs() + 1'000'000'000);
  for (std::size_t p = 0; p < all.size(); ++p) all[p] += ends[p];
  ASSERT_TRUE(WaitFor([&] { return second.ProcessedOffsets() == Ends("shared", all); }));
  EXPECT_EQ(h.points(), 2u * 40 * 2 * 2);
}

TEST(KafkaSourceTest, StopWhileStalledIsBoundedAndCommitsNothingUnprocessed) {
  MockKafka kafka;
  kafka.CreateTopic("stuck", 1);
  ProduceLines(kafka, "stuck", 1, 20, 2, NowNs());
  store::FieldRingsOptions tiny;
  tiny.defaults.capacity = 2;
  Pipeline h(tiny);
  KafkaSourceConfig config = MockConfig(kafka, "stuck", {"stuck"});
  config.commit_without_snapshot = true;
  config.drain_timeout_ms = 300ms;
  KafkaSource& source = h.Add(config);
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return source.stats().pauses >= 1; }));
  const auto start = std::chrono::steady_clock::now();
  source.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_GT(source.stats().points_abandoned, 0u);
  EXPECT_TRUE(source.ProcessedOffsets().empty());  // no worker ran: nothing processed
  CommittedReader reader(kafka.brokers(), "stuck");
  EXPECT_EQ(reader.Read("stuck", 1),
            (store::SnapshotOffsets{{"stuck/0", RD_KAFKA_OFFSET_INVALID}}));
}

// The daemon's shutdown: Drain(), snapshot with ProcessedOffsets(), CommitOffsets(),
// Stop(). The group's committed offsets must end equal to the processed ones, and
// nothing produced after the drain may be consumed.
TEST(KafkaSourceTest, DrainKeepsTheGroupSoTheShutdownCommitLands) {
  MockKafka kafka;
  kafka.CreateTopic("drained", 2);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "drained", 2, 20, 2, NowNs());
  Pipeline h;
  KafkaSource& source = h.Add(MockConfig(kafka, "drain", {"drained"}));
  h.StartWorkers();
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.Processed() == Ends("drained", ends); }));

  source.Drain();
  const store::SnapshotOffsets processed = source.ProcessedOffsets();
  EXPECT_EQ(processed, Ends("drained", ends));
  const std::uint64_t messages = source.stats().messages;
  // Produced after the drain: never staged, so never in the offsets.
  ProduceLines(kafka, "drained", 2, 10, 2, NowNs());
  CommittedReader reader(kafka.brokers(), "drain");
  EXPECT_EQ(reader.Read("drained", 2),
            (store::SnapshotOffsets{{"drained/0", RD_KAFKA_OFFSET_INVALID},
                                    {"drained/1", RD_KAFKA_OFFSET_INVALID}}));
  source.CommitOffsets(processed);
  source.Stop();
  EXPECT_EQ(reader.Read("drained", 2), processed);
  EXPECT_EQ(source.stats().messages, messages);
  EXPECT_EQ(source.ProcessedOffsets(), processed);
  EXPECT_EQ(h.points(), 20u * 2 * 2);
}

// A drain that times out with work stuck in full rings leaves the processed offsets
// where they were, even when the stuck points are stored afterwards, and pushes nothing
// more.
TEST(KafkaSourceTest, DrainTimeoutFreezesTheProcessedOffsets) {
  MockKafka kafka;
  kafka.CreateTopic("jam", 1);
  ProduceLines(kafka, "jam", 1, 20, 2, NowNs());
  store::FieldRingsOptions tiny;
  tiny.defaults.capacity = 2;
  Pipeline h(tiny);
  KafkaSourceConfig config = MockConfig(kafka, "jam", {"jam"});
  config.drain_timeout_ms = 300ms;
  KafkaSource& source = h.Add(config);
  ASSERT_TRUE(source.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return source.stats().pauses >= 1; }));
  source.Drain();  // no workers: nothing completes
  EXPECT_TRUE(source.ProcessedOffsets().empty());
  const std::uint64_t pushed = source.stats().points;
  h.StartWorkers();
  // The points in the rings get stored, yet the offsets stay put.
  ASSERT_TRUE(WaitFor([&] { return h.points() == pushed; }));
  source.Stop();
  EXPECT_EQ(source.stats().points, pushed);
  EXPECT_TRUE(source.ProcessedOffsets().empty());
  CommittedReader reader(kafka.brokers(), "jam");
  EXPECT_EQ(reader.Read("jam", 1), (store::SnapshotOffsets{{"jam/0", RD_KAFKA_OFFSET_INVALID}}));
}

}  // namespace
}  // namespace tidewatch::ingest
