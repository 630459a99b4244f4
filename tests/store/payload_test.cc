// PayloadWriter / PayloadReader: the pinned byte encoding, round trips (bit-exact
// doubles, varint edges), and that a reader never reads past the end of its view.
#include "store/internal/payload.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tidewatch::store::internal {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

TEST(PayloadWriterTest, EncodesLittleEndianAndVarints) {
  PayloadWriter w;
  w.PutU8(0xAB);
  w.PutU32(0x01020304);
  w.PutU64(0x1122334455667788);
  w.PutI64(-2);
  w.PutVarint64(300);
  w.PutLengthPrefixed("hi");
  EXPECT_EQ(Hex(w.data()),
            "ab"
            "04030201"
            "8877665544332211"
            "feffffffffffffff"
            "ac02"
            "026869");
}

TEST(PayloadWriterTest, ClearEmptiesTheWriter) {
  PayloadWriter w;
  w.PutU64(1);
  w.Clear();
  w.PutU8(7);
  EXPECT_EQ(Hex(w.data()), "07");
}

TEST(PayloadReaderTest, RoundTripsEveryType) {
  PayloadWriter w;
  w.PutU8(255);
  w.PutU32(std::numeric_limits<std::uint32_t>::max());
  w.PutU64(std::numeric_limits<std::uint64_t>::max());
  w.PutI64(std::numeric_limits<std::int64_t>::min());
  w.PutF64(-0.0);
  w.PutLengthPrefixed(std::string_view("a\0b", 3));
  w.PutLengthPrefixed("");
  PayloadReader r(w.data());
  std::uint8_t u8 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  std::int64_t i64 = 0;
  double f64 = 1;
  std::string_view s1, s2;
  ASSERT_TRUE(r.ReadU8(&u8) && r.ReadU32(&u32) && r.ReadU64(&u64) && r.ReadI64(&i64) &&
              r.ReadF64(&f64) && r.ReadLengthPrefixed(&s1) && r.ReadLengthPrefixed(&s2))
      << r.status().ToString();
  EXPECT_EQ(u8, 255);
  EXPECT_EQ(u32, std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(u64, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(i64, std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(std::signbit(f64) && f64 == 0.0);
  EXPECT_EQ(s1, std::string_view("a\0b", 3));
  EXPECT_EQ(s2, "");
  EXPECT_EQ(r.remaining(), 0U);
  EXPECT_TRUE(r.status().ok());
}

TEST(PayloadReaderTest, DoublesAreBitExact) {
  const std::uint64_t patterns[] = {
      0x7FF8000000000001,  // quiet NaN with a payload
      0xFFF4000000000BADu,  // signalling NaN, sign bit set
      0x7FF0000000000000,  // +inf
      0x0000000000000001,  // smallest denormal
      0x8000000000000000,  // -0.0
  };
  PayloadWriter w;
  for (const std::uint64_t bits : patterns) w.PutF64(std::bit_cast<double>(bits));
  PayloadReader r(w.data());
  for (const std::uint64_t bits : patterns) {
    double v = 0;
    ASSERT_TRUE(r.ReadF64(&v));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(v), bits);
  }
}

TEST(PayloadReaderTest, VarintsRoundTripAtEveryWidth) {
  PayloadWriter w;
  for (int bits = 0; bits <= 64; ++bits) {
    const std::uint64_t v = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    w.Clear();
    w.PutVarint64(v);
    EXPECT_EQ(w.data().size(), bits == 0 ? 1U : static_cast<std::size_t>((bits + 6) / 7));
    PayloadReader r(w.data());
    std::uint64_t got = 0;
    ASSERT_TRUE(r.ReadVarint64(&got)) << r.status().ToString();
    EXPECT_EQ(got, v) << bits << " bits";
    EXPECT_EQ(r.remaining(), 0U);
  }
}

TEST(PayloadReaderTest, RandomSequencesRoundTrip) {
  constexpr std::uint64_t kSeed = 7;
  std::mt19937_64 rng(kSeed);
  PayloadWriter w;
  std::vector<std::uint64_t> values(1000);
  for (std::uint64_t& v : values) {
    v = rng() >> (rng() % 64);
    w.PutVarint64(v);
    w.PutU64(v);
  }
  PayloadReader r(w.data());
  for (const std::uint64_t want : values) {
    std::uint64_t a = 0, b = 0;
    ASSERT_TRUE(r.ReadVarint64(&a) && r.ReadU64(&b)) << "seed=" << kSeed;
    ASSERT_EQ(a, want) << "seed=" << kSeed;
    ASSERT_EQ(b, want) << "seed=" << kSeed;
  }
  EXPECT_EQ(r.remaining(), 0U);
}

// Reads the sequence written by EncodesLittleEndianAndVarints; false at the first
// failure.
bool ReadAll(PayloadReader& r) {
  std::uint8_t u8;
  std::uint32_t u32;
  std::uint64_t u64;
  std::int64_t i64;
  std::string_view s;
  return r.ReadU8(&u8) && r.ReadU32(&u32) && r.ReadU64(&u64) && r.ReadI64(&i64) &&
         r.ReadVarint64(&u64) && r.ReadLengthPrefixed(&s);
}

TEST(PayloadReaderTest, EveryTruncationIsReportedNeverOverread) {
  PayloadWriter w;
  w.PutU8(0xAB);
  w.PutU32(1);
  w.PutU64(2);
  w.PutI64(-3);
  w.PutVarint64(300);
  w.PutLengthPrefixed("hello");
  for (std::size_t len = 0; len < w.data().size(); ++len) {
    // A copy of exactly `len` bytes, so ASan catches a read past its end.
    const std::string cut = w.data().substr(0, len);
    PayloadReader r(cut);
    EXPECT_FALSE(ReadAll(r)) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << len;
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
  }
  PayloadReader whole(w.data());
  EXPECT_TRUE(ReadAll(whole));
}

TEST(PayloadReaderTest, TruncationMessageSaysWhatAndWhere) {
  PayloadReader r(std::string_view("\x01\x02\x03\x04\x05", 5));
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 7;
  ASSERT_TRUE(r.ReadU32(&u32));
  EXPECT_FALSE(r.ReadU64(&u64));
  EXPECT_EQ(u64, 7U);  // untouched
  EXPECT_EQ(r.offset(), 4U);
  EXPECT_EQ(r.status().ToString(), "DATA_LOSS: truncated: u64 at offset 4 needs 8 bytes, 1 remain");
}

TEST(PayloadReaderTest, FailureIsSticky) {
  PayloadReader r(std::string_view("\x05", 1));
  std::uint32_t u32 = 0;
  std::uint8_t u8 = 0;
  EXPECT_FALSE(r.ReadU32(&u32));
  EXPECT_FALSE(r.ReadU8(&u8));  // the byte is there, but the reader has failed
  EXPECT_EQ(u8, 0);
  EXPECT_NE(r.status().message().find("u32 at offset 0"), std::string::npos);
}

TEST(PayloadReaderTest, RejectsVarintsBeyond64Bits) {
  // 11 bytes of continuation, and a 10th byte carrying bits above 63.
  const std::string too_long(11, '\x80');
  const std::string overflow = std::string(9, '\xFF') + '\x02';
  for (const std::string& bytes : {too_long, overflow}) {
    PayloadReader r(bytes);
    std::uint64_t v = 0;
    EXPECT_FALSE(r.ReadVarint64(&v));
    EXPECT_EQ(r.status().ToString(), "DATA_LOSS: varint at offset 0 does not fit 64 bits");
  }
}

TEST(PayloadReaderTest, HugeDeclaredLengthFailsWithoutAllocating) {
  PayloadWriter w;
  w.PutVarint64(std::numeric_limits<std::uint64_t>::max());
  w.PutU32(0);
  PayloadReader r(w.data());
  std::string_view s = "untouched";
  EXPECT_FALSE(r.ReadLengthPrefixed(&s));
  EXPECT_EQ(s, "untouched");
  EXPECT_EQ(r.offset(), 0U);
  EXPECT_EQ(r.status().ToString(),
            "DATA_LOSS: truncated: string at offset 0 declares 18446744073709551615 bytes, "
            "4 remain");
}

TEST(PayloadReaderTest, ReadBytesReturnsAViewOfExactlyN) {
  const std::string data = "magic!rest";
  PayloadReader r(data);
  std::string_view magic;
  ASSERT_TRUE(r.ReadBytes(6, &magic));
  EXPECT_EQ(magic, "magic!");
  EXPECT_EQ(magic.data(), data.data());  // a view, not a copy
  EXPECT_FALSE(r.ReadBytes(5, &magic));
  EXPECT_EQ(r.remaining(), 4U);
}

}  // namespace
}  // namespace tidewatch::store::internal
