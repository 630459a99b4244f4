#include "ingest/internal/json_lexer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <system_error>

namespace tidewatch::ingest::internal {
namespace {

constexpr const char* kInvalidNumber = "invalid number";
constexpr const char* kNotJsonNumber = "NaN and Infinity are not valid JSON";

// What a byte means inside a string. Plain bytes are the common case and are skipped in
// a tight loop; everything else needs a look.
enum class StringByte : std::uint8_t { kPlain, kQuote, kBackslash, kControl, kDel, kNonAscii };

constexpr std::array<StringByte, 256> MakeStringBytes() {
  std::array<StringByte, 256> bytes{};
  for (std::size_t c = 0; c < bytes.size(); ++c) {
    bytes[c] = c < 0x20    ? StringByte::kControl
               : c < 0x7F  ? StringByte::kPlain
               : c == 0x7F ? StringByte::kDel
                           : StringByte::kNonAscii;
  }
  bytes['"'] = StringByte::kQuote;
  bytes['\\'] = StringByte::kBackslash;
  return bytes;
}

constexpr std::array<StringByte, 256> kStringBytes = MakeStringBytes();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::size_t SkipDigits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  return pos;
}

// The value of the four hex digits at text[pos], or -1.
int Hex4(std::string_view text, std::size_t pos) {
  if (text.size() - pos < 4) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + 4; ++i) {
    const char c = text[i];
    int digit = 0;
    if (IsDigit(c)) {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

bool IsHighSurrogate(int unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool IsLowSurrogate(int unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

// The length of the well-formed UTF-8 sequence at p[0] (a byte >= 0x80), or 0. The
// ranges of the second byte exclude overlong forms, surrogates and code points above
// U+10FFFF (Unicode 15, table 3-7).
std::size_t Utf8SequenceLength(const unsigned char* p, std::size_t available) {
  const unsigned char lead = p[0];
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (available < length || p[1] < low || p[1] > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((p[k] & 0xC0u) != 0x80u) return 0;
  }
  return length;
}

// Checks the escape whose backslash is text[i]; returns the index after it, or 0 with
// `error` set.
std::size_t ScanEscape(std::string_view text, std::size_t i, const char*& error) {
  if (i + 1 == text.size()) {
    error = "unterminated string";
    return 0;
  }
  switch (text[i + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      return i + 2;
    case 'u':
      break;
    default:
      error = "invalid escape";
      return 0;
  }
  const int unit = Hex4(text, i + 2);
  if (unit < 0) {
    error = "invalid \\u escape: expected four hex digits";
    return 0;
  }
  if (IsHighSurrogate(unit) && text.substr(i + 6, 2) == "\\u" &&
      IsLowSurrogate(Hex4(text, i + 8))) {
    return i + 12;
  }
  if (IsHighSurrogate(unit) || IsLowSurrogate(unit)) {
    error = "lone surrogate in \\u escape";
    return 0;
  }
  return i + 6;
}

// Writes `code_point` as UTF-8 to out; returns the bytes written.
std::size_t AppendUtf8(std::uint32_t code_point, char* out) {
  auto byte = [](std::uint32_t bits) {
    return static_cast<char>(static_cast<unsigned char>(bits));
  };
  if (code_point < 0x80) {
    out[0] = byte(code_point);
    return 1;
  }
  if (code_point < 0x800) {
    out[0] = byte(0xC0 | (code_point >> 6));
    out[1] = byte(0x80 | (code_point & 0x3F));
    return 2;
  }
  if (code_point < 0x10000) {
    out[0] = byte(0xE0 | (code_point >> 12));
    out[1] = byte(0x80 | ((code_point >> 6) & 0x3F));
    out[2] = byte(0x80 | (code_point & 0x3F));
    return 3;
  }
  out[0] = byte(0xF0 | (code_point >> 18));
  out[1] = byte(0x80 | ((code_point >> 12) & 0x3F));
  out[2] = byte(0x80 | ((code_point >> 6) & 0x3F));
  out[3] = byte(0x80 | (code_point & 0x3F));
  return 4;
}

// Checks the literal (true, false, null) that `word` should be at text[pos]; returns the
// index after it, or 0.
std::size_t ScanLiteral(std::string_view text, std::size_t pos, std::string_view word) {
  if (text.substr(pos, word.size()) != word) return 0;
  pos += word.size();
  return pos < text.size() && IsAlnum(text[pos]) ? 0 : pos;
}

// For a valid number that from_chars found out of range: true if its magnitude is below
// 1, so it underflowed rather than overflowed. Out of range means a decimal exponent
// beyond about ±300, so the sign of a rough one decides.
bool IsBelowOne(std::string_view number) {
  std::size_t i = number.starts_with('-') ? 1 : 0;
  std::int64_t exponent = 0;  // of the first significant digit, roughly
  if (number[i] == '0') {  // "0.": a plain 0 is never out of range
    for (i += 2; i < number.size() && number[i] == '0'; ++i) --exponent;
    --exponent;
  }
  for (; i < number.size() && number[i] != 'e' && number[i] != 'E'; ++i) {
    if (exponent >= 0 && number[i] != '.') ++exponent;
  }
  if (i < number.size()) {
    const bool negative = number[i + 1] == '-';
    std::int64_t written = 0;
    for (++i; i < number.size() && written < 1'000'000'000; ++i) {
      if (IsDigit(number[i])) written = written * 10 + (number[i] - '0');
    }
    exponent += negative ? -written : written;
  }
  return exponent < 0;
}

}  // namespace

const char* JsonKindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kObject:
      return "an object";
    case JsonKind::kArray:
      return "an array";
    case JsonKind::kString:
      return "a string";
    case JsonKind::kNumber:
      return "a number";
    case JsonKind::kBoolean:
      return "a boolean";
    case JsonKind::kNull:
      return "null";
  }
  return "";
}

bool ParseJsonDouble(std::string_view number, double& value) {
  const char* const end = number.data() + number.size();
  if (std::from_chars(number.data(), end, value).ec != std::errc::result_out_of_range) return true;
  value = number.starts_with('-') ? -0.0 : 0.0;
  return IsBelowOne(number);
}

JsonStringScan ScanJsonString(std::string_view text, std::size_t open) {
  JsonStringScan scan;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = open + 1;
  while (true) {
    while (i < n && kStringBytes[bytes[i]] == StringByte::kPlain) ++i;
    if (i == n) {
      scan.error = "unterminated string";
      scan.end = open;
      return scan;
    }
    switch (kStringBytes[bytes[i]]) {
      case StringByte::kQuote:
        scan.end = i + 1;
        return scan;
      case StringByte::kBackslash: {
        const std::size_t next = ScanEscape(text, i, scan.error);
        if (next == 0) {
          scan.end = i;
          return scan;
        }
        scan.escaped = scan.unusual = true;
        i = next;
        break;
      }
      case StringByte::kControl:
        scan.error = "control character in string: escape it";
        scan.end = i;
        return scan;
      case StringByte::kDel:
        scan.unusual = true;
        ++i;
        break;
      case StringByte::kNonAscii: {
        const std::size_t length = Utf8SequenceLength(bytes + i, n - i);
        if (length == 0) {
          scan.error = "invalid UTF-8 in string";
          scan.end = i;
          return scan;
        }
        i += length;
        break;
      }
      case StringByte::kPlain:
        break;
    }
  }
}

std::size_t UnescapeJsonString(std::string_view raw, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out[n++] = raw[i];
      continue;
    }
    const char kind = raw[++i];
    switch (kind) {
      case 'b':
        out[n++] = '\b';
        break;
      case 'f':
        out[n++] = '\f';
        break;
      case 'n':
        out[n++] = '\n';
        break;
      case 'r':
        out[n++] = '\r';
        break;
      case 't':
        out[n++] = '\t';
        break;
      case 'u': {
        auto code_point = static_cast<std::uint32_t>(Hex4(raw, i + 1));
        i += 4;
        if (IsHighSurrogate(static_cast<int>(code_point))) {
          const auto low = static_cast<std::uint32_t>(Hex4(raw, i + 3));
          code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        n += AppendUtf8(code_point, out + n);
        break;
      }
      default:  // '"', '\\', '/'
        out[n++] = kind;
        break;
    }
  }
  return n;
}

JsonScan ScanJsonNumber(std::string_view text, std::size_t pos) {
  JsonScan scan;
  const std::size_t n = text.size();
  std::size_t i = pos;
  auto invalid = [&scan](std::size_t at, const char* why) {
    scan.end = at;
    scan.error = why;
    return scan;
  };
  if (i < n && text[i] == '-') ++i;
  if (i < n && text[i] == '0') {
    ++i;
  } else if (i < n && IsDigit(text[i])) {
    i = SkipDigits(text, i);
  } else {
    return invalid(i, i < n && text[i] == 'I' ? kNotJsonNumber : kInvalidNumber);
  }
  if (i < n && text[i] == '.') {
    const std::size_t fraction = ++i;
    i = SkipDigits(text, i);
    if (i == fraction) return invalid(i, kInvalidNumber);
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exponent = i;
    i = SkipDigits(text, i);
    if (i == exponent) return invalid(i, kInvalidNumber);
  }
  if (i < n && (IsAlnum(text[i]) || text[i] == '.' || text[i] == '+' || text[i] == '-')) {
    return invalid(i, kInvalidNumber);
  }
  scan.end = i;
  return scan;
}

JsonScan ScanJsonScalar(std::string_view text, std::size_t pos) {
  const char c = text[pos];
  if (c == '"') {
    const JsonStringScan string = ScanJsonString(text, pos);
    return {string.end, string.error};
  }
  if (c == '-' || IsDigit(c)) return ScanJsonNumber(text, pos);
  if (c == 'N' || c == 'I') return {pos, kNotJsonNumber};
  const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
  if (c != 't' && c != 'f' && c != 'n') return {pos, "expected a value"};
  const std::size_t end = ScanLiteral(text, pos, word);
  if (end == 0) return {pos, "invalid literal: expected true, false or null"};
  return {end, nullptr};
}

std::size_t SkipJsonValue(std::string_view text, std::size_t pos) {
  std::size_t depth = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '"') {
      pos = ScanJsonString(text, pos).end;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++pos;
    } else if (c == '}' || c == ']') {
      --depth;
      ++pos;
    } else if (depth == 0) {  // a number or a literal
      while (pos < text.size() && !IsJsonWhitespace(text[pos]) && text[pos] != ',' &&
             text[pos] != '}' && text[pos] != ']') {
        ++pos;
      }
      return pos;
    } else {
      ++pos;
    }
    if (depth == 0) return pos;
  }
  return pos;
}

JsonCheck CheckJson(std::string_view text, std::size_t pos, std::size_t max_depth,
                    std::size_t max_elements, std::vector<char>& stack) {
  JsonCheck check;
  auto fail = [&check](std::size_t at, const char* why) {
    check.error = why;
    check.error_pos = at;
    return check;
  };
  // The elements are the values of the top-level array, or the top-level value itself
  // if it is no array: those at this depth.
  const std::size_t element_depth = text[pos] == '[' ? 1 : 0;
  std::size_t element_begin = pos;
  auto value_ended = [&](std::size_t end) {
    if (stack.size() == element_depth) {
      check.largest_element = std::max(check.largest_element, end - element_begin);
    }
  };
  const std::size_t n = text.size();
  stack.clear();
  enum class Expect { kValue, kKey, kAfterValue };
  Expect expect = Expect::kValue;
  while (true) {
    pos = SkipJsonWhitespace(text, pos);
    switch (expect) {
      case Expect::kKey: {
        if (pos == n || text[pos] != '"') return fail(pos, "expected a string key");
        const JsonStringScan key = ScanJsonString(text, pos);
        if (key.error != nullptr) return fail(key.end, key.error);
        pos = SkipJsonWhitespace(text, key.end);
        if (pos == n || text[pos] != ':') return fail(pos, "expected ':'");
        ++pos;
        expect = Expect::kValue;
        break;
      }
      case Expect::kValue: {
        if (pos == n) return fail(pos, "unexpected end of payload: expected a value");
        if (stack.size() == element_depth) {
          if (++check.elements > max_elements) return fail(pos, kJsonTooManyElements);
          element_begin = pos;
        }
        const char c = text[pos];
        if (c != '{' && c != '[') {
          const JsonScan scalar = ScanJsonScalar(text, pos);
          if (scalar.error != nullptr) return fail(scalar.end, scalar.error);
          pos = scalar.end;
          value_ended(pos);
          expect = Expect::kAfterValue;
        } else if (stack.size() == max_depth) {
          return fail(pos, kJsonTooDeep);
        } else {
          stack.push_back(c);
          pos = SkipJsonWhitespace(text, pos + 1);
          if (pos < n && text[pos] == (c == '{' ? '}' : ']')) {  // empty
            stack.pop_back();
            value_ended(++pos);
            expect = Expect::kAfterValue;
          } else {
            expect = c == '{' ? Expect::kKey : Expect::kValue;
          }
        }
        break;
      }
      case Expect::kAfterValue: {
        if (stack.empty()) {
          return pos == n ? check : fail(pos, "unexpected text after the JSON value");
        }
        const bool in_object = stack.back() == '{';
        if (pos < n && text[pos] == ',') {
          ++pos;
          expect = in_object ? Expect::kKey : Expect::kValue;
        } else if (pos < n && text[pos] == (in_object ? '}' : ']')) {
          stack.pop_back();
          value_ended(++pos);
        } else {
          return fail(pos, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        break;
      }
    }
  }
}

}  // namespace tidewatch::ingest::internal
