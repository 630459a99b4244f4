// The InfluxDB line protocol decoder, shared by Kafka ingest and HTTP /write.
//
// A payload is a sequence of lines
//     measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [ts]
// The accepted grammar, every error, and each place where it differs from InfluxDB 1.x
// are specified in docs/LINE_PROTOCOL.md; the tests in tests/ingest/line_protocol_test.cc
// pin them down case by case.
//
// Views, not copies. Names and string values are views into the payload, except those
// written with escapes: they are unescaped into a scratch buffer the decoder owns and
// reuses. Tags and fields are collected in scratch vectors reused the same way. Once the
// decoder has seen its longest line and its largest tag and field counts, decoding
// allocates nothing; only a bad line costs an allocation (its LineError).
//
// Bad lines. Each one is reported as a LineError (line number, column, reason) and
// skipped; the lines around it decode normally. A line ends at the first newline that is
// not inside a quoted string field value, as in InfluxDB, so an unterminated string makes
// the rest of the payload one bad line.
//
// Thread safety: a LineProtocolDecoder is a single-threaded object: use one per consumer
// thread or request worker. Distinct decoders are independent. The free functions are
// thread-safe.
#ifndef TIDEWATCH_INGEST_LINE_PROTOCOL_H_
#define TIDEWATCH_INGEST_LINE_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/series_index.h"
#include "store/types.h"

namespace tidewatch::ingest {

// The unit of the timestamps in a payload: InfluxDB's `precision` write parameter.
enum class Precision : std::uint8_t {
  kNanoseconds,
  kMicroseconds,
  kMilliseconds,
  kSeconds,
  kMinutes,
  kHours,
};

// The precision named by InfluxDB's `precision` parameter: "" (absent) "n" "ns" "u" "us"
// "ms" "s" "m" "h", case-sensitive. nullopt for anything else ("µs", "NS", "d"); the HTTP
// layer answers 400 then, as InfluxDB does. ("us" is InfluxDB 2.x's spelling; 1.x only
// knows "u".)
std::optional<Precision> ParsePrecision(std::string_view text);

// Nanoseconds in one unit of `precision` (1 for ns ... 3,600,000,000,000 for h).
std::int64_t NanosecondsPerUnit(Precision precision);

// The timestamps a line may carry, after scaling to nanoseconds. InfluxDB 1.x reserves the
// three int64 values outside this range for itself and refuses them; so do we.
inline constexpr std::int64_t kMinTimestampNs = std::numeric_limits<std::int64_t>::min() + 2;
inline constexpr std::int64_t kMaxTimestampNs = std::numeric_limits<std::int64_t>::max() - 1;

struct DecodedField {
  std::string_view key;  // unescaped, never empty
  // A string field. Callers count it; the window store does not keep strings. When true,
  // only `key` and `string_value` are meaningful.
  bool is_string = false;
  store::FieldType type = store::FieldType::kFloat;
  // The value as the window store keeps it: the float; the integer converted to double
  // (exact up to 2^53 in magnitude, rounded to the nearest double beyond); a boolean as
  // 1 or 0.
  double value = 0;
  std::int64_t integer = 0;       // type == kInteger: the exact value
  std::string_view string_value;  // is_string: unescaped; may hold any bytes
};

// One decoded line. The views point into the payload or into the decoder's scratch and
// are valid only while the callback that receives the line runs.
struct DecodedLine {
  std::string_view measurement;           // unescaped, never empty
  std::span<const store::TagView> tags;   // sorted by key (byte order), keys distinct
  std::span<const DecodedField> fields;   // in the order written, at least one, keys
                                          // distinct: of repeated keys the last one wins
  std::int64_t ts_ns = 0;                 // in [kMinTimestampNs, kMaxTimestampNs] if written
  std::size_t line_number = 0;            // 1-based line of the payload where it starts
};

struct LineError {
  std::size_t line_number = 0;  // 1-based line of the payload where the bad line starts
  std::size_t column = 0;       // 1-based byte offset in that line where the problem is
  std::string reason;           // e.g. "missing fields", "duplicate tag key \"host\""
  std::string excerpt;          // the line without leading blanks, cut at 100 bytes
                                // (then "..." is appended); raw bytes, maybe not UTF-8

  // "line 3, column 11: unable to parse 'cpu,host=a': missing fields", the middle part
  // worded as InfluxDB words it.
  std::string ToString() const;
};

struct DecodeCounts {
  std::size_t good_lines = 0;
  std::size_t bad_lines = 0;  // all of them, also those beyond max_errors
};

struct LineProtocolOptions {
  // The unit of the timestamps written in the payload.
  Precision precision = Precision::kNanoseconds;
  // The longest line accepted, in bytes, without its "\n" or "\r\n"; a longer line is a
  // bad line. Bounds the decoder's scratch memory (this much for unescaped text, plus the
  // tag and field vectors) and so the longest string field value (InfluxDB limits strings
  // to 64 KiB too). Default 64 KiB; Telegraf's lines are far shorter.
  std::size_t max_line_bytes = 64 * 1024;
  // How many bad lines one Decode() call describes in `errors`; later ones are only
  // counted. Bounds the memory and the size of the report a garbage payload produces.
  std::size_t max_errors = 100;
};

// Appends `line` in line protocol, followed by "\n": names escaped, tags in the order
// given, floats in the shortest form that reads back exactly, integers with "i",
// booleans as true/false, strings quoted, the timestamp in nanoseconds. Decoding the
// result with precision ns yields `line` again (line_number aside) whenever `line` came
// from the decoder. Meant for tests, dead-letter payloads and tools, not the hot path.
void AppendLineProtocol(const DecodedLine& line, std::string& out);

class LineProtocolDecoder {
 public:
  explicit LineProtocolDecoder(LineProtocolOptions options = {});

  LineProtocolDecoder(LineProtocolDecoder&&) = default;
  LineProtocolDecoder(const LineProtocolDecoder&) = delete;
  LineProtocolDecoder& operator=(const LineProtocolDecoder&) = delete;

  // Decodes every line of `payload`: calls on_line(const DecodedLine&) for each good
  // line, in payload order, and appends a LineError for each bad line (up to
  // options.max_errors of them per call). Blank lines and comment lines ("#" after
  // optional blanks) are skipped and counted as neither. A line without a timestamp gets
  // `default_ts_ns` (the Kafka message time or the server's clock), truncated toward
  // zero to the precision as InfluxDB truncates its clock.
  // REQUIRES: on_line does not call Decode() on this decoder.
  template <class OnLine>
  DecodeCounts Decode(std::string_view payload, std::int64_t default_ts_ns, OnLine&& on_line,
                      std::vector<LineError>& errors) {
    DecodeCounts counts;
    Cursor cursor{payload};
    while (const DecodedLine* line = Next(cursor, default_ts_ns, counts, errors)) {
      on_line(*line);
    }
    return counts;
  }

  // Heap bytes held by the scratch buffers; stops growing once the decoder is warm.
  std::size_t scratch_bytes() const;

 private:
  struct Cursor {
    std::string_view payload;
    std::size_t pos = 0;          // where the next line starts
    std::size_t line_number = 1;  // the physical line at pos
  };

  // Decodes lines from the cursor on until a good one, which it returns (valid until the
  // next call); records the bad ones on the way. nullptr at the end of the payload.
  const DecodedLine* Next(Cursor& cursor, std::int64_t default_ts_ns, DecodeCounts& counts,
                          std::vector<LineError>& errors);

  // Parses `line` (no terminator) from `pos`, its first non-blank byte, into line_;
  // false with error_offset_ and error_reason_ set if it is bad.
  bool ParseLine(std::string_view line, std::size_t pos, std::int64_t default_ts_ns);
  bool ParseTags(std::string_view line, std::size_t& pos);
  bool ParseFields(std::string_view line, std::size_t& pos);
  bool ParseFieldValue(std::string_view line, std::size_t& pos, DecodedField& field);
  bool ParseTimestamp(std::string_view line, std::size_t pos, std::int64_t& ts_ns);
  // Scans the name at line[pos...] up to its separator, leaving pos there; validates it
  // and stores it, unescaped, in `out`. `what` names it in errors.
  bool TakeName(std::string_view line, std::size_t& pos, bool is_measurement,
                const char* what, std::string_view& out);
  // Removes every field whose key occurs again later in the line.
  void DropOverwrittenFields();
  // Copies `raw` into the arena, unescaped; see the .cc for the rules.
  std::string_view UnescapeName(std::string_view raw, bool is_measurement);
  std::string_view UnescapeString(std::string_view raw);
  bool Fail(std::size_t offset, std::string_view reason);

  // Constant after construction.
  const LineProtocolOptions options_;
  const std::int64_t unit_ns_;

  // Scratch of the line being decoded; line_ points into it (and into the payload).
  // Unescaped text never outgrows the raw line, so after ParseLine has made the arena as
  // large as the line, nothing in it moves while the line is parsed.
  std::unique_ptr<char[]> arena_;
  std::size_t arena_capacity_ = 0;
  std::size_t arena_used_ = 0;
  std::vector<store::TagView> tags_;
  std::vector<DecodedField> fields_;
  std::vector<std::uint32_t> field_order_;  // indices into fields_, for DropOverwrittenFields
  DecodedLine line_;

  // Where and why the current line is bad.
  std::size_t error_offset_ = 0;
  std::string error_reason_;
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_LINE_PROTOCOL_H_
