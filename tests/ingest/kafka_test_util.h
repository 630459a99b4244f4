// Test helpers shared by the Kafka tests (librdkafka's mock cluster in tests/ingest, the
// real broker in tests/integration) and the benchmarks: the ingest pipeline wired as
// the daemon wires it, a producer, a topic reader, a committed-offset reader and a
// bounded wait. Failures inside the helpers are reported with GoogleTest's EXPECT_*, so
// the test that uses them fails.
//
// Thread safety: each object is used by one test thread; the Pipeline's sources and
// workers run their own threads as in the daemon.
#ifndef TIDEWATCH_TESTS_INGEST_KAFKA_TEST_UTIL_H_
#define TIDEWATCH_TESTS_INGEST_KAFKA_TEST_UTIL_H_

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "ingest/internal/rdkafka_handles.h"
#include "ingest/kafka_source.h"
#include "store/field_rings.h"
#include "store/store.h"

namespace tidewatch::ingest::test {

// Bound on every wait of the Kafka tests; the happy paths take a few seconds.
inline constexpr std::chrono::milliseconds kKafkaTimeout{60'000};

// Polls `pred` every 10 ms until it holds or `timeout` passes; its final value.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = kKafkaTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The wall clock in ns since the epoch.
std::int64_t NowNs();

// A librdkafka client with `properties`; a null handle (and a test failure) if refused.
internal::KafkaHandle NewClient(rd_kafka_type_t type,
                                const std::map<std::string, std::string>& properties);

// A producer that writes to explicit partitions and retries while its queue is full.
class Producer {
 public:
  // E.g. {{"bootstrap.servers", brokers}} or {{"test.mock.num.brokers", "1"}}.
  explicit Producer(const std::map<std::string, std::string>& properties);

  // Queues one message (nullopt key: none; nullopt value: a tombstone). A failure other
  // than a full queue fails the test.
  void Send(const std::string& topic, std::int32_t partition, std::optional<std::string_view> key,
            std::optional<std::string_view> value);
  // Waits (30 s at most) until every queued message is acknowledged.
  void Flush();

  rd_kafka_t* get() const { return producer_.get(); }

 private:
  internal::KafkaHandle producer_;
};

// A record as ReadTopic() returns it.
struct Record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::map<std::string, std::string> headers;
};

// Reads partitions 0..partitions-1 of `topic` from the beginning, without a group
// commit, until `expected` records arrived or `timeout` passed.
std::vector<Record> ReadTopic(const std::string& brokers, const std::string& topic, int partitions,
                              std::size_t expected,
                              std::chrono::milliseconds timeout = kKafkaTimeout);

// Reads a group's committed offsets without joining the group.
class CommittedReader {
 public:
  CommittedReader(const std::string& brokers, const std::string& group);
  ~CommittedReader();
  CommittedReader(const CommittedReader&) = delete;
  CommittedReader& operator=(const CommittedReader&) = delete;

  // "topic/partition" -> committed offset, RD_KAFKA_OFFSET_INVALID (-1001) if none;
  // empty if the request failed.
  store::SnapshotOffsets Read(const std::string& topic, int partitions);

 private:
  internal::KafkaHandle consumer_;
};

// The whole store as text, one line per series sorted by key, independent of the order
// the series were created in (series ids) and of chunking:
//   "db measurement,k1=v1,k2=v2 field:type ts=value ts=value ...\n"
// with the timestamps in ns, ascending, and the values in the shortest form that reads
// back exactly. Two stores holding the same points render the same text.
std::string DumpStore(const store::Store& store);

// "topic/p" -> ends[p] for every partition p.
store::SnapshotOffsets Ends(const std::string& topic, const std::vector<std::int64_t>& ends);

// Store, rings, evaluation workers and Kafka sources wired as the daemon wires them.
// The destructor stops the sources, then the workers.
class Pipeline {
 public:
  explicit Pipeline(store::FieldRingsOptions rings = {}, store::StoreOptions store = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Creates a source with the next ticket table index (a test failure if Create fails).
  // REQUIRES: before StartWorkers().
  KafkaSource& Add(KafkaSourceConfig config);
  // Starts two evaluation workers serving every source added so far.
  void StartWorkers();

  // Stops the sources (each drains what it has in flight), then the workers, so that
  // everything a source processed is in the store. Idempotent; the destructor calls it.
  void Stop();

  // Every source's processed offsets, merged (a partition is processed by one at a time).
  store::SnapshotOffsets Processed() const;
  std::uint64_t points() const { return store_.windows().point_count(); }
  store::Store& store() { return store_; }
  const std::vector<std::unique_ptr<KafkaSource>>& sources() const { return sources_; }

 private:
  store::Store store_;
  store::FieldRings rings_;
  std::vector<std::unique_ptr<KafkaSource>> sources_;
  std::optional<EvaluationWorkers> workers_;  // after sources_: destroyed first
};

}  // namespace tidewatch::ingest::test

#endif  // TIDEWATCH_TESTS_INGEST_KAFKA_TEST_UTIL_H_
