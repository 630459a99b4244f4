#include "ingest/internal/line_protocol_lexer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <system_error>

#include "ingest/line_protocol.h"

namespace tidewatch::ingest::internal {
namespace {

constexpr const char* kInvalidNumber = "invalid number";
constexpr const char* kTimeOutOfRange =
    "time outside range -9223372036854775806 - 9223372036854775806";

constexpr ByteTable MakeNameBytes(std::string_view separators) {
  ByteTable bytes{};
  for (std::size_t c = 0; c < bytes.size(); ++c) {
    bytes[c] = c < 0x20 || c >= 0x7F ? ByteClass::kUnusual : ByteClass::kPlain;
  }
  for (const char c : separators) bytes[static_cast<unsigned char>(c)] = ByteClass::kSeparator;
  return bytes;
}

constexpr ByteTable kMeasurementBytes = MakeNameBytes(", ");
constexpr ByteTable kKeyBytes = MakeNameBytes(",= ");

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::size_t SkipDigits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  return pos;
}

std::size_t FindNewline(std::string_view text, std::size_t pos) {
  const void* newline = std::memchr(text.data() + pos, '\n', text.size() - pos);
  return newline == nullptr ? text.size()
                            : static_cast<std::size_t>(static_cast<const char*>(newline) -
                                                       text.data());
}

// True if `text` is a float as InfluxDB writes them: -?(D+(.D*)?|.D+)([eE][+-]?D+)?.
// No '+' sign, no hex, no inf or nan, no digit separators.
bool IsFloatSyntax(std::string_view text) {
  std::size_t i = text.starts_with('-') ? 1 : 0;
  const std::size_t int_begin = i;
  i = SkipDigits(text, i);
  std::size_t digits = i - int_begin;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_begin = ++i;
    i = SkipDigits(text, i);
    digits += i - frac_begin;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exp_begin = i;
    i = SkipDigits(text, i);
    if (i == exp_begin) return false;
  }
  return i == text.size();
}

// For a float in IsFloatSyntax form that from_chars found out of range: true if its
// magnitude is below 1, so it underflowed rather than overflowed. Out of range means a
// decimal exponent beyond about ±300, so the sign of a rough exponent decides.
bool IsBelowOne(std::string_view text) {
  std::size_t i = text.starts_with('-') ? 1 : 0;
  while (i < text.size() && text[i] == '0') ++i;
  const std::size_t int_end = SkipDigits(text, i);
  std::int64_t exponent = static_cast<std::int64_t>(int_end - i);  // significant int digits
  i = int_end;
  if (exponent == 0 && i < text.size() && text[i] == '.') {
    const std::size_t zeros_begin = ++i;
    while (i < text.size() && text[i] == '0') ++i;
    exponent = -static_cast<std::int64_t>(i - zeros_begin);
  }
  while (i < text.size() && text[i] != 'e' && text[i] != 'E') ++i;
  if (i < text.size()) {
    ++i;
    const bool negative = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    std::int64_t written = 0;
    for (; i < text.size() && written < 1'000'000'000; ++i) {
      written = written * 10 + (text[i] - '0');
    }
    exponent += negative ? -written : written;
  }
  return exponent < 0;
}

ScalarResult ParseFloat(std::string_view text) {
  ScalarResult result;
  if (!IsFloatSyntax(text)) {
    result.error = kInvalidNumber;
    return result;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result.value);
  if (ec == std::errc::result_out_of_range) {
    // Go's ParseFloat, which InfluxDB uses, rounds an underflow to zero and refuses an
    // overflow (it would be ±Inf).
    if (!IsBelowOne(text)) result.error = "float out of range";
    result.value = text.starts_with('-') ? -0.0 : 0.0;
  } else if (ec != std::errc() || end != text.data() + text.size()) {
    result.error = kInvalidNumber;
  }
  return result;
}

ScalarResult ParseInteger(std::string_view digits) {
  ScalarResult result;
  result.type = store::FieldType::kInteger;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(),
                                         result.integer);
  if (ec == std::errc::result_out_of_range) {
    result.error = "integer out of range: must fit in int64";
  } else if (ec != std::errc() || end != digits.data() + digits.size()) {
    result.error = kInvalidNumber;
  }
  result.value = static_cast<double>(result.integer);
  return result;
}

ScalarResult ParseBoolean(std::string_view text) {
  ScalarResult result;
  result.type = store::FieldType::kBoolean;
  if (text == "t" || text == "T" || text == "true" || text == "True" || text == "TRUE") {
    result.value = 1;
  } else if (text == "f" || text == "F" || text == "false" || text == "False" ||
             text == "FALSE") {
    result.value = 0;
  } else if (text[0] == 't' || text[0] == 'T' || text[0] == 'f' || text[0] == 'F') {
    result.error = "invalid boolean";
  } else {
    result.error = "invalid field value: expected a number, a boolean or a double-quoted string";
  }
  return result;
}

}  // namespace

const ByteTable& NameBytes(bool is_measurement) {
  return is_measurement ? kMeasurementBytes : kKeyBytes;
}

NameScan ScanName(std::string_view text, std::size_t pos, const ByteTable& bytes) {
  NameScan scan;
  const std::size_t begin = pos;
  for (; pos < text.size(); ++pos) {
    const ByteClass byte_class = bytes[static_cast<unsigned char>(text[pos])];
    if (byte_class == ByteClass::kPlain) continue;
    if (byte_class == ByteClass::kUnusual) {
      scan.unusual_bytes = true;
      continue;
    }
    if (pos == begin || text[pos - 1] != '\\') break;
    scan.escaped = true;
  }
  scan.end = pos;
  return scan;
}

bool IsValidName(std::string_view name) {
  std::size_t i = 0;
  while (i < name.size()) {
    const auto lead = static_cast<unsigned char>(name[i]);
    if (lead < 0x80) {
      if (lead < 0x20 || lead == 0x7F) return false;
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code_point = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code_point = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;  // a continuation byte, C0/C1 (overlong), or F5..FF
    }
    if (name.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(name[i + k]);
      if ((next & 0xC0u) != 0x80u) return false;
      code_point = (code_point << 6) | (next & 0x3Fu);
    }
    if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) {
      return false;
    }
    if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) return false;
    i += length;
  }
  return true;
}

StringEnd FindStringEnd(std::string_view text, std::size_t open) {
  StringEnd end;
  std::size_t i = open + 1;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') break;
    if (c == '\\' && i + 1 < text.size()) {
      ++i;
      if (text[i] == '\\' || text[i] == '"') end.has_escapes = true;
    }
    if (text[i] == '\n') ++end.newlines;
  }
  end.quote = i;
  return end;
}

LineEnd FindLineEnd(std::string_view payload, std::size_t begin) {
  const std::size_t first_newline = FindNewline(payload, begin);
  // Without a quote before the first newline no string value can hold it.
  if (std::memchr(payload.data() + begin, '"', first_newline - begin) == nullptr) {
    return {first_newline, 0};
  }
  std::size_t i = SkipBlanks(payload, begin);
  if (i < payload.size() && payload[i] == '#') return {first_newline, 0};

  enum class Part { kSeriesKey, kFieldKey, kFieldValue };
  Part part = Part::kSeriesKey;
  LineEnd end;
  for (; i < payload.size() && payload[i] != '\n'; ++i) {
    const char c = payload[i];
    const bool escaped = i > begin && payload[i - 1] == '\\';
    switch (part) {
      case Part::kSeriesKey:  // measurement and tags, up to the first unescaped space
        if (c == ' ' && !escaped) {
          part = Part::kFieldKey;
          i = SkipBlanks(payload, i + 1) - 1;
        }
        break;
      case Part::kFieldKey:
        if (c == '=' && !escaped) {
          part = Part::kFieldValue;
          if (i + 1 < payload.size() && payload[i + 1] == '"') {
            const StringEnd string_end = FindStringEnd(payload, i + 1);
            end.inner_newlines += string_end.newlines;
            i = string_end.quote;  // payload.size() if unterminated: the line runs to the end
          }
        } else if (c == ' ' && !escaped) {
          part = Part::kFieldValue;  // a bad line; its end is the next newline
          i = FindNewline(payload, i) - 1;
        }
        break;
      case Part::kFieldValue:
        if (c == ',') {
          part = Part::kFieldKey;
        } else if (c == ' ') {  // the timestamp holds no strings
          i = FindNewline(payload, i) - 1;
        }
        break;
    }
  }
  end.newline = std::min(i, payload.size());
  return end;
}

ScalarResult ParseScalar(std::string_view text) {
  const char first = text[0];
  if (!IsDigit(first) && first != '-' && first != '+' && first != '.') return ParseBoolean(text);
  if (text.back() == 'i') return ParseInteger(text.substr(0, text.size() - 1));
  ScalarResult result;
  if (text.back() == 'u') {
    const std::string_view digits = text.substr(0, text.size() - 1);
    result.error = !digits.empty() && SkipDigits(digits, 0) == digits.size()
                       ? "unsigned integers (u suffix) are not supported"
                       : kInvalidNumber;
    return result;
  }
  return ParseFloat(text);
}

const char* ParseTimestamp(std::string_view text, std::int64_t unit_ns, std::int64_t& ts_ns) {
  std::int64_t units = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), units);
  if (ec == std::errc::result_out_of_range) return kTimeOutOfRange;
  if (ec != std::errc() || end != text.data() + text.size()) return "bad timestamp";
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(units, unit_ns, &ns) || ns < kMinTimestampNs ||
      ns > kMaxTimestampNs) {
    return kTimeOutOfRange;
  }
  ts_ns = ns;
  return nullptr;
}

}  // namespace tidewatch::ingest::internal
