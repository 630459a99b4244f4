// AlertmanagerEmitter against the real Alertmanager binary (label: integration): a
// firing alert shows up active with our labels, the resolved one makes it go away.
// Alertmanager runs on 127.0.0.1 at an ephemeral port with a temporary storage path, a
// null receiver and clustering off; it is killed and reaped at the end, also on failure.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sinks/alertmanager_emitter.h"
#include "sinks/http_client.h"
#include "store/rfc3339.h"

extern char** environ;

namespace tidewatch::sinks {
namespace {

constexpr std::chrono::seconds kDeadline{30};

std::uint16_t FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A running Alertmanager; the destructor kills it, reaps it and removes its directory.
class AlertmanagerProcess {
 public:
  AlertmanagerProcess() {
    char dir[] = "/tmp/tidewatch-am-XXXXXX";
    if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    std::ofstream(dir_ + "/alertmanager.yml")
        << "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";
    port_ = FreePort();
    std::vector<std::string> args = {TIDEWATCH_ALERTMANAGER,
                                     "--config.file=" + dir_ + "/alertmanager.yml",
                                     "--storage.path=" + dir_ + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--cluster.listen-address=",
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = log_path();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      pid_ = -1;
      throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + strerror(error));
    }
  }

  ~AlertmanagerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log_path() const { return dir_ + "/alertmanager.log"; }

  // Polls /-/ready until 200, the process exits, or the deadline; "" when ready.
  std::string WaitReady(const HttpClient& client) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "alertmanager exited: " + ReadFile(log_path());
      }
      StatusOr<HttpResponse> response = client.Send({"GET", url() + "/-/ready", {}, ""});
      if (response.ok() && response->status == 200) return "";
      last =
          response.ok() ? "HTTP " + std::to_string(response->status) : response.status().message();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling another process
    }
    return "not ready within the deadline: " + last + "\n" + ReadFile(log_path());
  }

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Payload(const std::string& status, std::int64_t starts_at, const std::string& ends_at) {
  return R"({"version":1,"status":")" + status +
         R"(","labels":{"alertname":"tw-real-test","site":"site1","sensor":"pt-001",)"
         R"("severity":"critical"},"annotations":{"summary":"pt-001 at 9.7 bar"},)"
         R"("starts_at":")" +
         store::FormatRfc3339(starts_at) + R"(","ends_at":)" + ends_at +
         R"(,"generator_url":"http://127.0.0.1:8086/api/v1/alerts?rule=tw-real-test"})";
}

// GET /api/v2/alerts with a filter on our alertname; the array.
nlohmann::json Alerts(const HttpClient& client, const std::string& base, const std::string& query) {
  StatusOr<HttpResponse> response = client.Send(
      {"GET", base + "/api/v2/alerts?filter=alertname%3D%22tw-real-test%22&" + query, {}, ""});
  EXPECT_TRUE(response.ok()) << response.status().ToString();
  if (!response.ok()) return nlohmann::json::array();
  EXPECT_EQ(response->status, 200) << response->body;
  return nlohmann::json::parse(response->body, nullptr, false);
}

TEST(AlertmanagerRealTest, FiringThenResolved) {
  ASSERT_TRUE(std::filesystem::exists(TIDEWATCH_ALERTMANAGER))
      << "Alertmanager not found; run deploy/install-deps.sh";
  AlertmanagerProcess alertmanager;
  StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create({});
  ASSERT_TRUE(client.ok());
  const std::string not_ready = alertmanager.WaitReady(**client);
  ASSERT_EQ(not_ready, "");

  AlertmanagerOptions options;
  options.url = alertmanager.url();
  StatusOr<std::unique_ptr<AlertmanagerEmitter>> emitter = AlertmanagerEmitter::Create(options);
  ASSERT_TRUE(emitter.ok()) << emitter.status().ToString();
  const std::int64_t starts_at = NowNs() - 60'000'000'000;

  Notification firing;
  firing.id = 1;
  firing.idempotency_key = "tw-1-0000000000000000-1";
  firing.payload = Payload("firing", starts_at, "null");
  const DeliveryResult sent = (*emitter)->Send(firing);
  ASSERT_EQ(sent.outcome, DeliveryOutcome::kDelivered) << sent.error;
  EXPECT_EQ(sent.http_status, 200);

  const nlohmann::json active = Alerts(**client, alertmanager.url(), "active=true");
  ASSERT_EQ(active.size(), 1u) << active.dump();
  EXPECT_EQ(active[0]["labels"].dump(),
            R"({"alertname":"tw-real-test","sensor":"pt-001","severity":"critical",)"
            R"("site":"site1"})");
  EXPECT_EQ(active[0]["annotations"]["summary"], "pt-001 at 9.7 bar");
  EXPECT_EQ(active[0]["generatorURL"], "http://127.0.0.1:8086/api/v1/alerts?rule=tw-real-test");
  EXPECT_NE(active[0]["status"]["state"], "suppressed");
  const std::optional<std::int64_t> ends_at =
      store::ParseRfc3339(active[0]["endsAt"].get<std::string>());
  ASSERT_TRUE(ends_at.has_value());
  EXPECT_GT(*ends_at, NowNs()) << "a firing alert ends in the future";

  Notification resolved = firing;
  resolved.id = 2;
  resolved.idempotency_key = "tw-1-0000000000000000-2";
  resolved.payload =
      Payload("resolved", starts_at, "\"" + store::FormatRfc3339(NowNs() - 1'000'000'000) + "\"");
  const DeliveryResult resolved_sent = (*emitter)->Send(resolved);
  ASSERT_EQ(resolved_sent.outcome, DeliveryOutcome::kDelivered) << resolved_sent.error;

  // Alertmanager lists only unresolved alerts: ours is gone, active or not.
  EXPECT_EQ(Alerts(**client, alertmanager.url(), "active=true").size(), 0u);
  EXPECT_EQ(Alerts(**client, alertmanager.url(), "").size(), 0u);
}

}  // namespace
}  // namespace tidewatch::sinks
