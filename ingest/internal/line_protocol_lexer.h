// The lexical layer of the line protocol decoder: where lines, names and string values
// end, which bytes a name may hold, and the scalar field values and timestamps. Pure
// functions over the payload; nothing here allocates.
//
// Thread safety: stateless; safe from any thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_LINE_PROTOCOL_LEXER_H_
#define TIDEWATCH_INGEST_INTERNAL_LINE_PROTOCOL_LEXER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/types.h"

namespace tidewatch::ingest::internal {

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The index of the first byte at or after `pos` that is not a space or tab.
inline std::size_t SkipBlanks(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsBlank(text[pos])) ++pos;
  return pos;
}

// What a byte means inside a name.
enum class ByteClass : std::uint8_t {
  kPlain,      // part of the name
  kSeparator,  // ends the name unless a backslash precedes it, which then escapes it
  kUnusual,    // part of the name, but the name must be checked by IsValidName()
};
using ByteTable = std::array<ByteClass, 256>;

// The byte classes of a measurement (separators ',' ' ') or of a tag key, tag value or
// field key (separators ',' '=' ' '). The escapable bytes are exactly the separators.
const ByteTable& NameBytes(bool is_measurement);

inline bool IsSeparator(const ByteTable& bytes, char c) {
  return bytes[static_cast<unsigned char>(c)] == ByteClass::kSeparator;
}

struct NameScan {
  std::size_t end = 0;         // index of the separator that ends the name, or text.size()
  bool escaped = false;        // some separator in it is escaped: unescape before use
  bool unusual_bytes = false;  // it holds a control or non-ASCII byte: validate before use
};

// Scans the name that starts at text[pos]. A separator ends it unless the byte before it
// is a backslash, whatever precedes that backslash (InfluxDB 1.x's rule).
NameScan ScanName(std::string_view text, std::size_t pos, const ByteTable& bytes);

// True if `name` is valid UTF-8 (no overlong forms, surrogates, or code points above
// U+10FFFF) and holds no C0 control character and no DEL.
bool IsValidName(std::string_view name);

struct StringEnd {
  std::size_t quote = 0;     // index of the closing '"', or text.size() if there is none
  bool has_escapes = false;  // it holds `\\` or `\"`: unescape before use
  std::size_t newlines = 0;  // '\n' bytes inside the string
};

// Scans the string value whose opening quote is text[open]. A backslash and the byte
// after it are taken as a pair, so `\"` does not close the string and `\\"` does.
StringEnd FindStringEnd(std::string_view text, std::size_t open);

struct LineEnd {
  std::size_t newline = 0;         // index of the '\n' that ends the line, or size()
  std::size_t inner_newlines = 0;  // '\n' bytes inside string values of the line
};

// Finds the end of the line starting at payload[begin]: the first newline outside a
// string field value. It follows the grammar just far enough to know where string values
// start ('"' right after the '=' of a field key, past the measurement and tags), in the
// same way as the parser, so the two agree on every good line. On a bad line they may
// disagree, which only decides where the bad line is taken to end.
LineEnd FindLineEnd(std::string_view payload, std::size_t begin);

// A number or boolean field value.
struct ScalarResult {
  const char* error = nullptr;  // why the text is no valid value; nullptr if it is
  store::FieldType type = store::FieldType::kFloat;
  double value = 0;
  std::int64_t integer = 0;
};

// Parses an unquoted field value: a float (-1.5, 1e10, .5, 5.), an integer (-12i,
// int64), or a boolean (t T true True TRUE f F false False FALSE).
// REQUIRES: !text.empty().
ScalarResult ParseScalar(std::string_view text);

// Parses a timestamp (-?[0-9]+) in units of `unit_ns` nanoseconds into `ts_ns`; returns
// nullptr, or why it is invalid or out of range.
const char* ParseTimestamp(std::string_view text, std::int64_t unit_ns, std::int64_t& ts_ns);

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_LINE_PROTOCOL_LEXER_H_
