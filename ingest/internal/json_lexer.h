// The lexical layer of the JSON decoder: strings, numbers, whitespace, skipping a value,
// and the syntax check of a whole payload (RFC 8259, strictly: UTF-8 only, no lone
// surrogates, no NaN or Infinity, no trailing commas, no comments).
//
// The decoder reads a payload twice: CheckJson() first proves the whole document valid,
// so that a syntax error decodes nothing; then the mapping pass walks it again and may
// rely on that validity. Both passes scan strings and numbers with the same functions.
// Nothing here allocates except CheckJson()'s stack, which the caller owns and reuses.
//
// Thread safety: stateless; safe from any thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_JSON_LEXER_H_
#define TIDEWATCH_INGEST_INTERNAL_JSON_LEXER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tidewatch::ingest::internal {

enum class JsonKind : std::uint8_t { kObject, kArray, kString, kNumber, kBoolean, kNull };

// The kind of the valid value whose first byte is `first`.
inline JsonKind JsonKindAt(char first) {
  switch (first) {
    case '{':
      return JsonKind::kObject;
    case '[':
      return JsonKind::kArray;
    case '"':
      return JsonKind::kString;
    case 't':
    case 'f':
      return JsonKind::kBoolean;
    case 'n':
      return JsonKind::kNull;
    default:
      return JsonKind::kNumber;
  }
}

// "an object", "an array", "a string", "a number", "a boolean", "null": for messages.
const char* JsonKindName(JsonKind kind);

inline bool IsJsonWhitespace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline std::size_t SkipJsonWhitespace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsJsonWhitespace(text[pos])) ++pos;
  return pos;
}

struct JsonStringScan {
  std::size_t end = 0;          // index just past the closing quote; on error, where it is
  const char* error = nullptr;  // why the string is invalid; nullptr if it is valid
  bool escaped = false;         // holds a backslash escape: unescape before use
  bool unusual = false;         // holds an escape or a DEL byte: a name made of it must be
                                // checked for control characters (IsValidName)
};

// Scans and validates the string whose opening quote is text[open]: no raw control
// bytes, valid escapes, \u escapes forming no lone surrogate, valid UTF-8.
JsonStringScan ScanJsonString(std::string_view text, std::size_t open);

// Writes the inside of a valid string (without quotes; a JsonStringScan found no error)
// to `out`, escapes resolved to UTF-8, and returns how many bytes it wrote. Never more
// than raw.size(): no escape is shorter than the UTF-8 it stands for.
std::size_t UnescapeJsonString(std::string_view raw, char* out);

struct JsonScan {
  std::size_t end = 0;          // index just past the token; on error, where the problem is
  const char* error = nullptr;  // nullptr if the token is valid
};

// Scans a number -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at text[pos];
// a number followed directly by a letter, digit, '.', '+' or '-' ("01", "1x") is invalid.
JsonScan ScanJsonNumber(std::string_view text, std::size_t pos);

// Converts a valid JSON number to the nearest double, as Go's strconv.ParseFloat does: a
// magnitude too small for a double becomes 0 (or -0); false if it is too large (it would
// be infinite; 1e999).
bool ParseJsonDouble(std::string_view number, double& value);

// Scans the string, number, true, false or null starting at text[pos].
// REQUIRES: pos < text.size().
JsonScan ScanJsonScalar(std::string_view text, std::size_t pos);

// The index just past the value that starts at text[pos].
// REQUIRES: the value is valid JSON (CheckJson() accepted the text holding it).
std::size_t SkipJsonValue(std::string_view text, std::size_t pos);

// The reasons CheckJson() gives when a limit is hit; the caller adds the limit. Arrays,
// so that each has one address in every translation unit and can be compared by it.
inline constexpr char kJsonTooDeep[] = "nesting too deep";
inline constexpr char kJsonTooManyElements[] = "too many array elements";

struct JsonCheck {
  const char* error = nullptr;  // nullptr if the payload is valid
  std::size_t error_pos = 0;    // byte offset of the problem
  std::size_t elements = 0;     // values in the top-level array (1 for any other value)
  std::size_t largest_element = 0;  // bytes of the largest of them
};

// Checks that text[pos...] is one JSON value with nothing but whitespace after it,
// nested at most `max_depth` arrays and objects deep, and, if it is an array, holding at
// most `max_elements` values. `stack` is scratch: it holds one byte per open container.
// REQUIRES: pos < text.size(), max_depth >= 1.
JsonCheck CheckJson(std::string_view text, std::size_t pos, std::size_t max_depth,
                    std::size_t max_elements, std::vector<char>& stack);

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_JSON_LEXER_H_
