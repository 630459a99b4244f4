#include "store/rfc3339.h"

#include <chrono>
#include <cstdio>
#include <limits>

namespace tidewatch::store {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
// Floor division, so times before 1970 land in the right second and day.
std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Reads exactly `digits` decimal digits at `pos`.
bool ReadNumber(std::string_view text, std::size_t pos, std::size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

void AppendRfc3339(std::int64_t ns, std::string& out) {
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
  out.append(buffer, static_cast<std::size_t>(n));
  if (fraction != 0) {
    n = std::snprintf(buffer, sizeof buffer, ".%09u", fraction);
    std::size_t length = static_cast<std::size_t>(n);
    while (buffer[length - 1] == '0') --length;
    out.append(buffer, length);
  }
  out.push_back('Z');
}

std::string FormatRfc3339(std::int64_t ns) {
  std::string out;
  AppendRfc3339(ns, out);
  return out;
}

std::optional<std::int64_t> ParseRfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadNumber(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !ReadNumber(text, 5, 2, month) || text[7] != '-' || !ReadNumber(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !ReadNumber(text, 11, 2, hour) || text[13] != ':' ||
      !ReadNumber(text, 14, 2, minute) || text[16] != ':' || !ReadNumber(text, 17, 2, second)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return std::nullopt;
      fraction = fraction * 10 + (text[pos++] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 9; ++i) fraction *= 10;
  }
  std::int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    if (!ReadNumber(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !ReadNumber(text, pos + 4, 2, offset_minutes) ||
        offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset = (offset_hours * 60 + offset_minutes) * 60;
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  // int64 ns covers 1677-09-21 .. 2262-04-11; keep clear of both ends.
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / kNanosPerSecond - 1;
  if (seconds < -kLimit || seconds > kLimit) return std::nullopt;
  return seconds * kNanosPerSecond + fraction;
}

}  // namespace tidewatch::store
