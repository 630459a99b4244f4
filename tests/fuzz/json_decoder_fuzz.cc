// libFuzzer target for the JSON payload decoder. Feeds each input to decoders of three
// mappings (automatic fields; RFC 3339 time, measurement key, dotted tag and field keys;
// message time with tight limits) and checks that:
//   - decoding terminates without a crash or a sanitizer report;
//   - the counts and the errors agree: a payload error is the only error and nothing is
//     decoded with it; object errors and points carry increasing object numbers within
//     the limits, and each error's column lies inside its object;
//   - every point is well formed: names non-empty and valid UTF-8 without control
//     characters, tags sorted with distinct keys, field keys distinct, numbers finite,
//     the timestamp within kMaxTimestampSkewNs of the clock;
//   - decoding again with the now warm decoder gives exactly the same result.
//
// Build: clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I. \
//          tests/fuzz/json_decoder_fuzz.cc ingest/json_decoder.cc ingest/internal/json_*.cc \
//          ingest/internal/line_protocol_lexer.cc ingest/line_protocol.cc store/status.cc
// Run:   ./json_decoder_fuzz -max_total_time=60 tests/fuzz/corpus/json_decoder
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/internal/line_protocol_lexer.h"
#include "ingest/json_decoder.h"

namespace tidewatch::ingest {
namespace {

constexpr std::int64_t kNowNs = 1'800'000'000'000'000'000;
constexpr std::int64_t kMessageTs = 1'795'000'000'000'000'000;
constexpr std::size_t kMaxErrors = 3;
constexpr std::size_t kMaxObjects = 8;

std::int64_t FixedClock() { return kNowNs; }

void Check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "check failed: %s: '%.*s'\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

bool IsName(std::string_view name) { return !name.empty() && internal::IsValidName(name); }

void CheckPoint(const DecodedLine& line) {
  Check(IsName(line.measurement), "measurement", line.measurement);
  for (std::size_t i = 0; i < line.tags.size(); ++i) {
    Check(IsName(line.tags[i].key) && IsName(line.tags[i].value), "tag", line.tags[i].value);
    Check(i == 0 || line.tags[i - 1].key < line.tags[i].key, "tags not sorted", line.tags[i].key);
  }
  Check(!line.fields.empty(), "no fields");
  for (std::size_t i = 0; i < line.fields.size(); ++i) {
    const DecodedField& field = line.fields[i];
    Check(IsName(field.key), "field key", field.key);
    Check(field.is_string || std::isfinite(field.value), "field value not finite", field.key);
    for (std::size_t j = 0; j < i; ++j) {
      Check(line.fields[j].key != field.key, "repeated field key", field.key);
    }
  }
  Check(line.ts_ns >= kNowNs - kMaxTimestampSkewNs && line.ts_ns <= kNowNs + kMaxTimestampSkewNs,
        "timestamp out of range");
}

// Decodes `payload`, checks the result, and returns it as text.
std::string DecodeChecked(JsonDecoder& decoder, std::string_view payload,
                          std::size_t max_objects) {
  std::vector<LineError> errors;
  std::string out;
  std::size_t last_number = 0;
  const DecodeCounts counts = decoder.Decode(
      payload, kMessageTs,
      [&](const DecodedLine& line) {
        CheckPoint(line);
        Check(line.line_number > last_number, "object numbers not increasing");
        last_number = line.line_number;
        out += std::to_string(line.line_number) + " " + std::string(line.measurement) + " " +
               std::to_string(line.fields.size()) + " " + std::to_string(line.ts_ns) + "\n";
      },
      errors);
  Check(errors.size() == std::min(counts.bad_lines, kMaxErrors), "error count");
  Check(counts.good_lines + counts.bad_lines <= max_objects, "more objects than the limit");
  for (const LineError& e : errors) {
    Check(!e.reason.empty() && e.column >= 1, "error reason or column", e.reason);
    if (e.line_number == 0) {
      Check(counts.good_lines == 0 && counts.bad_lines == 1, "payload error with more", e.reason);
      Check(e.column <= payload.size() + 1, "payload error column", e.reason);
    } else {
      Check(e.line_number <= max_objects, "object error number", e.reason);
      Check(e.column <= payload.size(), "object error column", e.reason);
    }
    out += "! " + std::to_string(e.line_number) + ":" + std::to_string(e.column) + " " +
           e.reason + "\n";
  }
  return out;
}

JsonDecoder Make(JsonMapping mapping, JsonDecoderOptions options) {
  options.now_ns = &FixedClock;
  options.max_errors = kMaxErrors;
  StatusOr<JsonDecoder> decoder = JsonDecoder::Create(std::move(mapping), options);
  Check(decoder.ok(), "mapping", decoder.status().message());
  return std::move(decoder).value();
}

}  // namespace
}  // namespace tidewatch::ingest

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tidewatch::ingest;  // NOLINT(build/namespaces): a fuzz entry point
  using Unit = JsonMapping::TimeUnit;
  // Kept across inputs, so the reuse of scratch buffers is fuzzed too.
  static JsonDecoder automatic = Make({}, {});
  static JsonDecoder listed = Make({.timestamp_key = "t.at",
                                    .timestamp_unit = Unit::kRfc3339,
                                    .measurement_key = "m",
                                    .tag_keys = {"host", "s.id", "s.k"},
                                    .field_keys = {"v", "s.v", "x"}},
                                   {});
  static JsonDecoder tight = Make({.timestamp_key = "", .tag_keys = {"id"}},
                                  {.max_depth = 4, .max_objects = kMaxObjects});
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  struct Run {
    JsonDecoder* decoder;
    std::size_t max_objects;
  };
  const Run runs[] = {{&automatic, 100'000}, {&listed, 100'000}, {&tight, kMaxObjects}};
  for (const Run& run : runs) {
    const std::string first = DecodeChecked(*run.decoder, payload, run.max_objects);
    const std::string again = DecodeChecked(*run.decoder, payload, run.max_objects);
    Check(first == again, "decoding again differs", first);
  }
  return 0;
}
