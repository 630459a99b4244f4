#include "tests/integration/local_kafka.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace tidewatch::integration {

namespace {

std::string Script(const char* name) {
  return std::string(TIDEWATCH_SOURCE_DIR) + "/deploy/kafka/" + name;
}

// The value of the line "NAME=value" of `output`; empty if there is none.
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

}  // namespace

std::optional<std::string> RunShell(const std::string& command) {
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

bool HaveJava() { return std::system("command -v java >/dev/null 2>&1") == 0; }

std::unique_ptr<LocalKafka> LocalKafka::Start(std::string& error) {
  const std::optional<std::string> out = RunShell("bash " + Script("start.sh") + " --timeout 90");
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

LocalKafka::~LocalKafka() {
  if (!dir_.empty() &&
      !RunShell("bash " + Script("stop.sh") + " --dir '" + dir_ + "' --timeout 20")) {
    std::fprintf(stderr, "LocalKafka: stop.sh failed for %s\n", dir_.c_str());
  }
}

bool LocalKafka::CreateTopic(const std::string& topic, int partitions) const {
  return RunShell("bash " + Script("create-topic.sh") + " " + topic + " --partitions " +
                  std::to_string(partitions) + " --brokers " + brokers_)
      .has_value();
}

}  // namespace tidewatch::integration
