// A real single-node Kafka broker for integration tests: deploy/kafka/start.sh on free
// ports in a fresh directory, stopped (and the directory removed) by deploy/kafka/stop.sh
// when the LocalKafka goes out of scope. See deploy/kafka/README.md.
//
// Thread safety: one owning thread.
#ifndef TIDEWATCH_TESTS_INTEGRATION_LOCAL_KAFKA_H_
#define TIDEWATCH_TESTS_INTEGRATION_LOCAL_KAFKA_H_

#include <memory>
#include <optional>
#include <string>

namespace tidewatch::integration {

// Runs `command` with /bin/sh; its stdout, or nullopt if it failed. stderr passes through.
std::optional<std::string> RunShell(const std::string& command);

// True if `java` is on the PATH (without it no broker can run: the tests skip).
bool HaveJava();

class LocalKafka {
 public:
  // nullptr (with `error` set) if the broker did not start within 90 s.
  static std::unique_ptr<LocalKafka> Start(std::string& error);
  ~LocalKafka();
  LocalKafka(const LocalKafka&) = delete;
  LocalKafka& operator=(const LocalKafka&) = delete;

  // Creates `topic` (idempotent); returns once every partition has a leader.
  bool CreateTopic(const std::string& topic, int partitions) const;

  const std::string& brokers() const { return brokers_; }

 private:
  LocalKafka(std::string brokers, std::string dir)
      : brokers_(std::move(brokers)), dir_(std::move(dir)) {}

  std::string brokers_;
  std::string dir_;
};

}  // namespace tidewatch::integration

#endif  // TIDEWATCH_TESTS_INTEGRATION_LOCAL_KAFKA_H_
