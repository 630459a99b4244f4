// kill -9 in the middle of a stream (ARCHITECTURE.md, guarantees 1 and 5), against a
// real broker: crash_consumer (crash_consumer_main.cc) consumes a topic, checkpointing
// every 200 ms, and is killed with SIGKILL while it consumes; restarted, it restores its
// snapshot, resumes from the snapshot's offsets and consumes the rest. Its final dump
// (every point of every series, and count/mean/max per minute) must be byte for byte
// that of an uninterrupted run over the same topic in another group.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/ingest/kafka_test_util.h"
#include "tests/integration/local_kafka.h"

extern char** environ;

namespace tidewatch::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::WaitFor;

constexpr int kPartitions = 4;
constexpr int kSensors = 200;  // sensor s lives on partition s % 4
#ifdef TIDEWATCH_SANITIZED
constexpr int kSteps = 200;  // points per sensor
#else
constexpr int kSteps = 1000;
#endif
constexpr int kLinesPerMessage = 100;
constexpr int kMessagesPerPartition = kSensors / kPartitions * kSteps / kLinesPerMessage;
constexpr int kMessages = kMessagesPerPartition * kPartitions;
constexpr std::uint64_t kPoints = std::uint64_t{kSensors} * kSteps;
constexpr std::int64_t kBaseTs = 1'795'000'000'000'000'000;  // fixed: deterministic data

// The messages of each partition, in order: lines ordered by time step, then sensor.
// Values are multiples of 0.25 below 250, so every sum is exact and the means do not
// depend on the order the aggregation folds them in.
std::vector<std::vector<std::string>> Messages() {
  static const char* const kKinds[] = {"pressure", "temperature", "flow"};
  std::vector<std::vector<std::string>> out(std::size_t{kPartitions});
  std::vector<std::string> pending(std::size_t{kPartitions});
  std::vector<int> lines(std::size_t{kPartitions}, 0);
  for (int step = 0; step < kSteps; ++step) {
    for (int s = 0; s < kSensors; ++s) {
      const auto p = static_cast<std::size_t>(s % kPartitions);
      pending[p] += std::string(kKinds[s % 3]) + ",site=site" + std::to_string(s % 2 + 1) +
                    ",sensor=x-" + std::to_string(s) +
                    " value=" + std::to_string(((s * 7 + step) % 1000) * 0.25) + " " +
                    std::to_string(kBaseTs + std::int64_t{step} * 1'000'000'000) + "\n";
      if (++lines[p] == kLinesPerMessage) {
        out[p].push_back(std::move(pending[p]));
        pending[p].clear();
        lines[p] = 0;
      }
    }
  }
  return out;
}

// Sends messages [from, to) of every partition.
void Produce(test::Producer& producer, const std::vector<std::vector<std::string>>& messages,
             int from, int to) {
  for (int m = from; m < to; ++m) {
    for (int p = 0; p < kPartitions; ++p) {
      producer.Send("crash", p, "p" + std::to_string(p),
                    messages[static_cast<std::size_t>(p)][static_cast<std::size_t>(m)]);
    }
  }
  producer.Flush();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One crash_consumer process; SIGKILLed if still running when this goes away.
class Consumer {
 public:
  Consumer(const std::string& brokers, const std::string& group, const fs::path& dir)
      : progress_((dir / "progress").string()), dump_((dir / "dump").string()) {
    fs::create_directories(dir);
    fs::remove(progress_);
    args_ = {CRASH_CONSUMER,   "brokers=" + brokers,       "topic=crash",
             "group=" + group, "data_dir=" + dir.string(), "progress=" + progress_,
             "dump=" + dump_,  "checkpoint_ms=200"};
    std::vector<char*> argv;
    for (std::string& arg : args_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir / "consumer.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, CRASH_CONSUMER, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }

  ~Consumer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool running() const { return pid_ > 0; }

  // The counters of the progress file (empty until the first one is written).
  std::map<std::string, std::int64_t> Progress() const {
    std::map<std::string, std::int64_t> out;
    std::istringstream in(ReadFile(progress_));
    std::string item;
    while (in >> item) {
      const std::size_t eq = item.find('=');
      if (eq != std::string::npos) out[item.substr(0, eq)] = std::stoll(item.substr(eq + 1));
    }
    return out;
  }
  std::int64_t Get(const std::string& name) const {
    const auto progress = Progress();
    const auto it = progress.find(name);
    return it == progress.end() ? -1 : it->second;
  }

  // Sends `signal` and waits (bounded) for the process to end; its wait status.
  std::optional<int> Signal(int signal, std::chrono::seconds timeout = 30s) {
    if (pid_ <= 0 || ::kill(pid_, signal) != 0) return std::nullopt;
    int status = 0;
    const bool done = WaitFor(
        [&] {
          const pid_t r = ::waitpid(pid_, &status, WNOHANG);
          return r == pid_;
        },
        timeout);
    if (!done) return std::nullopt;
    pid_ = -1;
    return status;
  }

  std::string Dump() const { return ReadFile(dump_); }

 private:
  std::vector<std::string> args_;
  std::string progress_;
  std::string dump_;
  pid_t pid_ = -1;
};

// Points in a dump: the " ts=value" items after each series key.
std::uint64_t PointsIn(const std::string& dump) {
  std::uint64_t points = 0;
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("kafka ", 0) != 0) continue;
    // "kafka <measurement,tags> <field:type> ts=v ts=v ..."
    std::size_t spaces = 0;
    for (char c : line) spaces += c == ' ' ? 1 : 0;
    points += spaces - 2;
  }
  return points;
}

TEST(KafkaCrashTest, KillNineMidStreamLosesNothingAndChangesNoResult) {
  if (!integration::HaveJava()) {
    GTEST_SKIP() << "java is not installed, so no Kafka broker can run (deploy/install-deps.sh)";
  }
  std::string error;
  const std::unique_ptr<integration::LocalKafka> kafka = integration::LocalKafka::Start(error);
  ASSERT_NE(kafka, nullptr) << error;
  ASSERT_TRUE(kafka->CreateTopic("crash", kPartitions));
  char dir_template[] = "/tmp/tw-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      if (::testing::Test::HasFailure()) {
        std::printf("kept %s (consumer logs, progress, dumps)\n", dir.c_str());
        return;
      }
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};

  const std::vector<std::vector<std::string>> messages = Messages();
  ASSERT_EQ(static_cast<int>(messages[0].size()), kMessagesPerPartition);
  test::Producer producer({{"bootstrap.servers", kafka->brokers()}, {"linger.ms", "5"}});
  const int half = kMessagesPerPartition / 2;
  const int three_quarters = kMessagesPerPartition * 3 / 4;
  Produce(producer, messages, 0, half);

  // Run 1: consumes the first half, checkpoints at least a quarter of the stream, is
  // killed while consuming the third quarter.
  {
    Consumer run(kafka->brokers(), "crash", dir / "crashy");
    ASSERT_TRUE(run.running());
    ASSERT_TRUE(WaitFor([&] {
      auto p = run.Progress();
      return p["committed"] >= half * kPartitions / 2;
    })) << ReadFile((dir / "crashy" / "consumer.log").string());
    Produce(producer, messages, half, three_quarters);
    ASSERT_TRUE(WaitFor([&] { return run.Get("processed") > half * kPartitions; }));
    const std::string at_kill = ReadFile((dir / "crashy" / "progress").string());
    const std::optional<int> status = run.Signal(SIGKILL);
    std::printf("killed at: %s", at_kill.c_str());
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  }
  Produce(producer, messages, three_quarters, kMessagesPerPartition);

  // Run 2: restores, resumes, consumes the rest, shuts down cleanly.
  std::string crashed_dump;
  {
    Consumer run(kafka->brokers(), "crash", dir / "crashy");
    ASSERT_TRUE(WaitFor([&] { return run.Get("processed") == kMessages; }))
        << ReadFile((dir / "crashy" / "consumer.log").string());
    const std::optional<int> status = run.Signal(SIGTERM);
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << ReadFile((dir / "crashy" / "consumer.log").string());
    const auto progress = run.Progress();
    std::printf("restarted run: %s", ReadFile((dir / "crashy" / "progress").string()).c_str());
    EXPECT_GT(progress.at("restored"), 0) << "the snapshot was not restored";
    EXPECT_LT(progress.at("messages"), kMessages) << "resumed from the start, not the snapshot";
    EXPECT_EQ(progress.at("points"), static_cast<std::int64_t>(kPoints));
    crashed_dump = run.Dump();
  }

  // The reference: one uninterrupted run in another group.
  std::string reference_dump;
  {
    Consumer run(kafka->brokers(), "reference", dir / "reference");
    ASSERT_TRUE(WaitFor([&] { return run.Get("processed") == kMessages; }))
        << ReadFile((dir / "reference" / "consumer.log").string());
    const std::optional<int> status = run.Signal(SIGTERM);
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    EXPECT_EQ(run.Progress().at("restored"), 0);
    reference_dump = run.Dump();
  }

  EXPECT_EQ(PointsIn(reference_dump), kPoints);
  EXPECT_EQ(PointsIn(crashed_dump), kPoints);
  EXPECT_NE(reference_dump.find("SELECT count,mean,max FROM flow.value @"), std::string::npos);
  EXPECT_TRUE(crashed_dump == reference_dump)
      << "dumps differ: " << crashed_dump.size() << " vs " << reference_dump.size() << " bytes";
}

}  // namespace
}  // namespace tidewatch::ingest
