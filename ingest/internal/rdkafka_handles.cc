#include "ingest/internal/rdkafka_handles.h"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <memory>
#include <utility>

namespace tidewatch::ingest::internal {

namespace {

// librdkafka's syslog-style levels (0 emergency ... 7 debug) mapped to spdlog's.
spdlog::level::level_enum LevelOf(int syslog_level) {
  if (syslog_level <= 3) return spdlog::level::err;
  if (syslog_level == 4) return spdlog::level::warn;
  if (syslog_level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const spdlog::level::level_enum spd_level = LevelOf(level);
  if (!spdlog::should_log(spd_level)) return;
  spdlog::log(spd_level, "rdkafka {} {}: {}", rd_kafka_name(rk), facility, message);
}

}  // namespace

KafkaConf NewConf() {
  // Creates spdlog's registry on this thread, before any client of this configuration
  // exists: its threads then start after it (TSan cannot see the lazy initialisation
  // inside the uninstrumented libspdlog otherwise).
  spdlog::default_logger_raw();
  KafkaConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToSpdlog);
  return conf;
}

Status SetProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value) {
  std::array<char, 512> errstr{};
  const std::string k(key);
  const std::string v(value);
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr.data(), errstr.size()) !=
      RD_KAFKA_CONF_OK) {
    return Status(StatusCode::kInvalidArgument, "property '" + k + "': " + errstr.data());
  }
  return Status::Ok();
}

Status SetProperties(rd_kafka_conf_t* conf, const std::map<std::string, std::string>& properties) {
  for (const auto& [key, value] : properties) {
    if (Status s = SetProperty(conf, key, value); !s.ok()) return s;
  }
  return Status::Ok();
}

StatusOr<KafkaHandle> NewClient(rd_kafka_type_t type, KafkaConf conf) {
  std::array<char, 512> errstr{};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr.data(), errstr.size());
  if (rk == nullptr) {
    // On failure the configuration stays ours (and `conf` frees it).
    return Status(StatusCode::kInvalidArgument,
                  std::string("creating the Kafka client: ") + errstr.data());
  }
  conf.release();  // owned by rk now
  return KafkaHandle(rk);
}

void PartitionKeyInto(std::string_view topic, std::int32_t partition, std::string& out) {
  std::array<char, 16> digits{};
  // An int32 always fits: to_chars cannot fail here.
  char* end = std::to_chars(digits.data(), digits.data() + digits.size(), partition).ptr;
  out.clear();
  out.append(topic);
  out.push_back('/');
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

std::string PartitionKey(std::string_view topic, std::int32_t partition) {
  std::string out;
  PartitionKeyInto(topic, partition, out);
  return out;
}

}  // namespace tidewatch::ingest::internal
