#include "daemon/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "daemon/query_json.h"

namespace tidewatch::daemon {
namespace {

// %j in the pattern: the message as a JSON string, quotes included.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    std::string quoted;
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), quoted);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

spdlog::level::level_enum ToSpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void ConfigureLogging(const LogConfig& config) {
  // spdlog forbids replacing the default logger while other threads log through it
  // (they hold its raw pointer), so it is installed once and later calls change it in
  // place: a sink's formatter is swapped under the sink's mutex, levels are atomics.
  static std::once_flag installed;
  std::call_once(installed, [] {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "tidewatchd", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  });
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc,
                                                               std::string("\n"));
  if (config.format == LogFormat::kJson) {
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %n: %v");
  }
  spdlog::logger& logger = *spdlog::default_logger_raw();
  logger.set_formatter(std::move(formatter));
  logger.set_level(ToSpdlogLevel(config.level));
  logger.flush_on(spdlog::level::warn);
}

}  // namespace tidewatch::daemon
