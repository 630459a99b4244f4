#include "rules/internal/rfc3339.h"

#include <chrono>
#include <cstdio>

namespace tidewatch::rules::internal {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Floor division, so times before 1970 land in the right second and day.
std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::string FormatRfc3339Nano(std::int64_t ns) {
  const std::int64_t seconds = FloorDiv(ns, kNanosPerSecond);
  const auto fraction = static_cast<std::uint32_t>(ns - seconds * kNanosPerSecond);
  const std::int64_t days = FloorDiv(seconds, 86'400);
  const std::int64_t second_of_day = seconds - days * 86'400;
  const std::chrono::year_month_day date{
      std::chrono::sys_days{std::chrono::days{static_cast<std::chrono::days::rep>(days)}}};
  char buffer[64];
  int n = std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                        static_cast<unsigned>(date.day()), static_cast<int>(second_of_day / 3600),
                        static_cast<int>(second_of_day / 60 % 60),
                        static_cast<int>(second_of_day % 60));
  std::string out(buffer, static_cast<std::size_t>(n));
  if (fraction != 0) {
    n = std::snprintf(buffer, sizeof buffer, ".%09u", fraction);
    std::size_t length = static_cast<std::size_t>(n);
    while (buffer[length - 1] == '0') --length;
    out.append(buffer, length);
  }
  out.push_back('Z');
  return out;
}

}  // namespace tidewatch::rules::internal
