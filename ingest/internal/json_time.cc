#include "ingest/internal/json_time.h"

#include <chrono>
#include <cstddef>
#include <limits>

namespace tidewatch::ingest::internal {
namespace {

constexpr std::uint64_t kMaxMagnitude = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
// Beyond this a decimal exponent turns any non-zero mantissa of a payload-sized number
// into an overflow or into zero, so larger ones need not be told apart.
constexpr std::int64_t kExponentLimit = 1'000'000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::size_t SkipDigits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  return pos;
}

// Reads the `length` digits at text[pos] into `value`; false if they are not all digits.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t length, int& value) {
  if (text.size() < pos + length) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + length; ++i) {
    if (!IsDigit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

// The number is m × 10^shift, m the integer formed by all mantissa digits (the '.'
// dropped) and shift = exponent - fraction digits + unit_exponent. Only the leading
// digits above the decimal point of the result are accumulated, in uint64 with an
// overflow check per step.
const char* ScaleJsonTimestamp(std::string_view number, int unit_exponent, std::int64_t& ts_ns) {
  const bool negative = number.starts_with('-');
  const std::size_t int_begin = negative ? 1 : 0;
  const std::size_t int_end = SkipDigits(number, int_begin);
  std::size_t frac_begin = int_end;
  std::size_t frac_end = int_end;
  if (frac_end < number.size() && number[frac_end] == '.') {
    frac_begin = frac_end + 1;
    frac_end = SkipDigits(number, frac_begin);
  }
  std::int64_t exponent = 0;
  if (frac_end < number.size()) {  // 'e' or 'E'
    std::size_t i = frac_end + 1;
    const bool negative_exponent = number[i] == '-';
    if (number[i] == '+' || number[i] == '-') ++i;
    for (; i < number.size(); ++i) {
      if (exponent < kExponentLimit) exponent = exponent * 10 + (number[i] - '0');
    }
    if (negative_exponent) exponent = -exponent;
  }
  const auto int_digits = static_cast<std::int64_t>(int_end - int_begin);
  const auto frac_digits = static_cast<std::int64_t>(frac_end - frac_begin);
  const std::int64_t shift = exponent - frac_digits + unit_exponent;
  const std::int64_t keep = int_digits + frac_digits + (shift < 0 ? shift : 0);

  std::uint64_t magnitude = 0;
  for (std::int64_t k = 0; k < keep; ++k) {
    const char c = k < int_digits ? number[int_begin + static_cast<std::size_t>(k)]
                                  : number[frac_begin + static_cast<std::size_t>(k - int_digits)];
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (magnitude > (kMaxMagnitude - digit) / 10) return kTimeOutOfRange;
    magnitude = magnitude * 10 + digit;
  }
  for (std::int64_t k = 0; k < shift && magnitude != 0; ++k) {
    if (magnitude > kMaxMagnitude / 10) return kTimeOutOfRange;
    magnitude *= 10;
  }
  const auto value = static_cast<std::int64_t>(magnitude);
  ts_ns = negative ? -value : value;
  return nullptr;
}

const char* ParseRfc3339(std::string_view text, std::int64_t& ts_ns) {
  constexpr const char* kSyntax =
      "not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.fraction] and Z or +hh:mm or -hh:mm)";
  if (text.size() < 20) return kSyntax;  // the shortest is YYYY-MM-DDThh:mm:ssZ
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, 0, 4, year) || text[4] != '-' || !ReadDigits(text, 5, 2, month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !ReadDigits(text, 11, 2, hour) || text[13] != ':' || !ReadDigits(text, 14, 2, minute) ||
      text[16] != ':' || !ReadDigits(text, 17, 2, second)) {
    return kSyntax;
  }
  std::size_t i = 19;
  std::int64_t fraction_ns = 0;
  if (i < text.size() && text[i] == '.') {
    const std::size_t begin = ++i;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (i - begin < 9) fraction_ns = fraction_ns * 10 + (text[i] - '0');
    }
    if (i == begin) return kSyntax;
    for (std::size_t digits = i - begin; digits < 9; ++digits) fraction_ns *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    if (!ReadDigits(text, i + 1, 2, offset_hours) || text.size() < i + 6 || text[i + 3] != ':' ||
        !ReadDigits(text, i + 4, 2, offset_minutes)) {
      return kSyntax;
    }
    if (offset_hours > 23 || offset_minutes > 59) return "UTC offset out of range";
    offset_s = (text[i] == '-' ? -1 : 1) * (offset_hours * 3600 + offset_minutes * 60);
    i += 6;
  } else {
    return kSyntax;
  }
  if (i != text.size()) return kSyntax;

  using std::chrono::year_month_day;
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return "no such date";
  if (hour > 23 || minute > 59 || second > 59) return "no such time of day";
  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  const std::int64_t seconds = days * 86'400 + hour * 3'600 + minute * 60 + second - offset_s;
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &ns) ||
      __builtin_add_overflow(ns, fraction_ns, &ns)) {
    return kTimeOutOfRange;
  }
  ts_ns = ns;
  return nullptr;
}

}  // namespace tidewatch::ingest::internal
