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
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "ingest/internal/rdkafka_handles.h"
#include "ingest/internal/series_cache.h"

namespace tidewatch::ingest {
namespace {

using namespace std::chrono_literals;
using internal::KafkaHandle;
using internal::KafkaMessage;
using internal::PartitionList;

// Kafka protocol API keys for rd_kafka_mock_push_request_errors (not in the headers).
constexpr std::int16_t kApiProduce = 0;
constexpr std::int16_t kApiFetch = 1;
constexpr std::int16_t kApiOffsetCommit = 8;

constexpr auto kTimeout = 60s;  // bound on every wait; the happy path takes a few seconds

// Polls `pred` every 10 ms until it holds or `timeout` passes; its final value.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = kTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetOrDie(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  const Status s = internal::SetProperty(conf, key, value);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

KafkaHandle NewClientOrDie(rd_kafka_type_t type, internal::KafkaConf conf) {
  StatusOr<KafkaHandle> client = internal::NewClient(type, std::move(conf));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : KafkaHandle();
}

// A mock cluster with one broker (librdkafka's, in process, on 127.0.0.1) and a
// producer on it; the producer's handle owns the cluster.
class MockKafka {
 public:
  MockKafka() {
    internal::KafkaConf conf = internal::NewConf();
    SetOrDie(conf.get(), "test.mock.num.brokers", "1");
    SetOrDie(conf.get(), "linger.ms", "0");
    producer_ = NewClientOrDie(RD_KAFKA_PRODUCER, std::move(conf));
    cluster_ = rd_kafka_handle_mock_cluster(producer_.get());
    brokers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }

  void CreateTopic(const std::string& topic, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  void Produce(const std::string& topic, std::int32_t partition,
               std::optional<std::string_view> key, std::optional<std::string_view> value) {
    std::array<rd_kafka_vu_t, 5> vus{};
    std::size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = topic.c_str();
    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[n++].u.i32 = partition;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    if (key) {
      vus[n].vtype = RD_KAFKA_VTYPE_KEY;
      vus[n++].u.mem = {const_cast<char*>(key->data()), key->size()};
    }
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n++].u.mem = {value ? const_cast<char*>(value->empty() ? "" : value->data()) : nullptr,
                      value ? value->size() : 0};
    const internal::KafkaError error(rd_kafka_produceva(producer_.get(), vus.data(), n));
    ASSERT_FALSE(error) << rd_kafka_error_string(error.get());
  }

  void Flush() { ASSERT_EQ(rd_kafka_flush(producer_.get(), 30'000), RD_KAFKA_RESP_ERR_NO_ERROR); }

  rd_kafka_mock_cluster_t* cluster() { return cluster_; }
  const std::string& brokers() const { return brokers_; }

 private:
  KafkaHandle producer_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string brokers_;
};

// A group-less consumer that reads a topic from the beginning.
struct Record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
};

std::vector<Record> ReadTopic(const std::string& brokers, const std::string& topic, int partitions,
                              std::size_t expected) {
  internal::KafkaConf conf = internal::NewConf();
  SetOrDie(conf.get(), "bootstrap.servers", brokers);
  SetOrDie(conf.get(), "group.id", "reader-" + topic);
  SetOrDie(conf.get(), "enable.auto.commit", "false");
  KafkaHandle consumer = NewClientOrDie(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(consumer.get());
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(consumer.get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    const KafkaMessage m(rd_kafka_consumer_poll(consumer.get(), 100));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    Record r{m->partition, m->offset, std::nullopt, std::nullopt, {}};
    if (m->key != nullptr) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) r.value.emplace(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        r.headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    out.push_back(std::move(r));
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
}

// Reads a group's committed offsets without joining the group.
class CommittedReader {
 public:
  CommittedReader(const std::string& brokers, const std::string& group) {
    internal::KafkaConf conf = internal::NewConf();
    SetOrDie(conf.get(), "bootstrap.servers", brokers);
    SetOrDie(conf.get(), "group.id", group);
    SetOrDie(conf.get(), "enable.auto.commit", "false");
    consumer_ = NewClientOrDie(RD_KAFKA_CONSUMER, std::move(conf));
  }
  ~CommittedReader() { rd_kafka_consumer_close(consumer_.get()); }

  // "topic/partition" -> committed offset, RD_KAFKA_OFFSET_INVALID (-1001) if none; empty
  // if the request failed.
  store::SnapshotOffsets Read(const std::string& topic, int partitions) {
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    if (rd_kafka_committed(consumer_.get(), list.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      return {};
    store::SnapshotOffsets out;
    for (int i = 0; i < list->cnt; ++i) {
      out[internal::PartitionKey(topic, list->elems[i].partition)] = list->elems[i].offset;
    }
    return out;
  }

 private:
  KafkaHandle consumer_;
};

store::SnapshotOffsets Ends(const std::string& topic, const std::vector<std::int64_t>& ends) {
  store::SnapshotOffsets out;
  for (std::size_t p = 0; p < ends.size(); ++p) {
    out[internal::PartitionKey(topic, static_cast<std::int32_t>(p))] = ends[p];
  }
  return out;
}

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

// Store, rings, workers and sources wired as the daemon wires them.
class Harness {
 public:
  explicit Harness(store::FieldRingsOptions rings = {}, store::StoreOptions store = {})
      : store_(std::move(store)), rings_(std::move(rings)) {}
  ~Harness() {
    for (auto& source : sources_) source->Stop();
    if (workers_) workers_->Stop();
  }

  KafkaSource& Add(KafkaSourceConfig config) {
    StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Create(
        std::move(config), store_, rings_, static_cast<std::uint32_t>(sources_.size() + 1));
    EXPECT_TRUE(source.ok()) << source.status().ToString();
    sources_.push_back(std::move(*source));
    return *sources_.back();
  }

  void StartWorkers() {
    std::vector<TicketTable*> tables = {nullptr};
    for (auto& source : sources_) tables.push_back(&source->tickets());
    workers_.emplace(rings_, store_, std::move(tables), 2);
  }

  // Every source's processed offsets, merged (a partition is processed by one at a time).
  store::SnapshotOffsets Processed() const {
    store::SnapshotOffsets out;
    for (const auto& source : sources_) {
      for (const auto& [key, offset] : source->ProcessedOffsets())
        out[key] = std::max(out[key], offset);
    }
    return out;
  }

  std::uint64_t points() const { return store_.windows().point_count(); }
  store::Store& store() { return store_; }

 private:
  store::Store store_;
  store::FieldRings rings_;
  std::vector<std::unique_ptr<KafkaSource>> sources_;
  std::optional<EvaluationWorkers> workers_;  // after sources_: destroyed first
};

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
  EXPECT_EQ(error_of(c), "INVALID_ARGUMENT: format json: not available yet");
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
  internal::SeriesCache cache(2);
  const std::array<store::TagView, 1> tags = {{{"host", "a"}}};
  const store::SeriesKeyView key{"db", "cpu", tags, "usage"};
  const StatusOr<store::SeriesId> id = cache.Intern(store, key, store::FieldType::kFloat);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*cache.Intern(store, key, store::FieldType::kFloat), *id);
  EXPECT_EQ(cache.size(), 1u);
  // Another type is not answered from the cache: the store reports the conflict.
  EXPECT_EQ(cache.Intern(store, key, store::FieldType::kInteger).status().code(),
            StatusCode::kInvalidArgument);
  // Bounded: a third key clears the cache first.
  const store::SeriesKeyView k2{"db", "cpu", tags, "idle"};
  const store::SeriesKeyView k3{"db", "cpu", {}, "idle"};
  ASSERT_TRUE(cache.Intern(store, k2, store::FieldType::kFloat).ok());
  ASSERT_TRUE(cache.Intern(store, k3, store::FieldType::kFloat).ok());
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(*cache.Intern(store, key, store::FieldType::kFloat), *id);
}

TEST(KafkaSourceTest, StoresEveryPointAndCommitsOnlyOffsetsHandedBack) {
  MockKafka kafka;
  kafka.CreateTopic("metrics", 3);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "metrics", 3, 30, 3, NowNs());
  Harness h;
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
  Harness h;
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
}

TEST(KafkaSourceTest, StartOffsetsFromASnapshotWinOverTheCommittedOnes) {
  MockKafka kafka;
  kafka.CreateTopic("restored", 1);
  const std::vector<std::int64_t> ends = ProduceLines(kafka, "restored", 1, 10, 1, NowNs());
  Harness h;
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
  Harness h(tiny);
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
  Harness h;
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

  Harness h;
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
  Harness h({}, limited);
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
  Harness h;
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
  Harness h;
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
  Harness h(tiny);
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
  Harness h(tiny);
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

}  // namespace
}  // namespace tidewatch::ingest
