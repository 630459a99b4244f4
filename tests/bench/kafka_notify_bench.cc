// Kafka produce -> webhook receipt (issue 7; target p99 <= 10 ms on loopback at 100k
// points/s), through the whole daemon: an in-process daemon::Daemon built from a config
// with one [[kafka]] source (line protocol, db "plant", precision ns), one [[channels]]
// webhook "bench" to the receiver of tests/bench/webhook_receiver.h, a rules file with
// one raw rule `SELECT value FROM pressure` (trip 1000, reset 0, channels ["bench"]),
// the catalog on a real file in a temp dir ($TMPDIR or /tmp; [rules] catalog_sync
// "full", the default) and HTTP on 127.0.0.1:0 (only /readyz and /metrics are used).
//
// A librdkafka producer thread (acks=1, linger.ms from --linger-ms, default 1) writes
// --rate points/s (default 100,000) for --seconds (default 10) after --warmup-seconds
// (default 3), --lines messages' worth of points per message (default 10), in 1 ms slices. Each
// message's points carry its produce wall time in ns as their timestamp. Message m goes
// to partition p = m % --partitions (default 4, a divisor of 1000), whose points are of
// the series s with s % partitions == p, so a series stays on one partition (as with
// producers keyed by series) and its points arrive in order. 1000 series (pressure,
// site1..site10 x pt-001..pt-100), values in the rule's deadband (0, 1000); every
// --cross-every-th point (default 1000: 100 transitions/s at 100k points/s) crosses
// instead, trip (2000) and reset (-1) in turn per series, so it is one transition and
// one notification. Normal points and crossings each go round robin over a partition's
// series. The receiver records receipt -
// event_time (= the point's produce time) of every notification that arrives while the
// measurement runs and for up to 10 s after.
//
// Usage (needs a broker; kafka_ingest_bench.sh starts one and appends --brokers and
// --broker-pid):
//   tests/bench/kafka_ingest_bench.sh build/bench/tests/bench/kafka_notify_bench [options]
// Options: --rate N --seconds S --warmup-seconds S --lines N --cross-every N --linger-ms N --partitions N
// --workers N ([ingest] workers, default 2 as the daemon's) --catalog-sync full|normal.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "ingest/internal/rdkafka_handles.h"
#include "sinks/http_client.h"
#include "tests/bench/webhook_receiver.h"

namespace tidewatch::bench {
namespace {

using ingest::internal::KafkaHandle;

constexpr int kSites = 10;
constexpr int kSensorsPerSite = 100;
constexpr int kSeries = kSites * kSensorsPerSite;
constexpr auto kTail = std::chrono::seconds(10);

struct Options {
  std::string brokers;
  double rate = 100'000;
  double seconds = 10;
  double warmup_seconds = 3;
  int lines = 10;
  std::uint64_t cross_every = 1000;
  int linger_ms = 1;
  int partitions = 4;
  int workers = 2;                    // [ingest] workers
  std::string catalog_sync = "full";  // [rules] catalog_sync
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + std::string(arg));
    const std::string value = argv[++i];
    if (arg == "--brokers") {
      o.brokers = value;
    } else if (arg == "--broker-pid") {
      // kafka_ingest_bench.sh passes it; not used here.
    } else if (arg == "--rate") {
      o.rate = std::stod(value);
    } else if (arg == "--seconds") {
      o.seconds = std::stod(value);
    } else if (arg == "--warmup-seconds") {
      o.warmup_seconds = std::stod(value);
    } else if (arg == "--lines") {
      o.lines = std::stoi(value);
    } else if (arg == "--cross-every") {
      o.cross_every = std::stoull(value);
    } else if (arg == "--linger-ms") {
      o.linger_ms = std::stoi(value);
    } else if (arg == "--catalog-sync") {
      o.catalog_sync = value;
    } else if (arg == "--workers") {
      o.workers = std::stoi(value);
    } else if (arg == "--partitions") {
      o.partitions = std::stoi(value);
    } else {
      throw std::runtime_error("unknown option " + std::string(arg));
    }
  }
  if (o.brokers.empty()) throw std::runtime_error("--brokers is required");
  if (o.rate <= 0 || o.warmup_seconds < 0 || o.lines < 1 || o.cross_every < 2 || o.partitions < 1 ||
      kSeries % o.partitions != 0) {
    throw std::runtime_error("bad option");
  }
  return o;
}

KafkaHandle Producer(const std::map<std::string, std::string>& properties) {
  ingest::internal::KafkaConf conf = ingest::internal::NewConf();
  Check(ingest::internal::SetProperties(conf.get(), properties), "producer properties");
  StatusOr<KafkaHandle> client = ingest::internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  Check(client.status(), "producer");
  return std::move(*client);
}

// Creates `topic` (the broker of deploy/kafka does not create topics on use).
void CreateTopic(const Options& o, const std::string& topic) {
  KafkaHandle admin = Producer({{"bootstrap.servers", o.brokers}});
  std::array<char, 512> err{};
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), o.partitions, 1, err.data(), err.size());
  if (nt == nullptr) throw std::runtime_error(std::string("NewTopic: ") + err.data());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateTopics(admin.get(), &nt, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  std::string failure;
  if (event == nullptr) {
    failure = "no answer in 30 s";
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = rd_kafka_event_error_string(event);
  } else {
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    if (count != 1 || rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = count == 1 ? rd_kafka_topic_result_error_string(results[0]) : "no result";
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(nt);
  if (!failure.empty()) throw std::runtime_error("CreateTopics: " + failure);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string Config(const Options& o, const std::string& dir, const std::string& topic,
                   const std::string& url) {
  return std::string("[log]\nlevel = \"warn\"\n") + "[http]\nlisten = \"127.0.0.1:0\"\n" +
         "[ingest]\nworkers = " + std::to_string(o.workers) +
         "\n"
         "[storage]\ndata_dir = \"" +
         dir + "/data\"\n" + "[rules]\nfile = \"" + dir + "/rules.toml\"\ncatalog_sync = \"" +
         o.catalog_sync + "\"\n" + "[[kafka]]\nbrokers = \"" + o.brokers +
         "\"\ngroup_id = \"notify-bench-" + topic + "\"\ntopics = [\"" + topic +
         "\"]\nformat = \"line\"\ndatabase = \"plant\"\nprecision = \"ns\"\n"
         "commit_without_snapshot = true\n"
         "[[channels]]\nname = \"bench\"\nkind = \"webhook\"\nurl = \"" +
         url + "\"\n";
}

constexpr std::string_view kRules = R"([[rule]]
name = "bench"
db = "plant"
query = "SELECT value FROM pressure"
condition = ">"
severity = "critical"
trip = 1000.0
reset = 0.0
channels = ["bench"]
)";

// GET http://127.0.0.1:<port><target>; the status (0 when the call failed) and body.
std::pair<int, std::string> Get(const sinks::HttpClient& client, std::uint16_t port,
                                const std::string& target) {
  sinks::HttpRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:" + std::to_string(port) + target;
  StatusOr<sinks::HttpResponse> response = client.Send(request);
  if (!response.ok()) return {0, ""};
  return {response->status, response->body};
}

// The value of the first sample of metric `name` in Prometheus text; -1 if absent.
double Metric(const std::string& text, const std::string& name) {
  std::size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const std::size_t end = at + name.size();
    if (line_start && end < text.size() && (text[end] == ' ' || text[end] == '{')) {
      const std::size_t space = text.find(' ', end);
      return std::stod(text.substr(space + 1, text.find('\n', space) - space - 1));
    }
    at = end;
  }
  return -1;
}

struct Produced {
  std::uint64_t points = 0;
  std::uint64_t crossings = 0;
  double seconds = 0;
};

// Produces at o.rate points/s until `until`, in 1 ms slices.
class PointProducer {
 public:
  PointProducer(const Options& o, std::string topic)
      : o_(o),
        topic_(std::move(topic)),
        producer_(Producer({{"bootstrap.servers", o.brokers},
                            {"acks", "1"},
                            {"linger.ms", std::to_string(o.linger_ms)},
                            {"compression.codec", "none"},
                            {"queue.buffering.max.messages", "1000000"}})),
        over_(kSeries, false),
        next_of_(2 * static_cast<std::size_t>(o.partitions), 0) {}

  Produced Run(Clock::time_point until) {
    Produced out;
    const Clock::time_point start = Clock::now();
    const double points_per_slice = o_.rate / 1000;
    double owed = 0;
    std::string value;
    for (Clock::time_point next = start; next < until; next += std::chrono::milliseconds(1)) {
      std::this_thread::sleep_until(next);
      owed += points_per_slice;
      while (owed >= 1) {
        const int lines = std::min(o_.lines, static_cast<int>(owed));
        value.clear();
        const std::int64_t ts = WallNs();
        const std::size_t p = messages_++ % static_cast<std::size_t>(o_.partitions);
        for (int l = 0; l < lines; ++l) out.crossings += AppendLine(p, ts, value);
        Send(value, static_cast<std::int32_t>(p));
        out.points += static_cast<std::uint64_t>(lines);
        owed -= lines;
      }
      rd_kafka_poll(producer_.get(), 0);
    }
    out.seconds = Seconds(Clock::now() - start);
    return out;
  }

  void Flush() {
    if (rd_kafka_flush(producer_.get(), 30'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("producer flush did not finish in 30 s");
    }
  }

 private:
  // One line of the next point; returns 1 when it crosses.
  // Partition p carries the series s with s % partitions == p (a series stays on one
  // partition, as producers keyed by series do, so its points arrive in order).
  // Normal points and crossings each go round robin over the partition's series, so
  // that no alert instance (whose notifications go out one after the other) gets more
  // than its share of the crossings.
  std::uint64_t AppendLine(std::size_t p, std::int64_t ts, std::string& out) {
    const std::uint64_t i = next_++;
    const bool cross = i % o_.cross_every == 0;
    const std::size_t partitions = next_of_.size() / 2;
    const std::uint64_t k = next_of_[2 * p + (cross ? 1 : 0)]++;
    const std::size_t s = p + partitions * (k % (kSeries / partitions));
    double value = 2 + static_cast<double>(i % 800) / 100;
    if (cross) {
      over_[s] = !over_[s];
      value = over_[s] ? 2000 : -1;
    }
    char line[160];
    const int n =
        std::snprintf(line, sizeof(line), "pressure,sensor=pt-%03d,site=site%d value=%g %lld\n",
                      static_cast<int>(s % kSensorsPerSite) + 1,
                      static_cast<int>(s / kSensorsPerSite) + 1, value, static_cast<long long>(ts));
    out.append(line, static_cast<std::size_t>(n));
    return cross ? 1u : 0u;
  }

  void Send(const std::string& value, std::int32_t partition) {
    std::array<rd_kafka_vu_t, 4> vus{};
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic_.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[1].u.i = RD_KAFKA_MSG_F_COPY;
    vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};
    vus[3].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[3].u.i32 = partition;
    for (;;) {
      const ingest::internal::KafkaError error(
          rd_kafka_produceva(producer_.get(), vus.data(), vus.size()));
      if (!error) return;
      if (rd_kafka_error_code(error.get()) != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        throw std::runtime_error(std::string("produce: ") + rd_kafka_error_string(error.get()));
      }
      rd_kafka_poll(producer_.get(), 1);
    }
  }

  const Options& o_;
  const std::string topic_;
  KafkaHandle producer_;
  std::vector<bool> over_;
  std::uint64_t next_ = 0;              // points
  std::uint64_t messages_ = 0;          // messages
  std::vector<std::uint64_t> next_of_;  // per partition: normal points, crossings
};

int Main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::printf("load average before: %s\n", LoadAverage().c_str());
  TempDir dir("notify_bench");
  const std::string topic =
      "notify-bench-" + std::to_string(::getpid()) + "-" + std::to_string(WallNs() / 1'000'000'000);
  CreateTopic(o, topic);
  Receiver receiver;
  WriteFile(dir.path() + "/rules.toml", std::string(kRules));
  StatusOr<daemon::DaemonConfig> config =
      daemon::ParseConfig(Config(o, dir.path(), topic, receiver.Url()), "kafka_notify_bench");
  Check(config.status(), "config");
  StatusOr<std::unique_ptr<daemon::Daemon>> daemon = daemon::Daemon::Create(std::move(*config));
  Check(daemon.status(), "daemon");
  Check((*daemon)->Start(), "daemon start");
  StatusOr<std::unique_ptr<sinks::HttpClient>> client = sinks::HttpClient::Create({});
  Check(client.status(), "http client");
  const std::uint16_t port = (*daemon)->http_port();
  const Clock::time_point ready_deadline = Clock::now() + std::chrono::seconds(60);
  while (Get(**client, port, "/readyz").first != 200) {
    if (Clock::now() > ready_deadline) throw std::runtime_error("not ready after 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  PointProducer producer(o, topic);
  const Produced warm = producer.Run(
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.warmup_seconds)));
  receiver.StartRecording();
  const std::uint64_t received_before = receiver.received();
  const Produced measured =
      producer.Run(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.seconds)));
  producer.Flush();
  const std::uint64_t expected = warm.crossings + measured.crossings;
  const Clock::time_point tail_deadline = Clock::now() + kTail;
  while (receiver.received() < expected && Clock::now() < tail_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto [from_event, from_transition] = receiver.StopRecording();
  const std::string metrics = Get(**client, port, "/metrics").second;
  (*daemon)->Stop();

  std::printf("topic %s, %d partitions, %d points per message, linger.ms %d\n", topic.c_str(),
              o.partitions, o.lines, o.linger_ms);
  std::printf("produced: warm-up %llu points, measured %llu points in %.2f s = %.0f points/s\n",
              static_cast<unsigned long long>(warm.points),
              static_cast<unsigned long long>(measured.points), measured.seconds,
              static_cast<double>(measured.points) / measured.seconds);
  std::printf("daemon: points stored %.0f (of %llu produced)\n",
              Metric(metrics, "tidewatch_evaluation_points_stored_total"),
              static_cast<unsigned long long>(warm.points + measured.points));
  std::printf(
      "notifications: %llu crossings in all, %llu received in all, %llu during the "
      "measurement and its tail\n",
      static_cast<unsigned long long>(expected),
      static_cast<unsigned long long>(receiver.received()),
      static_cast<unsigned long long>(receiver.received() - received_before));
  const std::size_t samples = from_event.size();
  std::printf(
      "| points/s achieved | notifications (samples) | produce -> receipt p50 / p99 / max ms | "
      "transition_at -> receipt p50 / p99 ms |\n|---:|---:|---|---|\n"
      "| %.0f | %zu | %.2f / %.2f / %.2f | %.2f / %.2f |\n",
      static_cast<double>(measured.points) / measured.seconds, samples, QuantileMs(from_event, 0.5),
      QuantileMs(from_event, 0.99), QuantileMs(from_event, 1), QuantileMs(from_transition, 0.5),
      QuantileMs(from_transition, 0.99));
  std::printf("load average after: %s\n", LoadAverage().c_str());
  if (receiver.received() < expected) {
    std::fprintf(stderr, "kafka_notify_bench: %llu of %llu notifications arrived\n",
                 static_cast<unsigned long long>(receiver.received()),
                 static_cast<unsigned long long>(expected));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tidewatch::bench

int main(int argc, char** argv) {
  try {
    return tidewatch::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kafka_notify_bench: %s\n", e.what());
    return 1;
  }
}
