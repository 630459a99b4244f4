// tidewatchd: parse the command line, load the config, build the daemon, run it until
// SIGTERM or SIGINT, shut it down gracefully. SIGHUP re-reads the config file and
// applies what can change live (log level and format, and the rules file, which a bad
// edit cannot break: its errors are logged and the rules loaded before stay); everything
// else needs a restart, which the log says.
//
//   tidewatchd [--config FILE]     run (no --config: embedded defaults)
//   tidewatchd --check-config FILE validate FILE, print every error, exit 0 or 1
//   tidewatchd --test-rules FILE   run rule unit tests (daemon/rule_test_tool.h)
//   tidewatchd --version
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/rule_test_tool.h"

namespace {

using tidewatch::daemon::DaemonConfig;

// A shutdown that takes longer than this (a stuck broker, a full disk) ends the
// process with exit code 1 instead of hanging; the last good snapshot stays in place.
constexpr std::chrono::seconds kShutdownDeadline{60};

constexpr std::string_view kUsage =
    "usage: tidewatchd [--config FILE] | --check-config FILE | --test-rules FILE | --version\n"
    "  --config FILE        run with the TOML config FILE (default: embedded defaults:\n"
    "                       HTTP on 127.0.0.1:8086, data under ./tidewatch-data, no Kafka)\n"
    "  --check-config FILE  validate FILE and exit (0: valid, 1: errors printed)\n"
    "  --test-rules FILE    run the alert rule tests in FILE and exit (0: passed,\n"
    "                       1: a test failed, 2: invalid file); see docs/RULES.md\n"
    "  --version            print the version and exit\n";

struct Args {
  std::string config_path;
  std::string rule_tests_path;
  bool check_only = false;
  bool version = false;
};

bool ParseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--config" || arg == "--check-config") && i + 1 < argc) {
      args.config_path = argv[++i];
      args.check_only = arg == "--check-config";
    } else if (arg == "--test-rules" && i + 1 < argc) {
      args.rule_tests_path = argv[++i];
    } else if (arg == "--version") {
      args.version = true;
    } else {
      return false;
    }
  }
  return true;
}

// Blocks the signals we handle in every thread (threads inherit the mask), so that
// sigwait() in main receives them.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void Reload(const std::string& path, tidewatch::daemon::Daemon& daemon) {
  if (path.empty()) {
    spdlog::info("SIGHUP: running on embedded defaults, nothing to reload");
    return;
  }
  tidewatch::StatusOr<DaemonConfig> config = tidewatch::daemon::LoadConfig(path);
  if (!config.ok()) {
    spdlog::error("SIGHUP: keeping the running config: {}", config.status().message());
    return;
  }
  // Channels first: a set they refuse keeps the whole running config (the rules file may
  // name the new channels), and the rules' load warns of channels that do not exist.
  if (!daemon.ReloadChannels(config->channels)) {
    spdlog::error("SIGHUP: keeping the running config: its [[channels]] were refused");
    return;
  }
  tidewatch::daemon::ConfigureLogging(config->log);
  daemon.ReloadRules(config->rules.file);
  spdlog::info(
      "SIGHUP: log settings, [[channels]] and the rules file reloaded from {}; other changes "
      "take a restart",
      path);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    std::cerr << kUsage;
    return 2;
  }
  if (args.version) {
    std::cout << "tidewatchd " << tidewatch::daemon::kVersion << "\n";
    return 0;
  }
  if (!args.rule_tests_path.empty()) {
    return tidewatch::daemon::RunRuleTests(args.rule_tests_path, std::cout);
  }
  tidewatch::StatusOr<DaemonConfig> config = args.config_path.empty()
                                                 ? tidewatch::daemon::DefaultConfig()
                                                 : tidewatch::daemon::LoadConfig(args.config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 1;
  }
  if (args.check_only) {
    std::cout << args.config_path << ": ok\n";
    return 0;
  }

  const sigset_t signals = BlockSignals();
  tidewatch::daemon::ConfigureLogging(config->log);
  spdlog::info("tidewatchd {} starting ({})", tidewatch::daemon::kVersion,
               args.config_path.empty() ? "embedded defaults" : args.config_path);
  auto daemon = tidewatch::daemon::Daemon::Create(*std::move(config));
  if (!daemon.ok()) {
    spdlog::error("{}", daemon.status().message());
    return 1;
  }
  if (tidewatch::Status s = (*daemon)->Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }

  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) Reload(args.config_path, **daemon);
  spdlog::info("{}: shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");

  std::thread([] {
    std::this_thread::sleep_for(kShutdownDeadline);
    spdlog::error("shutdown took longer than {} s; exiting", kShutdownDeadline.count());
    spdlog::default_logger()->flush();
    _exit(1);
  }).detach();
  (*daemon)->Stop();
  daemon->reset();
  spdlog::info("stopped");
  return 0;
}
