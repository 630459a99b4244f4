#include "rules/internal/time_literal.h"

#include <cstdint>

namespace tidewatch::rules::internal {

namespace {

// Reads exactly `n` digits at text[pos]; advances pos.
std::optional<int> Digits(std::string_view text, std::size_t& pos, std::size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<store::Timestamp> ParseTimeLiteral(std::string_view text) {
  std::size_t pos = 0;
  const auto y = Digits(text, pos, 4);
  if (!y || !Expect(text, pos, '-')) return std::nullopt;
  const auto mo = Digits(text, pos, 2);
  if (!mo || !Expect(text, pos, '-')) return std::nullopt;
  const auto d = Digits(text, pos, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > DaysInMonth(*y, *mo)) return std::nullopt;
  std::int64_t seconds = DaysFromCivil(*y, *mo, *d) * 86400;
  std::int64_t fraction_ns = 0;
  if (pos < text.size()) {
    const char sep = text[pos];
    const bool rfc3339 = sep == 'T' || sep == 't';
    if (!rfc3339 && sep != ' ') return std::nullopt;
    ++pos;
    const auto h = Digits(text, pos, 2);
    if (!h || !Expect(text, pos, ':')) return std::nullopt;
    const auto mi = Digits(text, pos, 2);
    if (!mi || !Expect(text, pos, ':')) return std::nullopt;
    const auto s = Digits(text, pos, 2);
    if (!s || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
    seconds += *h * 3600 + *mi * 60 + *s;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      std::int64_t scale = 100'000'000;
      const std::size_t digits_start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (scale == 0) return std::nullopt;  // more than 9 digits
        fraction_ns += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == digits_start) return std::nullopt;
    }
    if (rfc3339) {
      if (pos >= text.size()) return std::nullopt;
      const char zone = text[pos++];
      if (zone == '+' || zone == '-') {
        const auto oh = Digits(text, pos, 2);
        if (!oh || !Expect(text, pos, ':')) return std::nullopt;
        const auto om = Digits(text, pos, 2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        const std::int64_t offset = *oh * 3600 + *om * 60;
        seconds += zone == '+' ? -offset : offset;
      } else if (zone != 'Z' && zone != 'z') {
        return std::nullopt;
      }
    }
  }
  if (pos != text.size()) return std::nullopt;
  // int64 ns spans 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z.
  constexpr std::int64_t kMaxSeconds = INT64_MAX / 1'000'000'000;
  if (seconds > kMaxSeconds || seconds < -kMaxSeconds - 1) return std::nullopt;
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, std::int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, fraction_ns, &ns)) {
    return std::nullopt;
  }
  return ns;
}

}  // namespace tidewatch::rules::internal
