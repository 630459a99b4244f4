#include "ingest/json_decoder.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>
#include <utility>

#include "ingest/internal/json_lexer.h"
#include "ingest/internal/json_time.h"
#include "ingest/internal/line_protocol_lexer.h"

namespace tidewatch::ingest {

using internal::JsonKind;
using internal::JsonPathTree;
using internal::SkipJsonWhitespace;

namespace {

constexpr std::size_t kMaxExcerptBytes = 100;
// Bytes of the payload shown before a payload error's position.
constexpr std::size_t kExcerptLeadBytes = 40;
// Up to this many fields, repeated keys are looked for pair by pair; beyond it by sorting,
// so an object of 10,000 numeric members costs n log n, not n^2.
constexpr std::size_t kPairwiseFieldLimit = 16;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr const char* kBadName = "not valid UTF-8, or contains a control character";

// Keys InfluxDB keeps for itself, as in the line protocol decoder.
bool IsReservedKey(std::string_view key) {
  return key == "time" || key == "_field" || key == "_measurement";
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::int64_t AddSaturated(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b < 0 ? std::numeric_limits<std::int64_t>::min()
               : std::numeric_limits<std::int64_t>::max();
}

// Per JsonMapping::TimeUnit: the power of ten of nanoseconds in one unit, and what an error
// message expects.
struct UnitInfo {
  int exponent;
  const char* expected;
};
constexpr UnitInfo kUnits[] = {{0, "a number of nanoseconds"},
                               {3, "a number of microseconds"},
                               {6, "a number of milliseconds"},
                               {9, "a number of seconds"},
                               {9, "an RFC 3339 date-time string"}};

const UnitInfo& InfoOf(JsonMapping::TimeUnit unit) {
  return kUnits[static_cast<std::size_t>(unit)];
}

}  // namespace

std::optional<JsonMapping::TimeUnit> ParseJsonTimeUnit(std::string_view text) {
  using Unit = JsonMapping::TimeUnit;
  if (text == "ns") return Unit::kNanoseconds;
  if (text == "us") return Unit::kMicroseconds;
  if (text == "ms") return Unit::kMilliseconds;
  if (text == "s") return Unit::kSeconds;
  if (text == "rfc3339") return Unit::kRfc3339;
  return std::nullopt;
}

std::int64_t SystemClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<JsonDecoder> JsonDecoder::Create(JsonMapping mapping, JsonDecoderOptions options) {
  auto invalid = [](std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  };
  if (options.max_depth < 2) return invalid("max_depth: must be at least 2");
  if (options.max_objects < 1) return invalid("max_objects: must be at least 1");
  if (options.now_ns == nullptr) return invalid("now_ns: no clock");
  if (mapping.measurement_key.empty() &&
      (mapping.measurement.empty() || !internal::IsValidName(mapping.measurement))) {
    return invalid("measurement: " + Quoted(mapping.measurement) +
                   (mapping.measurement.empty() ? " is empty, and measurement_key is empty too"
                                                : std::string(" is ") + kBadName));
  }
  std::vector<std::string> tags = mapping.tag_keys;
  std::sort(tags.begin(), tags.end());
  std::vector<std::string> slot_names = {mapping.timestamp_key, mapping.measurement_key};
  slot_names.insert(slot_names.end(), tags.begin(), tags.end());
  slot_names.insert(slot_names.end(), mapping.field_keys.begin(), mapping.field_keys.end());

  const std::size_t first_field_slot = kFirstTagSlot + tags.size();
  JsonPathTree paths;
  for (std::uint32_t slot = 0; slot < slot_names.size(); ++slot) {
    const std::string& name = slot_names[slot];
    const char* option = slot == kTimestampSlot      ? "timestamp_key"
                         : slot == kMeasurementSlot  ? "measurement_key"
                         : slot < first_field_slot   ? "tag_keys"
                                                     : "field_keys";
    if (slot < kFirstTagSlot && name.empty()) continue;  // not taken from the payload
    const Status added = paths.Add(name, slot);
    if (!added.ok()) return invalid(std::string(option) + ": " + added.message());
    if (slot < kFirstTagSlot) continue;  // names of output keys only below
    if (!internal::IsValidName(name)) {
      return invalid(std::string(option) + ": " + Quoted(name) + " is " + kBadName);
    }
    if (IsReservedKey(name)) {
      return invalid(std::string(option) + ": " + Quoted(name) + " is reserved");
    }
  }
  return JsonDecoder(std::move(mapping), options, std::move(paths), std::move(slot_names));
}

JsonDecoder::JsonDecoder(JsonMapping mapping, JsonDecoderOptions options,
                         JsonPathTree paths, std::vector<std::string> slot_names)
    : mapping_(std::move(mapping)),
      options_(options),
      paths_(std::move(paths)),
      slot_names_(std::move(slot_names)),
      first_field_slot_(static_cast<std::uint32_t>(kFirstTagSlot + mapping_.tag_keys.size())),
      auto_fields_(mapping_.field_keys.empty()),
      seen_(slot_names_.size()),
      tag_values_(mapping_.tag_keys.size()) {
  tags_.reserve(mapping_.tag_keys.size());
  fields_.reserve(mapping_.field_keys.size());
}

std::size_t JsonDecoder::scratch_bytes() const {
  return arena_capacity_ + stack_.capacity() + seen_.capacity() +
         tag_values_.capacity() * sizeof(std::string_view) +
         tags_.capacity() * sizeof(store::TagView) + fields_.capacity() * sizeof(DecodedField) +
         auto_key_pos_.capacity() * sizeof(std::size_t) +
         key_order_.capacity() * sizeof(std::uint32_t) + error_reason_.capacity();
}

void JsonDecoder::RecordPayloadError(std::size_t pos, std::string reason, DecodeCounts& counts,
                                     std::vector<LineError>& errors) const {
  counts.bad_lines = 1;
  if (options_.max_errors == 0) return;
  const std::size_t begin = pos > kExcerptLeadBytes ? pos - kExcerptLeadBytes : 0;
  std::string excerpt = begin > 0 ? "..." : "";
  excerpt += payload_.substr(begin, kMaxExcerptBytes);
  if (begin + kMaxExcerptBytes < payload_.size()) excerpt += "...";
  errors.push_back({0, pos + 1, std::move(reason), std::move(excerpt)});
}

bool JsonDecoder::Start(std::string_view payload, std::int64_t default_ts_ns, Cursor& cursor,
                        DecodeCounts& counts, std::vector<LineError>& errors) {
  payload_ = payload;
  const std::size_t first =
      SkipJsonWhitespace(payload, payload.starts_with(kUtf8Bom) ? kUtf8Bom.size() : 0);
  if (first == payload.size()) {
    RecordPayloadError(first, "empty payload", counts, errors);
    return false;
  }
  const internal::JsonCheck check = internal::CheckJson(payload, first, options_.max_depth,
                                                        options_.max_objects, stack_);
  if (check.error == internal::kJsonTooDeep) {
    RecordPayloadError(check.error_pos,
                       "JSON nested deeper than " + std::to_string(options_.max_depth) +
                           " levels at byte " + std::to_string(check.error_pos),
                       counts, errors);
    return false;
  }
  if (check.error == internal::kJsonTooManyElements) {
    RecordPayloadError(check.error_pos,
                       "array of more than " + std::to_string(options_.max_objects) +
                           " elements, the limit",
                       counts, errors);
    return false;
  }
  if (check.error != nullptr) {
    RecordPayloadError(check.error_pos,
                       "invalid JSON at byte " + std::to_string(check.error_pos) + ": " +
                           check.error,
                       counts, errors);
    return false;
  }
  if (payload[first] != '{' && payload[first] != '[') {
    RecordPayloadError(first,
                       std::string("the payload is ") +
                           internal::JsonKindName(internal::JsonKindAt(payload[first])) +
                           ", expected an object or an array of objects",
                       counts, errors);
    return false;
  }
  if (arena_capacity_ < check.largest_element) {
    arena_capacity_ = std::max(check.largest_element, 2 * arena_capacity_);
    arena_ = std::make_unique_for_overwrite<char[]>(arena_capacity_);
  }
  const std::int64_t now = options_.now_ns();
  cursor.min_ts_ns = AddSaturated(now, -kMaxTimestampSkewNs);
  cursor.max_ts_ns = AddSaturated(now, kMaxTimestampSkewNs);
  cursor.default_ts_ns = default_ts_ns;
  cursor.in_array = payload[first] == '[';
  cursor.pos = cursor.in_array ? SkipJsonWhitespace(payload, first + 1) : first;
  return true;
}

const DecodedLine* JsonDecoder::Next(Cursor& cursor, DecodeCounts& counts,
                                     std::vector<LineError>& errors) {
  while (!cursor.done && !(cursor.in_array && payload_[cursor.pos] == ']')) {
    const std::size_t begin = cursor.pos;
    const std::size_t index = cursor.index++;
    std::size_t end = 0;
    bool good = false;
    if (payload_[begin] == '{') {
      good = DecodeObject(begin, cursor, end);
    } else {
      Fail(begin, std::string("not an object but ") +
                      internal::JsonKindName(internal::JsonKindAt(payload_[begin])));
    }
    if (!good) end = internal::SkipJsonValue(payload_, begin);
    if (cursor.in_array) {
      cursor.pos = SkipJsonWhitespace(payload_, end);
      if (payload_[cursor.pos] == ',') cursor.pos = SkipJsonWhitespace(payload_, cursor.pos + 1);
    } else {
      cursor.done = true;
    }
    if (good) {
      line_.line_number = index + 1;
      ++counts.good_lines;
      return &line_;
    }
    if (++counts.bad_lines <= options_.max_errors) {
      const std::string_view object = payload_.substr(begin, end - begin);
      std::string excerpt(object.substr(0, kMaxExcerptBytes));
      if (object.size() > kMaxExcerptBytes) excerpt += "...";
      errors.push_back({index + 1, error_pos_ - begin + 1,
                        "object " + std::to_string(index) + ": " + error_reason_,
                        std::move(excerpt)});
    }
  }
  return nullptr;
}

bool JsonDecoder::Fail(std::size_t pos, std::string reason) {
  error_pos_ = pos;
  error_reason_ = std::move(reason);
  return false;
}

bool JsonDecoder::DecodeObject(std::size_t begin, const Cursor& cursor, std::size_t& end) {
  arena_used_ = 0;
  std::fill(seen_.begin(), seen_.end(), std::uint8_t{0});
  std::fill(tag_values_.begin(), tag_values_.end(), std::string_view());
  fields_.clear();
  auto_key_pos_.clear();
  has_ts_ = has_measurement_ = false;
  end = begin;
  return WalkObject(JsonPathTree::kRoot, end) && FinishObject(begin, cursor);
}

// Validity was proven by CheckJson, so the walk needs no syntax checks: after a key comes
// ':', after a member ',' or '}'.
bool JsonDecoder::WalkObject(std::uint32_t node, std::size_t& pos) {
  pos = SkipJsonWhitespace(payload_, pos + 1);
  while (payload_[pos] != '}') {
    const std::size_t key_pos = pos;
    const internal::JsonStringScan key_scan = internal::ScanJsonString(payload_, pos);
    const std::string_view key = StringText(key_pos, key_scan.end, key_scan.escaped);
    pos = SkipJsonWhitespace(payload_, SkipJsonWhitespace(payload_, key_scan.end) + 1);
    const std::uint32_t child = paths_.Find(node, key);
    const std::uint32_t slot = child == JsonPathTree::kNone ? child : paths_.slot(child);
    bool ok = true;
    if (slot != JsonPathTree::kNone) {
      ok = TakeMember(slot, key_pos, ReadValue(pos));
    } else if (child != JsonPathTree::kNone) {
      // On the way to deeper keys; anything but an object holds none of them.
      if (payload_[pos] == '{') {
        ok = WalkObject(child, pos);
      } else {
        pos = internal::SkipJsonValue(payload_, pos);
      }
    } else if (auto_fields_ && node == JsonPathTree::kRoot) {
      ok = TakeAutoField(key, key_scan.unusual, key_pos, ReadValue(pos));
    } else {
      pos = internal::SkipJsonValue(payload_, pos);
    }
    if (!ok) return false;
    pos = SkipJsonWhitespace(payload_, pos);
    if (payload_[pos] == ',') pos = SkipJsonWhitespace(payload_, pos + 1);
  }
  ++pos;
  return true;
}

bool JsonDecoder::TakeMember(std::uint32_t slot, std::size_t key_pos, const Value& value) {
  if (seen_[slot] != 0) return Fail(key_pos, "duplicate key " + Quoted(slot_names_[slot]));
  seen_[slot] = 1;
  if (slot == kTimestampSlot) return TakeTimestamp(value);
  if (slot == kMeasurementSlot) return TakeMeasurement(value);
  if (slot < first_field_slot_) return TakeTag(slot, value);
  return TakeField(slot_names_[slot], value);
}

// Error messages name the key; they are built only on the way out, so that a good object
// costs no string.
bool JsonDecoder::TakeTimestamp(const Value& value) {
  if (value.kind == JsonKind::kNull) return true;  // as if missing
  const JsonMapping::TimeUnit unit = mapping_.timestamp_unit;
  const bool rfc3339 = unit == JsonMapping::TimeUnit::kRfc3339;
  auto name = [this] { return "timestamp " + Quoted(mapping_.timestamp_key); };
  if (value.kind != (rfc3339 ? JsonKind::kString : JsonKind::kNumber)) {
    return Fail(value.pos, name() + " is " + internal::JsonKindName(value.kind) + ", expected " +
                               InfoOf(unit).expected);
  }
  const char* const error =
      rfc3339 ? internal::ParseRfc3339(value.text, ts_ns_)
              : internal::ScaleJsonTimestamp(value.text, InfoOf(unit).exponent, ts_ns_);
  if (error == internal::kTimeOutOfRange) {
    return Fail(value.pos, name() + " out of range: more than 100 years from now");
  }
  if (error != nullptr) return Fail(value.pos, name() + ": " + error);
  has_ts_ = true;
  ts_pos_ = value.pos;
  return true;
}

bool JsonDecoder::TakeMeasurement(const Value& value) {
  if (value.kind == JsonKind::kNull) return true;  // as if missing
  auto name = [this] { return "measurement " + Quoted(mapping_.measurement_key); };
  if (value.kind != JsonKind::kString) {
    return Fail(value.pos, name() + " is " + internal::JsonKindName(value.kind) +
                               ", expected a string");
  }
  if (value.text.empty()) return Fail(value.pos, name() + " is empty");
  if (value.unusual && !internal::IsValidName(value.text)) {
    return Fail(value.pos, name() + " " + kBadName);
  }
  has_measurement_ = true;
  measurement_value_ = value.text;
  return true;
}

bool JsonDecoder::TakeTag(std::uint32_t slot, const Value& value) {
  switch (value.kind) {
    case JsonKind::kString:
      if (value.unusual && !internal::IsValidName(value.text)) {
        return Fail(value.pos, "tag " + Quoted(slot_names_[slot]) + " " + kBadName);
      }
      [[fallthrough]];
    case JsonKind::kNumber:
    case JsonKind::kBoolean:
      tag_values_[slot - kFirstTagSlot] = value.text;
      return true;
    case JsonKind::kNull:
      return true;
    case JsonKind::kObject:
    case JsonKind::kArray:
      break;
  }
  return Fail(value.pos, "tag " + Quoted(slot_names_[slot]) + " is " +
                             internal::JsonKindName(value.kind) +
                             ", expected a string, number or boolean");
}

bool JsonDecoder::TakeAutoField(std::string_view key, bool key_unusual, std::size_t key_pos,
                                const Value& value) {
  if (value.kind != JsonKind::kNumber && value.kind != JsonKind::kBoolean) return true;
  if (key.empty()) return Fail(key_pos, "empty field key");
  if (key_unusual && !internal::IsValidName(key)) {
    return Fail(key_pos, "field key " + Quoted(key) + " " + kBadName);
  }
  if (IsReservedKey(key)) return Fail(key_pos, "cannot use reserved field key " + Quoted(key));
  auto_key_pos_.push_back(key_pos);
  return TakeField(key, value);
}

bool JsonDecoder::TakeField(std::string_view key, const Value& value) {
  DecodedField field;
  field.key = key;
  switch (value.kind) {
    case JsonKind::kNumber:
      if (!internal::ParseJsonDouble(value.text, field.value)) {
        return Fail(value.pos, "field " + Quoted(key) + ": number out of range");
      }
      break;
    case JsonKind::kBoolean:
      field.type = store::FieldType::kBoolean;
      field.value = value.text == "true" ? 1 : 0;
      break;
    case JsonKind::kString:
      field.is_string = true;
      field.string_value = value.text;
      break;
    case JsonKind::kNull:
      return true;
    case JsonKind::kObject:
    case JsonKind::kArray:
      return Fail(value.pos, "field " + Quoted(key) + " is " +
                                 internal::JsonKindName(value.kind));
  }
  fields_.push_back(field);
  return true;
}

// A listed key given twice is caught by its slot (TakeMember); automatic fields have none.
bool JsonDecoder::CheckDistinctAutoFields() {
  const std::size_t n = fields_.size();
  auto duplicate = [this](std::size_t later) {
    return Fail(auto_key_pos_[later], "duplicate key " + Quoted(fields_[later].key));
  };
  if (n <= kPairwiseFieldLimit) {
    for (std::size_t j = 1; j < n; ++j) {
      for (std::size_t i = 0; i < j; ++i) {
        if (fields_[i].key == fields_[j].key) return duplicate(j);
      }
    }
    return true;
  }
  key_order_.resize(n);
  std::iota(key_order_.begin(), key_order_.end(), std::uint32_t{0});
  // Ties broken by position, so the later of two equal keys is reported; std::sort, unlike
  // std::stable_sort, needs no temporary buffer.
  std::sort(key_order_.begin(), key_order_.end(), [this](std::uint32_t a, std::uint32_t b) {
    return fields_[a].key < fields_[b].key || (fields_[a].key == fields_[b].key && a < b);
  });
  for (std::size_t k = 0; k + 1 < n; ++k) {
    if (fields_[key_order_[k]].key == fields_[key_order_[k + 1]].key) {
      return duplicate(key_order_[k + 1]);
    }
  }
  return true;
}

bool JsonDecoder::FinishObject(std::size_t begin, const Cursor& cursor) {
  if (!mapping_.timestamp_key.empty() && !has_ts_) {
    return Fail(begin, "missing timestamp " + Quoted(mapping_.timestamp_key));
  }
  if (!mapping_.measurement_key.empty() && !has_measurement_) {
    return Fail(begin, "missing measurement " + Quoted(mapping_.measurement_key));
  }
  if (auto_fields_ && !CheckDistinctAutoFields()) return false;
  if (fields_.empty()) {
    return Fail(begin, auto_fields_ ? "no fields: no member is a number or a boolean"
                                    : "no fields: no field key has a value");
  }
  const std::int64_t ts_ns = has_ts_ ? ts_ns_ : cursor.default_ts_ns;
  if (ts_ns < cursor.min_ts_ns || ts_ns > cursor.max_ts_ns) {
    return Fail(has_ts_ ? ts_pos_ : begin,
                (has_ts_ ? "timestamp " + Quoted(mapping_.timestamp_key) : "message timestamp") +
                    " out of range: more than 100 years from now");
  }
  tags_.clear();
  for (std::size_t i = 0; i < tag_values_.size(); ++i) {
    if (!tag_values_[i].empty()) {
      tags_.push_back({slot_names_[kFirstTagSlot + i], tag_values_[i]});
    }
  }
  line_.measurement = has_measurement_ ? measurement_value_ : mapping_.measurement;
  line_.tags = tags_;
  line_.fields = fields_;
  line_.ts_ns = ts_ns;
  return true;
}

JsonDecoder::Value JsonDecoder::ReadValue(std::size_t& pos) {
  Value value;
  value.kind = internal::JsonKindAt(payload_[pos]);
  value.pos = pos;
  if (value.kind == JsonKind::kString) {
    const internal::JsonStringScan scan = internal::ScanJsonString(payload_, pos);
    value.text = StringText(pos, scan.end, scan.escaped);
    value.unusual = scan.unusual;
    pos = scan.end;
    return value;
  }
  const std::size_t end = value.kind == JsonKind::kNumber
                              ? internal::ScanJsonNumber(payload_, pos).end
                              : internal::SkipJsonValue(payload_, pos);
  // Objects and arrays are only skipped; their text is never looked at.
  if (value.kind != JsonKind::kObject && value.kind != JsonKind::kArray) {
    value.text = payload_.substr(pos, end - pos);
  }
  pos = end;
  return value;
}

std::string_view JsonDecoder::StringText(std::size_t open, std::size_t end, bool escaped) {
  const std::string_view raw = payload_.substr(open + 1, end - open - 2);
  if (!escaped) return raw;
  char* const out = arena_.get() + arena_used_;
  const std::size_t n = internal::UnescapeJsonString(raw, out);
  arena_used_ += n;
  return {out, n};
}

}  // namespace tidewatch::ingest
