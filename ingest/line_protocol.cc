#include "ingest/line_protocol.h"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "ingest/internal/line_protocol_lexer.h"

namespace tidewatch::ingest {

using internal::NameBytes;
using internal::SkipBlanks;

namespace {

constexpr std::size_t kMaxExcerptBytes = 100;
// Up to this many fields, repeated keys are looked for pair by pair; beyond it by sorting,
// so a 64 KiB line of 10,000 fields costs n log n, not n^2.
constexpr std::size_t kPairwiseFieldLimit = 16;

// Keys InfluxDB keeps for itself; a tag or field named so makes the line bad, as there.
bool IsReservedKey(std::string_view key) {
  return key == "time" || key == "_field" || key == "_measurement";
}

}  // namespace

std::optional<Precision> ParsePrecision(std::string_view text) {
  if (text.empty() || text == "n" || text == "ns") return Precision::kNanoseconds;
  if (text == "u" || text == "us") return Precision::kMicroseconds;
  if (text == "ms") return Precision::kMilliseconds;
  if (text == "s") return Precision::kSeconds;
  if (text == "m") return Precision::kMinutes;
  if (text == "h") return Precision::kHours;
  return std::nullopt;
}

std::int64_t NanosecondsPerUnit(Precision precision) {
  switch (precision) {
    case Precision::kNanoseconds:
      return 1;
    case Precision::kMicroseconds:
      return 1'000;
    case Precision::kMilliseconds:
      return 1'000'000;
    case Precision::kSeconds:
      return 1'000'000'000;
    case Precision::kMinutes:
      return 60'000'000'000;
    case Precision::kHours:
      return 3'600'000'000'000;
  }
  return 1;
}

std::string LineError::ToString() const {
  std::string out = "line " + std::to_string(line_number) + ", column " +
                    std::to_string(column) + ": unable to parse '";
  out += excerpt;
  out += "': ";
  out += reason;
  return out;
}

LineProtocolDecoder::LineProtocolDecoder(LineProtocolOptions options)
    : options_(options), unit_ns_(NanosecondsPerUnit(options.precision)) {}

std::size_t LineProtocolDecoder::scratch_bytes() const {
  return arena_capacity_ + tags_.capacity() * sizeof(store::TagView) +
         fields_.capacity() * sizeof(DecodedField) +
         field_order_.capacity() * sizeof(std::uint32_t) + error_reason_.capacity();
}

const DecodedLine* LineProtocolDecoder::Next(Cursor& cursor, std::int64_t default_ts_ns,
                                             DecodeCounts& counts,
                                             std::vector<LineError>& errors) {
  const std::string_view payload = cursor.payload;
  while (cursor.pos < payload.size()) {
    const std::size_t begin = cursor.pos;
    const std::size_t line_number = cursor.line_number;
    const internal::LineEnd end = internal::FindLineEnd(payload, begin);
    cursor.pos = end.newline + 1;
    cursor.line_number += end.inner_newlines + 1;

    std::string_view line = payload.substr(begin, end.newline - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t first = SkipBlanks(line, 0);
    if (first == line.size() || line[first] == '#') continue;

    if (line.size() > options_.max_line_bytes) {
      error_offset_ = options_.max_line_bytes;
      error_reason_ = "line too long: " + std::to_string(line.size()) + " bytes, the limit is " +
                      std::to_string(options_.max_line_bytes);
    } else if (ParseLine(line, first, default_ts_ns)) {
      line_.line_number = line_number;
      ++counts.good_lines;
      return &line_;
    }
    if (++counts.bad_lines <= options_.max_errors) {
      std::string_view shown = line.substr(first, kMaxExcerptBytes);
      std::string excerpt(shown);
      if (shown.size() < line.size() - first) excerpt += "...";
      errors.push_back({line_number, error_offset_ + 1, error_reason_, std::move(excerpt)});
    }
  }
  return nullptr;
}

bool LineProtocolDecoder::Fail(std::size_t offset, std::string_view reason) {
  error_offset_ = offset;
  error_reason_.assign(reason);
  return false;
}

bool LineProtocolDecoder::ParseLine(std::string_view line, std::size_t pos,
                                    std::int64_t default_ts_ns) {
  if (arena_capacity_ < line.size()) {
    // REQUIRES (checked by Next): line.size() <= max_line_bytes.
    arena_capacity_ = std::min(std::max(line.size(), 2 * arena_capacity_), options_.max_line_bytes);
    arena_ = std::make_unique_for_overwrite<char[]>(arena_capacity_);
  }
  arena_used_ = 0;
  tags_.clear();
  fields_.clear();

  if (!TakeName(line, pos, /*is_measurement=*/true, "measurement", line_.measurement)) {
    return false;
  }
  if (line_.measurement.empty()) return Fail(pos, "missing measurement");
  if (!ParseTags(line, pos) || !ParseFields(line, pos)) return false;

  std::int64_t ts_ns = default_ts_ns - default_ts_ns % unit_ns_;
  if (!ParseTimestamp(line, pos, ts_ns)) return false;
  line_.tags = tags_;
  line_.fields = fields_;
  line_.ts_ns = ts_ns;
  return true;
}

// Tags: from the measurement's separator to the space before the fields.
bool LineProtocolDecoder::ParseTags(std::string_view line, std::size_t& pos) {
  const std::size_t tags_begin = pos;
  while (pos < line.size() && line[pos] == ',') {
    store::TagView tag;
    const std::size_t key_begin = ++pos;
    if (!TakeName(line, pos, /*is_measurement=*/false, "tag key", tag.key)) return false;
    if (tag.key.empty()) return Fail(pos, "missing tag key");
    if (pos == line.size() || line[pos] != '=') return Fail(pos, "missing tag value");
    if (IsReservedKey(tag.key)) {
      return Fail(key_begin, "cannot use reserved tag key \"" + std::string(tag.key) + "\"");
    }
    ++pos;
    if (!TakeName(line, pos, /*is_measurement=*/false, "tag value", tag.value)) return false;
    if (tag.value.empty()) return Fail(pos, "missing tag value");
    if (pos < line.size() && line[pos] == '=') {
      return Fail(pos, "invalid tag format: unescaped '=' in tag value");
    }
    tags_.push_back(tag);
  }
  if (pos == line.size()) return Fail(pos, "missing fields");

  std::sort(tags_.begin(), tags_.end(),
            [](const store::TagView& a, const store::TagView& b) { return a.key < b.key; });
  const auto repeated = std::adjacent_find(
      tags_.begin(), tags_.end(),
      [](const store::TagView& a, const store::TagView& b) { return a.key == b.key; });
  if (repeated != tags_.end()) {
    return Fail(tags_begin, "duplicate tag key \"" + std::string(repeated->key) + "\"");
  }
  return true;
}

// Fields: from the space after the tags to the end of the line or the space before the
// timestamp.
bool LineProtocolDecoder::ParseFields(std::string_view line, std::size_t& pos) {
  pos = SkipBlanks(line, pos + 1);
  if (pos == line.size()) return Fail(pos, "missing fields");
  while (true) {
    DecodedField field;
    const std::size_t key_begin = pos;
    if (!TakeName(line, pos, /*is_measurement=*/false, "field key", field.key)) return false;
    if (field.key.empty()) return Fail(pos, "missing field key");
    if (pos == line.size() || line[pos] != '=') {
      return Fail(pos, "invalid field format: expected '=' after the field key");
    }
    if (IsReservedKey(field.key)) {
      return Fail(key_begin, "cannot use reserved field key \"" + std::string(field.key) + "\"");
    }
    ++pos;
    if (!ParseFieldValue(line, pos, field)) return false;
    fields_.push_back(field);
    if (pos == line.size() || line[pos] == ' ') break;
    ++pos;  // the ','
  }
  DropOverwrittenFields();
  return true;
}

bool LineProtocolDecoder::ParseFieldValue(std::string_view line, std::size_t& pos,
                                          DecodedField& field) {
  if (pos == line.size() || line[pos] == ',' || line[pos] == ' ') {
    return Fail(pos, "missing field value");
  }
  if (line[pos] == '"') {
    const internal::StringEnd end = internal::FindStringEnd(line, pos);
    if (end.quote == line.size()) return Fail(pos, "unbalanced quotes");
    const std::string_view raw = line.substr(pos + 1, end.quote - pos - 1);
    field.is_string = true;
    field.string_value = end.has_escapes ? UnescapeString(raw) : raw;
    pos = end.quote + 1;
    if (pos < line.size() && line[pos] != ',' && line[pos] != ' ') {
      return Fail(pos, "invalid string field value: text after the closing quote");
    }
    return true;
  }
  const std::size_t begin = pos;
  while (pos < line.size() && line[pos] != ',' && line[pos] != ' ') ++pos;
  const internal::ScalarResult scalar = internal::ParseScalar(line.substr(begin, pos - begin));
  if (scalar.error != nullptr) return Fail(begin, scalar.error);
  field.type = scalar.type;
  field.value = scalar.value;
  field.integer = scalar.integer;
  return true;
}

// The optional timestamp after the fields, then nothing but spaces.
bool LineProtocolDecoder::ParseTimestamp(std::string_view line, std::size_t pos,
                                         std::int64_t& ts_ns) {
  if (pos == line.size()) return true;
  pos = SkipBlanks(line, pos + 1);
  if (pos == line.size()) return true;
  const std::size_t begin = pos;
  while (pos < line.size() && line[pos] != ' ') ++pos;
  const char* const error = internal::ParseTimestamp(line.substr(begin, pos - begin), unit_ns_,
                                                     ts_ns);
  if (error != nullptr) return Fail(begin, error);
  while (pos < line.size() && line[pos] == ' ') ++pos;
  if (pos < line.size()) return Fail(pos, "invalid point: text after the timestamp");
  return true;
}

bool LineProtocolDecoder::TakeName(std::string_view line, std::size_t& pos, bool is_measurement,
                                   const char* what, std::string_view& out) {
  const internal::NameScan scan = internal::ScanName(line, pos, NameBytes(is_measurement));
  const std::string_view raw = line.substr(pos, scan.end - pos);
  if (scan.unusual_bytes && !internal::IsValidName(raw)) {
    return Fail(pos, std::string("invalid ") + what +
                         ": not valid UTF-8, or contains a control character");
  }
  pos = scan.end;
  out = scan.escaped ? UnescapeName(raw, is_measurement) : raw;
  return true;
}

// A backslash escapes the separator after it (',' and ' ' in a measurement; ',', '=' and
// ' ' in other names) and is dropped; any other backslash is a literal byte, even one
// before another backslash: "a\\,b" is `a\,b`. This is how InfluxDB 1.x scans names, and
// it keeps every name that does not end in a backslash writable.
std::string_view LineProtocolDecoder::UnescapeName(std::string_view raw, bool is_measurement) {
  const internal::ByteTable& bytes = NameBytes(is_measurement);
  char* const out = arena_.get() + arena_used_;
  std::size_t n = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && internal::IsSeparator(bytes, raw[i + 1])) continue;
    out[n++] = raw[i];
  }
  arena_used_ += n;
  return {out, n};
}

// In a string value `\\` is a backslash and `\"` a quote; a backslash before anything else
// is kept with it, as in InfluxDB.
std::string_view LineProtocolDecoder::UnescapeString(std::string_view raw) {
  char* const out = arena_.get() + arena_used_;
  std::size_t n = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == '"')) ++i;
    out[n++] = raw[i];
  }
  arena_used_ += n;
  return {out, n};
}

// InfluxDB keeps the last value of a repeated field key (its field map is overwritten).
void LineProtocolDecoder::DropOverwrittenFields() {
  const std::size_t n = fields_.size();
  bool dropped = false;
  if (n <= kPairwiseFieldLimit) {
    for (std::size_t i = 0; i + 1 < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        if (fields_[i].key == fields_[j].key) {
          fields_[i].key = {};
          dropped = true;
          break;
        }
      }
    }
  } else {
    field_order_.resize(n);
    std::iota(field_order_.begin(), field_order_.end(), std::uint32_t{0});
    std::sort(field_order_.begin(), field_order_.end(), [this](std::uint32_t a, std::uint32_t b) {
      return fields_[a].key < fields_[b].key || (fields_[a].key == fields_[b].key && a < b);
    });
    for (std::size_t k = 0; k + 1 < n; ++k) {
      DecodedField& earlier = fields_[field_order_[k]];
      if (earlier.key == fields_[field_order_[k + 1]].key) {
        earlier.key = {};
        dropped = true;
      }
    }
  }
  // Keys are never empty, so an empty key marks a dropped field.
  if (dropped) std::erase_if(fields_, [](const DecodedField& f) { return f.key.empty(); });
}

namespace {

void AppendEscaped(std::string_view name, const internal::ByteTable& bytes, std::string& out) {
  for (const char c : name) {
    if (internal::IsSeparator(bytes, c)) out += '\\';
    out += c;
  }
}

template <class T>
void AppendNumber(T value, std::string& out) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, r.ptr);
}

}  // namespace

void AppendLineProtocol(const DecodedLine& line, std::string& out) {
  AppendEscaped(line.measurement, NameBytes(true), out);
  for (const store::TagView& tag : line.tags) {
    out += ',';
    AppendEscaped(tag.key, NameBytes(false), out);
    out += '=';
    AppendEscaped(tag.value, NameBytes(false), out);
  }
  char separator = ' ';
  for (const DecodedField& field : line.fields) {
    out += separator;
    separator = ',';
    AppendEscaped(field.key, NameBytes(false), out);
    out += '=';
    if (field.is_string) {
      out += '"';
      for (const char c : field.string_value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    } else if (field.type == store::FieldType::kInteger) {
      AppendNumber(field.integer, out);
      out += 'i';
    } else if (field.type == store::FieldType::kBoolean) {
      out += field.value != 0 ? "true" : "false";
    } else {
      AppendNumber(field.value, out);
    }
  }
  out += ' ';
  AppendNumber(line.ts_ns, out);
  out += '\n';
}

}  // namespace tidewatch::ingest
