#include "tests/ingest/kafka_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <utility>

namespace tidewatch::ingest::test {

using internal::KafkaHandle;
using internal::KafkaMessage;
using internal::PartitionList;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

KafkaHandle NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& properties) {
  internal::KafkaConf conf = internal::NewConf();
  const Status s = internal::SetProperties(conf.get(), properties);
  EXPECT_TRUE(s.ok()) << s.ToString();
  StatusOr<KafkaHandle> client = internal::NewClient(type, std::move(conf));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : KafkaHandle();
}

Producer::Producer(const std::map<std::string, std::string>& properties)
    : producer_(NewClient(RD_KAFKA_PRODUCER, properties)) {}

void Producer::Send(const std::string& topic, std::int32_t partition,
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
  for (int attempt = 0;; ++attempt) {
    const internal::KafkaError error(rd_kafka_produceva(producer_.get(), vus.data(), n));
    if (!error) return;
    ASSERT_EQ(rd_kafka_error_code(error.get()), RD_KAFKA_RESP_ERR__QUEUE_FULL)
        << rd_kafka_error_string(error.get());
    ASSERT_LT(attempt, 3000) << "producer queue stays full";
    rd_kafka_poll(producer_.get(), 10);
  }
}

void Producer::Flush() {
  ASSERT_EQ(rd_kafka_flush(producer_.get(), 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

std::vector<Record> ReadTopic(const std::string& brokers, const std::string& topic, int partitions,
                              std::size_t expected, std::chrono::milliseconds timeout) {
  KafkaHandle consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                                       {"group.id", "reader-" + topic},
                                                       {"enable.auto.commit", "false"}});
  std::vector<Record> out;
  if (!consumer) return out;
  rd_kafka_poll_set_consumer(consumer.get());
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(consumer.get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
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

CommittedReader::CommittedReader(const std::string& brokers, const std::string& group)
    : consumer_(NewClient(
          RD_KAFKA_CONSUMER,
          {{"bootstrap.servers", brokers}, {"group.id", group}, {"enable.auto.commit", "false"}})) {
}

CommittedReader::~CommittedReader() {
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

store::SnapshotOffsets CommittedReader::Read(const std::string& topic, int partitions) {
  if (!consumer_) return {};
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (rd_kafka_committed(consumer_.get(), list.get(), 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return {};
  store::SnapshotOffsets out;
  for (int i = 0; i < list->cnt; ++i) {
    out[internal::PartitionKey(topic, list->elems[i].partition)] = list->elems[i].offset;
  }
  return out;
}

std::string DumpStore(const store::Store& store) {
  std::vector<std::pair<std::string, store::SeriesId>> series;
  store.index().ForEach([&](store::SeriesId id, const store::SeriesInfo& info) {
    std::string key = info.db + " " + info.measurement;
    for (const store::Tag& tag : info.tags) key += "," + tag.key + "=" + tag.value;
    key += " " + info.field + ":" + std::to_string(static_cast<int>(info.type));
    series.emplace_back(std::move(key), id);
  });
  std::sort(series.begin(), series.end());
  constexpr store::Timestamp kMin = std::numeric_limits<store::Timestamp>::min();
  constexpr store::Timestamp kMax = std::numeric_limits<store::Timestamp>::max();
  std::string out;
  store::SeriesSnapshot snapshot;
  store::internal::ChunkBuffer scratch;
  std::array<char, 32> number{};
  for (const auto& [key, id] : series) {
    out += key;
    if (store.windows().Read(id, kMin, kMax, snapshot)) {
      store::ForEachRun(snapshot, kMin, kMax, scratch,
                        [&](const store::Timestamp* ts, const double* values, std::size_t n) {
                          for (std::size_t i = 0; i < n; ++i) {
                            out += " " + std::to_string(ts[i]) + "=";
                            const auto r = std::to_chars(number.data(),
                                                         number.data() + number.size(), values[i]);
                            out.append(number.data(), r.ptr);
                          }
                        });
    }
    out += "\n";
  }
  return out;
}

store::SnapshotOffsets Ends(const std::string& topic, const std::vector<std::int64_t>& ends) {
  store::SnapshotOffsets out;
  for (std::size_t p = 0; p < ends.size(); ++p) {
    out[internal::PartitionKey(topic, static_cast<std::int32_t>(p))] = ends[p];
  }
  return out;
}

Pipeline::Pipeline(store::FieldRingsOptions rings, store::StoreOptions store)
    : store_(std::move(store)), rings_(std::move(rings)) {}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Stop() {
  for (auto& source : sources_) source->Stop();
  if (workers_) workers_->Stop();
}

KafkaSource& Pipeline::Add(KafkaSourceConfig config) {
  StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Create(
      std::move(config), store_, rings_, static_cast<std::uint32_t>(sources_.size() + 1));
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  if (!source.ok()) std::abort();  // the test cannot go on without it
  sources_.push_back(std::move(*source));
  return *sources_.back();
}

void Pipeline::StartWorkers() {
  std::vector<TicketTable*> tables = {nullptr};
  for (auto& source : sources_) tables.push_back(&source->tickets());
  workers_.emplace(rings_, store_, std::move(tables), 2);
}

store::SnapshotOffsets Pipeline::Processed() const {
  store::SnapshotOffsets out;
  for (const auto& source : sources_) {
    for (const auto& [key, offset] : source->ProcessedOffsets())
      out[key] = std::max(out[key], offset);
  }
  return out;
}

}  // namespace tidewatch::ingest::test
