#include "daemon/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace tidewatch::daemon {
namespace {

using ingest::DeadLetterStats;
using ingest::KafkaSourceStats;

constexpr MetricType kCounter = MetricType::kCounter;
constexpr MetricType kGauge = MetricType::kGauge;

void WriteStoreMetrics(PrometheusTextWriter& w, const store::Store& s) {
  const store::SeriesIndex& index = s.index();
  const std::vector<std::string> dbs = index.Databases();
  w.Family("tidewatch_store_series", "Series held in memory, per database.", kGauge);
  for (const std::string& db : dbs) w.Sample({{"db", db}}, index.series_count(db));
  w.Family("tidewatch_store_rejected_series_total",
           "Points refused because their database reached storage.max_series (every point "
           "of a refused series counts); reset when the database is dropped.",
           kCounter);
  for (const std::string& db : dbs) w.Sample({{"db", db}}, index.rejected_series(db));
  w.Family("tidewatch_store_type_conflicts_total",
           "Points refused because their field exists on the measurement with another "
           "type; reset when the database is dropped.",
           kCounter);
  for (const std::string& db : dbs) w.Sample({{"db", db}}, index.type_conflicts(db));
  w.Family("tidewatch_store_newest_timestamp_seconds",
           "Newest event time stored per database (retention is measured against it); "
           "time() minus this is how far event time lags behind.",
           kGauge);
  for (const std::string& db : dbs) {
    const store::Timestamp newest = s.newest_ts(db);
    if (newest == std::numeric_limits<store::Timestamp>::min()) continue;
    w.Sample({{"db", db}}, static_cast<double>(newest) / 1e9);
  }

  w.Family("tidewatch_store_points", "Points held in memory across all series.", kGauge);
  w.Sample({}, s.windows().point_count());
  w.Family("tidewatch_store_memory_bytes",
           "Estimated heap bytes of the store: windows (chunks and series bookkeeping) "
           "and index (keys, hash tables, postings).",
           kGauge);
  w.Sample({{"component", "windows"}}, s.windows().MemoryBytes());
  w.Sample({{"component", "index"}}, index.MemoryBytesApprox());
  w.Family("tidewatch_store_budget_evicted_points_total",
           "Points freed before their retention because storage.memory_budget was exceeded.",
           kCounter);
  w.Sample({}, s.windows().budget_evicted());
}

void WriteRingMetrics(PrometheusTextWriter& w, store::FieldRings& rings) {
  const std::size_t fields = rings.field_count();
  w.Family("tidewatch_ring_fields", "Field rings created (one per measurement field).", kGauge);
  w.Sample({}, fields);
  w.Family("tidewatch_ring_fields_rejected_total",
           "New fields refused because ingest.max_fields was reached (per attempt).", kCounter);
  w.Sample({}, rings.fields_rejected());
  for (store::FieldId id = 0; id < fields; ++id) {
    const store::FieldRings::Ring& ring = rings.ring(id);
    const store::RingCounters counters = ring.counters();
    const Label labels[] = {{"measurement", rings.measurement(id)}, {"field", rings.field(id)}};
    w.Family("tidewatch_ring_depth", "Values waiting in a field ring for the workers.", kGauge);
    w.Sample(labels, ring.SizeApprox());
    w.Family("tidewatch_ring_capacity", "Values a field ring holds at most.", kGauge);
    w.Sample(labels, ring.capacity());
    w.Family("tidewatch_ring_pushed_total", "Values accepted by a field ring.", kCounter);
    w.Sample(labels, counters.pushed);
    w.Family("tidewatch_ring_rejected_total",
             "Pushes refused because the ring was full (backpressure; a value retried k "
             "times counts k).",
             kCounter);
    w.Sample(labels, counters.rejected);
    w.Family("tidewatch_ring_dropped_total",
             "Values discarded from a full ring of a lossy (drop_oldest) field.", kCounter);
    w.Sample(labels, counters.dropped);
  }
}

struct KafkaCounter {
  std::string_view name;
  std::string_view help;
  std::uint64_t KafkaSourceStats::*value;
};

constexpr KafkaCounter kKafkaCounters[] = {
    {"tidewatch_ingest_messages_total", "Kafka messages consumed, good or bad.",
     &KafkaSourceStats::messages},
    {"tidewatch_ingest_points_total", "Points pushed into the field rings.",
     &KafkaSourceStats::points},
    {"tidewatch_ingest_bad_lines_total", "Malformed or out-of-range lines.",
     &KafkaSourceStats::bad_lines},
    {"tidewatch_ingest_string_fields_total", "String field values: counted, not stored.",
     &KafkaSourceStats::string_fields},
    {"tidewatch_ingest_points_refused_total", "Points refused by the store or the rings.",
     &KafkaSourceStats::points_refused},
    {"tidewatch_ingest_messages_rejected_total",
     "Messages rejected for at least one reason (see tidewatch_ingest_rejections_total).",
     &KafkaSourceStats::messages_rejected},
    {"tidewatch_kafka_pauses_total", "Partition pauses for backpressure.",
     &KafkaSourceStats::pauses},
    {"tidewatch_kafka_rebalances_total", "Consumer group assignment changes served.",
     &KafkaSourceStats::rebalances},
    {"tidewatch_kafka_consumer_errors_total", "Error events reported by the Kafka client.",
     &KafkaSourceStats::consumer_errors},
    {"tidewatch_kafka_points_abandoned_total",
     "Points never pushed because of a revocation or shutdown; they are consumed again.",
     &KafkaSourceStats::points_abandoned},
};

struct DeadLetterCounter {
  std::string_view name;
  std::string_view help;
  std::uint64_t DeadLetterStats::*value;
};

constexpr DeadLetterCounter kDeadLetterCounters[] = {
    {"tidewatch_kafka_dead_letters_queued_total", "Dead letters queued for the dead-letter topic.",
     &DeadLetterStats::queued},
    {"tidewatch_kafka_dead_letters_delivered_total", "Dead letters acknowledged by the broker.",
     &DeadLetterStats::delivered},
    {"tidewatch_kafka_dead_letters_failed_total",
     "Dead letters refused or not delivered (their messages are lost to the dead-letter "
     "topic).",
     &DeadLetterStats::failed},
    {"tidewatch_kafka_dead_letter_queue_full_total",
     "Dead letters refused for a full producer queue and retried (backpressure).",
     &DeadLetterStats::queue_full},
};

struct TopicCounter {
  std::string_view name;
  std::string_view help;
  std::uint64_t ingest::TopicCounts::*value;
};

constexpr TopicCounter kTopicCounters[] = {
    {"tidewatch_ingest_topic_messages_total", "Kafka messages consumed per topic, good or bad.",
     &ingest::TopicCounts::messages},
    {"tidewatch_ingest_topic_points_total",
     "Points decoded from a topic's messages for the field rings.", &ingest::TopicCounts::points},
    {"tidewatch_ingest_topic_bytes_total", "Message payload bytes consumed per topic.",
     &ingest::TopicCounts::bytes},
};

// "topic/partition" -> (topic, partition); a key without '/' is all topic.
std::pair<std::string_view, std::string_view> SplitPartitionKey(std::string_view key) {
  const std::size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) return {key, {}};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

// Process metrics as the Prometheus client libraries name them, from /proc/self.
// A file that cannot be read leaves its metrics out.
struct ProcStat {
  double cpu_seconds = 0;
  double start_ticks = 0;  // since boot
  std::uint64_t virtual_bytes = 0;
  std::uint64_t resident_pages = 0;
};

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<ProcStat> ReadProcStat(double ticks_per_second) {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are
  // counted after the last ')'. fields[0] is field 3 of proc(5) (state).
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = std::string_view(line).substr(close + 1);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  const auto field = [&fields](std::size_t number) -> std::optional<std::uint64_t> {
    return number - 3 < fields.size() ? ParseUint(fields[number - 3]) : std::nullopt;
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
             rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{static_cast<double>(*utime + *stime) / ticks_per_second,
                  static_cast<double>(*start), *vsize, *rss};
}

std::optional<std::uint64_t> ReadBootTime() {
  std::ifstream file("/proc/stat");
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with("btime ")) return ParseUint(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

void WriteProcessMetrics(PrometheusTextWriter& w) {
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  if (ticks > 0 && page > 0) {
    if (const std::optional<ProcStat> stat = ReadProcStat(static_cast<double>(ticks))) {
      w.Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               kCounter);
      w.Sample({}, stat->cpu_seconds);
      w.Family("process_resident_memory_bytes", "Resident memory size in bytes.", kGauge);
      w.Sample({}, stat->resident_pages * static_cast<std::uint64_t>(page));
      w.Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", kGauge);
      w.Sample({}, stat->virtual_bytes);
      if (const std::optional<std::uint64_t> boot = ReadBootTime()) {
        w.Family("process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", kGauge);
        w.Sample({}, static_cast<double>(*boot) + stat->start_ticks / static_cast<double>(ticks));
      }
    }
  }
  std::error_code ec;
  std::uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    w.Family("process_open_fds", "Number of open file descriptors.", kGauge);
    w.Sample({}, fds);
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    w.Family("process_max_fds", "Maximum number of open file descriptors.", kGauge);
    w.Sample({}, static_cast<std::uint64_t>(limit.rlim_cur));
  }
}

}  // namespace

void WriteKafkaMetrics(PrometheusTextWriter& w, std::string_view source,
                       const KafkaSourceStats& stats, const store::SnapshotOffsets& processed) {
  for (const KafkaCounter& c : kKafkaCounters) {
    w.Family(c.name, c.help, kCounter);
    w.Sample({{"source", source}}, stats.*c.value);
  }
  w.Family("tidewatch_ingest_rejections_total",
           "Rejected messages per topic and reason (a message counts once per reason it "
           "has).",
           kCounter);
  for (const auto& [topic, counts] : stats.rejected) {
    for (std::size_t r = 0; r < ingest::kRejectReasonCount; ++r) {
      const std::string_view reason =
          ingest::RejectReasonName(static_cast<ingest::RejectReason>(r));
      w.Sample({{"source", source}, {"topic", topic}, {"reason", reason}}, counts[r]);
    }
  }
  for (const DeadLetterCounter& c : kDeadLetterCounters) {
    w.Family(c.name, c.help, kCounter);
    w.Sample({{"source", source}}, stats.dead_letters.*c.value);
  }
  w.Family("tidewatch_kafka_processed_offset",
           "Next offset to consume per partition: every earlier message is stored and seen "
           "by the rules, or dead-lettered. Compare with the partition's high watermark for "
           "the lag.",
           kGauge);
  for (const auto& [key, offset] : processed) {
    const auto [topic, partition] = SplitPartitionKey(key);
    w.Sample({{"source", source}, {"topic", topic}, {"partition", partition}}, offset);
  }
  w.Family("tidewatch_kafka_consumer_lag",
           "Offsets not yet processed per partition: its high watermark (as last fetched, "
           "refreshed about every second) minus its processed offset, at least 0. Only "
           "partitions with both known.",
           kGauge);
  for (const auto& [key, offset] : processed) {
    const auto high = stats.high_watermarks.find(key);
    if (high == stats.high_watermarks.end()) continue;
    const auto [topic, partition] = SplitPartitionKey(key);
    // Read at different moments: the watermark may trail the processed offset.
    const std::int64_t lag = high->second > offset ? high->second - offset : 0;
    w.Sample({{"source", source}, {"topic", topic}, {"partition", partition}}, lag);
  }
  for (const TopicCounter& c : kTopicCounters) {
    w.Family(c.name, c.help, kCounter);
    for (const auto& [topic, counts] : stats.per_topic) {
      w.Sample({{"source", source}, {"topic", topic}}, counts.*c.value);
    }
  }
}

std::string RenderMetrics(const MetricsSources& sources) {
  PrometheusTextWriter w;
  w.Family("tidewatch_build_info", "Always 1; the labels describe the running build.", kGauge);
  w.Sample({{"version", sources.version}}, 1);
  if (sources.store != nullptr) WriteStoreMetrics(w, *sources.store);
  if (sources.rings != nullptr) WriteRingMetrics(w, *sources.rings);
  for (const NamedKafkaSource& kafka : sources.kafka) {
    if (kafka.source == nullptr) continue;
    WriteKafkaMetrics(w, kafka.name, kafka.source->stats(), kafka.source->ProcessedOffsets());
  }
  if (sources.workers != nullptr) {
    const ingest::EvaluationWorkerStats stats = sources.workers->stats();
    w.Family("tidewatch_evaluation_points_stored_total",
             "Points the evaluation workers appended to the store.", kCounter);
    w.Sample({}, stats.points_stored);
    w.Family("tidewatch_evaluation_points_refused_total",
             "Points the store refused (non-finite values, series evicted meanwhile).", kCounter);
    w.Sample({}, stats.points_refused);
    w.Family("tidewatch_evaluation_batches_total", "Batches the evaluation workers stored.",
             kCounter);
    w.Sample({}, stats.batches);
  }
  if (sources.checkpoint_age_seconds) {
    w.Family("tidewatch_checkpoint_age_seconds",
             "Seconds since the last successful checkpoint (since startup if none yet).", kGauge);
    w.Sample({}, sources.checkpoint_age_seconds());
  }
  if (sources.query_latency != nullptr) {
    const LatencyHistogram::Snapshot snapshot = sources.query_latency->TakeSnapshot();
    w.Family("tidewatch_query_duration_seconds", "Time to execute a query, in seconds.",
             MetricType::kHistogram);
    w.Histogram({}, snapshot.sample());
  }
  if (sources.process) WriteProcessMetrics(w);
  for (const auto& extra : sources.extra) {
    if (extra) extra(w);
  }
  return std::move(w).Finish();
}

}  // namespace tidewatch::daemon
