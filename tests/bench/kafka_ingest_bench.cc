// kafka_ingest_bench: the whole Kafka ingest path (KafkaSource -> decode -> FieldRings ->
// EvaluationWorkers -> Store) against a bare librdkafka consumer reading the same topic
// and discarding it, interleaved in one run. Prints a Markdown table.
//
// The run: create a fresh topic (--partitions, default 4), produce --messages (default
// 2,000,000) messages into it, each one Telegraf-like line (tests/bench/telegraf_lines.h:
// one metric per message is what Telegraf's kafka output sends by default), keyed by
// series, uncompressed. Then --rounds (default 3) rounds of each peer, alternating
// bare, tidewatch, bare, tidewatch, ...; every round is a fresh consumer group reading
// the whole topic from the beginning:
//   bare       rd_kafka_consumer_poll() until every message has arrived; each payload's
//              bytes are summed (touched) and dropped. librdkafka's default auto-commit.
//   tidewatch  a fresh Store, FieldRings (capacity 65,536 per field, the daemon default)
//              and EvaluationWorkers (--workers, default 2), a KafkaSource with
//              commit_without_snapshot = true, until the workers have stored every
//              point (polled every 2 ms).
// Both use the same consumer settings (KafkaSourceConsumerDefaults(), plus --property
// k=v), the ones KafkaSource sets for itself, so the comparison is the work per message only.
//
// Rates are over the steady part of a round, from its first message to its last
// message (bare) or last point stored (tidewatch); the group join before it, the same
// for both, is shown apart. CPU seconds per round (schedstat) are split between
// librdkafka's threads (named rdk:*), the main thread (the bare consumer's loop),
// tidewatch's workers and its consumer thread, whose time spent runnable without a CPU
// is shown too, and the broker process (--broker-pid).
//
// Usage: kafka_ingest_bench --brokers HOST:PORT [--messages N] [--partitions P]
//          [--rounds R] [--workers W] [--timeout-s S] [--broker-pid PID]
//          [--property key=value]...
// SPDLOG_LEVEL=debug with --property debug=fetch shows librdkafka's fetch decisions.
// tests/bench/kafka_ingest_bench.sh starts and stops a broker around it.
#include <dirent.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/cfg/env.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "ingest/internal/rdkafka_handles.h"
#include "ingest/kafka_source.h"
#include "store/field_rings.h"
#include "store/store.h"
#include "tests/bench/telegraf_lines.h"

namespace tidewatch::bench {
namespace {

using Clock = std::chrono::steady_clock;
using ingest::internal::KafkaConf;
using ingest::internal::KafkaHandle;
using ingest::internal::KafkaMessage;

// Consumer settings of both peers: those KafkaSource sets for itself
// (ingest::KafkaSourceConsumerDefaults(): assignor, auto.offset.reset, fetch.wait.max.ms,
// queued.min.messages, ...), everything else at librdkafka's defaults
// (max.partition.fetch.bytes 1 MiB, fetch.max.bytes 50 MiB, ...). Only the offset-store
// and commit switches KafkaSource manages differ.
struct Options {
  std::string brokers;
  std::uint64_t messages = 2'000'000;
  int partitions = 4;
  int rounds = 3;
  int workers = 2;
  int timeout_s = 300;
  int broker_pid = 0;
  std::map<std::string, std::string> properties = ingest::KafkaSourceConsumerDefaults();
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "kafka_ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Die("missing value after " + arg);
    const std::string value = argv[++i];
    if (arg == "--brokers") {
      o.brokers = value;
    } else if (arg == "--messages") {
      o.messages = std::stoull(value);
    } else if (arg == "--partitions") {
      o.partitions = std::stoi(value);
    } else if (arg == "--rounds") {
      o.rounds = std::stoi(value);
    } else if (arg == "--workers") {
      o.workers = std::stoi(value);
    } else if (arg == "--timeout-s") {
      o.timeout_s = std::stoi(value);
    } else if (arg == "--broker-pid") {
      o.broker_pid = std::stoi(value);
    } else if (arg == "--property") {
      const std::size_t eq = value.find('=');
      if (eq == std::string::npos) Die("--property wants key=value, got " + value);
      o.properties[value.substr(0, eq)] = value.substr(eq + 1);
    } else {
      Die("unknown option " + arg);
    }
  }
  if (o.brokers.empty()) Die("--brokers is required");
  if (o.messages == 0 || o.partitions < 1 || o.rounds < 1 || o.workers < 1) Die("bad option");
  return o;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

KafkaHandle Client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties,
                   void (*dr_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr) {
  KafkaConf conf = ingest::internal::NewConf();
  if (Status s = ingest::internal::SetProperties(conf.get(), properties); !s.ok())
    Die(s.ToString());
  if (dr_cb != nullptr) rd_kafka_conf_set_dr_msg_cb(conf.get(), dr_cb);
  StatusOr<KafkaHandle> client = ingest::internal::NewClient(type, std::move(conf));
  if (!client.ok()) Die(client.status().ToString());
  return std::move(*client);
}

// ---- CPU accounting ----------------------------------------------------------------

double TicksToSeconds(unsigned long long ticks) {
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// utime + stime of /proc/<path>/stat (all threads of a process), and its name.
std::optional<std::pair<std::string, double>> ReadStat(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields 3..13 (state .. cmajflt), then utime (14) and stime (15).
  for (int f = 3; f <= 13; ++f) rest >> field;
  rest >> utime >> stime;
  return std::make_pair(text.substr(open + 1, close - open - 1), TicksToSeconds(utime + stime));
}

// A thread's time on a CPU and waiting for one (runnable, not running), from
// /proc/.../schedstat, in seconds.
struct SchedTimes {
  double run = 0;
  double wait = 0;
};

SchedTimes ReadSchedstat(const std::string& task_dir) {
  std::ifstream in(task_dir + "/schedstat");
  unsigned long long run_ns = 0, wait_ns = 0;
  in >> run_ns >> wait_ns;
  return {static_cast<double>(run_ns) / 1e9, static_cast<double>(wait_ns) / 1e9};
}

struct CpuSplit {
  double rdkafka = 0;  // librdkafka's threads (rdk:*)
  double main = 0;     // the main thread (the bare consumer's loop)
  // This round's other threads, oldest first: tidewatch's workers, then its consumer
  // thread (started last).
  std::vector<SchedTimes> threads;
  double broker = 0;  // the broker process, if --broker-pid
};

// CPU seconds of this process's threads, by kind. The main thread counts from
// `main_start`; other threads are per round (created and joined within it).
CpuSplit ThreadCpu(double main_start) {
  CpuSplit split;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return split;
  const std::string self = std::to_string(getpid());
  std::vector<std::pair<long, SchedTimes>> others;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    const SchedTimes times = ReadSchedstat(task);
    std::ifstream comm(task + "/comm");
    std::string name;
    std::getline(comm, name);
    if (entry->d_name == self) {
      split.main = times.run - main_start;
    } else if (name.rfind("rdk:", 0) == 0) {
      split.rdkafka += times.run;
    } else {
      others.emplace_back(std::stol(entry->d_name), times);
    }
  }
  closedir(dir);
  std::sort(others.begin(), others.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [tid, times] : others) split.threads.push_back(times);
  return split;
}

double MainThreadCpu() { return ReadSchedstat("/proc/self/task/" + std::to_string(getpid())).run; }

double BrokerCpu(int pid) {
  if (pid <= 0) return 0;
  const auto stat = ReadStat("/proc/" + std::to_string(pid) + "/stat");
  return stat ? stat->second : 0;
}

// ---- topic and producer --------------------------------------------------------------

void CreateTopic(const Options& o, const std::string& topic) {
  KafkaHandle admin = Client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", o.brokers}});
  std::array<char, 512> err{};
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), o.partitions, 1, err.data(), err.size());
  if (nt == nullptr) Die(std::string("NewTopic: ") + err.data());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateTopics(admin.get(), &nt, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  std::string failure;
  if (event == nullptr) {
    failure = "CreateTopics: no answer in 30 s";
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = std::string("CreateTopics: ") + rd_kafka_event_error_string(event);
  } else {
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    if (count != 1 || rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = std::string("CreateTopics: ") +
                (count == 1 ? rd_kafka_topic_result_error_string(results[0]) : "no result");
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(nt);
  if (!failure.empty()) Die(failure);

  // Wait until every partition has a leader.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(admin.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    int led = 0;
    if (rd_kafka_metadata(admin.get(), 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int p = 0; p < md->topics[0].partition_cnt; ++p)
          led += md->topics[0].partitions[p].leader >= 0 ? 1 : 0;
      }
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    if (led == o.partitions) return;
    if (Clock::now() > deadline) Die("topic partitions have no leader after 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::atomic<std::uint64_t> g_delivery_failures{0};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* /*opaque*/) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) g_delivery_failures.fetch_add(1);
}

struct Produced {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;   // message values
  std::uint64_t points = 0;  // field values in them
};

Produced Produce(const Options& o, const std::string& topic) {
  KafkaHandle producer = Client(RD_KAFKA_PRODUCER,
                                {{"bootstrap.servers", o.brokers},
                                 {"acks", "1"},
                                 {"linger.ms", "20"},
                                 {"batch.size", "1000000"},
                                 {"batch.num.messages", "10000"},
                                 {"compression.codec", "none"},
                                 {"queue.buffering.max.messages", "1000000"},
                                 {"queue.buffering.max.kbytes", "1048576"}},
                                &OnDelivery);
  // Event times end now and go back one 10 s interval per cycle through the sources.
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const std::int64_t base_ns =
      now_ns - static_cast<std::int64_t>(o.messages / kTelegrafSources + 1) * kTelegrafIntervalNs;
  Produced out;
  std::string key, value;
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < o.messages; ++i) {
    key.clear();
    value.clear();
    AppendTelegrafSeries(i, key);
    out.points += static_cast<std::uint64_t>(AppendTelegrafLine(i, base_ns, value));
    out.bytes += value.size();
    std::array<rd_kafka_vu_t, 4> vus{};
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[1].u.i = RD_KAFKA_MSG_F_COPY;
    vus[2].vtype = RD_KAFKA_VTYPE_KEY;
    vus[2].u.mem = {key.data(), key.size()};
    vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[3].u.mem = {value.data(), value.size()};
    for (;;) {
      const ingest::internal::KafkaError error(
          rd_kafka_produceva(producer.get(), vus.data(), vus.size()));
      if (!error) break;
      if (rd_kafka_error_code(error.get()) != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        Die(std::string("produce: ") + rd_kafka_error_string(error.get()));
      rd_kafka_poll(producer.get(), 10);
    }
    if (i % 10'000 == 0) rd_kafka_poll(producer.get(), 0);
  }
  if (rd_kafka_flush(producer.get(), 300'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    Die("flush did not finish in 300 s");
  if (g_delivery_failures.load() != 0)
    Die(std::to_string(g_delivery_failures.load()) + " messages were not delivered");
  out.messages = o.messages;
  const double s = Seconds(Clock::now() - start);
  std::printf("produced %llu messages, %.1f MB, %llu points in %.1f s (%.0f msg/s)\n",
              static_cast<unsigned long long>(out.messages), static_cast<double>(out.bytes) / 1e6,
              static_cast<unsigned long long>(out.points), s,
              static_cast<double>(out.messages) / s);
  return out;
}

// ---- rounds --------------------------------------------------------------------------

struct Round {
  std::string peer;
  bool ok = false;
  double join_s = 0;    // subscribe (or Start) to the first message
  double steady_s = 0;  // first message to done
  CpuSplit cpu;
  std::string notes;
};

std::map<std::string, std::string> ConsumerProperties(const Options& o, const std::string& group) {
  std::map<std::string, std::string> p = o.properties;
  p["bootstrap.servers"] = o.brokers;
  p["group.id"] = group;
  return p;
}

Round RunBare(const Options& o, const std::string& topic, const std::string& group,
              const Produced& produced) {
  Round r;
  r.peer = "bare";
  const double main_cpu = MainThreadCpu();
  const double broker_cpu = BrokerCpu(o.broker_pid);
  KafkaHandle consumer = Client(RD_KAFKA_CONSUMER, ConsumerProperties(o, group));
  rd_kafka_poll_set_consumer(consumer.get());
  ingest::internal::PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  const auto start = Clock::now();
  if (rd_kafka_subscribe(consumer.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
    Die("subscribe failed");
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  std::optional<Clock::time_point> first;
  std::uint64_t messages = 0, bytes = 0, checksum = 0, errors = 0;
  while (messages < produced.messages && Clock::now() < deadline) {
    const KafkaMessage m(rd_kafka_consumer_poll(consumer.get(), 100));
    if (!m) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++errors;
      continue;
    }
    if (!first) first = Clock::now();
    const auto* p = static_cast<const unsigned char*>(m->payload);
    for (std::size_t i = 0; i < m->len; ++i) checksum += p[i];
    ++messages;
    bytes += m->len;
  }
  const auto end = Clock::now();
  r.cpu = ThreadCpu(main_cpu);
  r.cpu.broker = BrokerCpu(o.broker_pid) - broker_cpu;
  rd_kafka_consumer_close(consumer.get());
  r.ok = messages == produced.messages && bytes == produced.bytes;
  if (first) {
    r.join_s = Seconds(*first - start);
    r.steady_s = Seconds(end - *first);
  }
  r.notes = "checksum " + std::to_string(checksum % 1000) + ", errors " + std::to_string(errors);
  if (!r.ok) r.notes += ", got " + std::to_string(messages) + " messages";
  return r;
}

Round RunTidewatch(const Options& o, const std::string& topic, const std::string& group,
                   const Produced& produced) {
  Round r;
  r.peer = "tidewatch";
  const double main_cpu = MainThreadCpu();
  const double broker_cpu = BrokerCpu(o.broker_pid);
  store::Store store;
  store::FieldRingsOptions ring_options;
  ring_options.defaults.capacity = 65536;  // [ingest] ring_capacity's default
  store::FieldRings rings(ring_options);

  ingest::KafkaSourceConfig config;
  config.brokers = o.brokers;
  config.group_id = group;
  config.topics = {topic};
  config.commit_without_snapshot = true;
  config.properties = o.properties;
  StatusOr<std::unique_ptr<ingest::KafkaSource>> created =
      ingest::KafkaSource::Create(std::move(config), store, rings, 1);
  if (!created.ok()) Die(created.status().ToString());
  ingest::KafkaSource& source = **created;
  ingest::EvaluationWorkers workers(rings, store, {nullptr, &source.tickets()}, o.workers);

  const auto start = Clock::now();
  if (Status s = source.Start(); !s.ok()) Die(s.ToString());
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  std::optional<Clock::time_point> first;
  std::uint64_t stored = 0;
  while (Clock::now() < deadline) {
    if (!first && source.stats().messages > 0) first = Clock::now();
    stored = workers.stats().points_stored;
    if (stored >= produced.points) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const auto end = Clock::now();
  r.cpu = ThreadCpu(main_cpu);
  r.cpu.broker = BrokerCpu(o.broker_pid) - broker_cpu;
  const ingest::KafkaSourceStats stats = source.stats();
  const ingest::EvaluationWorkerStats worker_stats = workers.stats();
  source.Stop();
  workers.Stop();
  r.ok = stored == produced.points && stats.messages == produced.messages && stats.bad_lines == 0 &&
         stats.points_refused == 0 && worker_stats.points_refused == 0;
  if (first) {
    r.join_s = Seconds(*first - start);
    r.steady_s = Seconds(end - *first);
  }
  r.notes = "pauses " + std::to_string(stats.pauses) + ", worker batches " +
            std::to_string(worker_stats.batches) + " (" +
            std::to_string(
                worker_stats.batches == 0 ? 0 : worker_stats.points_stored / worker_stats.batches) +
            " points each), series " + std::to_string(store.index().series_count());
  if (!r.ok) {
    r.notes += ", stored " + std::to_string(stored) + " of " + std::to_string(produced.points) +
               ", messages " + std::to_string(stats.messages) + ", bad lines " +
               std::to_string(stats.bad_lines) + ", refused " +
               std::to_string(stats.points_refused + worker_stats.points_refused);
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Cpu(const CpuSplit& cpu) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f / %.1f / ", cpu.rdkafka, cpu.main);
  std::string out = buf;
  for (std::size_t i = 0; i < cpu.threads.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.1f", i > 0 ? "+" : "", cpu.threads[i].run);
    out += buf;
  }
  if (cpu.threads.empty()) out += "-";
  // The consumer thread's time waiting for a CPU while runnable.
  if (!cpu.threads.empty()) {
    std::snprintf(buf, sizeof buf, " (consumer runnable-waiting %.1f)", cpu.threads.back().wait);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, " / %.1f", cpu.broker);
  return out + buf;
}

void PrintRound(const Round& r, const Produced& p) {
  const double s = r.steady_s > 0 ? r.steady_s : 1e-9;  // a failed round may have none
  std::printf("| %s | %s | %.2f | %.2f | %.0f k | %.1f | %.2f M | %s | %s |\n", r.peer.c_str(),
              r.ok ? "ok" : "FAILED", r.join_s, s, static_cast<double>(p.messages) / s / 1e3,
              static_cast<double>(p.bytes) / s / 1e6, static_cast<double>(p.points) / s / 1e6,
              Cpu(r.cpu).c_str(), r.notes.c_str());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug shows librdkafka's debug lines
  const Options o = ParseOptions(argc, argv);
  const std::string stamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  const std::string topic = "ingest-bench-" + stamp;
  CreateTopic(o, topic);
  const Produced produced = Produce(o, topic);

  std::printf(
      "\n| peer | check | join s | steady s | msg/s | MB/s | points/s | CPU s rdkafka / main / "
      "workers+consumer / broker | notes |\n|---|---|---:|---:|---:|---:|---:|---|---|\n");
  std::map<std::string, std::vector<double>> rates;
  bool all_ok = true;
  for (int round = 0; round < o.rounds; ++round) {
    for (const char* peer : {"bare", "tidewatch"}) {
      const std::string group = std::string(peer) + "-" + stamp + "-" + std::to_string(round);
      const Round r = std::string(peer) == "bare" ? RunBare(o, topic, group, produced)
                                                  : RunTidewatch(o, topic, group, produced);
      PrintRound(r, produced);
      all_ok = all_ok && r.ok;
      if (r.ok) rates[peer].push_back(static_cast<double>(produced.messages) / r.steady_s);
    }
  }
  if (!all_ok || rates["bare"].empty() || rates["tidewatch"].empty()) {
    std::printf("\nsome rounds failed; no ratio\n");
    return 1;
  }
  const double bare = Median(rates["bare"]);
  const double tw = Median(rates["tidewatch"]);
  const double bytes_per_msg =
      static_cast<double>(produced.bytes) / static_cast<double>(produced.messages);
  const double points_per_msg =
      static_cast<double>(produced.points) / static_cast<double>(produced.messages);
  std::printf("\n| peer (median of %d) | msg/s | MB/s | points/s |\n|---|---:|---:|---:|\n",
              o.rounds);
  for (const auto& [name, rate] : {std::pair{"bare", bare}, std::pair{"tidewatch", tw}}) {
    std::printf("| %s | %.0f k | %.1f | %.2f M |\n", name, rate / 1e3, rate * bytes_per_msg / 1e6,
                rate * points_per_msg / 1e6);
  }
  std::printf("\nratio tidewatch/bare: %.2f (target >= 0.8)\n", tw / bare);
  return 0;
}

}  // namespace
}  // namespace tidewatch::bench

int main(int argc, char** argv) { return tidewatch::bench::Main(argc, argv); }
