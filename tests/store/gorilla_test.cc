// The Gorilla chunk codec and the bit stream under it: bit-exact round trips (random
// series over many seeds, adversarial values and timestamps, block sizes), the pinned
// format, every decode error, memory safety on corrupted input, and the size of a
// SCADA-like dataset. A manual speed run (prints, asserts nothing about time):
//   gorilla_test --gtest_also_run_disabled_tests --gtest_filter='*Speed*'
#include "store/internal/gorilla.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/internal/bit_stream.h"
#include "store/status.h"
#include "tests/store/codec_test_util.h"

namespace tidewatch::store::internal {
namespace {

constexpr std::int64_t kMinTs = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxTs = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kTenSeconds = 10'000'000'000;

#ifdef TIDEWATCH_SANITIZED
constexpr std::uint64_t kSeeds = 100;
#else
constexpr std::uint64_t kSeeds = 1000;
#endif

std::string Encode(const Series& s) {
  std::string block;
  GorillaEncode(s.ts.data(), s.values.data(), s.ts.size(), block);
  return block;
}

StatusOr<Series> Decode(std::string_view block, std::size_t capacity) {
  return DecodeWith(GorillaDecode, block, capacity);
}

// "" when `s` survives encode + decode bit for bit, else the first difference.
std::string RoundTripMismatch(const Series& s) { return RoundTripMismatchWith(GorillaDecode, Encode(s), s); }

// Points at start, start + interval, ... carrying `values`.
Series Regular(std::vector<double> values, std::int64_t start = 0,
               std::int64_t interval = kTenSeconds) {
  Series s{{}, std::move(values)};
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    s.ts.push_back(start + static_cast<std::int64_t>(i) * interval);
  }
  return s;
}

// Points at `ts` carrying the values 0, 1, ..., 6, 0, 1, ...
Series AtTimes(std::vector<std::int64_t> ts) {
  Series s{std::move(ts), {}};
  for (std::size_t i = 0; i < s.ts.size(); ++i) s.values.push_back(static_cast<double>(i % 7));
  return s;
}

template <class T>
T Pick(std::mt19937_64& rng, std::initializer_list<T> choices) {
  return choices.begin()[rng() % choices.size()];
}

// A random series: regular slots with ns jitter and random gaps; values a Gaussian
// walk, a walk quantised to 0.01, an integer counter or raw random bit patterns.
Series RandomSeries(std::uint64_t seed, std::size_t max_points = 2048) {
  std::mt19937_64 rng(seed);
  const std::size_t n = 1 + rng() % max_points;
  const std::int64_t interval =
      Pick<std::int64_t>(rng, {1, 1'000, 1'000'000, 1'000'000'000, kTenSeconds,
                               1 + static_cast<std::int64_t>(rng() % 1'000'000'000'000)});
  const std::int64_t jitter =
      std::min(Pick<std::int64_t>(rng, {0, 100, 5'000, 1'000'000}), (interval - 1) / 2);
  const double gap_chance = Pick(rng, {0.0, 0.01, 0.3});
  const int kind = static_cast<int>(rng() % 4);
  std::uniform_int_distribution<std::int64_t> jitter_dist(-jitter, jitter);
  std::bernoulli_distribution gap(gap_chance);
  std::normal_distribution<double> step(0, Pick(rng, {0.001, 1.0, 1e6}));
  Series s;
  std::int64_t slot = static_cast<std::int64_t>(rng() % 1000);
  const std::int64_t start = static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 62)) -
                             (std::int64_t{1} << 61);
  double x = step(rng);
  for (std::size_t i = 0; i < n; ++i, ++slot) {
    while (gap(rng)) slot += static_cast<std::int64_t>(1 + rng() % 100);
    s.ts.push_back(start + slot * interval + jitter_dist(rng));
    x += step(rng);
    const double value = kind == 0   ? x
                         : kind == 1 ? std::round(x * 100) / 100
                         : kind == 2 ? std::round(std::abs(x))
                                     : std::bit_cast<double>(rng());
    s.values.push_back(value);
  }
  return s;
}

// n points at 1 s intervals with +-100 us of jitter carrying a full-precision
// Gaussian walk: the sort of data that compresses badly.
Series Walk(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> jitter(-100'000, 100'000);
  std::normal_distribution<double> step(0, 1);
  Series s;
  double x = 20;
  for (std::size_t i = 0; i < n; ++i) {
    s.ts.push_back(static_cast<std::int64_t>(i) * 1'000'000'000 + jitter(rng));
    s.values.push_back(x += step(rng));
  }
  return s;
}

bool StrictlyAscending(const std::vector<std::int64_t>& ts) {
  return std::adjacent_find(ts.begin(), ts.end(), std::greater_equal<>()) == ts.end();
}

TEST(GorillaTest, RoundTripsRandomSeries) {
  for (std::uint64_t seed = 0; seed < kSeeds; ++seed) {
    ASSERT_EQ(RoundTripMismatch(RandomSeries(seed)), "") << "seed " << seed;
  }
}

TEST(GorillaTest, RoundTripsAnyBitPatternsAndDeltas) {
  for (std::uint64_t seed = 0; seed < kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    Series s;
    std::uint64_t ts = static_cast<std::uint64_t>(kMinTs) + (rng() >> (rng() % 64));
    for (std::size_t i = 0; i < 1024; ++i) {
      s.ts.push_back(static_cast<std::int64_t>(ts));
      s.values.push_back(std::bit_cast<double>(rng()));
      const std::uint64_t delta = 1 + (rng() >> (1 + rng() % 63));  // any magnitude
      if (delta > static_cast<std::uint64_t>(kMaxTs) - ts) break;   // would pass INT64_MAX
      ts += delta;
    }
    ASSERT_EQ(RoundTripMismatch(s), "") << "seed " << seed;
  }
}

TEST(GorillaTest, RoundTripsRepeatingPatterns) {
  EXPECT_EQ(RoundTripMismatch(Regular(std::vector<double>(1024, 42.5))), "");
  std::vector<double> alternating, signs;
  for (int i = 0; i < 1024; ++i) {
    alternating.push_back(i % 2 == 0 ? 3.14159 : 2.5e-300);
    signs.push_back(i % 2 == 0 ? 1.0 + i : -1.0 - i);
  }
  EXPECT_EQ(RoundTripMismatch(Regular(alternating)), "");
  EXPECT_EQ(RoundTripMismatch(Regular(signs)), "");
}

TEST(GorillaTest, RoundTripsSpecialDoublesBitForBit) {
  const auto nan = [](std::uint64_t bits) { return std::bit_cast<double>(bits); };
  const double inf = std::numeric_limits<double>::infinity();
  const double denorm = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(RoundTripMismatch(Regular({nan(0x7ff8000000000000), nan(0x7ff0000000000001),
                                       nan(0xfff8000000000000), nan(0x7fffffffffffffff),
                                       nan(0xfff0000000000001), nan(0x7ff4000000000000)})),
            "");
  EXPECT_EQ(RoundTripMismatch(Regular({0.0, -0.0, 0.0, -0.0, -0.0, inf, -inf, inf, 0.0})), "");
  EXPECT_EQ(RoundTripMismatch(Regular({denorm, -denorm, 3 * denorm, 0x1p-1022, 0x1.fp-1030,
                                       std::numeric_limits<double>::max(), -denorm})),
            "");
}

TEST(GorillaTest, RoundTripsExtremeTimestamps) {
  EXPECT_EQ(RoundTripMismatch(AtTimes({kMinTs, kMaxTs})), "");
  EXPECT_EQ(RoundTripMismatch(AtTimes({kMinTs, kMinTs + 1, -1, 0, kMaxTs - 1, kMaxTs})), "");
  EXPECT_EQ(RoundTripMismatch(AtTimes({kMinTs, 0, 1, kMaxTs})), "");
  EXPECT_EQ(RoundTripMismatch(AtTimes({-5, -4, kMaxTs / 2, kMaxTs / 2 + 1, kMaxTs})), "");
}

TEST(GorillaTest, RoundTripsEveryBlockSize) {
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{1024}, kMaxBlockPoints}) {
    EXPECT_EQ(RoundTripMismatch(Walk(n, n)), "") << "n " << n;
  }
}

TEST(GorillaTest, AppendsAfterExistingBytes) {
  const Series a = RandomSeries(1), b = RandomSeries(2);
  std::string bytes = "prefix";
  GorillaEncode(a.ts.data(), a.values.data(), a.ts.size(), bytes);
  const std::size_t a_end = bytes.size();
  GorillaEncode(b.ts.data(), b.values.data(), b.ts.size(), bytes);
  EXPECT_EQ(bytes.substr(0, 6), "prefix");
  EXPECT_EQ(bytes.substr(6, a_end - 6), Encode(a));
  EXPECT_EQ(bytes.substr(a_end), Encode(b));
}

// Pins the format: snapshots persist blocks, so a change here breaks old files.
TEST(GorillaTest, EncodesTheDocumentedLayout) {
  // count 3 | ts0 = 0 | 1.0 | dod 10: '10' + ZigZag 20 in 16 bits | value same: '0' |
  // dod 0: '0' | -1.0 xor 1.0 = sign bit: '11' leading 0, width 1, bit 1 | 6 pad bits.
  const std::string want("\x03" "\0\0\0\0\0\0\0\0" "\x3f\xf0\0\0\0\0\0\0" "\x80\x05\x0c\x00\xc0",
                         22);
  EXPECT_EQ(Encode(Regular({1.0, 1.0, -1.0}, 0, 10)), want);
}

TEST(GorillaTest, ConstantExactIntervalsCostTwoBitsPerPoint) {
  // 2 count bytes, then 128 raw bits, 44 + 1 for point 1 (its delta is its dod) and
  // 1 + 1 for each of the other 1022 points, rounded up to whole bytes.
  EXPECT_EQ(Encode(Regular(std::vector<double>(1024, 5.25))).size(),
            2u + (128 + 44 + 1 + 1022 * 2 + 7) / 8);
}

TEST(GorillaDecodeTest, EveryTruncationIsAnError) {
  for (const Series& s : {Regular({1.0, 1.0, -1.0}, 0, 10), AtTimes({kMinTs, 0, kMaxTs}),
                          RandomSeries(3, 64), RandomSeries(4, 64), RandomSeries(5, 64)}) {
    const std::string block = Encode(s);
    for (std::size_t len = 0; len < block.size(); ++len) {
      const StatusOr<Series> got = Decode(std::string_view(block).substr(0, len), s.ts.size());
      ASSERT_FALSE(got.ok()) << "len " << len << " of " << block.size();
      EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
      EXPECT_NE(got.status().message().find(len == 0 ? "empty" : "truncated"), std::string::npos)
          << got.status().ToString();
    }
  }
}

TEST(GorillaDecodeTest, TrailingBytesAndPaddingBitsAreErrors) {
  const std::string block = Encode(Regular({7.0, 7.0}));  // 173 bits: 3 padding bits
  const std::string want =
      "DATA_LOSS: gorilla block: trailing bytes or non-zero padding after the last point";
  ASSERT_TRUE(Decode(block, 2).ok());
  EXPECT_EQ(Decode(block + '\0', 2).status().ToString(), want);
  std::string padded = block;
  padded.back() = static_cast<char>(padded.back() | 1);
  EXPECT_EQ(Decode(padded, 2).status().ToString(), want);
}

TEST(GorillaDecodeTest, CapacityTooSmallIsAnError) {
  const std::string block = Encode(Regular(std::vector<double>(10, 1.0)));
  EXPECT_EQ(Decode(block, 9).status().ToString(),
            "DATA_LOSS: gorilla block: point count 10 exceeds capacity 9");
  EXPECT_EQ(Decode(block, 0).status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Decode(block, 10).ok());
}

TEST(GorillaDecodeTest, RejectsBadPointCounts) {
  const auto error = [](std::string_view block) { return Decode(block, 100).status().message(); };
  EXPECT_EQ(error(""), "gorilla block: empty");
  EXPECT_EQ(error("\x80"), "gorilla block: truncated point count");
  EXPECT_EQ(error(std::string_view("\0", 1)), "gorilla block: point count 0 outside [1, 65535]");
  EXPECT_EQ(error(std::string_view("\x81\0", 2)), "gorilla block: non-minimal point count");
  EXPECT_EQ(error("\x80\x80\x04"), "gorilla block: point count 65536 outside [1, 65535]");
  EXPECT_EQ(error("\x80\x80\x80\x01"), "gorilla block: point count longer than 3 bytes");
}

// A two-point block: point 0 is (ts0, 0.0), point 1's codes are given.
std::string Craft(std::int64_t ts0, unsigned dod_code, unsigned dod_bits, std::uint64_t value_code,
                  unsigned value_bits) {
  std::string block = "\x02";
  BitWriter bits(block);
  bits.Write(static_cast<std::uint64_t>(ts0), 64);
  bits.Write(0, 64);
  bits.Write(dod_code, dod_bits);
  bits.Write(value_code, value_bits);
  bits.Finish();
  return block;
}

TEST(GorillaDecodeTest, RejectsImpossibleEncodings) {
  const auto error = [](const std::string& block) { return Decode(block, 2).status().message(); };
  const std::string prefix = "gorilla block: ";
  EXPECT_EQ(error(Craft(0, 0b0, 1, 0, 1)), prefix + "timestamp does not ascend at point 1");
  EXPECT_EQ(error(Craft(0, 0b10'0000000000000001, 18, 0, 1)),  // dod -1
            prefix + "timestamp does not ascend at point 1");
  EXPECT_EQ(error(Craft(kMaxTs - 5, 0b10'0000000000010100, 18, 0, 1)),  // passes INT64_MAX
            prefix + "timestamp does not ascend at point 1");
  EXPECT_EQ(error(Craft(0, 0b10'0000000000000010, 18, 0b10'1, 3)),
            prefix + "XOR window reused before one was set at point 1");
  EXPECT_EQ(error(Craft(0, 0b10'0000000000000010, 18, 0b11'11111'101000, 13)),  // 31 + 40 bits
            prefix + "XOR window wider than 64 bits at point 1");
  // The well-formed neighbour decodes: sign bit flipped, 0.0 -> -0.0.
  const StatusOr<Series> good =
      Decode(Craft(0, 0b10'0000000000000010, 18, 0b11'00000'000001'1, 14), 2);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(std::bit_cast<std::uint64_t>(good->values[1]), std::uint64_t{1} << 63);
}

// Flips random bits of valid blocks: under ASan this proves no read outside the block
// and no write outside [0, capacity); any success must honour the decoder's promises.
TEST(GorillaDecodeTest, SurvivesRandomBitFlips) {
  int errors = 0;
  for (std::uint64_t seed = 0; seed < 10 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    const Series s = RandomSeries(seed, 256);
    std::string block = Encode(s);
    for (std::uint64_t flips = 1 + rng() % 4; flips > 0; --flips) {
      block[rng() % block.size()] ^= static_cast<char>(1 << (rng() % 8));
    }
    const std::size_t capacity = s.ts.size() + rng() % 3;
    const StatusOr<Series> got = Decode(block, capacity);
    if (!got.ok()) {
      ++errors;
      continue;
    }
    ASSERT_GE(got->ts.size(), 1u) << "seed " << seed;
    ASSERT_LE(got->ts.size(), capacity) << "seed " << seed;
    ASSERT_TRUE(StrictlyAscending(got->ts)) << "seed " << seed;
  }
  EXPECT_GT(errors, 0);
}

TEST(GorillaDecodeTest, SurvivesRandomBytes) {
  for (std::uint64_t seed = 0; seed < 10 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    std::string block(rng() % 80, '\0');
    for (char& c : block) c = static_cast<char>(rng());
    if (!block.empty()) block[0] = static_cast<char>(1 + rng() % 8);  // a plausible count
    const StatusOr<Series> got = Decode(block, 8);
    ASSERT_TRUE(!got.ok() || StrictlyAscending(got->ts)) << "seed " << seed;
  }
}

TEST(BitStreamTest, RoundTripsRandomWidths) {
  for (std::uint64_t seed = 0; seed < kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::pair<std::uint64_t, unsigned>> fields(rng() % 200);
    std::string bytes;
    BitWriter out(bytes);
    std::size_t total = 0;
    for (auto& [value, width] : fields) {
      width = 1 + static_cast<unsigned>(rng() % 64);
      value = width == 64 ? rng() : rng() >> (64 - width);
      out.Write(value, width);
      total += width;
    }
    out.Finish();
    ASSERT_EQ(bytes.size(), (total + 7) / 8) << "seed " << seed;
    BitReader in(bytes);
    for (const auto& [value, width] : fields) {
      ASSERT_EQ(in.ReadWide(width), value) << "seed " << seed;
    }
    ASSERT_TRUE(in.AtPaddedEnd()) << "seed " << seed;
  }
}

TEST(BitStreamTest, ReadingPastTheEndSetsOverrun) {
  BitReader in("\xa5");
  EXPECT_EQ(in.Peek(12), 0xa50u);  // peeking past the end reads zeros, harmlessly
  EXPECT_EQ(in.Read(8), 0xa5u);
  EXPECT_FALSE(in.overrun());
  EXPECT_TRUE(in.AtPaddedEnd());
  EXPECT_EQ(in.Read(1), 0u);
  EXPECT_TRUE(in.overrun());
  EXPECT_FALSE(in.AtPaddedEnd());
}

TEST(BitStreamTest, AtPaddedEndNeedsZeroPaddingAndNoSpareByte) {
  BitReader short_read("\xe0");  // bits 111, padding 00000
  short_read.Skip(2);
  EXPECT_FALSE(short_read.AtPaddedEnd());  // the third 1 is not padding
  BitReader spare_byte(std::string_view("\xe0\0", 2));
  spare_byte.Skip(3);
  EXPECT_FALSE(spare_byte.AtPaddedEnd());
  BitReader exact("\xe0");
  exact.Skip(3);
  EXPECT_TRUE(exact.AtPaddedEnd());
}

// One sensor of a SCADA-like plant: 1024 polls at exact 10 s intervals, about 1 in 100
// polls missing. A pressure transmitter reports bar at 0.01 resolution following a
// slow random walk (step sigma 0.5..5 mbar per poll, per sensor); a counter is an
// integer total growing by Poisson(0.1..3) per poll.
Series ScadaSensor(std::uint64_t seed, bool counter) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> sigma(0.0005, 0.005), rate(0.1, 3), level(1, 10);
  std::normal_distribution<double> step(0, sigma(rng));
  std::poisson_distribution<int> increment(rate(rng));
  std::bernoulli_distribution missing(0.01);
  double pressure = level(rng);
  auto total = static_cast<double>(rng() % 1'000'000);
  const std::int64_t first_poll =  // sensors poll at different seconds
      1'700'000'000'000'000'000 + static_cast<std::int64_t>(seed % 10) * 1'000'000'000;
  Series s;
  for (std::int64_t poll = 0; s.ts.size() < 1024; ++poll) {
    pressure += step(rng);
    total += increment(rng);
    if (missing(rng)) continue;
    s.ts.push_back(first_poll + poll * kTenSeconds);
    s.values.push_back(counter ? total : std::round(pressure * 100) / 100);
  }
  return s;
}

// 1000 sensors, one in ten a counter.
std::vector<Series> ScadaDataset() {
  std::vector<Series> sensors;
  for (std::uint64_t i = 0; i < 1000; ++i) sensors.push_back(ScadaSensor(i, i % 10 == 9));
  return sensors;
}

TEST(GorillaCompressionTest, ScadaDatasetTakesAtMostTwoBytesPerPoint) {
  const std::vector<Series> sensors = ScadaDataset();
  double bytes[2] = {}, points[2] = {};  // [0] pressure, [1] counters
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    ASSERT_EQ(RoundTripMismatch(sensors[i]), "") << "sensor " << i;
    bytes[i % 10 == 9] += static_cast<double>(Encode(sensors[i]).size());
    points[i % 10 == 9] += static_cast<double>(sensors[i].ts.size());
  }
  const double all = (bytes[0] + bytes[1]) / (points[0] + points[1]);
  std::printf("bytes/point: all %.3f, pressure %.3f, counters %.3f\n", all,
              bytes[0] / points[0], bytes[1] / points[1]);
  EXPECT_LE(all, 2.0);
}

// Best of 5 runs of f, in seconds.
template <class F>
double BestSeconds(F f) {
  double best = std::numeric_limits<double>::infinity();
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    f();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  return best;
}

TEST(GorillaSpeedTest, DISABLED_PrintsPointsPerSecond) {
  std::vector<Series> walks;
  for (std::uint64_t i = 0; i < 1000; ++i) walks.push_back(Walk(1024, i));
  for (const auto& [name, dataset] :
       {std::pair{"scada", ScadaDataset()}, std::pair{"walk", std::move(walks)}}) {
    std::vector<std::string> blocks(dataset.size());
    const double encode = BestSeconds([&] {
      for (std::size_t i = 0; i < dataset.size(); ++i) {
        blocks[i].clear();
        const Series& s = dataset[i];
        GorillaEncode(s.ts.data(), s.values.data(), s.ts.size(), blocks[i]);
      }
    });
    std::vector<std::int64_t> ts(1024);
    std::vector<double> values(1024);
    std::size_t decoded = 0;
    const double decode = BestSeconds([&] {
      for (const std::string& block : blocks) {
        decoded += *GorillaDecode(block, ts.data(), values.data(), ts.size());
      }
    });
    const double points = static_cast<double>(decoded) / 5;
    std::size_t bytes = 0;
    for (const std::string& block : blocks) bytes += block.size();
    std::printf("%-6s %.3f bytes/point, encode %.1f M points/s, decode %.1f M points/s\n", name,
                static_cast<double>(bytes) / points, points / encode / 1e6, points / decode / 1e6);
    EXPECT_EQ(decoded, 5 * 1024 * dataset.size());
  }
}

}  // namespace
}  // namespace tidewatch::store::internal
