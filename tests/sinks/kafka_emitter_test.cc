// KafkaEmitter: option checks and the error classification; against librdkafka's mock
// cluster only for faults (a broker down, produce errors injected, oversized records, an
// unknown topic); against a real single-node broker (deploy/kafka/), records of
// concurrent senders read back with their key, payload, Idempotency-Key header and
// order per key.
#include "sinks/kafka_emitter.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/ingest/kafka_test_util.h"
#include "tests/integration/local_kafka.h"

namespace tidewatch::sinks {
namespace {

using namespace std::chrono_literals;
using ingest::test::ReadTopic;
using ingest::test::Record;

// Kafka protocol API key of Produce for rd_kafka_mock_push_request_errors.
constexpr std::int16_t kApiProduce = 0;

std::unique_ptr<KafkaEmitter> NewEmitter(const std::string& brokers, const std::string& topic,
                                         std::chrono::milliseconds send_timeout = 5s,
                                         std::map<std::string, std::string> properties = {}) {
  KafkaEmitterOptions options;
  options.brokers = brokers;
  options.topic = topic;
  options.send_timeout = send_timeout;
  options.properties = std::move(properties);
  StatusOr<std::unique_ptr<KafkaEmitter>> emitter = KafkaEmitter::Create(std::move(options));
  EXPECT_TRUE(emitter.ok()) << emitter.status().ToString();
  return emitter.ok() ? std::move(*emitter) : nullptr;
}

Notification Note(const std::string& key, int seq) {
  Notification n;
  n.id = seq;
  n.channel = "kafka";
  n.ordering_key = key;
  n.idempotency_key = "tw-" + key + "-" + std::to_string(seq);
  n.payload = R"({"instance":")" + key + R"(","seq":)" + std::to_string(seq) + "}";
  return n;
}

// `senders` threads each send `per_sender` notifications of their own key ("k<t>") one
// after the other, as the delivery worker sends a key's rows; every one must be
// delivered. Then the topic holds them all with key, header and payload, each key on
// one partition in send order.
void SendConcurrentlyAndReadBack(const std::string& brokers, const std::string& topic,
                                 int partitions, int senders, int per_sender) {
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(brokers, topic, 20s);
  ASSERT_NE(emitter, nullptr);
  std::vector<std::thread> threads;
  std::array<int, 8> delivered{};
  ASSERT_LE(senders, static_cast<int>(delivered.size()));
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_sender; ++i) {
        const DeliveryResult r = emitter->Send(Note("k" + std::to_string(t), i));
        if (r.outcome != DeliveryOutcome::kDelivered) return;
        ++delivered[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < senders; ++t) EXPECT_EQ(delivered[static_cast<std::size_t>(t)], per_sender);
  const auto total = static_cast<std::uint64_t>(senders * per_sender);
  EXPECT_EQ(emitter->stats().delivered, total);
  EXPECT_EQ(emitter->stats().failed, 0u);

  const std::vector<Record> records = ReadTopic(brokers, topic, partitions, total);
  ASSERT_EQ(records.size(), total);
  std::map<std::string, std::set<std::int32_t>> partitions_of;
  std::map<std::string, std::vector<Record>> by_key;  // in offset order within a partition
  for (const Record& r : records) {
    ASSERT_TRUE(r.key.has_value());
    partitions_of[*r.key].insert(r.partition);
    by_key[*r.key].push_back(r);
  }
  ASSERT_EQ(by_key.size(), static_cast<std::size_t>(senders));
  for (const auto& [key, rs] : by_key) {
    EXPECT_EQ(partitions_of[key].size(), 1u) << key << " spread over partitions";
    ASSERT_EQ(rs.size(), static_cast<std::size_t>(per_sender)) << key;
    for (std::size_t i = 0; i < rs.size(); ++i) {
      const Notification expected = Note(key, static_cast<int>(i));
      EXPECT_EQ(rs[i].value, expected.payload) << key << " #" << i;
      ASSERT_EQ(rs[i].headers.count("Idempotency-Key"), 1u);
      EXPECT_EQ(rs[i].headers.at("Idempotency-Key"), expected.idempotency_key);
      if (i > 0) {
        EXPECT_GT(rs[i].offset, rs[i - 1].offset);
      }
    }
  }
}

// A mock cluster with one broker (librdkafka's, in process, on 127.0.0.1), owned by a
// plain producer handle.
class MockKafka {
 public:
  MockKafka()
      : owner_(ingest::test::NewClient(RD_KAFKA_PRODUCER, {{"test.mock.num.brokers", "1"}})),
        cluster_(rd_kafka_handle_mock_cluster(owner_.get())),
        brokers_(rd_kafka_mock_cluster_bootstraps(cluster_)) {}

  void CreateTopic(const std::string& topic, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // The next `n` Produce requests fail with `error`.
  void FailProduce(rd_kafka_resp_err_t error, std::size_t n) {
    const std::vector<rd_kafka_resp_err_t> errors(n, error);
    rd_kafka_mock_push_request_errors_array(cluster_, kApiProduce, errors.size(), errors.data());
  }

  rd_kafka_mock_cluster_t* cluster() { return cluster_; }
  const std::string& brokers() const { return brokers_; }

 private:
  ingest::internal::KafkaHandle owner_;
  rd_kafka_mock_cluster_t* cluster_;
  std::string brokers_;
};

TEST(KafkaEmitterTest, CreateRejectsBadOptions) {
  const auto create = [](std::string brokers, std::string topic, std::chrono::milliseconds timeout,
                         std::map<std::string, std::string> properties) {
    KafkaEmitterOptions options;
    options.brokers = std::move(brokers);
    options.topic = std::move(topic);
    options.send_timeout = timeout;
    options.properties = std::move(properties);
    return KafkaEmitter::Create(std::move(options)).status();
  };
  const std::string b = "127.0.0.1:1";
  EXPECT_EQ(create("", "t", 5s, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(create(b, "", 5s, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(create(b, "t", 999ms, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(create(b, "t", 5s, {{"no.such.property", "1"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(create(b, "t", 5s, {{"linger.ms", "-5"}}).code(), StatusCode::kInvalidArgument);
  const Status weak_acks = create(b, "t", 5s, {{"acks", "1"}});
  EXPECT_EQ(weak_acks.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(weak_acks.message().find("'acks' must be 'all'"), std::string::npos)
      << weak_acks.message();
  EXPECT_EQ(create(b, "t", 5s, {{"request.required.acks", "0"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(create(b, "t", 5s, {{"enable.idempotence", "false"}}).code(),
            StatusCode::kInvalidArgument);
  // Inconsistent settings librdkafka only finds when it creates the client.
  EXPECT_EQ(create(b, "t", 5s, {{"max.in.flight.requests.per.connection", "100"}}).code(),
            StatusCode::kInvalidArgument);
  // Connecting is lazy: no broker on port 1 is fine here; the same meanings are accepted.
  EXPECT_TRUE(create(b, "t", 5s, {{"acks", "-1"}, {"enable.idempotence", "true"}}).ok());
}

TEST(KafkaEmitterTest, ClassifiesDeliveryErrors) {
  EXPECT_EQ(KafkaErrorOutcome(RD_KAFKA_RESP_ERR_NO_ERROR), DeliveryOutcome::kDelivered);
  for (rd_kafka_resp_err_t e :
       {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
        RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, RD_KAFKA_RESP_ERR__FATAL}) {
    EXPECT_EQ(KafkaErrorOutcome(e), DeliveryOutcome::kRetry) << rd_kafka_err2name(e);
  }
  for (rd_kafka_resp_err_t e :
       {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_INVALID_RECORD,
        RD_KAFKA_RESP_ERR_POLICY_VIOLATION, RD_KAFKA_RESP_ERR__INVALID_ARG}) {
    EXPECT_EQ(KafkaErrorOutcome(e), DeliveryOutcome::kPermanent) << rd_kafka_err2name(e);
  }
}

TEST(KafkaEmitterMockTest, BrokerDownIsRetryWithinTheTimeout) {
  MockKafka kafka;
  kafka.CreateTopic("alerts", 1);
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(kafka.brokers(), "alerts", 2s);
  ASSERT_NE(emitter, nullptr);
  ASSERT_EQ(emitter->Send(Note("a", 0)).outcome, DeliveryOutcome::kDelivered);

  ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto start = std::chrono::steady_clock::now();
  const DeliveryResult down = emitter->Send(Note("a", 1));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(down.outcome, DeliveryOutcome::kRetry) << down.error;
  EXPECT_NE(down.error.find("alerts"), std::string::npos) << down.error;
  // Bounded by the send timeout (plus the report grace; generous slack for slow CI).
  EXPECT_LT(elapsed, 2s + KafkaEmitter::kReportGrace + 5s);

  ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const DeliveryResult up = emitter->Send(Note("a", 1));
  EXPECT_EQ(up.outcome, DeliveryOutcome::kDelivered) << up.error;
  EXPECT_GE(emitter->stats().failed, 1u);
}

TEST(KafkaEmitterMockTest, RetriableProduceErrorsAreRetriedThenReportedAsRetry) {
  MockKafka kafka;
  kafka.CreateTopic("alerts", 1);
  std::unique_ptr<KafkaEmitter> emitter =
      NewEmitter(kafka.brokers(), "alerts", 2s, {{"retry.backoff.ms", "50"}});
  ASSERT_NE(emitter, nullptr);
  // A few failures: librdkafka retries inside the one Send().
  kafka.FailProduce(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 3);
  const DeliveryResult transient = emitter->Send(Note("a", 0));
  EXPECT_EQ(transient.outcome, DeliveryOutcome::kDelivered) << transient.error;
  // Failures beyond the send timeout: retry later.
  kafka.FailProduce(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 1000);
  const DeliveryResult lasting = emitter->Send(Note("a", 1));
  EXPECT_EQ(lasting.outcome, DeliveryOutcome::kRetry) << lasting.error;
  EXPECT_FALSE(lasting.error.empty());
  rd_kafka_mock_clear_request_errors(kafka.cluster(), kApiProduce);
  const DeliveryResult after = emitter->Send(Note("a", 1));
  EXPECT_EQ(after.outcome, DeliveryOutcome::kDelivered) << after.error;
  // Exactly the two delivered records, once each: nothing of the refused attempts, no
  // duplicate from librdkafka's retries (waits 2 s for a third record that must not come).
  const std::vector<Record> records = ReadTopic(kafka.brokers(), "alerts", 1, 3, 2s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].headers.at("Idempotency-Key"), "tw-a-0");
  EXPECT_EQ(records[1].headers.at("Idempotency-Key"), "tw-a-1");
}

TEST(KafkaEmitterMockTest, PermanentProduceErrorsArePermanent) {
  MockKafka kafka;
  kafka.CreateTopic("alerts", 1);
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(kafka.brokers(), "alerts", 5s);
  ASSERT_NE(emitter, nullptr);
  ASSERT_EQ(emitter->Send(Note("a", 0)).outcome, DeliveryOutcome::kDelivered);
  // The broker finds the record too large: this record only.
  kafka.FailProduce(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 1);
  const DeliveryResult large = emitter->Send(Note("a", 1));
  EXPECT_EQ(large.outcome, DeliveryOutcome::kPermanent) << large.error;
  EXPECT_NE(large.error.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << large.error;
  const DeliveryResult next = emitter->Send(Note("a", 2));
  EXPECT_EQ(next.outcome, DeliveryOutcome::kDelivered) << next.error;
  // Not authorized for the topic: this record and (until the metadata changes) the next.
  kafka.FailProduce(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 1);
  for (int i = 3; i < 5; ++i) {
    const DeliveryResult denied = emitter->Send(Note("a", i));
    EXPECT_EQ(denied.outcome, DeliveryOutcome::kPermanent) << denied.error;
    EXPECT_NE(denied.error.find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos) << denied.error;
  }
}

TEST(KafkaEmitterMockTest, OversizedRecordIsPermanent) {
  MockKafka kafka;
  kafka.CreateTopic("alerts", 1);
  std::unique_ptr<KafkaEmitter> emitter =
      NewEmitter(kafka.brokers(), "alerts", 5s, {{"message.max.bytes", "10000"}});
  ASSERT_NE(emitter, nullptr);
  Notification big = Note("a", 0);
  big.payload.assign(20'000, 'x');
  const DeliveryResult r = emitter->Send(big);
  EXPECT_EQ(r.outcome, DeliveryOutcome::kPermanent) << r.error;
  EXPECT_NE(r.error.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << r.error;
  EXPECT_EQ(emitter->Send(Note("a", 1)).outcome, DeliveryOutcome::kDelivered);
}

TEST(KafkaEmitterMockTest, UnknownTopicWithoutAutoCreateIsPermanent) {
  MockKafka kafka;
  // The mock creates any topic asked for; make it answer as a broker that does not.
  rd_kafka_mock_topic_set_error(kafka.cluster(), "nowhere",
                                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(kafka.brokers(), "nowhere", 2s);
  ASSERT_NE(emitter, nullptr);
  const DeliveryResult r = emitter->Send(Note("a", 0));
  EXPECT_EQ(r.outcome, DeliveryOutcome::kPermanent) << r.error;
}

TEST(KafkaEmitterMockTest, ProduceBatchReportsTheFirstFailure) {
  MockKafka kafka;
  kafka.CreateTopic("cq", 2);
  std::unique_ptr<KafkaEmitter> emitter =
      NewEmitter(kafka.brokers(), "cq", 5s, {{"message.max.bytes", "10000"}});
  ASSERT_NE(emitter, nullptr);
  const std::string big(20'000, 'x');
  const std::array<KafkaRecord, 3> good = {{{"s1", "v1"}, {"s2", "v2"}, {"", "unkeyed"}}};
  EXPECT_TRUE(emitter->Produce(good).ok());
  EXPECT_TRUE(emitter->Produce({}).ok());
  const std::array<KafkaRecord, 3> bad = {{{"s1", "v3"}, {"s2", big}, {"s1", "never"}}};
  const Status s = emitter->Produce(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("MSG_SIZE_TOO_LARGE"), std::string::npos) << s.ToString();
  const std::vector<Record> records = ReadTopic(kafka.brokers(), "cq", 2, 4, 10s);
  ASSERT_EQ(records.size(), 4u);  // good's three and bad's first
  std::multiset<std::string> values;
  for (const Record& r : records) values.insert(r.value.value_or("<null>"));
  EXPECT_EQ(values, (std::multiset<std::string>{"unkeyed", "v1", "v2", "v3"}));
  EXPECT_EQ(emitter->stats().delivered, 4u);
  EXPECT_EQ(emitter->stats().failed, 2u);
}

// A real broker, started once for these tests (the JVM takes a while).
class KafkaEmitterRealTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!integration::HaveJava()) return;
    std::string error;
    kafka_ = integration::LocalKafka::Start(error).release();
    if (kafka_ == nullptr) start_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete kafka_;
    kafka_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }
  void SetUp() override {
    if (!integration::HaveJava()) {
      GTEST_SKIP() << "\n\n*** SKIPPED: java is not installed, so no Kafka broker can run. ***\n"
                      "*** Run deploy/install-deps.sh; CI has java and runs this test. ***\n";
    }
    ASSERT_NE(kafka_, nullptr) << (start_error_ ? *start_error_ : "");
  }

  static integration::LocalKafka* kafka_;
  static std::string* start_error_;
};
integration::LocalKafka* KafkaEmitterRealTest::kafka_ = nullptr;
std::string* KafkaEmitterRealTest::start_error_ = nullptr;

TEST_F(KafkaEmitterRealTest, RecordsCarryKeyPayloadHeaderInOrderPerKey) {
  ASSERT_TRUE(kafka_->CreateTopic("alerts", 3));
  SendConcurrentlyAndReadBack(kafka_->brokers(), "alerts", 3, 6, 20);
}

TEST_F(KafkaEmitterRealTest, UnknownTopicIsPermanent) {
  // The broker of deploy/kafka/ does not auto-create topics.
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(kafka_->brokers(), "no-such-topic", 4s);
  ASSERT_NE(emitter, nullptr);
  const DeliveryResult r = emitter->Send(Note("a", 0));
  EXPECT_EQ(r.outcome, DeliveryOutcome::kPermanent) << r.error;
}

TEST_F(KafkaEmitterRealTest, ProduceBatchKeepsKeyOrder) {
  ASSERT_TRUE(kafka_->CreateTopic("cq-out", 2));
  std::unique_ptr<KafkaEmitter> emitter = NewEmitter(kafka_->brokers(), "cq-out", 20s);
  ASSERT_NE(emitter, nullptr);
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (int i = 0; i < 50; ++i) {
    keys.push_back("s" + std::to_string(i % 5));
    values.push_back(std::to_string(i));
  }
  std::vector<KafkaRecord> records;
  for (std::size_t i = 0; i < keys.size(); ++i) records.push_back({keys[i], values[i]});
  ASSERT_TRUE(emitter->Produce(records).ok());
  const std::vector<Record> read = ReadTopic(kafka_->brokers(), "cq-out", 2, 50);
  ASSERT_EQ(read.size(), 50u);
  std::map<std::string, std::vector<int>> by_key;
  for (const Record& r : read) by_key[r.key.value_or("")].push_back(std::stoi(*r.value));
  ASSERT_EQ(by_key.size(), 5u);
  for (const auto& [key, seen] : by_key) {
    std::vector<int> expected;
    for (int i = std::stoi(key.substr(1)); i < 50; i += 5) expected.push_back(i);
    EXPECT_EQ(seen, expected) << key;
  }
}

}  // namespace
}  // namespace tidewatch::sinks
