#include "ingest/line_protocol.h"

#include <gtest/gtest.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>
#include "tests/util/allocation_counter.h"

namespace tidewatch::ingest {
namespace {

constexpr std::int64_t kDefaultTs = 42;

// A decoded line with every name and string shown unescaped, tags and fields joined by
// ';' (so an unescaped ',' in a name stays visible): `m;a=1;b=2 f=1.5;g=3i;s="x" 123`.
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
    } else if (field.type == store::FieldType::kInteger) {
      out.append(std::to_string(field.integer)).append("i");
    } else if (field.type == store::FieldType::kBoolean) {
      out.append(field.value != 0 ? "true" : "false");
    } else {
      char buf[32];
      out.append(buf, std::to_chars(buf, buf + sizeof(buf), field.value).ptr);
    }
  }
  return out + " " + std::to_string(line.ts_ns);
}

struct Decoded {
  std::string lines;  // Render() of each good line, one per line
  std::vector<LineError> errors;
  DecodeCounts counts;
  std::vector<std::size_t> line_numbers;

  // The good lines, then each error as "!line:column reason".
  std::string Describe() const {
    std::string out = lines;
    for (const LineError& e : errors) {
      if (!out.empty()) out += '\n';
      out += "!" + std::to_string(e.line_number) + ":" + std::to_string(e.column) + " " + e.reason;
    }
    return out;
  }
};

Decoded DecodeAll(std::string_view payload, LineProtocolOptions options = {},
                  std::int64_t default_ts = kDefaultTs) {
  LineProtocolDecoder decoder(options);
  Decoded out;
  out.counts = decoder.Decode(
      payload, default_ts,
      [&out](const DecodedLine& line) {
        if (!out.line_numbers.empty()) out.lines += '\n';
        out.lines += Render(line);
        out.line_numbers.push_back(line.line_number);
      },
      out.errors);
  return out;
}

// A single line and what it decodes to: its Render(), or "!" and a part of the error.
struct Case {
  const char* input;
  const char* want;
};

const Case kCases[] = {
    // Shape, sorting, default timestamp.
    {"cpu value=1", "cpu value=1 42"},
    {"cpu value=1 1700000000000000000", "cpu value=1 1700000000000000000"},
    {"cpu,host=a value=1 5", "cpu;host=a value=1 5"},
    {"cpu,zone=z,host=a,dc=d value=1 5", "cpu;dc=d;host=a;zone=z value=1 5"},
    {"cpu a=1,b=2i,c=true,d=\"x\" 5", "cpu a=1;b=2i;c=true;d=\"x\" 5"},
    {"cpu,a=x a=1 5", "cpu;a=x a=1 5"},  // a tag and a field may share a name
    // Escapes in names.
    {R"(my\ cpu\,x value=1 5)", "my cpu,x value=1 5"},
    {R"(cpu\=x value=1 5)", R"(cpu\=x value=1 5)"},  // '=' is no separator in a measurement
    {"cpu=x value=1 5", "cpu=x value=1 5"},
    {R"(\ cpu value=1 5)", " cpu value=1 5"},
    {R"(cpu,ta\ g\,k\=ey=v\ a\,l\=ue value=1 5)", "cpu;ta g,k=ey=v a,l=ue value=1 5"},
    {R"(cpu,k=a\b value=1 5)", R"(cpu;k=a\b value=1 5)"},  // other backslashes are literal
    {R"(cpu,k=a\\\,b value=1 5)", R"(cpu;k=a\\,b value=1 5)"},
    {R"(cpu,k=a\\,j=b value=1 5)", "!invalid tag format"},  // `\\,` escapes the comma
    {R"(cpu f\ x\,y\=z=1 5)", "cpu f x,y=z=1 5"},
    {R"(cpu \"f=1 5)", R"(cpu \"f=1 5)"},
    {R"("cpu","t"="v" "f"=1 5)", R"("cpu";"t"="v" "f"=1 5)"},  // quotes in names are bytes
    {"ñandú,城市=東京 温度=1 5", "ñandú;城市=東京 温度=1 5"},
    // String values.
    {R"(cpu s="a\"b" 5)", R"(cpu s="a"b" 5)"},
    {R"(cpu s="a\\b" 5)", R"(cpu s="a\b" 5)"},
    {R"(cpu s="a\nb\x" 5)", R"(cpu s="a\nb\x" 5)"},
    {R"(cpu s="a\\" 5)", R"(cpu s="a\" 5)"},
    {R"(cpu s="a,b c=d",t=1 5)", R"(cpu s="a,b c=d";t=1 5)"},
    {"cpu s=\"line1\nline2\" 5", "cpu s=\"line1\nline2\" 5"},
    {"cpu s=\"\" 5", "cpu s=\"\" 5"},
    {"cpu s=\"\xff\t\x01\" 5", "cpu s=\"\xff\t\x01\" 5"},  // any bytes
    {R"(cpu s="x"y 5)", "!text after the closing quote"},
    {R"(cpu s="abc 5)", "!unbalanced quotes"},
    {R"(cpu s="a\" 5)", "!unbalanced quotes"},
    // Floats.
    {"cpu f=-1.5,g=1e10,h=1.5E-3 5", "cpu f=-1.5;g=1e+10;h=0.0015 5"},
    {"cpu f=.5,g=5.,h=-.5,i=1.e+78 5", "cpu f=0.5;g=5;h=-0.5;i=1e+78 5"},
    {"cpu f=007,g=-0 5", "cpu f=7;g=-0 5"},
    {"cpu f=1e-400 5", "cpu f=0 5"},  // underflow is zero, as in Go's ParseFloat
    {"cpu f=1e400 5", "!float out of range"},
    {"cpu f=-1e400 5", "!float out of range"},
    {"cpu f=+5 5", "!invalid number"},
    {"cpu f=1.2.3 5", "!invalid number"},
    {"cpu f=1e 5", "!invalid number"},
    {"cpu f=0x10 5", "!invalid number"},
    {"cpu f=1_000 5", "!invalid number"},
    {"cpu f=. 5", "!invalid number"},
    {"cpu f=- 5", "!invalid number"},
    {"cpu f=NaN 5", "!invalid field value"},
    {"cpu f=nan 5", "!invalid field value"},
    {"cpu f=Inf 5", "!invalid field value"},
    {"cpu f=-Inf 5", "!invalid number"},
    // Integers.
    {"cpu i=-12i,j=0i 5", "cpu i=-12i;j=0i 5"},
    {"cpu i=9223372036854775807i 5", "cpu i=9223372036854775807i 5"},
    {"cpu i=-9223372036854775808i 5", "cpu i=-9223372036854775808i 5"},
    {"cpu i=9223372036854775808i 5", "!integer out of range"},
    {"cpu i=-9223372036854775809i 5", "!integer out of range"},
    {"cpu i=1.5i 5", "!invalid number"},
    {"cpu i=1e3i 5", "!invalid number"},
    {"cpu u=12u 5", "!unsigned integers (u suffix) are not supported"},
    {"cpu u=-12u 5", "!invalid number"},
    // Booleans.
    {"cpu a=t,b=T,c=true,d=True,e=TRUE 5", "cpu a=true;b=true;c=true;d=true;e=true 5"},
    {"cpu a=f,b=F,c=false,d=False,e=FALSE 5", "cpu a=false;b=false;c=false;d=false;e=false 5"},
    {"cpu b=tRUE 5", "!invalid boolean"},
    {"cpu b=yes 5", "!invalid field value"},
    // Missing parts.
    {"cpu", "!missing fields"},
    {"cpu,host=a", "!missing fields"},
    {"cpu ", "!missing fields"},
    {"cpu,host=a  ", "!missing fields"},
    {",host=a value=1", "!missing measurement"},
    {"cpu, value=1", "!missing tag key"},
    {"cpu,=a value=1", "!missing tag key"},
    {"cpu,host value=1", "!missing tag value"},
    {"cpu,host= value=1", "!missing tag value"},
    {"cpu,host=,x=y value=1", "!missing tag value"},
    {"cpu =1", "!missing field key"},
    {"cpu value", "!invalid field format"},
    {"cpu value=", "!missing field value"},
    {"cpu value=,x=1", "!missing field value"},
    {"cpu value= 1", "!missing field value"},
    {"cpu value=1,", "!missing field key"},
    {"cpu value=1, x=2", "!missing field key"},
    // Duplicates and reserved keys.
    {"cpu,host=a,host=b value=1", "!duplicate tag key \"host\""},
    {"cpu,b=1,a=2,b=3 value=1", "!duplicate tag key \"b\""},
    {"cpu a=1,b=2,a=3 5", "cpu b=2;a=3 5"},  // the last value of a field wins
    {"cpu a=1,a=\"s\" 5", "cpu a=\"s\" 5"},
    {"cpu,time=x value=1", "!cannot use reserved tag key \"time\""},
    {"cpu,_field=x value=1", "!cannot use reserved tag key \"_field\""},
    {"cpu time=1", "!cannot use reserved field key \"time\""},
    {"cpu _measurement=1", "!cannot use reserved field key \"_measurement\""},
    // Timestamps.
    {"cpu value=1 -5", "cpu value=1 -5"},
    {"cpu value=1 12a", "!bad timestamp"},
    {"cpu value=1 1.5", "!bad timestamp"},
    {"cpu value=1 +5", "!bad timestamp"},
    {"cpu value=1 \"123\"", "!bad timestamp"},
    {"cpu value=1 123 456", "!text after the timestamp"},
    {"cpu value=1 99999999999999999999", "!time outside range"},
    {"cpu value=1 9223372036854775806", "cpu value=1 9223372036854775806"},
    {"cpu value=1 9223372036854775807", "!time outside range"},
    {"cpu value=1 -9223372036854775807", "!time outside range"},
    // Spaces and tabs.
    {"cpu value=1 5 ", "cpu value=1 5"},
    {"cpu value=1   ", "cpu value=1 42"},
    {"cpu  value=1   5  ", "cpu value=1 5"},
    {" \t cpu \t value=1 \t 5", "cpu value=1 5"},
    {"cpu value=1\t5", "!invalid number"},
    {"cpu value=1 5\t", "!bad timestamp"},
    {"cpu value=1 5 \t", "!text after the timestamp"},
    {"cpu\tx value=1", "!invalid measurement"},
    // Names must be UTF-8 without control characters.
    {"cpu\xff value=1", "!invalid measurement"},
    {"cpu,k\xc3=v value=1", "!invalid tag key"},          // truncated sequence
    {"cpu,k=\xed\xa0\x80 value=1", "!invalid tag value"},  // a surrogate
    {"cpu \xc0\xaf=1", "!invalid field key"},              // overlong '/'
    {"cpu,k=a\x01 value=1", "!invalid tag value"},
    {"cpu,k=\xf4\x90\x80\x80 value=1", "!invalid tag value"},  // above U+10FFFF
};

TEST(LineProtocolDecoderTest, DecodesEachCaseOfTheTable) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.input);
    const Decoded d = DecodeAll(c.input);
    const std::string_view want = c.want;
    if (want.starts_with('!')) {
      EXPECT_EQ(d.counts.good_lines, 0u) << d.lines;
      ASSERT_EQ(d.errors.size(), 1u);
      EXPECT_NE(d.errors[0].reason.find(want.substr(1)), std::string::npos) << d.errors[0].reason;
    } else {
      EXPECT_EQ(d.Describe(), want);
    }
  }
}

TEST(LineProtocolDecoderTest, ReportsLineNumberAndColumnOfEachBadLine) {
  const Decoded d = DecodeAll("cpu v=1 1\ncpu,host= v=2 2\r\ncpu v=3 3\ncpu v=4 4 x\n");
  EXPECT_EQ(d.Describe(),
            "cpu v=1 1\ncpu v=3 3\n"
            "!2:10 missing tag value\n"
            "!4:11 invalid point: text after the timestamp");
  EXPECT_EQ(d.counts.good_lines, 2u);
  EXPECT_EQ(d.counts.bad_lines, 2u);
}

TEST(LineProtocolDecoderTest, SkipsBlankAndCommentLinesAndAcceptsCrlf) {
  const Decoded d = DecodeAll("# comment \"x\n\r\n  \t\n  # indented\ncpu v=1 1\r\ncpu v=2 2\r\n");
  EXPECT_EQ(d.Describe(), "cpu v=1 1\ncpu v=2 2");
  EXPECT_EQ(d.line_numbers, (std::vector<std::size_t>{5, 6}));
  EXPECT_EQ(d.counts.bad_lines, 0u);
}

TEST(LineProtocolDecoderTest, EmptyPayloadsDecodeToNothing) {
  for (const char* payload : {"", "\n", "\n\n\r\n", "   ", "#"}) {
    const Decoded d = DecodeAll(payload);
    EXPECT_EQ(d.counts.good_lines + d.counts.bad_lines, 0u) << payload;
  }
}

TEST(LineProtocolDecoderTest, StringWithNewlinesKeepsLineNumbersOfLaterLines) {
  const Decoded d = DecodeAll("a s=\"x\ny\" 1\nb,bad\nc v=1 3");
  EXPECT_EQ(d.Describe(), "a s=\"x\ny\" 1\nc v=1 3\n!3:6 missing tag value");
  EXPECT_EQ(d.line_numbers, (std::vector<std::size_t>{1, 4}));
}

TEST(LineProtocolDecoderTest, UnterminatedStringMakesTheRestOneBadLine) {
  const Decoded d = DecodeAll("a v=1 1\nb s=\"x\nc v=1 1\n");
  EXPECT_EQ(d.Describe(), "a v=1 1\n!2:5 unbalanced quotes");
}

TEST(LineProtocolDecoderTest, QuotesOutsideFieldValuesDoNotSpanLines) {
  const Decoded d = DecodeAll("m,t=\"x f=1 1\nm \"k=1 2\nm f=1 \"3\nm f=2 4");
  EXPECT_EQ(d.Describe(), "m;t=\"x f=1 1\nm \"k=1 2\nm f=2 4\n!3:7 bad timestamp");
}

struct PrecisionCase {
  Precision precision;
  const char* input;
  const char* want;
};

TEST(LineProtocolDecoderTest, ScalesTimestampsByPrecision) {
  const PrecisionCase cases[] = {
      {Precision::kNanoseconds, "m v=1 1", "m v=1 1"},
      {Precision::kMicroseconds, "m v=1 1", "m v=1 1000"},
      {Precision::kMilliseconds, "m v=1 -1", "m v=1 -1000000"},
      {Precision::kSeconds, "m v=1 1700000000", "m v=1 1700000000000000000"},
      {Precision::kMinutes, "m v=1 2", "m v=1 120000000000"},
      {Precision::kHours, "m v=1 -1", "m v=1 -3600000000000"},
      {Precision::kSeconds, "m v=1 9223372036", "m v=1 9223372036000000000"},
      {Precision::kSeconds, "m v=1 9223372037", "!1:7 time outside range "
                                                 "-9223372036854775806 - 9223372036854775806"},
      {Precision::kHours, "m v=1 -2562048", "!1:7 time outside range "
                                             "-9223372036854775806 - 9223372036854775806"},
      // The default timestamp is truncated to the precision.
      {Precision::kSeconds, "m v=1", "m v=1 1700000000000000000"},
      {Precision::kMilliseconds, "m v=1", "m v=1 1700000000123000000"},
  };
  for (const PrecisionCase& c : cases) {
    SCOPED_TRACE(c.input);
    const Decoded d = DecodeAll(c.input, {.precision = c.precision}, 1'700'000'000'123'456'789);
    EXPECT_EQ(d.Describe(), c.want);
  }
}

TEST(ParsePrecisionTest, AcceptsInfluxDbNamesOnly) {
  EXPECT_EQ(ParsePrecision(""), Precision::kNanoseconds);
  EXPECT_EQ(ParsePrecision("n"), Precision::kNanoseconds);
  EXPECT_EQ(ParsePrecision("ns"), Precision::kNanoseconds);
  EXPECT_EQ(ParsePrecision("u"), Precision::kMicroseconds);
  EXPECT_EQ(ParsePrecision("us"), Precision::kMicroseconds);
  EXPECT_EQ(ParsePrecision("ms"), Precision::kMilliseconds);
  EXPECT_EQ(ParsePrecision("s"), Precision::kSeconds);
  EXPECT_EQ(ParsePrecision("m"), Precision::kMinutes);
  EXPECT_EQ(ParsePrecision("h"), Precision::kHours);
  for (const char* bad : {"µs", "NS", "d", "sec", " s"}) {
    EXPECT_EQ(ParsePrecision(bad), std::nullopt) << bad;
  }
}

TEST(LineProtocolDecoderTest, RejectsLinesLongerThanTheLimit) {
  const std::string payload = "m v=1 1\nm,host=" + std::string(20, 'a') + " v=2 2\nm v=3 3";
  const Decoded d = DecodeAll(payload, {.max_line_bytes = 20});
  EXPECT_EQ(d.Describe(), "m v=1 1\nm v=3 3\n!2:21 line too long: 33 bytes, the limit is 20");
  EXPECT_EQ(DecodeAll("m,t=" + std::string(10, 'x') + " v=1 1", {.max_line_bytes = 20})
                .counts.good_lines,
            1u);
}

TEST(LineProtocolDecoderTest, DescribesAtMostMaxErrorsBadLines) {
  const Decoded d = DecodeAll("a\nb\nc v=1 1\nd\ne\n", {.max_errors = 2});
  EXPECT_EQ(d.counts.good_lines, 1u);
  EXPECT_EQ(d.counts.bad_lines, 4u);
  EXPECT_EQ(d.Describe(), "c v=1 1\n!1:2 missing fields\n!2:2 missing fields");
}

TEST(LineErrorTest, ToStringQuotesTheLineAsInfluxDbDoes) {
  const Decoded short_line = DecodeAll("  cpu,host=a");
  ASSERT_EQ(short_line.errors.size(), 1u);
  EXPECT_EQ(short_line.errors[0].ToString(),
            "line 1, column 13: unable to parse 'cpu,host=a': missing fields");
  const Decoded long_line = DecodeAll("m,t=" + std::string(200, 'x') + " v=");
  ASSERT_EQ(long_line.errors.size(), 1u);
  EXPECT_EQ(long_line.errors[0].excerpt, "m,t=" + std::string(96, 'x') + "...");
}

TEST(LineProtocolDecoderTest, KeepsTheLastOfManyRepeatedFields) {
  std::string payload = "m ";
  std::string want = "m ";
  for (int i = 0; i < 30; ++i) payload += "f" + std::to_string(i) + "=" + std::to_string(i) + ",";
  payload += "f3=33,f0=100 1";
  for (int i = 1; i < 30; ++i) {
    if (i != 3) want += "f" + std::to_string(i) + "=" + std::to_string(i) + ";";
  }
  want += "f3=33;f0=100 1";
  EXPECT_EQ(DecodeAll(payload).Describe(), want);
}

TEST(LineProtocolDecoderTest, IntegersAlsoCarryTheirValueAsDouble) {
  LineProtocolDecoder decoder;
  std::vector<LineError> errors;
  std::vector<double> values;
  decoder.Decode("m a=9007199254740993i,b=-3i,c=t,d=2.5 1", 0,
                 [&values](const DecodedLine& line) {
                   for (const DecodedField& f : line.fields) values.push_back(f.value);
                 },
                 errors);
  // 2^53 + 1 is not a double: it rounds to 2^53.
  EXPECT_EQ(values, (std::vector<double>{9007199254740992.0, -3, 1, 2.5}));
}

TEST(LineProtocolDecoderTest, ViewsPointIntoThePayloadUnlessUnescaped) {
  const std::string payload =
      R"(plain,k=v f=1,s="x" 1)" "\n" R"(esc\ aped,k=v\,w f\ g=1,s="a\"b" 1)";
  LineProtocolDecoder decoder;
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
                   in_payload.push_back(inside(line.fields[1].string_value));
                 },
                 errors);
  EXPECT_EQ(in_payload, (std::vector<bool>{true, true, true, true, false, false, false, false}));
}

TEST(LineProtocolDecoderTest, WarmDecoderDoesNotAllocate) {
  std::string payload;
  for (int i = 0; i < 200; ++i) {
    payload += "cpu\\ x,host=h" + std::to_string(i) + ",dc=d\\,1 a=1.5,b=" + std::to_string(i) +
               "i,c=true,s=\"q\\\"s\"," + "d=" + std::to_string(i) + " " + std::to_string(i) +
               "\n";
  }
  LineProtocolDecoder decoder;
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

TEST(AppendLineProtocolTest, EncodesWhatDecodesBackToTheSameLine) {
  const std::string payload =
      R"(m\ x\,y=z,a\=b=c\ d\,e f\ g=1.5,h=-3i,i=false,j="q\"u\\o\te" 7)" "\n"
      "m s=\"multi\nline\" 8\n"
      "m f=1e-300,g=123456789012345678 9";
  LineProtocolDecoder decoder;
  std::vector<LineError> errors;
  std::string encoded;
  std::string rendered;
  decoder.Decode(payload, 0,
                 [&](const DecodedLine& line) {
                   AppendLineProtocol(line, encoded);
                   rendered += Render(line) + "\n";
                 },
                 errors);
  // The literal backslash of `\t` comes back escaped: `\\t`.
  EXPECT_EQ(encoded,
            R"(m\ x\,y=z,a\=b=c\ d\,e f\ g=1.5,h=-3i,i=false,j="q\"u\\o\\te" 7)" "\n"
            "m s=\"multi\nline\" 8\n"
            "m f=1e-300,g=123456789012345680 9\n");
  std::string again;
  decoder.Decode(encoded, 0, [&](const DecodedLine& line) { again += Render(line) + "\n"; },
                 errors);
  EXPECT_EQ(again, rendered);
  EXPECT_TRUE(errors.empty());
}

// A realistic payload: Telegraf-style cpu, mem, disk and a string-bearing syslog line.
std::string MakeRealisticPayload(std::size_t lines) {
  std::string out;
  out.reserve(lines * 150);
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  for (std::size_t i = 0; i < lines; ++i) {
    const std::string host = "server" + std::to_string(i % 1000);
    const std::string ts = std::to_string(t0 + static_cast<std::int64_t>(i) * 1'000'000'000);
    switch (i % 4) {
      case 0:
        out += "cpu,cpu=cpu-total,host=" + host +
               ",region=us-west-3 usage_idle=97.3,usage_system=1.25,usage_user=1.45 " + ts;
        break;
      case 1:
        out += "mem,host=" + host + " active=4112314368i,available_percent=68.125,free=" +
               std::to_string(i) + "i,used_percent=31.875 " + ts;
        break;
      case 2:
        out += "disk,device=nvme0n1p2,fstype=ext4,host=" + host +
               ",mode=rw,path=/ free=52341260288i,inodes_used=3312400i,used_percent=54.2 " + ts;
        break;
      default:
        out += "syslog,appname=sshd,facility=auth,host=" + host +
               ",severity=info message=\"Accepted publickey for user from 10.0.0.7 port 53122\","
               "severity_code=6i " + ts;
        break;
    }
    out += '\n';
  }
  return out;
}

// Run with --gtest_also_run_disabled_tests in a Release build; it reports, never asserts
// a speed.
TEST(LineProtocolDecoderTest, DISABLED_Throughput) {
  const std::string payload = MakeRealisticPayload(1'000'000);
  LineProtocolDecoder decoder;
  std::vector<LineError> errors;
  std::size_t fields = 0;
  auto count = [&fields](const DecodedLine& line) { fields += line.fields.size(); };
  decoder.Decode(payload, 0, count, errors);  // warm up
  fields = 0;
  const auto start = std::chrono::steady_clock::now();
  const DecodeCounts counts = decoder.Decode(payload, 0, count, errors);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu lines, %zu fields, %.1f MB in %.3f s: %.0f MB/s, %.2f M lines/s, %.2f M "
              "fields/s\n",
              counts.good_lines, fields, static_cast<double>(payload.size()) / 1e6, seconds,
              static_cast<double>(payload.size()) / 1e6 / seconds,
              static_cast<double>(counts.good_lines) / 1e6 / seconds,
              static_cast<double>(fields) / 1e6 / seconds);
  EXPECT_EQ(counts.good_lines, 1'000'000u);
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace tidewatch::ingest
