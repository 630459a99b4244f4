// KafkaSource against a real single-node Kafka 3.9.2 broker (deploy/kafka/), started and
// stopped by each test: points across partitions land in the store and the processed
// offsets cover every partition's end; poison messages reach the dead-letter topic with
// their headers while the good ones around them are stored; two sources in one group
// split the partitions, and when one stops the other takes over without loss.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "ingest/internal/rdkafka_handles.h"
#include "ingest/kafka_source.h"

namespace tidewatch::ingest {
namespace {

using namespace std::chrono_literals;
using internal::KafkaHandle;
using internal::KafkaMessage;
using internal::PartitionList;

constexpr auto kTimeout = 45s;  // bound on every wait

template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = kTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs `command` with /bin/sh; its stdout, or nullopt if it failed. stderr passes through.
std::optional<std::string> Run(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status != 0) return std::nullopt;
  return out;
}

std::string ValueOf(const std::string& output, const std::string& name) {
  const std::string prefix = name + "=";
  for (std::size_t pos = 0; pos < output.size();) {
    std::size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    pos = end + 1;
  }
  return {};
}

// A broker from deploy/kafka/start.sh, stopped (and its directory removed) by
// deploy/kafka/stop.sh when this goes out of scope.
class LocalKafka {
 public:
  // nullptr (with `error` set) if the broker did not start.
  static std::unique_ptr<LocalKafka> Start(std::string& error) {
    const std::optional<std::string> out = Run("bash " + Script("start.sh") + " --timeout 90");
    if (!out) {
      error = "deploy/kafka/start.sh failed (see its messages above)";
      return nullptr;
    }
    auto kafka = std::unique_ptr<LocalKafka>(
        new LocalKafka(ValueOf(*out, "KAFKA_BROKERS"), ValueOf(*out, "KAFKA_DIR")));
    if (kafka->brokers_.rfind("127.0.0.1:", 0) != 0 || kafka->dir_.empty()) {
      error = "start.sh printed no KAFKA_BROKERS/KAFKA_DIR: " + *out;
      return nullptr;  // the destructor stops whatever did start
    }
    return kafka;
  }

  ~LocalKafka() {
    if (!dir_.empty() && !Run("bash " + Script("stop.sh") + " --dir '" + dir_ + "' --timeout 20")) {
      std::fprintf(stderr, "kafka_ingest_test: stop.sh failed for %s\n", dir_.c_str());
    }
  }

  bool CreateTopic(const std::string& topic, int partitions) const {
    return Run("bash " + Script("create-topic.sh") + " " + topic + " --partitions " +
               std::to_string(partitions) + " --brokers " + brokers_)
        .has_value();
  }

  const std::string& brokers() const { return brokers_; }

 private:
  LocalKafka(std::string brokers, std::string dir)
      : brokers_(std::move(brokers)), dir_(std::move(dir)) {}
  static std::string Script(const char* name) {
    return std::string(TIDEWATCH_SOURCE_DIR) + "/deploy/kafka/" + name;
  }

  std::string brokers_;
  std::string dir_;
};

KafkaHandle Client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties) {
  internal::KafkaConf conf = internal::NewConf();
  const Status s = internal::SetProperties(conf.get(), properties);
  EXPECT_TRUE(s.ok()) << s.ToString();
  StatusOr<KafkaHandle> client = internal::NewClient(type, std::move(conf));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : KafkaHandle();
}

class Producer {
 public:
  explicit Producer(const std::string& brokers)
      : producer_(Client(RD_KAFKA_PRODUCER,
                         {{"bootstrap.servers", brokers}, {"acks", "all"}, {"linger.ms", "5"}})) {}

  void Send(const std::string& topic, std::int32_t partition, const std::string& key,
            std::optional<std::string_view> value) {
    std::array<rd_kafka_vu_t, 5> vus{};
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[1].u.i32 = partition;
    vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[2].u.i = RD_KAFKA_MSG_F_COPY;
    vus[3].vtype = RD_KAFKA_VTYPE_KEY;
    vus[3].u.mem = {const_cast<char*>(key.data()), key.size()};
    vus[4].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[4].u.mem = {value ? const_cast<char*>(value->empty() ? "" : value->data()) : nullptr,
                    value ? value->size() : 0};
    for (int attempt = 0;; ++attempt) {
      const internal::KafkaError error(rd_kafka_produceva(producer_.get(), vus.data(), vus.size()));
      if (!error) return;
      ASSERT_EQ(rd_kafka_error_code(error.get()), RD_KAFKA_RESP_ERR__QUEUE_FULL);
      ASSERT_LT(attempt, 1000) << "producer queue stays full";
      rd_kafka_poll(producer_.get(), 10);
    }
  }

  void Flush() { ASSERT_EQ(rd_kafka_flush(producer_.get(), 30'000), RD_KAFKA_RESP_ERR_NO_ERROR); }

 private:
  KafkaHandle producer_;
};

struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
};

// Reads `expected` records of a one-partition topic from the beginning.
std::vector<Record> ReadTopic(const std::string& brokers, const std::string& topic,
                              std::size_t expected) {
  KafkaHandle consumer = Client(
      RD_KAFKA_CONSUMER,
      {{"bootstrap.servers", brokers}, {"group.id", "reader"}, {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(consumer.get());
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  EXPECT_EQ(rd_kafka_assign(consumer.get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    const KafkaMessage m(rd_kafka_consumer_poll(consumer.get(), 100));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    Record r;
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

store::SnapshotOffsets Committed(const std::string& brokers, const std::string& group,
                                 const std::string& topic, int partitions) {
  KafkaHandle consumer = Client(
      RD_KAFKA_CONSUMER,
      {{"bootstrap.servers", brokers}, {"group.id", group}, {"enable.auto.commit", "false"}});
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  store::SnapshotOffsets out;
  if (rd_kafka_committed(consumer.get(), list.get(), 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      out[internal::PartitionKey(topic, list->elems[i].partition)] = list->elems[i].offset;
    }
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
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

// Store, rings, workers and sources as the daemon wires them.
class Pipeline {
 public:
  ~Pipeline() {
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

  store::SnapshotOffsets Processed() const {
    store::SnapshotOffsets out;
    for (const auto& source : sources_) {
      for (const auto& [key, offset] : source->ProcessedOffsets())
        out[key] = std::max(out[key], offset);
    }
    return out;
  }

  std::uint64_t points() const { return store_.windows().point_count(); }

 private:
  store::Store store_;
  store::FieldRings rings_{store::FieldRingsOptions{}};
  std::vector<std::unique_ptr<KafkaSource>> sources_;
  std::optional<EvaluationWorkers> workers_;
};

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

store::SnapshotOffsets Ends(const std::string& topic, const std::vector<std::int64_t>& ends) {
  store::SnapshotOffsets out;
  for (std::size_t p = 0; p < ends.size(); ++p)
    out[internal::PartitionKey(topic, static_cast<std::int32_t>(p))] = ends[p];
  return out;
}

class KafkaIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v java >/dev/null 2>&1") != 0) {
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
  Producer producer(kafka_->brokers());
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

TEST_F(KafkaIngestTest, PoisonMessagesLandOnTheDeadLetterTopicAndGoodOnesAreStored) {
  ASSERT_TRUE(kafka_->CreateTopic("sensors", 2));
  ASSERT_TRUE(kafka_->CreateTopic("sensors-dlq", 1));
  Producer producer(kafka_->brokers());
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

  const std::vector<Record> letters = ReadTopic(kafka_->brokers(), "sensors-dlq", 5);
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
  Producer producer(kafka_->brokers());
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
  for (const auto deadline = std::chrono::steady_clock::now() + kTimeout;
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
