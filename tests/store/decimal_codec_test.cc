// The decimal chunk codec: which values DecimalDigits accepts (against an independent
// printf/strtod oracle, and at the ±2^53 edge), bit-exact round trips (quantised walks
// at every k over many seeds, constant series, extreme jumps, block sizes), the pinned
// format, every decode error, memory safety on corrupted input, and the size of the
// sensor dataset next to Gorilla's. A manual speed run (prints, asserts nothing):
//   decimal_codec_test --gtest_also_run_disabled_tests --gtest_filter='*Speed*'
#include "store/internal/decimal_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/internal/bit_stream.h"
#include "store/internal/gorilla.h"
#include "store/status.h"
#include "tests/store/codec_test_util.h"

namespace tidewatch::store::internal {
namespace {

constexpr std::int64_t kTenSeconds = 10'000'000'000;
constexpr double kTwoTo53 = 0x1p53;
constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

#ifdef TIDEWATCH_SANITIZED
constexpr std::uint64_t kSeeds = 100;
#else
constexpr std::uint64_t kSeeds = 1000;
#endif

std::optional<int> Digits(const std::vector<double>& values) {
  return DecimalDigits(values.data(), values.size());
}

// The block of `s`, or "" (which does not decode) when its values are not decimals.
std::string Encode(const Series& s) {
  const std::optional<int> digits = Digits(s.values);
  std::string block;
  if (digits) DecimalEncode(s.ts.data(), s.values.data(), s.ts.size(), *digits, block);
  return block;
}

StatusOr<Series> Decode(std::string_view block, std::size_t capacity) {
  return DecodeWith(DecimalDecode, block, capacity);
}

// "" when `s` survives encode + decode bit for bit, else the first difference.
std::string RoundTripMismatch(const Series& s) { return RoundTripMismatchWith(DecimalDecode, Encode(s), s); }

// Points 10 s apart carrying `values`.
Series Regular(std::vector<double> values) {
  Series s{{}, std::move(values)};
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    s.ts.push_back(static_cast<std::int64_t>(i) * kTenSeconds);
  }
  return s;
}

template <class T>
T Pick(std::mt19937_64& rng, std::initializer_list<T> choices) {
  return choices.begin()[rng() % choices.size()];
}

// v cut to k decimals the way the sensor dataset is: double(int64(v * 10^k)) / 10^k.
double Quantise(double v, int k) {
  return static_cast<double>(static_cast<std::int64_t>(v * kPow10[k])) / kPow10[k];
}

// n points of a random walk quantised to k digits, with steps of 0.3 to 3e5 units of
// the last digit, at 1 ns to 10 s intervals with jitter and gaps.
Series QuantisedWalk(std::uint64_t seed, int k, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0, Pick(rng, {0.3, 3.0, 300.0, 3e5}) / kPow10[k]);
  const std::int64_t interval = Pick<std::int64_t>(rng, {1, 1'000'000, kTenSeconds});
  const std::uint64_t jitter = Pick<std::uint64_t>(rng, {0, 1'000});
  std::bernoulli_distribution gap(Pick(rng, {0.0, 0.01, 0.3}));
  auto t = static_cast<std::int64_t>(rng() >> 2) - (std::int64_t{1} << 61);
  double x = std::uniform_real_distribution<double>(-1000, 1000)(rng);
  Series s;
  for (std::size_t i = 0; i < n; ++i) {
    t += interval * (gap(rng) ? 2 + static_cast<std::int64_t>(rng() % 100) : 1) +
         static_cast<std::int64_t>(rng() % (jitter + 1));
    s.ts.push_back(t);
    s.values.push_back(Quantise(x += step(rng), k));
  }
  return s;
}

bool StrictlyAscending(const std::vector<std::int64_t>& ts) {
  return std::adjacent_find(ts.begin(), ts.end(), std::greater_equal<>()) == ts.end();
}

// An independent DecimalDigits for one value with |v| * 10^6 < 2^50 (so the bound on
// m cannot bite): the smallest k at which printing v with k decimals and parsing it
// back, both correctly rounded by libc, gives v again.
std::optional<int> PrintfDigits(double v) {
  if (!std::isfinite(v) || (v == 0 && std::signbit(v))) return std::nullopt;
  for (int k = 0; k < static_cast<int>(std::size(kPow10)); ++k) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", k, v);
    if (std::strtod(text, nullptr) == v) return k;
  }
  return std::nullopt;
}

TEST(DecimalDigitsTest, IntegersNeedNoDigits) {
  EXPECT_EQ(Digits({0, 1, -7, 123456789, kTwoTo53, -kTwoTo53}), 0);
}

TEST(DecimalDigitsTest, CentsNeedTwo) { EXPECT_EQ(Digits({1.25, -3.1, 0.01, 7}), 2); }

TEST(DecimalDigitsTest, MixedValuesNeedTheMostDigitsOfAny) {
  EXPECT_EQ(Digits({1, 2.5, 0.125}), 3);
  EXPECT_EQ(Digits({0.5, 1e-6}), 6);
  EXPECT_EQ(Digits({0.5, 1e-7}), std::nullopt);  // beyond kMaxDecimalDigits
}

TEST(DecimalDigitsTest, SumsThatAreNotShortDecimalsAreRefused) {
  ASSERT_NE(0.1 + 0.2, 0.3);
  EXPECT_EQ(Digits({0.1 + 0.2}), std::nullopt);
  EXPECT_EQ(Digits({1.0 / 3}), std::nullopt);
}

TEST(DecimalDigitsTest, NegativeZeroIsRefused) {
  EXPECT_EQ(Digits({0.0}), 0);
  EXPECT_EQ(Digits({1.0, -0.0}), std::nullopt);
}

TEST(DecimalDigitsTest, NanAndInfinityAreRefused) {
  for (const double bad : {kNan, -kNan, kInf, -kInf}) {
    EXPECT_EQ(Digits({1.0, bad}), std::nullopt) << bad;
  }
  EXPECT_EQ(Digits({}), std::nullopt);
}

TEST(DecimalDigitsTest, ScaledValuesBeyondTwoTo53AreRefused) {
  EXPECT_EQ(Digits({kTwoTo53 + 2}), std::nullopt);
  EXPECT_EQ(Digits({-kTwoTo53 - 2}), std::nullopt);
  EXPECT_EQ(Digits({1e300}), std::nullopt);
  // Where doubles are 2^-10 apart, 2^53 / 1000 is a 3-digit decimal; (2^53 + 2) / 1000
  // is one only with m = 2^53 + 2.
  EXPECT_EQ(Digits({kTwoTo53 / 1000}), 3);
  EXPECT_EQ(Digits({(kTwoTo53 + 2) / 1000}), std::nullopt);
}

TEST(DecimalDigitsTest, AgreesWithPrintfAndStrtod) {
  for (std::uint64_t seed = 0; seed < 20 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    // A decimal with 0..9 digits, some of them sums of two, some not decimals at all.
    const auto m = static_cast<double>(static_cast<std::int64_t>(rng() >> (14 + rng() % 50)));
    double v = (rng() % 2 == 0 ? m : -m) / std::pow(10.0, static_cast<double>(rng() % 10));
    if (rng() % 4 == 0) v += static_cast<double>(rng() % 1000) / 100;
    if (rng() % 4 == 0) v = std::uniform_real_distribution<double>(-1e9, 1e9)(rng);
    if (std::abs(v) >= 0x1p50 / 1e6 || v == 0) continue;
    ASSERT_EQ(Digits({v}), PrintfDigits(v)) << "seed " << seed << std::hexfloat << " v " << v;
  }
}

TEST(DecimalDigitsTest, FindsEveryScaledIntegerUpToTwoTo53) {
  for (std::uint64_t seed = 0; seed < 10 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    const int k = static_cast<int>(seed % std::size(kPow10));
    std::vector<double> values;
    for (int i = 0; i < 100; ++i) {
      const auto below = static_cast<std::int64_t>(rng() >> (11 + rng() % 53));  // < 2^53
      const std::int64_t m = (std::int64_t{1} << 53) - below;
      values.push_back(static_cast<double>(rng() % 2 == 0 ? m : -m) / kPow10[k]);
    }
    const std::optional<int> digits = Digits(values);
    ASSERT_TRUE(digits.has_value() && *digits <= k) << "seed " << seed;
    ASSERT_EQ(RoundTripMismatch(Regular(values)), "") << "seed " << seed;
  }
}

TEST(DecimalCodecTest, RoundTripsQuantisedWalksAtEveryK) {
  for (std::uint64_t seed = 0; seed < kSeeds; ++seed) {
    const int k = static_cast<int>(seed % std::size(kPow10));
    const Series s = QuantisedWalk(seed, k, 1 + seed % 2048);
    if (s.ts.size() > 100) {
      ASSERT_EQ(Digits(s.values), k) << "seed " << seed;
    }
    ASSERT_EQ(RoundTripMismatch(s), "") << "seed " << seed;
  }
}

TEST(DecimalCodecTest, ConstantSeriesCostTwoBitsPerPoint) {
  const Series s = Regular(std::vector<double>(1024, 42.5));
  EXPECT_EQ(RoundTripMismatch(s), "");
  // 25 header bits, ts[0], value 0 escaped (r = 0; ZigZag(425) = 850: 14 + 10 bits),
  // 44 + 1 bits for point 1 (its delta is its dod), 1 + 1 for each other point.
  EXPECT_EQ(Encode(s).size(), (25 + 64 + 24 + 44 + 1 + 1022 * 2 + 7) / 8u);
}

TEST(DecimalCodecTest, PicksTheRiceParameterFromTheMedianDelta) {
  // Deltas of ±1000 have ZigZag codes 1999 and 2000, 11 bits wide: r = 10, and each
  // value after the first costs 1 + 1 + 10 bits.
  std::vector<double> values;
  for (int i = 0; i < 64; ++i) values.push_back(i % 2 == 0 ? 0 : 1000);
  const std::string block = Encode(Regular(values));
  BitReader in(block);
  in.Skip(16 + 3);
  EXPECT_EQ(in.Read(6), 10u);
  // Header, ts[0], value 0 (ZigZag 0: '0' + 10 bits), then ts codes as above.
  EXPECT_EQ(block.size(), (25 + 64 + 11 + 44 + 1 + 62 * 1 + 63 * 12 + 7) / 8u);
}

TEST(DecimalCodecTest, RoundTripsJumpsAcrossTheWholeRange) {
  const double big = kTwoTo53;
  EXPECT_EQ(RoundTripMismatch(Regular({big, -big, big, 0, -big, 1, big - 1})), "");
  EXPECT_EQ(RoundTripMismatch(Regular({big / 1e6, -big / 1e6, 0.000001, -big / 1e6})), "");
}

TEST(DecimalCodecTest, RoundTripsEveryBlockSize) {
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{1024}, kMaxBlockPoints}) {
    EXPECT_EQ(RoundTripMismatch(QuantisedWalk(n, 2, n)), "") << "n " << n;
  }
}

TEST(DecimalCodecTest, AppendsAfterExistingBytes) {
  const Series a = QuantisedWalk(1, 2, 100), b = QuantisedWalk(2, 3, 100);
  std::string bytes = "prefix";
  DecimalEncode(a.ts.data(), a.values.data(), a.ts.size(), Digits(a.values).value(), bytes);
  const std::size_t a_end = bytes.size();
  DecimalEncode(b.ts.data(), b.values.data(), b.ts.size(), Digits(b.values).value(), bytes);
  EXPECT_EQ(bytes.substr(0, 6), "prefix");
  EXPECT_EQ(bytes.substr(6, a_end - 6), Encode(a));
  EXPECT_EQ(bytes.substr(a_end), Encode(b));
}

// Pins the format: snapshots persist blocks, so a change here breaks old files.
TEST(DecimalCodecTest, EncodesTheDocumentedLayout) {
  // n 4 | k 1 | r 0 | ts0 = 0 | m 1000, ZigZag 2000: escape 11111111, width 11, 2000 |
  // dod 10: '10' + ZigZag 20 in 16 bits | m same: '0' | dod 0: '0' | '0' | '0' |
  // m 999, ZigZag 1: '10' | 6 pad bits.
  const Series s{{0, 10, 20, 30}, {100, 100, 100, 99.9}};
  const std::string want("\x00\x04\x20\0\0\0\0\0\0\0\0\x7f\x97\xf4\x20\x01\x40\x80", 18);
  EXPECT_EQ(Encode(s), want);
}

TEST(DecimalDecodeTest, EveryTruncationIsAnError) {
  for (const Series& s : {Regular({1.5}), Regular({100, 100, 100, 99.9}), QuantisedWalk(3, 0, 64),
                          QuantisedWalk(4, 2, 64), QuantisedWalk(5, 6, 64)}) {
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

TEST(DecimalDecodeTest, TrailingBytesAndPaddingBitsAreErrors) {
  const std::string block = Encode(Regular({100, 100, 100, 99.9}));  // 6 padding bits
  const std::string want =
      "DATA_LOSS: decimal block: trailing bytes or non-zero padding after the last point";
  ASSERT_TRUE(Decode(block, 4).ok());
  EXPECT_EQ(Decode(block + '\0', 4).status().ToString(), want);
  std::string padded = block;
  padded.back() = static_cast<char>(padded.back() | 1);
  EXPECT_EQ(Decode(padded, 4).status().ToString(), want);
}

TEST(DecimalDecodeTest, CapacityTooSmallIsAnError) {
  const std::string block = Encode(Regular(std::vector<double>(10, 1.25)));
  EXPECT_EQ(Decode(block, 9).status().ToString(),
            "DATA_LOSS: decimal block: point count 10 exceeds capacity 9");
  EXPECT_EQ(Decode(block, 0).status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Decode(block, 10).ok());
}

// A block of the given (value, width) bit fields.
std::string Craft(std::initializer_list<std::pair<std::uint64_t, unsigned>> fields) {
  std::string block;
  BitWriter bits(block);
  for (const auto& [value, width] : fields) bits.Write(value, width);
  bits.Finish();
  return block;
}

TEST(DecimalDecodeTest, RejectsImpossibleEncodings) {
  using Field = std::pair<std::uint64_t, unsigned>;
  const auto error = [](const std::string& block) { return Decode(block, 2).status().message(); };
  const std::string prefix = "decimal block: ";
  const Field one{1, 16}, two{2, 16}, k0{0, 3}, r0{0, 6}, ts0{0, 64}, zero{0, 1};
  EXPECT_EQ(error(Craft({{0, 16}, {1, 3}, r0})), prefix + "point count 0");
  EXPECT_EQ(error(Craft({one, {7, 3}, r0, ts0, zero})), prefix + "7 decimal digits");
  EXPECT_EQ(error(Craft({one, k0, {56, 6}, ts0, zero})), prefix + "Rice parameter 56");
  EXPECT_EQ(error(Craft({two, k0, r0, ts0, zero, zero, zero})),  // dod 0: delta 0
            prefix + "timestamp does not ascend at point 1");
  // Escaped codes 55 bits wide: ZigZag(2^53 + 1) = 2^54 + 2 is out of range, its
  // neighbour ZigZag(2^53) = 2^54 decodes.
  const Field escape{0xff, 8}, width{55, 6};
  const std::uint64_t two_to_54 = std::uint64_t{1} << 54;
  EXPECT_EQ(error(Craft({one, k0, r0, ts0, escape, width, {two_to_54 + 2, 55}})),
            prefix + "scaled value beyond 2^53 at point 0");
  const StatusOr<Series> good =
      Decode(Craft({one, k0, r0, ts0, escape, width, {two_to_54, 55}}), 1);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->values[0], kTwoTo53);
}

// Decoded values promise to be decimals: never -0.0, NaN or infinite.
bool AllDecimal(const std::vector<double>& values) { return Digits(values).has_value(); }

// Flips random bits of valid blocks: under ASan this proves no read outside the block
// and no write outside [0, capacity); any success must honour the decoder's promises.
TEST(DecimalDecodeTest, SurvivesRandomBitFlips) {
  int errors = 0;
  for (std::uint64_t seed = 0; seed < 10 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    const int k = static_cast<int>(seed % std::size(kPow10));
    const Series s = QuantisedWalk(seed, k, 1 + rng() % 256);
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
    ASSERT_TRUE(AllDecimal(got->values)) << "seed " << seed;
  }
  EXPECT_GT(errors, 0);
}

TEST(DecimalDecodeTest, SurvivesRandomBytes) {
  for (std::uint64_t seed = 0; seed < 10 * kSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    std::string block(rng() % 80, '\0');
    for (char& c : block) c = static_cast<char>(rng());
    if (block.size() >= 2) {  // a plausible count: 0..7 points
      block[0] = 0;
      block[1] = static_cast<char>(rng() % 8);
    }
    const StatusOr<Series> got = Decode(block, 8);
    ASSERT_TRUE(!got.ok() || (StrictlyAscending(got->ts) && AllDecimal(got->values)))
        << "seed " << seed;
  }
}

// The store's realistic dataset: 1000 sensors polled at exact 10 s intervals, 1 poll
// in 100 missing, reporting a random walk with N(0, 0.02) steps cut to 0.01; and 100
// integer counters growing by Poisson(0.1..3) per poll. 1024 points each.
Series Sensor(std::uint64_t seed, bool counter) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0, 0.02);
  std::poisson_distribution<int> increment(std::uniform_real_distribution<double>(0.1, 3)(rng));
  std::bernoulli_distribution missing(0.01);
  double level = std::uniform_real_distribution<double>(-20, 100)(rng);
  auto total = static_cast<double>(rng() % 1'000'000);
  const std::int64_t first_poll =
      1'700'000'000'000'000'000 + static_cast<std::int64_t>(seed % 10) * 1'000'000'000;
  Series s;
  for (std::int64_t poll = 0; s.ts.size() < 1024; ++poll) {
    level += step(rng);
    total += increment(rng);
    if (missing(rng)) continue;
    s.ts.push_back(first_poll + poll * kTenSeconds);
    s.values.push_back(counter ? total : Quantise(level, 2));
  }
  return s;
}

std::vector<Series> SensorDataset() {
  std::vector<Series> sensors;
  for (std::uint64_t i = 0; i < 1100; ++i) sensors.push_back(Sensor(i, i >= 1000));
  return sensors;
}

TEST(DecimalCompressionTest, SensorDatasetTakesAtMostTwoBytesPerPoint) {
  const std::vector<Series> sensors = SensorDataset();
  double bytes[2] = {}, gorilla_bytes[2] = {}, points[2] = {};  // [0] walks, [1] counters
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    const Series& s = sensors[i];
    const bool counter = i >= 1000;
    ASSERT_EQ(Digits(s.values), counter ? 0 : 2) << "sensor " << i;
    ASSERT_EQ(RoundTripMismatch(s), "") << "sensor " << i;
    std::string gorilla;
    GorillaEncode(s.ts.data(), s.values.data(), s.ts.size(), gorilla);
    bytes[counter] += static_cast<double>(Encode(s).size());
    gorilla_bytes[counter] += static_cast<double>(gorilla.size());
    points[counter] += static_cast<double>(s.ts.size());
  }
  const double all = (bytes[0] + bytes[1]) / (points[0] + points[1]);
  std::printf("decimal bytes/point: all %.4f, walks %.4f, counters %.4f\n", all,
              bytes[0] / points[0], bytes[1] / points[1]);
  std::printf("gorilla bytes/point: all %.4f, walks %.4f, counters %.4f\n",
              (gorilla_bytes[0] + gorilla_bytes[1]) / (points[0] + points[1]),
              gorilla_bytes[0] / points[0], gorilla_bytes[1] / points[1]);
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

TEST(DecimalSpeedTest, DISABLED_PrintsPointsPerSecond) {
  const std::vector<Series> sensors = SensorDataset();
  std::vector<std::string> blocks(sensors.size());
  int detected = 0;
  const double detect = BestSeconds([&] {
    for (const Series& s : sensors) detected += Digits(s.values).value_or(0);
  });
  const double encode = BestSeconds([&] {
    for (std::size_t i = 0; i < sensors.size(); ++i) {
      blocks[i].clear();
      const Series& s = sensors[i];
      const int digits = DecimalDigits(s.values.data(), s.values.size()).value_or(0);
      DecimalEncode(s.ts.data(), s.values.data(), s.ts.size(), digits, blocks[i]);
    }
  });
  std::vector<std::int64_t> ts(1024);
  std::vector<double> values(1024);
  std::size_t decoded = 0;
  const double decode = BestSeconds([&] {
    for (const std::string& block : blocks) {
      decoded += *DecimalDecode(block, ts.data(), values.data(), ts.size());
    }
  });
  const double points = static_cast<double>(decoded) / 5;
  std::printf("DecimalDigits %.1f M points/s; DecimalDigits + DecimalEncode %.1f M points/s; "
              "DecimalDecode %.1f M points/s\n",
              points / detect / 1e6, points / encode / 1e6, points / decode / 1e6);
  EXPECT_EQ(detected, 5 * 2 * 1000);
  EXPECT_EQ(decoded, 5 * 1024 * sensors.size());
}

}  // namespace
}  // namespace tidewatch::store::internal
