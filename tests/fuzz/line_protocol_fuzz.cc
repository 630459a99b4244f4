// libFuzzer target for the line protocol decoder. Feeds each input to a decoder of every
// precision and checks that:
//   - decoding terminates without a crash or a sanitizer report;
//   - the counts and the errors agree, and each error points into the payload;
//   - every good line is well formed (names non-empty, tags sorted with distinct keys,
//     field keys distinct, timestamp in range) and round-trips: its AppendLineProtocol()
//     encoding decodes, with precision ns, to exactly one good line that encodes the same.
//
// Build: clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I. \
//          tests/fuzz/line_protocol_fuzz.cc ingest/line_protocol.cc \
//          ingest/internal/line_protocol_lexer.cc
// Run:   ./line_protocol_fuzz -max_total_time=60 tests/fuzz/corpus/line_protocol
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_protocol.h"

namespace tidewatch::ingest {
namespace {

constexpr std::int64_t kDefaultTs = 1'700'000'000'123'456'789;

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "check failed: %s: '%.*s'\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

bool WellFormed(const DecodedLine& line) {
  if (line.measurement.empty() || line.fields.empty()) return false;
  for (std::size_t i = 0; i + 1 < line.tags.size(); ++i) {
    if (!(line.tags[i].key < line.tags[i + 1].key)) return false;
  }
  for (const store::TagView& tag : line.tags) {
    if (tag.key.empty() || tag.value.empty()) return false;
  }
  for (std::size_t i = 0; i < line.fields.size(); ++i) {
    if (line.fields[i].key.empty()) return false;
    for (std::size_t j = i + 1; j < line.fields.size(); ++j) {
      if (line.fields[i].key == line.fields[j].key) return false;
    }
  }
  return line.ts_ns >= kMinTimestampNs && line.ts_ns <= kMaxTimestampNs;
}

// Decodes `encoded` (one line) again and checks it comes back identical.
void CheckRoundTrip(const std::string& encoded) {
  static LineProtocolDecoder checker(
      {.precision = Precision::kNanoseconds,
       .max_line_bytes = std::numeric_limits<std::size_t>::max()});
  std::vector<LineError> errors;
  std::string again;
  const DecodeCounts counts = checker.Decode(
      encoded, 0, [&again](const DecodedLine& line) { AppendLineProtocol(line, again); },
      errors);
  Check(counts.good_lines == 1 && counts.bad_lines == 0,
        errors.empty() ? "re-encoded line is not one good line" : errors[0].reason.c_str(),
        encoded);
  Check(again == encoded, "round trip changed the line", encoded);
}

void DecodeWith(LineProtocolDecoder& decoder, std::string_view payload, std::size_t max_errors) {
  const std::size_t physical_lines =
      static_cast<std::size_t>(std::count(payload.begin(), payload.end(), '\n')) + 1;
  std::vector<LineError> errors;
  std::string encoded;
  const DecodeCounts counts = decoder.Decode(
      payload, kDefaultTs,
      [&](const DecodedLine& line) {
        Check(WellFormed(line), "malformed good line");
        Check(line.line_number >= 1 && line.line_number <= physical_lines, "line number");
        encoded.clear();
        AppendLineProtocol(line, encoded);
        CheckRoundTrip(encoded);
      },
      errors);
  Check(errors.size() == std::min(counts.bad_lines, max_errors), "error count");
  Check(counts.good_lines + counts.bad_lines <= physical_lines, "more lines than newlines");
  for (const LineError& e : errors) {
    Check(e.line_number >= 1 && e.line_number <= physical_lines, "error line number");
    Check(e.column >= 1 && !e.reason.empty(), "error column or reason");
  }
}

}  // namespace
}  // namespace tidewatch::ingest

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tidewatch::ingest::LineProtocolDecoder;
  using tidewatch::ingest::Precision;
  constexpr std::size_t kMaxErrors = 4;
  // Kept across inputs, so the reuse of scratch buffers is fuzzed too. A small line limit
  // for one of them reaches the "line too long" path with short inputs.
  static std::array<LineProtocolDecoder, 6> decoders = {
      LineProtocolDecoder({.precision = Precision::kNanoseconds, .max_errors = kMaxErrors}),
      LineProtocolDecoder({.precision = Precision::kMicroseconds, .max_errors = kMaxErrors}),
      LineProtocolDecoder({.precision = Precision::kMilliseconds, .max_errors = kMaxErrors}),
      LineProtocolDecoder({.precision = Precision::kSeconds, .max_errors = kMaxErrors}),
      LineProtocolDecoder({.precision = Precision::kMinutes, .max_errors = kMaxErrors}),
      LineProtocolDecoder(
          {.precision = Precision::kHours, .max_line_bytes = 64, .max_errors = kMaxErrors}),
  };
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  for (LineProtocolDecoder& decoder : decoders) {
    tidewatch::ingest::DecodeWith(decoder, payload, kMaxErrors);
  }
  return 0;
}
