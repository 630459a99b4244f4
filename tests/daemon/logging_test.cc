#include "daemon/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

namespace tidewatch::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::internal::CaptureStderr;
using ::testing::internal::GetCapturedStderr;

// One test: the logger is process-wide and installed once per process.
TEST(LoggingTest, ASecondConfigureChangesTheSameLoggerInPlace) {
  CaptureStderr();
  ConfigureLogging({.level = LogLevel::kInfo, .format = LogFormat::kPlain});
  spdlog::logger* installed = spdlog::default_logger_raw();
  spdlog::warn("plain \"one\"");

  // What a SIGHUP reload does. Other threads may be logging through the raw pointer
  // they hold, so the logger must not be replaced (spdlog would free it under them).
  ConfigureLogging({.level = LogLevel::kWarn, .format = LogFormat::kJson});
  spdlog::info("below the new level");
  spdlog::warn("json \"two\"");
  const std::string out = GetCapturedStderr();

  EXPECT_EQ(spdlog::default_logger_raw(), installed);
  EXPECT_EQ(installed->name(), "tidewatchd");
  EXPECT_THAT(out, HasSubstr("Z warning tidewatchd: plain \"one\"\n"));
  EXPECT_THAT(out, HasSubstr(R"(,"level":"warning","msg":"json \"two\""})"));
  EXPECT_THAT(out, Not(HasSubstr("below the new level")));
}

}  // namespace
}  // namespace tidewatch::daemon
