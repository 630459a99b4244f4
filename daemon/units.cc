#include "daemon/units.h"

#include <array>
#include <cstddef>
#include <limits>

namespace tidewatch::daemon {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

// Largest first: durations must list their units in this order.
constexpr std::array<Unit, 6> kDurationUnits = {{
    {"h", 3'600'000'000'000},
    {"m", 60'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
    {"us", 1'000},
    {"ns", 1},
}};

constexpr std::array<Unit, 10> kSizeUnits = {{
    {"B", 1},
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
    {"TiB", std::uint64_t{1} << 40},
    {"kB", 1'000},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads the digits at text[pos...] into `value`; false on overflow. REQUIRES: a digit.
bool ReadDigits(std::string_view text, std::size_t& pos, std::uint64_t& value) {
  value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (; pos < text.size() && IsDigit(text[pos]); ++pos) {
    const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (value > (kMax - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

Status DurationError(std::string_view text, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "expected a duration like \"30s\" or \"1h30m\", got " + QuoteForError(text) + " (" +
                    std::string(why) + ")");
}

Status SizeError(std::string_view text, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "expected a size like \"64KiB\", \"512MiB\" or \"100MB\", got " +
                    QuoteForError(text) + " (" + std::string(why) + ")");
}

}  // namespace

StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return DurationError(text, "empty");
  if (text[0] == '-' || text[0] == '+') return DurationError(text, "no sign allowed");
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t total = 0;
  std::size_t next_unit = 0;  // index into kDurationUnits the next group may use
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!IsDigit(text[pos])) return DurationError(text, "expected a digit");
    std::uint64_t value = 0;
    if (!ReadDigits(text, pos, value)) return DurationError(text, "too large");
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      return DurationError(text, "no fractions; use a smaller unit, e.g. \"1500ms\"");
    }
    const std::size_t unit_begin = pos;
    while (pos < text.size() && !IsDigit(text[pos])) ++pos;
    const std::string_view unit = text.substr(unit_begin, pos - unit_begin);
    if (unit.empty()) return DurationError(text, "missing unit: h, m, s, ms, us or ns");
    std::size_t index = 0;
    while (index < kDurationUnits.size() && kDurationUnits[index].name != unit) ++index;
    if (index == kDurationUnits.size()) {
      return DurationError(text,
                           "unknown unit " + QuoteForError(unit) + "; use h, m, s, ms, us or ns");
    }
    if (index < next_unit) return DurationError(text, "units must go from h down to ns");
    next_unit = index + 1;
    const std::uint64_t factor = kDurationUnits[index].factor;
    if (value > kMax / factor || value * factor > kMax - total) {
      return DurationError(text, "too large");
    }
    total += value * factor;
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

StatusOr<std::uint64_t> ParseSize(std::string_view text) {
  if (text.empty()) return SizeError(text, "empty");
  if (text[0] == '-' || text[0] == '+') return SizeError(text, "no sign allowed");
  if (!IsDigit(text[0])) return SizeError(text, "expected a digit");
  std::size_t pos = 0;
  std::uint64_t value = 0;
  if (!ReadDigits(text, pos, value)) return SizeError(text, "too large");
  if (pos == text.size()) return value;
  if (text[pos] == '.' || text[pos] == ',') {
    return SizeError(text, "no fractions; use a smaller unit, e.g. \"1536MiB\"");
  }
  const std::string_view unit = text.substr(pos);
  for (const Unit& u : kSizeUnits) {
    if (u.name != unit) continue;
    if (value > std::numeric_limits<std::uint64_t>::max() / u.factor) {
      return SizeError(text, "too large");
    }
    return value * u.factor;
  }
  return SizeError(text, "unknown unit " + QuoteForError(unit) +
                             "; use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB");
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  auto rest = static_cast<std::uint64_t>(d.count());
  if (rest == 0) return "0s";
  std::string out;
  for (const Unit& u : kDurationUnits) {
    if (rest < u.factor) continue;
    out += std::to_string(rest / u.factor);
    out += u.name;
    rest %= u.factor;
  }
  return out;
}

std::string FormatSize(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 4> kBinary = {"TiB", "GiB", "MiB", "KiB"};
  for (std::size_t i = 0; i < kBinary.size(); ++i) {
    const std::uint64_t factor = std::uint64_t{1} << (10 * (kBinary.size() - i));
    if (bytes != 0 && bytes % factor == 0) {
      return std::to_string(bytes / factor) + std::string(kBinary[i]);
    }
  }
  return std::to_string(bytes);
}

StatusOr<HostPort> ParseHostPort(std::string_view text) {
  auto error = [&](std::string_view why) {
    return Status(StatusCode::kInvalidArgument,
                  "expected host:port like \"127.0.0.1:8086\" or \"[::1]:8086\", got " +
                      QuoteForError(text) + " (" + std::string(why) + ")");
  };
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return error("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return error("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
    for (char c : host) {
      const bool hex = IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return error("bad IPv6 literal");
    }
    if (host.find(':') == std::string_view::npos) return error("bad IPv6 literal");
  } else {
    if (host.empty()) return error("empty host; use 0.0.0.0 or [::] for every interface");
    if (host.find(':') != std::string_view::npos) {
      return error("an IPv6 address needs brackets");
    }
    for (char c : host) {
      if (!IsDigit(c) && !IsLetter(c) && c != '.' && c != '-' && c != '_') {
        return error("bad character in host");
      }
    }
  }
  if (port.empty() || port.size() > 5) return error("port must be 0..65535");
  for (char c : port) {
    if (!IsDigit(c)) return error("port must be 0..65535");
  }
  std::size_t pos = 0;
  std::uint64_t value = 0;
  (void)ReadDigits(port, pos, value);  // at most 5 digits: cannot overflow
  if (value > 65535) return error("port must be 0..65535");
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string QuoteForError(std::string_view text) {
  constexpr std::size_t kMaxBytes = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxBytes) out += "...";
  out += '"';
  return out;
}

}  // namespace tidewatch::daemon
