// RAII owners for librdkafka's C handles and the few helpers every user of them needs:
// setting configuration properties with a Status, creating a client, naming a partition.
//
// Thread safety: the owners are plain unique_ptrs (one owner, movable). The functions
// are thread-safe; the log callback may run on any librdkafka thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_RDKAFKA_HANDLES_H_
#define TIDEWATCH_INGEST_INTERNAL_RDKAFKA_HANDLES_H_

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::ingest::internal {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};

using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, RdKafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, RdKafkaDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, RdKafkaDeleter>;

// A new configuration whose log lines go to spdlog (logger "rdkafka") instead of stderr.
KafkaConf NewConf();

// Sets one property. Errors: kInvalidArgument "property 'key': <librdkafka's reason>"
// for an unknown property or an invalid value.
Status SetProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value);

// Sets every property of `properties`, in key order; stops at the first error.
Status SetProperties(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& properties);

// Creates a client of `type`. On success the client owns `conf`'s settings. Errors:
// kInvalidArgument with librdkafka's reason (inconsistent settings are only found here).
StatusOr<KafkaHandle> NewClient(rd_kafka_type_t type, KafkaConf conf);

// "topic/partition": the key of store::SnapshotOffsets and of the source's partitions.
std::string PartitionKey(std::string_view topic, std::int32_t partition);
// The same, written into `out` (cleared first) without allocating once `out` is large
// enough.
void PartitionKeyInto(std::string_view topic, std::int32_t partition, std::string& out);

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_RDKAFKA_HANDLES_H_
