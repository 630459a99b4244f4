// Runs `promtool check metrics` over a rendered /metrics page, as a Prometheus server
// would read it. The test fails when promtool cannot be found (deploy/install-deps.sh
// installs it); the build passes its path as TIDEWATCH_PROMTOOL.
#ifndef TIDEWATCH_TESTS_DAEMON_PROMTOOL_CHECK_H_
#define TIDEWATCH_TESTS_DAEMON_PROMTOOL_CHECK_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tidewatch::test_promtool {

inline std::string PromtoolPath() {
  const std::string configured = TIDEWATCH_PROMTOOL;
  if (access(configured.c_str(), X_OK) == 0) return configured;
  std::string found;
  if (FILE* pipe = popen("command -v promtool", "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe) != nullptr) found += buf;
    pclose(pipe);
  }
  while (!found.empty() && found.back() == '\n') found.pop_back();
  return found;
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr: lint findings and parse errors
};

inline PromtoolResult CheckWithPromtool(const std::string& page) {
  PromtoolResult result;
  const std::string promtool = PromtoolPath();
  if (promtool.empty()) {
    ADD_FAILURE() << "promtool not found (deploy/install-deps.sh installs it)";
    return result;
  }
  std::string file = testing::TempDir() + "/metrics_XXXXXX";
  const int fd = mkstemp(file.data());
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return result;
  }
  close(fd);
  std::ofstream(file, std::ios::binary) << page;
  const std::string command = "'" + promtool + "' check metrics < '" + file + "' 2>&1";
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe) != nullptr) result.output += buf;
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::remove(file.c_str());
  return result;
}

// promtool accepts the page without a finding.
inline void ExpectPromtoolAccepts(const std::string& page) {
  const PromtoolResult r = CheckWithPromtool(page);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\npage:\n" << page;
  EXPECT_EQ(r.output, "") << "page:\n" << page;
}

}  // namespace tidewatch::test_promtool

#endif  // TIDEWATCH_TESTS_DAEMON_PROMTOOL_CHECK_H_
