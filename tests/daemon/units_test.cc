#include "daemon/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace tidewatch::daemon {
namespace {

using std::chrono::nanoseconds;

// The parsed duration in ns, or the error message.
std::string Duration(std::string_view text) {
  StatusOr<nanoseconds> d = ParseDuration(text);
  return d.ok() ? std::to_string(d->count()) : d.status().message();
}

std::string Size(std::string_view text) {
  StatusOr<std::uint64_t> s = ParseSize(text);
  return s.ok() ? std::to_string(*s) : s.status().message();
}

TEST(ParseDurationTest, AcceptsEveryUnitAndCombinations) {
  EXPECT_EQ(Duration("500ms"), "500000000");
  EXPECT_EQ(Duration("30s"), "30000000000");
  EXPECT_EQ(Duration("5m"), "300000000000");
  EXPECT_EQ(Duration("1h"), "3600000000000");
  EXPECT_EQ(Duration("1h30m"), "5400000000000");
  EXPECT_EQ(Duration("8760h"), "31536000000000000");
  EXPECT_EQ(Duration("1s250ms"), "1250000000");
  EXPECT_EQ(Duration("7us"), "7000");
  EXPECT_EQ(Duration("9ns"), "9");
  EXPECT_EQ(Duration("0s"), "0");
  EXPECT_EQ(Duration("2h3m4s5ms6us7ns"), "7384005006007");
}

TEST(ParseDurationTest, RejectsMalformedInputWithTheReason) {
  EXPECT_EQ(Duration("30 seconds"),
            "expected a duration like \"30s\" or \"1h30m\", got \"30 seconds\" (unknown unit "
            "\" seconds\"; use h, m, s, ms, us or ns)");
  EXPECT_NE(Duration("").find("(empty)"), std::string::npos);
  EXPECT_NE(Duration("30").find("missing unit"), std::string::npos);
  EXPECT_NE(Duration("s").find("expected a digit"), std::string::npos);
  EXPECT_NE(Duration("-5s").find("no sign"), std::string::npos);
  EXPECT_NE(Duration("+5s").find("no sign"), std::string::npos);
  EXPECT_NE(Duration("1.5s").find("no fractions"), std::string::npos);
  EXPECT_NE(Duration("5d").find("unknown unit \"d\""), std::string::npos);
  EXPECT_NE(Duration("5S").find("unknown unit"), std::string::npos);
  EXPECT_NE(Duration("30m1h").find("from h down to ns"), std::string::npos);
  EXPECT_NE(Duration("1s1s").find("from h down to ns"), std::string::npos);
  EXPECT_NE(Duration(" 5s").find("expected a digit"), std::string::npos);
  EXPECT_NE(Duration("5s ").find("unknown unit \"s \""), std::string::npos);
}

TEST(ParseDurationTest, RejectsOverflow) {
  EXPECT_EQ(Duration("9223372036854775807ns"), "9223372036854775807");
  EXPECT_NE(Duration("9223372036854775808ns").find("too large"), std::string::npos);
  EXPECT_NE(Duration("2562048h").find("too large"), std::string::npos);     // > 292 years
  EXPECT_NE(Duration("2562047h48m").find("too large"), std::string::npos);  // sum overflows
  EXPECT_NE(Duration("99999999999999999999999s").find("too large"), std::string::npos);
}

TEST(ParseDurationTest, QuotesHostileInputSafely) {
  const std::string message = Duration(std::string("5\0x\xff\n", 5));
  EXPECT_NE(message.find("\"5\\x00x\\xff\\n\""), std::string::npos) << message;
  const std::string long_input(1000, '7');
  EXPECT_LT(Duration(long_input).size(), 200u);
}

TEST(FormatDurationTest, RoundTrips) {
  for (const char* text : {"0s", "1h30m", "500ms", "8760h", "1s1ns", "10s", "1m"}) {
    StatusOr<nanoseconds> d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text;
    EXPECT_EQ(FormatDuration(*d), text);
  }
  EXPECT_EQ(FormatDuration(std::chrono::seconds(60)), "1m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1s500ms");
}

TEST(ParseSizeTest, AcceptsBinaryAndSiUnitsAndPlainBytes) {
  EXPECT_EQ(Size("512MiB"), "536870912");
  EXPECT_EQ(Size("64KiB"), "65536");
  EXPECT_EQ(Size("1GiB"), "1073741824");
  EXPECT_EQ(Size("2TiB"), "2199023255552");
  EXPECT_EQ(Size("100MB"), "100000000");
  EXPECT_EQ(Size("100kB"), "100000");
  EXPECT_EQ(Size("100KB"), "100000");
  EXPECT_EQ(Size("3GB"), "3000000000");
  EXPECT_EQ(Size("1TB"), "1000000000000");
  EXPECT_EQ(Size("17B"), "17");
  EXPECT_EQ(Size("4096"), "4096");
  EXPECT_EQ(Size("0"), "0");
  EXPECT_EQ(Size("18446744073709551615"), "18446744073709551615");
}

TEST(ParseSizeTest, RejectsMalformedInput) {
  EXPECT_NE(Size("").find("(empty)"), std::string::npos);
  EXPECT_NE(Size("-1").find("no sign"), std::string::npos);
  EXPECT_NE(Size("1.5GiB").find("no fractions"), std::string::npos);
  EXPECT_NE(Size("5 MiB").find("unknown unit \" MiB\""), std::string::npos);
  EXPECT_NE(Size("5mib").find("unknown unit"), std::string::npos);
  EXPECT_NE(Size("5Mb").find("unknown unit"), std::string::npos);
  EXPECT_NE(Size("MiB").find("expected a digit"), std::string::npos);
  EXPECT_NE(Size("18446744073709551616").find("too large"), std::string::npos);
  EXPECT_NE(Size("16777216TiB").find("too large"), std::string::npos);
  EXPECT_NE(Size("99999999999999999999999999GB").find("too large"), std::string::npos);
}

TEST(FormatSizeTest, UsesTheLargestExactBinaryUnit) {
  EXPECT_EQ(FormatSize(25u << 20), "25MiB");
  EXPECT_EQ(FormatSize(std::uint64_t{1} << 30), "1GiB");
  EXPECT_EQ(FormatSize(1536u << 10), "1536KiB");
  EXPECT_EQ(FormatSize(1000), "1000");
  EXPECT_EQ(FormatSize(0), "0");
  for (std::uint64_t bytes :
       {std::uint64_t{1}, std::uint64_t{1024}, std::uint64_t{3} << 40, std::uint64_t{123456789}}) {
    StatusOr<std::uint64_t> back = ParseSize(FormatSize(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
  }
}

std::string HostPortText(std::string_view text) {
  StatusOr<HostPort> hp = ParseHostPort(text);
  return hp.ok() ? hp->host + " " + std::to_string(hp->port) : hp.status().message();
}

TEST(ParseHostPortTest, AcceptsNamesAndLiterals) {
  EXPECT_EQ(HostPortText("127.0.0.1:8086"), "127.0.0.1 8086");
  EXPECT_EQ(HostPortText("localhost:1"), "localhost 1");
  EXPECT_EQ(HostPortText("0.0.0.0:65535"), "0.0.0.0 65535");
  EXPECT_EQ(HostPortText("[::1]:8086"), "::1 8086");
  EXPECT_EQ(HostPortText("[::]:80"), ":: 80");
  EXPECT_EQ(HostPortText("[fe80::1:2]:9000"), "fe80::1:2 9000");
  EXPECT_EQ(HostPortText("tidewatch-1.plant.example:8086"), "tidewatch-1.plant.example 8086");
}

TEST(ParseHostPortTest, RejectsBadAddresses) {
  EXPECT_NE(HostPortText("127.0.0.1").find("no port"), std::string::npos);
  EXPECT_EQ(HostPortText("127.0.0.1:0"), "127.0.0.1 0");
  EXPECT_NE(HostPortText("127.0.0.1:65536").find("0..65535"), std::string::npos);
  EXPECT_NE(HostPortText("127.0.0.1:99999999999999999999").find("0..65535"), std::string::npos);
  EXPECT_NE(HostPortText("127.0.0.1:-1").find("0..65535"), std::string::npos);
  EXPECT_NE(HostPortText("127.0.0.1:").find("0..65535"), std::string::npos);
  EXPECT_NE(HostPortText(":8086").find("empty host"), std::string::npos);
  EXPECT_NE(HostPortText("::1:8086").find("needs brackets"), std::string::npos);
  EXPECT_NE(HostPortText("[::1:8086").find("brackets"), std::string::npos);
  EXPECT_NE(HostPortText("[]:8086").find("brackets"), std::string::npos);
  EXPECT_NE(HostPortText("[zz::1]:8086").find("IPv6"), std::string::npos);
  EXPECT_NE(HostPortText("[127.0.0.1]:8086").find("IPv6"), std::string::npos);
  EXPECT_NE(HostPortText("host name:8086").find("bad character"), std::string::npos);
  EXPECT_NE(HostPortText("").find("no port"), std::string::npos);
}

}  // namespace
}  // namespace tidewatch::daemon
