#include "store/internal/decimal_codec.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/internal/bit_stream.h"
#include "store/internal/timestamp_codec.h"

namespace tidewatch::store::internal {
namespace {

constexpr unsigned kCountBits = 16;
constexpr unsigned kDigitsBits = 3;
constexpr unsigned kRiceParameterBits = 6;
static_assert(kMaxBlockPoints < std::size_t{1} << kCountBits);
static_assert(kMaxDecimalDigits < 1 << kDigitsBits);
static_assert(kMaxRiceBits < 1u << kRiceParameterBits);

// A quotient q of a value code at or above this is escaped (see the header).
constexpr unsigned kRiceEscapeOnes = 8;
constexpr unsigned kEscapeWidthBits = 6;

// Bit widths of ZigZag codes, 0..64, for the histogram that picks r.
constexpr std::size_t kWidths = 65;

constexpr double kPow10[kMaxDecimalDigits + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr std::int64_t kMaxScaled = std::int64_t{1} << 53;

// The m that DecimalDigits promises for v at k digits, or nullopt. The encoder must
// find the very m this finds, so both call it.
std::optional<std::int64_t> ScaledInteger(double v, int k) {
  const double scale = kPow10[k];
  const double scaled = v * scale;
  // False for NaN and infinities too; keeps the conversion below defined.
  if (!(std::abs(scaled) <= static_cast<double>(kMaxScaled + 2))) return std::nullopt;
  // The nearest integer: std::llround without its libm call (scaled - whole is exact).
  const auto whole = static_cast<std::int64_t>(scaled);
  const double fraction = scaled - static_cast<double>(whole);
  const std::int64_t nearest = whole + (fraction >= 0.5) - (fraction <= -0.5);
  // If v = m / 10^k (1 + e1), the product adds (1 + e2), |e1|, |e2| <= 2^-53: scaled
  // is within |m| * 2^-52 of m. Below 2^50 that is under 1/4, so m can only be the
  // nearest integer; up to 2^53 it is at most 2, so m is within 2 of it.
  const std::int64_t reach = std::abs(scaled) < 0x1p50 ? 0 : 2;
  const auto want = std::bit_cast<std::uint64_t>(v);
  for (std::int64_t m = nearest - reach; m <= nearest + reach; ++m) {
    if (m >= -kMaxScaled && m <= kMaxScaled &&
        std::bit_cast<std::uint64_t>(static_cast<double>(m) / scale) == want) {
      return m;
    }
  }
  return std::nullopt;
}

// floor(log2(median z)) from a histogram of z's bit widths, so that about half the
// codes take the minimum q + 1 + r = r + 1 bits: for the two-sided geometric and
// Gaussian deltas of sensor data that is within 1% of the best r (measured).
unsigned RiceParameter(const std::uint32_t (&width_counts)[kWidths], std::size_t n) {
  std::size_t seen = 0;
  for (unsigned width = 0; width < kWidths; ++width) {
    seen += width_counts[width];
    if (2 * seen >= n) return width == 0 ? 0 : width - 1;
  }
  return 0;  // unreachable: the counts sum to n
}

void WriteValue(BitWriter& out, unsigned r, std::uint64_t z) {
  const std::uint64_t q = z >> r;
  if (q < kRiceEscapeOnes) {
    // q ones and a zero, then the low r bits: q + 1 + r <= 7 + 1 + 55 bits, one write.
    const std::uint64_t low = z & ((std::uint64_t{1} << r) - 1);
    const std::uint64_t unary = ((std::uint64_t{1} << q) - 1) << 1;
    out.Write(unary << r | low, static_cast<unsigned>(q) + 1 + r);
    return;
  }
  const auto width = static_cast<unsigned>(std::bit_width(z));  // >= 4 as q >= 8
  out.Write(((std::uint64_t{1} << kRiceEscapeOnes) - 1) << kEscapeWidthBits | width,
            kRiceEscapeOnes + kEscapeWidthBits);
  out.Write(z, width);
}

std::uint64_t ReadValue(BitReader& in, unsigned r) {
  const auto ones =
      static_cast<unsigned>(std::countl_one(static_cast<std::uint8_t>(in.Peek(kRiceEscapeOnes))));
  if (ones == kRiceEscapeOnes) {
    in.Skip(kRiceEscapeOnes);
    const auto width = static_cast<unsigned>(in.Read(kEscapeWidthBits));
    return width == 0 ? 0 : in.ReadWide(width);
  }
  in.Skip(ones + 1);
  return std::uint64_t{ones} << r | (r == 0 ? 0 : in.Read(r));
}

Status Corrupt(std::string what) {
  return Status(StatusCode::kDataLoss, "decimal block: " + std::move(what));
}

Status Truncated(std::size_t n) {
  return Corrupt("truncated: ends before the " + std::to_string(n) + " points of its header");
}

}  // namespace

std::optional<int> DecimalDigits(const double* values, std::size_t n) {
  if (n == 0) return std::nullopt;
  for (int k = 0; k <= kMaxDecimalDigits; ++k) {
    std::size_t i = 0;
    while (i < n && ScaledInteger(values[i], k).has_value()) ++i;
    if (i == n) return k;
  }
  return std::nullopt;
}

void DecimalEncode(const std::int64_t* ts, const double* values, std::size_t n, int digits,
                   std::string& out) {
  assert(n >= 1 && n <= kMaxBlockPoints);
  assert(digits >= 0 && digits <= kMaxDecimalDigits);
  // r goes before the codes it shapes, so the codes are made first: the m's, then in
  // place their ZigZag deltas. Two loops, so that no chain through prev waits for
  // each division (in ScaledInteger's check): about 20% faster than one loop.
  std::vector<std::uint64_t> codes(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::optional<std::int64_t> m = ScaledInteger(values[i], digits);
    assert(m.has_value());
    codes[i] = static_cast<std::uint64_t>(m.value_or(0));
  }
  std::uint32_t width_counts[kWidths] = {};
  std::uint64_t prev = 0;
  for (std::uint64_t& code : codes) {
    const std::uint64_t m = code;
    code = ZigZag(m - prev);
    prev = m;
    ++width_counts[std::bit_width(code)];
  }
  const unsigned r = RiceParameter(width_counts, n);

  BitWriter bits(out);
  bits.Write(n, kCountBits);
  bits.Write(static_cast<std::uint64_t>(digits), kDigitsBits);
  bits.Write(r, kRiceParameterBits);
  TimestampEncoder ts_out(bits);
  ts_out.WriteFirst(ts[0]);
  WriteValue(bits, r, codes[0]);
  for (std::size_t i = 1; i < n; ++i) {
    ts_out.WriteNext(ts[i]);
    WriteValue(bits, r, codes[i]);
  }
  bits.Finish();
}

StatusOr<std::size_t> DecimalDecode(std::string_view block, std::int64_t* ts, double* values,
                                    std::size_t capacity) {
  if (block.empty()) return Corrupt("empty");
  BitReader in(block);
  const auto n = static_cast<std::size_t>(in.Read(kCountBits));
  const auto digits = static_cast<int>(in.Read(kDigitsBits));
  const auto r = static_cast<unsigned>(in.Read(kRiceParameterBits));
  if (in.overrun()) return Corrupt("truncated header");
  if (n == 0) return Corrupt("point count 0");
  if (n > capacity) {
    return Corrupt("point count " + std::to_string(n) + " exceeds capacity " +
                   std::to_string(capacity));
  }
  if (digits > kMaxDecimalDigits) return Corrupt(std::to_string(digits) + " decimal digits");
  if (r > kMaxRiceBits) return Corrupt("Rice parameter " + std::to_string(r));
  // Reads past the end yield zeros, which can look like another defect; so an error
  // first asks whether the block simply ended too early.
  const auto fail = [&in, n](std::size_t i, const char* what) {
    return in.overrun() ? Truncated(n) : Corrupt(what + (" at point " + std::to_string(i)));
  };

  const double scale = kPow10[digits];
  TimestampDecoder ts_in(in);
  ts[0] = ts_in.ReadFirst();
  std::uint64_t m = 0;  // two's complement
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && !ts_in.ReadNext(ts[i])) return fail(i, "timestamp does not ascend");
    m += UnZigZag(ReadValue(in, r));
    // |m| <= 2^53 iff m + 2^53 <= 2^54, in uint64 arithmetic.
    constexpr auto kBound = static_cast<std::uint64_t>(kMaxScaled);
    if (m + kBound > 2 * kBound) return fail(i, "scaled value beyond 2^53");
    values[i] = static_cast<double>(static_cast<std::int64_t>(m)) / scale;
  }
  if (in.overrun()) return Truncated(n);
  if (!in.AtPaddedEnd()) return Corrupt("trailing bytes or non-zero padding after the last point");
  return n;
}

}  // namespace tidewatch::store::internal
