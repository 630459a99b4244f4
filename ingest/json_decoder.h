// The JSON payload decoder for Kafka messages: one JSON object, or an array of objects,
// becomes points through a mapping taken from the [kafka.json] section of the config.
//
//     {"time": 1795000000123, "site": "north", "sensor": {"id": "s-17"}, "temp": 21.5}
//       with tag_keys = ["site", "sensor.id"] decodes to
//     json,sensor.id=s-17,site=north temp=21.5 1795000000123000000
//
// The output is the line protocol decoder's (DecodedLine, DecodedField, LineError,
// DecodeCounts from ingest/line_protocol.h), so both formats feed one ingest path. What
// is accepted, every error, and each decision (numbers are floats, duplicate keys are
// errors, ...) are specified in docs/JSON_PAYLOADS.md; tests/ingest/json_decoder_test.cc
// pins them down case by case.
//
// All or nothing for syntax, object by object for meaning. The payload is first checked
// as a whole: if it is not valid JSON (or breaks a limit) it yields one LineError with
// line_number 0 and decodes nothing, since a half-parsed document cannot be trusted. A
// valid payload decodes object by object: an object the mapping cannot make a point of
// (a missing timestamp, a field that is an array, ...) yields a LineError naming its
// index and is skipped; the objects around it decode normally.
//
// Views, not copies. Names and values are views into the payload, except strings written
// with escapes, which are unescaped into a scratch arena the decoder owns and reuses (and
// the field keys and tag keys named by the mapping, which point into the decoder). Once
// the decoder has seen its largest object, deepest nesting and largest field count,
// decoding allocates nothing; only a bad object costs an allocation (its LineError).
//
// Thread safety: a JsonDecoder is a single-threaded object: use one per consumer thread.
// Distinct decoders are independent. The free functions are thread-safe.
#ifndef TIDEWATCH_INGEST_JSON_DECODER_H_
#define TIDEWATCH_INGEST_JSON_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/internal/json_lexer.h"
#include "ingest/internal/json_paths.h"
#include "ingest/line_protocol.h"
#include "store/status.h"

namespace tidewatch::ingest {

// How the members of an object become a point. A key is a member name, or a dotted path
// to a member of nested objects: "sensor.id" is {"sensor": {"id": ...}}. A dot always
// separates, so a member whose name holds a dot cannot be named. Each key may have one
// role only, and no key may lie inside another ("sensor" and "sensor.id").
struct JsonMapping {
  enum class TimeUnit : std::uint8_t {
    kNanoseconds,
    kMicroseconds,
    kMilliseconds,
    kSeconds,
    kRfc3339,
  };

  // The member holding the point's time. Empty: every point gets the time the caller
  // passes to Decode() (the Kafka message timestamp). A missing or null timestamp makes
  // the object bad.
  std::string timestamp_key = "time";
  // A number in this unit (fractions allowed: 1795000000.5 s is exact to the ns; digits
  // below 1 ns are truncated toward zero), or with kRfc3339 a string like
  // "2026-11-21T08:00:00.123Z" or "2026-11-21T09:00:00+01:00". Default milliseconds,
  // what JavaScript's Date.now() and most Kafka producers write.
  TimeUnit timestamp_unit = TimeUnit::kMilliseconds;
  // The member holding the measurement name, a non-empty string; missing or null makes
  // the object bad. Empty: every point gets `measurement`.
  std::string measurement_key = {};
  std::string measurement = "json";
  // Members that become tags, named by their key ("sensor.id" is the tag key). A string
  // is the tag value; a number or a boolean its JSON text as written (12, 1.50, true), so
  // keep a producer's number format stable or it splits series. A missing or null member,
  // or an empty string, leaves the tag out. Objects and arrays make the object bad.
  std::vector<std::string> tag_keys = {};
  // Members that become fields, named by their key. Numbers are floats, booleans
  // booleans, strings string fields (counted by the caller, not kept in windows); a
  // missing or null member is left out. Objects and arrays make the object bad.
  // Empty: every top-level member whose value is a number or a boolean and whose key has
  // no other role becomes a field; strings, nulls, objects and arrays are then skipped.
  std::vector<std::string> field_keys = {};
};

// The timestamp_unit named in the config: "ns", "us", "ms", "s" or "rfc3339". nullopt for
// anything else.
std::optional<JsonMapping::TimeUnit> ParseJsonTimeUnit(std::string_view text);

// A point's time may be at most this far from the decoder's clock, either way: 100
// years of 365.25 days. Catches a unit mix-up (seconds read as milliseconds) as well as
// garbage, while any real backfill fits.
inline constexpr std::int64_t kMaxTimestampSkewNs = 3'155'760'000'000'000'000;

// The wall clock in nanoseconds since the epoch.
std::int64_t SystemClockNs();

struct JsonDecoderOptions {
  // The deepest nesting of arrays and objects a payload may have; the top-level array
  // and its objects are two levels. Bounds the work on hostile input. At least 2.
  std::size_t max_depth = 64;
  // The most values the top-level array may hold (bad ones included); a larger array
  // is a payload error. Bounds the points and errors of one message. At least 1.
  std::size_t max_objects = 100'000;
  // How many bad objects one Decode() call describes in `errors`; later ones are only
  // counted. Bounds the report a garbage payload produces.
  std::size_t max_errors = 100;
  // The clock timestamps are checked against (kMaxTimestampSkewNs); read once per
  // Decode() call. Tests put a fixed time here.
  std::int64_t (*now_ns)() = &SystemClockNs;
};

class JsonDecoder {
 public:
  // A decoder for `mapping`, or kInvalidArgument naming the option that is wrong: an
  // empty or malformed key ("a..b"), a key given twice or inside another, a tag or field
  // key that is reserved (time, _field, _measurement) or not valid UTF-8 without control
  // characters, an empty measurement with no measurement_key, or an option below its
  // minimum.
  static StatusOr<JsonDecoder> Create(JsonMapping mapping, JsonDecoderOptions options = {});

  JsonDecoder(JsonDecoder&&) = default;
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  // Decodes `payload` (a Kafka message value): calls on_line(const DecodedLine&) for
  // each object that makes a point, in payload order, and appends a LineError for each
  // one that does not (up to options.max_errors of them per call). `default_ts_ns` is the
  // time of every point when mapping.timestamp_key is empty (the Kafka message
  // timestamp); it is checked against the clock like any timestamp. For a point:
  //   line_number  the object's index in the array + 1 (1 for a lone object);
  //   tags         sorted by key, values non-empty;
  //   fields       in the order written, at least one, keys distinct;
  //   ts_ns        within kMaxTimestampSkewNs of the clock.
  // For a bad object the LineError has line_number = index + 1, column = 1-based byte
  // offset of the problem within the object, excerpt = the object's first 100 bytes, and
  // a reason that stands alone: `object 3: field "temp" is an array`. A payload error
  // (empty, invalid JSON, a limit, not an object or array) is the only error of its call:
  // line_number 0, column = 1-based byte offset in the payload, excerpt = the bytes around
  // it, reason `invalid JSON at byte 17: expected ':'` (the byte offset counts from 0);
  // it counts as one bad line. The views in a DecodedLine are valid only while the
  // callback that receives it runs; `payload` must outlive the call.
  // REQUIRES: on_line does not call Decode() on this decoder.
  template <class OnLine>
  DecodeCounts Decode(std::string_view payload, std::int64_t default_ts_ns, OnLine&& on_line,
                      std::vector<LineError>& errors) {
    DecodeCounts counts;
    Cursor cursor;
    if (!Start(payload, default_ts_ns, cursor, counts, errors)) return counts;
    while (const DecodedLine* line = Next(cursor, counts, errors)) on_line(*line);
    return counts;
  }

  // Heap bytes held by the scratch buffers; stops growing once the decoder is warm.
  std::size_t scratch_bytes() const;

 private:
  // Where the decoding of one payload stands.
  struct Cursor {
    std::size_t pos = 0;    // the next element, or the ']' after the last one
    std::size_t index = 0;  // the index of that element
    bool in_array = false;
    bool done = false;
    std::int64_t default_ts_ns = 0;
    std::int64_t min_ts_ns = 0;  // the clock -/+ kMaxTimestampSkewNs
    std::int64_t max_ts_ns = 0;
  };

  // A member value as the mapping sees it.
  struct Value {
    internal::JsonKind kind = internal::JsonKind::kNull;
    std::size_t pos = 0;    // where it starts in the payload
    std::string_view text;  // a string unescaped; a number or boolean as written
    bool unusual = false;   // a string with escapes or DEL: check it before it is a name
  };

  // Slots: the values an object may give each key of the mapping, found by the slot
  // number the path tree carries. Tags are in key order, so the present ones come out
  // sorted.
  static constexpr std::uint32_t kTimestampSlot = 0;
  static constexpr std::uint32_t kMeasurementSlot = 1;
  static constexpr std::uint32_t kFirstTagSlot = 2;

  JsonDecoder(JsonMapping mapping, JsonDecoderOptions options, internal::JsonPathTree paths,
              std::vector<std::string> slot_names);

  // Checks the whole payload and sets up the cursor; false (with the error recorded) if
  // nothing can be decoded.
  bool Start(std::string_view payload, std::int64_t default_ts_ns, Cursor& cursor,
             DecodeCounts& counts, std::vector<LineError>& errors);
  // Decodes elements from the cursor on until a good one, which it returns (valid until
  // the next call); records the bad ones on the way. nullptr after the last element.
  const DecodedLine* Next(Cursor& cursor, DecodeCounts& counts, std::vector<LineError>& errors);
  // Decodes the object at payload_[begin] into line_; false with error_pos_ and
  // error_reason_ set if it is bad. `end` is set past the object when it is good.
  bool DecodeObject(std::size_t begin, const Cursor& cursor, std::size_t& end);
  // Walks the members of the object at payload_[pos] ('{') along path node `node`,
  // leaving pos past its '}'.
  bool WalkObject(std::uint32_t node, std::size_t& pos);
  bool TakeMember(std::uint32_t slot, std::size_t key_pos, const Value& value);
  bool TakeTimestamp(const Value& value);
  bool TakeMeasurement(const Value& value);
  bool TakeTag(std::uint32_t slot, const Value& value);
  bool TakeAutoField(std::string_view key, bool key_unusual, std::size_t key_pos,
                     const Value& value);
  bool TakeField(std::string_view key, const Value& value);
  bool CheckDistinctAutoFields();
  bool FinishObject(std::size_t begin, const Cursor& cursor);
  // Reads the value at payload_[pos], leaving pos past it; objects and arrays are skipped.
  Value ReadValue(std::size_t& pos);
  // The inside of the string whose scan is given, unescaped into the arena if needed.
  std::string_view StringText(std::size_t open, std::size_t end, bool escaped);
  bool Fail(std::size_t pos, std::string reason);
  void RecordPayloadError(std::size_t pos, std::string reason, DecodeCounts& counts,
                          std::vector<LineError>& errors) const;

  // Constant after construction.
  JsonMapping mapping_;
  JsonDecoderOptions options_;
  internal::JsonPathTree paths_;
  std::vector<std::string> slot_names_;  // the key of each slot (tag and field names)
  std::uint32_t first_field_slot_ = 0;
  bool auto_fields_ = false;  // mapping_.field_keys is empty

  // The payload of the Decode() call running.
  std::string_view payload_;

  // Scratch of the object being decoded; line_ points into it and into the payload. The
  // arena is made as large as the payload's largest object before decoding starts: the
  // unescaped strings of one object never outgrow its text, so nothing in it moves.
  std::unique_ptr<char[]> arena_;
  std::size_t arena_capacity_ = 0;
  std::size_t arena_used_ = 0;
  std::vector<char> stack_;                // CheckJson's container stack, <= max_depth
  std::vector<std::uint8_t> seen_;         // per slot: the key occurred in this object
  std::vector<std::string_view> tag_values_;  // per tag slot; empty: no tag
  std::vector<store::TagView> tags_;
  std::vector<DecodedField> fields_;
  std::vector<std::size_t> auto_key_pos_;  // auto_fields_: where each field's key is
  std::vector<std::uint32_t> key_order_;   // CheckDistinctAutoFields' sort
  bool has_ts_ = false;
  bool has_measurement_ = false;
  std::size_t ts_pos_ = 0;
  std::int64_t ts_ns_ = 0;
  std::string_view measurement_value_;
  DecodedLine line_;

  // Where and why the current object is bad.
  std::size_t error_pos_ = 0;
  std::string error_reason_;
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_JSON_DECODER_H_
