#include "ingest/json_decoder.h"

#include <gtest/gtest.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tests/util/allocation_counter.h"

namespace tidewatch::ingest {
namespace {

using Unit = JsonMapping::TimeUnit;

// The decoders' clock: 2027-01-15T08:00:00Z. Timestamps must lie in
// [1927-01-15T08:00:00Z, 2127-01-16T08:00:00Z] (100 years of 365.25 days either way).
constexpr std::int64_t kNowNs = 1'800'000'000'000'000'000;
std::int64_t FixedClock() { return kNowNs; }
constexpr std::int64_t kMessageTs = 1'795'000'000'000'000'000;

// A point as `m;tag=v;... f=1.5;g=true;s="x" ts` (';' between tags and between fields;
// an integer field would show as `i=3i`).
std::string Render(const DecodedLine& line) {
  std::string out(line.measurement);
  for (const store::TagView& tag : line.tags) {
    out.append(";").append(tag.key).append("=").append(tag.value);
  }
  char separator = ' ';
  for (const DecodedField& field : line.fields) {
    out.append(1, separator).append(field.key).append("=");
    separator = ';';
    if (field.is_string) {
      out.append("\"").append(field.string_value).append("\"");
    } else if (field.type == store::FieldType::kBoolean) {
      out.append(field.value != 0 ? "true" : "false");
    } else if (field.type == store::FieldType::kInteger) {
      out.append(std::to_string(field.integer)).append("i");
    } else {
      char buf[32];
      out.append(buf, std::to_chars(buf, buf + sizeof(buf), field.value).ptr);
    }
  }
  return out + " " + std::to_string(line.ts_ns);
}

struct Decoded {
  std::vector<std::string> lines;  // Render() of each point
  std::vector<std::size_t> line_numbers;
  std::vector<LineError> errors;
  DecodeCounts counts;

  // The points, then each error as "!line:column reason", one per line.
  std::string Describe() const {
    std::string out;
    for (const std::string& line : lines) out += (out.empty() ? "" : "\n") + line;
    for (const LineError& e : errors) {
      out += (out.empty() ? "!" : "\n!") + std::to_string(e.line_number) + ":" +
             std::to_string(e.column) + " " + e.reason;
    }
    return out;
  }
};

JsonDecoder MakeDecoder(JsonMapping mapping = {}, JsonDecoderOptions options = {}) {
  options.now_ns = &FixedClock;
  StatusOr<JsonDecoder> decoder = JsonDecoder::Create(std::move(mapping), options);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return std::move(decoder).value();
}

Decoded DecodeAll(std::string_view payload, JsonMapping mapping = {},
                  JsonDecoderOptions options = {}) {
  JsonDecoder decoder = MakeDecoder(std::move(mapping), options);
  Decoded out;
  out.counts = decoder.Decode(
      payload, kMessageTs,
      [&out](const DecodedLine& line) {
        out.lines.push_back(Render(line));
        out.line_numbers.push_back(line.line_number);
      },
      out.errors);
  return out;
}

// A payload, the mapping it is decoded with, and what it decodes to: Describe() of the
// result, or, starting with "!", a part of its single error's reason.
struct Case {
  JsonMapping mapping;
  const char* input;
  const char* want;
};

void ExpectCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const Decoded d = DecodeAll(c.input, c.mapping);
    const std::string_view want = c.want;
    if (want.starts_with('!')) {
      EXPECT_EQ(d.counts.good_lines, 0u) << d.Describe();
      ASSERT_EQ(d.errors.size(), 1u) << d.Describe();
      EXPECT_NE(d.errors[0].reason.find(want.substr(1)), std::string::npos) << d.errors[0].reason;
    } else {
      EXPECT_EQ(d.Describe(), want);
    }
  }
}

const JsonMapping kDefault;
const JsonMapping kTags{.tag_keys = {"site", "rack", "on", "sensor.id"}};
const JsonMapping kListed{.field_keys = {"temp", "s", "nested.v"}};
const JsonMapping kSeconds{.timestamp_unit = Unit::kSeconds};
const JsonMapping kRfc3339{.timestamp_unit = Unit::kRfc3339};
const JsonMapping kMessageTime{.timestamp_key = ""};

TEST(JsonDecoderTest, MapsMembersToPoints) {
  ExpectCases({
      // Every numeric and boolean top-level member is a field, in the order written.
      {kDefault, R"({"time":1795000000123,"temp":21.5,"ok":true,"off":false})",
       "json temp=21.5;ok=true;off=false 1795000000123000000"},
      {kDefault, R"({"temp":1,"s":"x","n":null,"o":{"a":1},"a":[2],"time":1795000000123})",
       "json temp=1 1795000000123000000"},
      {kDefault, R"({"time":1,"a":0,"b":-0,"c":1e3,"d":-1.5E-3,"e":1e-999})",
       "json a=0;b=-0;c=1000;d=-0.0015;e=0 1000000"},
      // Every number is a float, integers too; beyond 2^53 they round.
      {kDefault, R"({"time":1,"i":42,"big":9007199254740993})",
       "json i=42;big=9007199254740992 1000000"},
      {kDefault, R"({"time":1,"v":1,"x":{"big":1e999}})",
       "json v=1 1000000"},  // an unused member may hold any valid number
      {kDefault, R"({"time":1,"big":1e999})", "!field \"big\": number out of range"},
      {kDefault, R"({"time":1,"big":-1e400})", "!field \"big\": number out of range"},
      {kDefault, R"({"time":1,"s":"x"})", "!no fields: no member is a number"},
      // Measurement from a key or the constant.
      {{.measurement_key = "m"}, R"({"m":"cpu","time":1,"v":1})", "cpu v=1 1000000"},
      {{.measurement = "plant"}, R"({"time":1,"v":1})", "plant v=1 1000000"},
      {{.measurement_key = "m"}, R"({"time":1,"v":1})", "!missing measurement \"m\""},
      {{.measurement_key = "m"}, R"({"m":null,"time":1,"v":1})", "!missing measurement \"m\""},
      {{.measurement_key = "m"}, R"({"m":7,"time":1,"v":1})",
       "!measurement \"m\" is a number, expected a string"},
      {{.measurement_key = "m"}, R"({"m":"","time":1,"v":1})", "!measurement \"m\" is empty"},
      {{.measurement_key = "m"}, R"({"m":"a\u0001","time":1,"v":1})",
       "!measurement \"m\" not valid UTF-8, or contains a control character"},
      // Tags: sorted by key; numbers and booleans as written; null, "" or absent: no tag.
      {kTags, R"({"time":1,"site":"north","rack":1.50,"on":true,"v":1})",
       "json;on=true;rack=1.50;site=north v=1 1000000"},
      {kTags, R"({"time":1,"sensor":{"id":"s-17","x":2},"site":"","on":null,"v":1})",
       "json;sensor.id=s-17 v=1 1000000"},
      {kTags, R"({"time":1,"sensor":"s-17","v":1})",
       "json v=1 1000000"},  // a path through a non-object finds nothing
      {kTags, R"({"time":1,"site":["n"],"v":1})",
       "!tag \"site\" is an array, expected a string, number or boolean"},
      {kTags, R"({"time":1,"site":"a\tb","v":1})", "!tag \"site\" not valid UTF-8"},
      // Listed fields: strings are string fields, null or absent ones are left out.
      {kListed, R"({"time":1,"s":"hi","other":5,"nested":{"v":2},"temp":1})",
       "json s=\"hi\";nested.v=2;temp=1 1000000"},
      {kListed, R"({"time":1,"temp":null,"v":1})", "!no fields: no field key has a"},
      {kListed, R"({"time":1,"temp":{"c":1}})", "!field \"temp\" is an object"},
      // Keys with another role are never automatic fields; reserved ones are refused.
      {{.timestamp_key = "ts", .measurement_key = "m", .tag_keys = {"rack"}},
       R"({"ts":1,"m":"cpu","rack":3,"v":1})", "cpu;rack=3 v=1 1000000"},
      {{.timestamp_key = "ts"}, R"({"ts":1,"time":5})", "!cannot use reserved field key \"time\""},
      {kDefault, R"({"time":1,"":5})", "!empty field key"},
      {kDefault, R"({"time":1,"a\u007f":5})", "!field key \"a\x7f\" not valid UTF-8"},
      {{.timestamp_key = "meta.ts"}, R"({"meta":{"ts":1},"v":1})", "json v=1 1000000"},
  });
}

TEST(JsonDecoderTest, ScalesNumericTimestampsExactly) {
  ExpectCases({
      {{.timestamp_unit = Unit::kNanoseconds}, R"({"time":1795000000123456789,"v":1})",
       "json v=1 1795000000123456789"},
      {{.timestamp_unit = Unit::kMicroseconds}, R"({"time":1795000000123456,"v":1})",
       "json v=1 1795000000123456000"},
      {kDefault, R"({"time":-1,"v":1})", "json v=1 -1000000"},
      {kSeconds, R"({"time":1795000000,"v":1})", "json v=1 1795000000000000000"},
      {kSeconds, R"({"time":1795000000.123456789,"v":1})", "json v=1 1795000000123456789"},
      {kSeconds, R"({"time":1795000000.1234567899,"v":1})", "json v=1 1795000000123456789"},
      {kSeconds, R"({"time":1.795e9,"v":1})", "json v=1 1795000000000000000"},
      {kSeconds, R"({"time":17950000001234567E-7,"v":1})", "json v=1 1795000000123456700"},
      {kSeconds, R"({"time":-0.5,"v":1})", "json v=1 -500000000"},
      {kMessageTime, R"({"v":1})", "json v=1 1795000000000000000"},
      {kMessageTime, R"({"time":5,"v":1})", "!cannot use reserved field key \"time\""},
      {kDefault, R"({"v":1})", "!missing timestamp \"time\""},
      {kDefault, R"({"time":null,"v":1})", "!missing timestamp \"time\""},
      {kDefault, R"({"time":"1795000000000","v":1})",
       "!timestamp \"time\" is a string, expected a number of milliseconds"},
      {kDefault, R"({"time":99999999999999,"v":1})",
       "!timestamp \"time\" out of range: more than 100 years from now"},
      {kDefault, R"({"time":1e300,"v":1})", "!timestamp \"time\" out of range"},
      {kDefault, R"({"time":-9223372036854775808,"v":1})", "!timestamp \"time\" out of range"},
      {kSeconds, R"({"time":-1355760000,"v":1})", "json v=1 -1355760000000000000"},
      {kSeconds, R"({"time":-1355760000.000000001,"v":1})", "!timestamp \"time\" out of range"},
  });
}

TEST(JsonDecoderTest, ChecksTheMessageTimestampToo) {
  JsonDecoder decoder = MakeDecoder(kMessageTime);
  std::vector<LineError> errors;
  const DecodeCounts counts = decoder.Decode(
      R"({"v":1})", kNowNs + kMaxTimestampSkewNs + 1, [](const DecodedLine&) {}, errors);
  EXPECT_EQ(counts.bad_lines, 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason,
            "object 0: message timestamp out of range: more than 100 years from now");
}

TEST(JsonDecoderTest, ParsesRfc3339Timestamps) {
  ExpectCases({
      {kRfc3339, R"({"time":"2026-11-21T08:00:00Z","v":1})", "json v=1 1795248000000000000"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00.1Z","v":1})", "json v=1 1795248000100000000"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00.123Z","v":1})", "json v=1 1795248000123000000"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00.123456789Z","v":1})",
       "json v=1 1795248000123456789"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00.1234567891Z","v":1})",
       "json v=1 1795248000123456789"},  // truncated to ns
      {kRfc3339, R"({"time":"2026-11-21T09:00:00+01:00","v":1})", "json v=1 1795248000000000000"},
      {kRfc3339, R"({"time":"2026-11-21T03:30:00.5-04:30","v":1})", "json v=1 1795248000500000000"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00-00:00","v":1})", "json v=1 1795248000000000000"},
      {kRfc3339, R"({"time":"2026-11-21t08:00:00z","v":1})", "json v=1 1795248000000000000"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00\u005A","v":1})",
       "json v=1 1795248000000000000"},  // escapes are resolved first
      {kRfc3339, R"({"time":"2024-02-29T00:00:00Z","v":1})", "json v=1 1709164800000000000"},
      {kRfc3339, R"({"time":"2000-02-29T00:00:00Z","v":1})", "json v=1 951782400000000000"},
      {kRfc3339, R"({"time":"1969-12-31T23:59:59.5Z","v":1})", "json v=1 -500000000"},
      {kRfc3339, R"({"time":"1927-01-15T08:00:00Z","v":1})",
       "json v=1 -1355760000000000000"},  // the earliest time accepted
      {kRfc3339, R"({"time":"2023-02-29T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2100-02-29T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2026-02-30T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2026-11-31T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2026-13-01T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2026-00-10T00:00:00Z","v":1})", "!no such date"},
      {kRfc3339, R"({"time":"2026-11-21T24:00:00Z","v":1})", "!no such time of day"},
      {kRfc3339, R"({"time":"2026-11-21T08:60:00Z","v":1})", "!no such time of day"},
      {kRfc3339, R"({"time":"2026-12-31T23:59:60Z","v":1})", "!no such time of day"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00+24:00","v":1})", "!UTC offset out of range"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21 08:00:00Z","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00.Z","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00+0100","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21T08:00:00Z ","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21T8:00:00Z","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"2026-11-21","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"","v":1})", "!not an RFC 3339 date-time"},
      {kRfc3339, R"({"time":"1927-01-15T07:59:59.999999999Z","v":1})",
       "!out of range: more than 100 years"},
      {kRfc3339, R"({"time":"9999-12-31T23:59:59Z","v":1})", "!out of range: more than 100 years"},
      {kRfc3339, R"({"time":1795248000,"v":1})",
       "!timestamp \"time\" is a number, expected an RFC 3339 date-time string"},
  });
}

TEST(JsonDecoderTest, RejectsBadPayloadsAsAWhole) {
  const JsonMapping m;
  ExpectCases({
      {m, "", "!empty payload"},
      {m, " \r\n\t ", "!empty payload"},
      {m, "42", "!the payload is a number, expected an object or an array of objects"},
      {m, R"("{}")", "!the payload is a string, expected an object"},
      {m, "null", "!the payload is null, expected an object"},
      {m, R"({"time":1795000000000 "v":1})", "!invalid JSON at byte 22: expected ',' or '}'"},
      {m, R"({"time" 1})", "!invalid JSON at byte 8: expected ':'"},
      {m, R"({"v":1,})", "!invalid JSON at byte 7: expected a string key"},
      {m, R"([{"v":1},])", "!invalid JSON at byte 9: expected a value"},
      {m, R"([{"v":1} {"v":2}])", "!invalid JSON at byte 9: expected ',' or ']'"},
      {m, R"({'v':1})", "!expected a string key"},
      {m, R"({"v":1} // c)", "!invalid JSON at byte 8: unexpected text after the JSON value"},
      {m, R"({"v":1}{"v":2})", "!unexpected text after the JSON value"},
      {m, R"({"v":1)", "!invalid JSON at byte 6: expected ',' or '}'"},
      {m, R"({"v":)", "!unexpected end of payload: expected a value"},
      {m, R"({"v":"abc)", "!invalid JSON at byte 5: unterminated string"},
      {m, R"({"v":NaN})", "!NaN and Infinity are not valid JSON"},
      {m, R"({"v":Infinity})", "!NaN and Infinity are not valid JSON"},
      {m, R"({"v":-Infinity})", "!NaN and Infinity are not valid JSON"},
      {m, R"({"v":01})", "!invalid JSON at byte 6: invalid number"},
      {m, R"({"v":1.})", "!invalid number"},
      {m, R"({"v":1e+})", "!invalid number"},
      {m, R"({"v":1x})", "!invalid number"},
      {m, R"({"v":-})", "!invalid number"},
      {m, R"({"v":.5})", "!expected a value"},
      {m, R"({"v":+1})", "!expected a value"},
      {m, R"({"v":tru})", "!invalid literal: expected true, false or null"},
      {m, R"({"v":True})", "!expected a value"},
      // Strings: UTF-8 only, escapes valid, no raw control bytes, no lone surrogates.
      {m, "{\"s\xff\":1}", "!invalid JSON at byte 3: invalid UTF-8 in string"},
      {m, "{\"s\":\"\xc0\xaf\"}", "!invalid UTF-8 in string"},          // overlong '/'
      {m, "{\"s\":\"\xed\xa0\x80\"}", "!invalid UTF-8 in string"},      // a surrogate
      {m, "{\"s\":\"\xe2\x82\"}", "!invalid UTF-8 in string"},          // truncated
      {m, "{\"s\":\"\xf4\x90\x80\x80\"}", "!invalid UTF-8 in string"},  // above U+10FFFF
      {m, "{\"s\":\"\x80\"}", "!invalid UTF-8 in string"},              // lone continuation
      {m, "{\xc3\xa9:1}", "!expected a string key"},
      {m, "{\"a\tb\":1}", "!invalid JSON at byte 3: control character in string"},
      {m, R"({"s":"\x"})", "!invalid JSON at byte 6: invalid escape"},
      {m, R"({"s":"\u12"})", "!invalid \\u escape: expected four hex digits"},
      {m, R"({"s":"\uD800"})", "!invalid JSON at byte 6: lone surrogate in \\u escape"},
      {m, R"({"s":"\uDC00\uD800"})", "!lone surrogate"},
      {m, R"({"s":"\uD800\u0041"})", "!lone surrogate"},
      {m, R"({"s":"\uD800\uD800"})", "!lone surrogate"},
  });
}

TEST(JsonDecoderTest, DecodesTheGoodObjectsOfAPartlyBadArray) {
  const std::string t = "\"time\":1";
  const std::string payload = "[{" + t + ",\"v\":1},\n {\"v\":2},\n 7,\n {" + t +
                              ",\"site\":{\"x\":1},\"v\":3},\n \"x\",\n {" + t + ",\"v\":6}]";
  const Decoded d = DecodeAll(payload, kTags);
  EXPECT_EQ(d.Describe(),
            "json v=1 1000000\n"
            "json v=6 1000000\n"
            "!2:1 object 1: missing timestamp \"time\"\n"
            "!3:1 object 2: not an object but a number\n"
            "!4:18 object 3: tag \"site\" is an object, expected a string, number or boolean\n"
            "!5:1 object 4: not an object but a string");
  EXPECT_EQ(d.line_numbers, (std::vector<std::size_t>{1, 6}));
  EXPECT_EQ(d.counts.good_lines, 2u);
  EXPECT_EQ(d.counts.bad_lines, 4u);
  EXPECT_EQ(d.errors[2].excerpt, "{" + t + ",\"site\":{\"x\":1},\"v\":3}");
}

TEST(JsonDecoderTest, EmptyContainersAndWhitespace) {
  EXPECT_EQ(DecodeAll("[]").Describe(), "");
  EXPECT_EQ(DecodeAll(" [ \n ] ").counts.bad_lines, 0u);
  EXPECT_EQ(DecodeAll("{}").Describe(), "!1:1 object 0: missing timestamp \"time\"");
  EXPECT_EQ(DecodeAll("[{}]", kMessageTime).Describe(),
            "!1:1 object 0: no fields: no member is a number or a boolean");
  EXPECT_EQ(DecodeAll(" \r\n\t[ \n { \"time\" : 1 , \"v\" : 1 } \t,"
                      "{\"time\":1,\"v\":\t2\r}\n]\r\n ")
                .Describe(),
            "json v=1 1000000\njson v=2 1000000");
  EXPECT_EQ(DecodeAll("\xEF\xBB\xBF{\"time\":1,\"v\":1}").Describe(),
            "json v=1 1000000");  // a UTF-8 byte order mark is skipped
}

TEST(JsonDecoderTest, ResolvesEscapesToUtf8) {
  const JsonMapping m{.tag_keys = {"t"}, .field_keys = {"s", "k\xc3\xa9y"}};
  ExpectCases({
      {m, R"({"time":1,"t":"caf\u00e9\ud83d\ude00\"\\\/","s":"a\tb\u0001c\n"})",
       "json;t=caf\xc3\xa9\xf0\x9f\x98\x80\"\\/ s=\"a\tb\x01" "c\n\" 1000000"},
      {m, R"({"time":1,"k\u00E9y":1})", "json k\xc3\xa9y=1 1000000"},
      {m, R"({"time":1,"t":"\u00e9\u0800\uFFFF\uDBFF\uDFFF","s":""})",
       "json;t=\xc3\xa9\xe0\xa0\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf s=\"\" 1000000"},
      {m, R"({"time":1,"t":"a\u007fb","s":"x"})", "!tag \"t\" not valid UTF-8"},
  });
}

TEST(JsonDecoderTest, RejectsDuplicateKeysItUses) {
  std::string many = R"({"time":1)";
  for (int i = 0; i < 20; ++i) many += ",\"f" + std::to_string(i) + "\":" + std::to_string(i);
  many += ",\"f3\":0}";
  ExpectCases({
      {kDefault, R"({"time":1,"v":1,"v":2})", "!duplicate key \"v\""},
      {kDefault, R"({"time":1,"time":1,"v":1})", "!duplicate key \"time\""},
      {kDefault, R"({"time":null,"time":1,"v":1})", "!duplicate key \"time\""},
      {kDefault, many.c_str(), "!duplicate key \"f3\""},
      {kTags, R"({"time":1,"site":"a","v":1,"site":"b"})", "!duplicate key \"site\""},
      {kTags, R"({"time":1,"sensor":{"id":"a"},"sensor":{"id":"b"},"v":1})",
       "!duplicate key \"sensor.id\""},
      {kListed, R"({"time":1,"temp":1,"temp":null})", "!duplicate key \"temp\""},
      // Members the mapping does not use are not looked at.
      {kDefault, R"({"time":1,"v":1,"x":"a","x":"b"})", "json v=1 1000000"},
  });
  const Decoded d = DecodeAll(R"({"time":1,"v":1,"v":2})");
  EXPECT_EQ(d.errors.at(0).column, 17u);  // the second "v"
}

TEST(JsonDecoderTest, EnforcesDepthObjectAndErrorLimits) {
  auto nested = [](int levels) {  // a top-level object holding `levels` nested arrays
    return R"({"time":1,"v":1,"x":)" + std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']') + "}";
  };
  EXPECT_EQ(DecodeAll(nested(63)).counts.good_lines, 1u);
  EXPECT_EQ(DecodeAll(nested(64)).Describe(), "!0:84 JSON nested deeper than 64 levels at byte 83");
  EXPECT_EQ(DecodeAll(std::string(1'000'000, '[')).errors.at(0).reason,
            "JSON nested deeper than 64 levels at byte 64");
  EXPECT_EQ(DecodeAll(nested(8), {}, {.max_depth = 8}).errors.at(0).reason,
            "JSON nested deeper than 8 levels at byte 27");

  const std::string three = R"([{"time":1,"v":1},2,3])";
  EXPECT_EQ(DecodeAll(three, {}, {.max_objects = 3}).counts.good_lines, 1u);
  EXPECT_EQ(DecodeAll(three, {}, {.max_objects = 2}).Describe(),
            "!0:21 array of more than 2 elements, the limit");

  const Decoded d = DecodeAll("[1,[2],{},4]", {}, {.max_errors = 2});
  EXPECT_EQ(d.counts.bad_lines, 4u);
  EXPECT_EQ(d.Describe(), "!1:1 object 0: not an object but a number\n"
                          "!2:1 object 1: not an object but an array");
}

TEST(JsonDecoderTest, PayloadErrorShowsTheBytesAroundIt) {
  const std::string payload = "[" + std::string(60, ' ') + "x" + std::string(200, ' ') + "]";
  const Decoded d = DecodeAll(payload);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].line_number, 0u);
  EXPECT_EQ(d.errors[0].column, 62u);
  EXPECT_EQ(d.errors[0].reason, "invalid JSON at byte 61: expected a value");
  EXPECT_EQ(d.errors[0].excerpt, "..." + std::string(40, ' ') + "x" + std::string(59, ' ') + "...");
}

TEST(JsonDecoderTest, RejectsInvalidMappings) {
  struct MappingCase {
    JsonMapping mapping;
    JsonDecoderOptions options;
    const char* want;  // the Status message, or "" for a valid mapping
  };
  const MappingCase cases[] = {
      {{}, {}, ""},
      {{.timestamp_key = "", .tag_keys = {"a.b.c", "a.d"}, .field_keys = {"a.e"}}, {}, ""},
      {{.measurement = ""}, {}, "measurement: \"\" is empty, and measurement_key is empty too"},
      {{.measurement_key = "m", .measurement = ""}, {}, ""},
      {{.measurement = "a\x01"}, {}, "measurement: \"a\x01\" is not valid UTF-8"},
      {{.tag_keys = {"a..b"}}, {}, "tag_keys: key \"a..b\": empty name before or after a '.'"},
      {{.tag_keys = {"a."}}, {}, "tag_keys: key \"a.\": empty name"},
      {{.field_keys = {""}}, {}, "field_keys: key \"\": empty name"},
      {{.tag_keys = {"h", "h"}}, {}, "tag_keys: key \"h\": used twice in the mapping"},
      {{.tag_keys = {"time"}}, {}, "tag_keys: key \"time\": used twice in the mapping"},
      {{.measurement_key = "h", .field_keys = {"h"}}, {}, "field_keys: key \"h\": used twice"},
      {{.tag_keys = {"s"}, .field_keys = {"s.id"}}, {},
       "field_keys: key \"s.id\": goes inside another key of the mapping"},
      {{.tag_keys = {"s.id"}, .field_keys = {"s"}}, {},
       "field_keys: key \"s\": another key of the mapping goes inside it"},
      {{.timestamp_key = "ts", .tag_keys = {"time"}}, {}, "tag_keys: \"time\" is reserved"},
      {{.field_keys = {"_field"}}, {}, "field_keys: \"_field\" is reserved"},
      {{.tag_keys = {"a\tb"}}, {}, "tag_keys: \"a\tb\" is not valid UTF-8"},
      {{}, {.max_depth = 1}, "max_depth: must be at least 2"},
      {{}, {.max_objects = 0}, "max_objects: must be at least 1"},
      {{}, {.now_ns = nullptr}, "now_ns: no clock"},
  };
  for (const MappingCase& c : cases) {
    const StatusOr<JsonDecoder> decoder = JsonDecoder::Create(c.mapping, c.options);
    const std::string got = decoder.ok() ? "" : decoder.status().message();
    EXPECT_EQ(got.substr(0, std::string_view(c.want).size()), c.want) << got;
    EXPECT_EQ(decoder.ok(), *c.want == '\0') << c.want;
    if (!decoder.ok()) {
      EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseJsonTimeUnitTest, AcceptsConfigNamesOnly) {
  const std::pair<const char*, Unit> names[] = {{"ns", Unit::kNanoseconds},
                                                {"us", Unit::kMicroseconds},
                                                {"ms", Unit::kMilliseconds},
                                                {"s", Unit::kSeconds},
                                                {"rfc3339", Unit::kRfc3339}};
  for (const auto& [name, unit] : names) EXPECT_EQ(ParseJsonTimeUnit(name), unit) << name;
  for (const char* bad : {"", "u", "MS", "seconds", "RFC3339"}) {
    EXPECT_EQ(ParseJsonTimeUnit(bad), std::nullopt) << bad;
  }
}

TEST(JsonDecoderTest, ViewsPointIntoThePayloadUnlessUnescaped) {
  const std::string payload =
      R"([{"time":1,"m":"a","t":"b","f":1},)"
      R"({"time":1,"m":"\u0061","t":"\u0062","\u0066":1}])";
  JsonDecoder decoder = MakeDecoder({.measurement_key = "m", .tag_keys = {"t"}});
  std::vector<LineError> errors;
  std::vector<bool> in_payload;
  auto inside = [&payload](std::string_view v) {
    return v.data() >= payload.data() && v.data() + v.size() <= payload.data() + payload.size();
  };
  decoder.Decode(payload, 0,
                 [&](const DecodedLine& line) {
                   in_payload.push_back(inside(line.measurement));
                   in_payload.push_back(inside(line.tags[0].value));
                   in_payload.push_back(inside(line.fields[0].key));
                 },
                 errors);
  EXPECT_EQ(in_payload, (std::vector<bool>{true, true, true, false, false, false}));
}

// A realistic IIoT payload: an array of sensor readings with a nested sensor object.
std::string MakeRealisticPayload(std::size_t objects) {
  std::string out = "[";
  out.reserve(objects * 200);
  for (std::size_t i = 0; i < objects; ++i) {
    const std::string n = std::to_string(i);
    out += R"({"ts":)" + std::to_string(1'795'000'000'000 + i) +
           R"(,"site":"plant-)" + std::to_string(i % 7) + R"(","line":"L)" + std::to_string(i % 5) +
           R"(","sensor":{"id":"s-)" + std::to_string(i % 1000) +
           R"(","kind":"pt100"},"temp":)" + std::to_string(i % 90) + "." + n.substr(n.size() - 1) +
           R"(,"hum":40.25,"pressure":1013.25,"running":true,"status":"ok","vib":)" +
           std::to_string(i % 13) + "}" + (i + 1 < objects ? ",\n" : "]");
  }
  return out;
}

const JsonMapping kRealistic{.timestamp_key = "ts",
                             .measurement = "plant",
                             .tag_keys = {"site", "line", "sensor.id"}};

TEST(JsonDecoderTest, WarmDecoderDoesNotAllocate) {
  const std::string payload = MakeRealisticPayload(200);
  JsonDecoder decoder = MakeDecoder(kRealistic);
  std::vector<LineError> errors;
  std::size_t fields = 0;
  auto count = [&fields](const DecodedLine& line) { fields += line.fields.size(); };
  EXPECT_EQ(decoder.Decode(payload, 0, count, errors).good_lines, 200u);
  const std::size_t warm_bytes = decoder.scratch_bytes();
  const std::size_t before = test_util::ThreadAllocations();
  EXPECT_EQ(decoder.Decode(payload, 0, count, errors).good_lines, 200u);
  EXPECT_EQ(test_util::ThreadAllocations() - before, 0u);
  EXPECT_EQ(decoder.scratch_bytes(), warm_bytes);
  EXPECT_EQ(fields, 2000u);
  EXPECT_TRUE(errors.empty());
}

// Run with --gtest_also_run_disabled_tests in a Release build; it reports, never asserts
// a speed.
TEST(JsonDecoderTest, DISABLED_Throughput) {
  const std::string payload = MakeRealisticPayload(100'000);
  JsonDecoder decoder = MakeDecoder(kRealistic);
  std::vector<LineError> errors;
  std::size_t fields = 0;
  auto count = [&fields](const DecodedLine& line) { fields += line.fields.size(); };
  decoder.Decode(payload, 0, count, errors);  // warm up
  constexpr int kRounds = 10;
  fields = 0;
  const auto start = std::chrono::steady_clock::now();
  DecodeCounts counts;
  for (int i = 0; i < kRounds; ++i) counts = decoder.Decode(payload, 0, count, errors);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kRounds;
  const double points = static_cast<double>(fields) / kRounds;
  std::printf("%zu objects, %.0f points, %.1f MB in %.2f ms: %.0f MB/s, %.2f M objects/s, "
              "%.2f M points/s\n",
              counts.good_lines, points, static_cast<double>(payload.size()) / 1e6, seconds * 1e3,
              static_cast<double>(payload.size()) / 1e6 / seconds,
              static_cast<double>(counts.good_lines) / 1e6 / seconds, points / 1e6 / seconds);
  EXPECT_EQ(counts.good_lines, 100'000u);
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace tidewatch::ingest
