#include "store/internal/gorilla.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "store/internal/bit_stream.h"

namespace tidewatch::store::internal {
namespace {

// A LEB128 count up to kMaxBlockPoints takes at most 3 bytes.
constexpr std::size_t kMaxCountBytes = 3;

// The timestamp buckets after the 1-bit dod == 0 code, smallest first (see the
// header). The prefix of bucket k is k + 1 ones, then a zero except for the escape,
// so a decoder finds the bucket by counting leading ones in 4 bits.
struct DodBucket {
  unsigned prefix;
  unsigned prefix_bits;
  unsigned payload_bits;
};
constexpr DodBucket kDodBuckets[] = {
    {0b10, 2, 16}, {0b110, 3, 26}, {0b1110, 4, 40}, {0b1111, 4, 64}};
constexpr unsigned kDodPrefixPeekBits = 4;

// XOR windows: 5 bits of leading zeros (so at most 31), 6 bits of width.
constexpr unsigned kMaxLeadingZeros = 31;
constexpr unsigned kWindowHeaderBits = 5 + 6;

// The meaningful bits of the last '11' value code. width == 0: no window yet.
struct XorWindow {
  unsigned leading = 0;
  unsigned trailing = 0;
  unsigned width = 0;
};

std::uint64_t ZigZag(std::uint64_t v) {
  return (v << 1) ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(v) >> 63);
}

std::uint64_t UnZigZag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

void WriteDod(BitWriter& out, std::uint64_t dod) {
  if (dod == 0) {
    out.Write(0, 1);
    return;
  }
  const std::uint64_t z = ZigZag(dod);
  for (const DodBucket& bucket : kDodBuckets) {
    if (bucket.payload_bits == 64 || z >> bucket.payload_bits == 0) {
      out.Write(bucket.prefix, bucket.prefix_bits);
      out.Write(z, bucket.payload_bits);
      return;
    }
  }
}

std::uint64_t ReadDod(BitReader& in) {
  const auto code = static_cast<std::uint8_t>(in.Peek(kDodPrefixPeekBits) << 4);
  const auto ones = static_cast<unsigned>(std::countl_one(code));  // 0..4
  if (ones == 0) {
    in.Skip(1);
    return 0;
  }
  const DodBucket& bucket = kDodBuckets[ones - 1];
  in.Skip(bucket.prefix_bits);
  return UnZigZag(in.ReadWide(bucket.payload_bits));
}

void WriteXor(BitWriter& out, XorWindow& window, std::uint64_t x) {
  if (x == 0) {
    out.Write(0, 1);
    return;
  }
  const unsigned leading =
      std::min(static_cast<unsigned>(std::countl_zero(x)), kMaxLeadingZeros);
  const auto trailing = static_cast<unsigned>(std::countr_zero(x));
  const unsigned width = 64 - leading - trailing;
  if (window.width != 0 && leading >= window.leading && trailing >= window.trailing &&
      window.width <= width + kWindowHeaderBits) {
    out.Write(0b10, 2);
    out.Write(x >> window.trailing, window.width);
    return;
  }
  out.Write((0b11u << kWindowHeaderBits) | (leading << 6) | (width & 63), 2 + kWindowHeaderBits);
  out.Write(x >> trailing, width);
  window = {leading, trailing, width};
}

void PutPointCount(std::string& out, std::size_t n) {
  for (; n >= 0x80; n >>= 7) out.push_back(static_cast<char>(n | 0x80));
  out.push_back(static_cast<char>(n));
}

Status Corrupt(std::string what) {
  return Status(StatusCode::kDataLoss, "gorilla block: " + std::move(what));
}

Status Truncated(std::size_t n) {
  return Corrupt("truncated: ends before the " + std::to_string(n) + " points of its header");
}

// Parses the point count at the front of `block` and removes it from `block`.
StatusOr<std::size_t> TakePointCount(std::string_view& block) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kMaxCountBytes; ++i) {
    if (i == block.size()) return Corrupt(i == 0 ? "empty" : "truncated point count");
    const auto byte = static_cast<unsigned char>(block[i]);
    n |= std::size_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) != 0) continue;
    if (i > 0 && byte == 0) return Corrupt("non-minimal point count");
    if (n == 0 || n > kMaxBlockPoints) {
      return Corrupt("point count " + std::to_string(n) + " outside [1, " +
                     std::to_string(kMaxBlockPoints) + "]");
    }
    block.remove_prefix(i + 1);
    return n;
  }
  return Corrupt("point count longer than " + std::to_string(kMaxCountBytes) + " bytes");
}

}  // namespace

void GorillaEncode(const std::int64_t* ts, const double* values, std::size_t n,
                   std::string& out) {
  assert(n >= 1 && n <= kMaxBlockPoints);
  PutPointCount(out, n);
  BitWriter bits(out);
  bits.Write(static_cast<std::uint64_t>(ts[0]), 64);
  std::uint64_t prev_value = std::bit_cast<std::uint64_t>(values[0]);
  bits.Write(prev_value, 64);
  std::uint64_t prev_delta = 0;
  XorWindow window;
  for (std::size_t i = 1; i < n; ++i) {
    assert(ts[i] > ts[i - 1]);
    const std::uint64_t delta =
        static_cast<std::uint64_t>(ts[i]) - static_cast<std::uint64_t>(ts[i - 1]);
    WriteDod(bits, delta - prev_delta);
    prev_delta = delta;
    const auto value = std::bit_cast<std::uint64_t>(values[i]);
    WriteXor(bits, window, value ^ prev_value);
    prev_value = value;
  }
  bits.Finish();
}

StatusOr<std::size_t> GorillaDecode(std::string_view block, std::int64_t* ts, double* values,
                                    std::size_t capacity) {
  StatusOr<std::size_t> count = TakePointCount(block);
  if (!count.ok()) return count;
  const std::size_t n = *count;
  if (n > capacity) {
    return Corrupt("point count " + std::to_string(n) + " exceeds capacity " +
                   std::to_string(capacity));
  }
  BitReader in(block);
  // Reads past the end yield zeros, which can look like another defect; so an error
  // first asks whether the block simply ended too early.
  const auto fail = [&in, n](std::size_t i, const char* what) {
    return in.overrun() ? Truncated(n) : Corrupt(what + (" at point " + std::to_string(i)));
  };

  std::uint64_t prev_ts = in.ReadWide(64);
  std::uint64_t prev_value = in.ReadWide(64);
  ts[0] = static_cast<std::int64_t>(prev_ts);
  values[0] = std::bit_cast<double>(prev_value);
  constexpr auto kMaxTs = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t delta = 0;
  XorWindow window;
  for (std::size_t i = 1; i < n; ++i) {
    delta += ReadDod(in);
    // Ascending iff 1 <= delta <= INT64_MAX - prev_ts; that difference is exact in
    // uint64 arithmetic, and delta - 1 wraps a zero delta out of range.
    if (delta - 1 >= kMaxTs - prev_ts) return fail(i, "timestamp does not ascend");
    prev_ts += delta;
    ts[i] = static_cast<std::int64_t>(prev_ts);

    if (in.ReadBit()) {
      if (in.ReadBit()) {
        const auto header = static_cast<unsigned>(in.Read(kWindowHeaderBits));
        const unsigned leading = header >> 6;
        const unsigned width = (header & 63) == 0 ? 64 : header & 63;
        if (leading + width > 64) return fail(i, "XOR window wider than 64 bits");
        window = {leading, 64 - leading - width, width};
      } else if (window.width == 0) {
        return fail(i, "XOR window reused before one was set");
      }
      prev_value ^= in.ReadWide(window.width) << window.trailing;
    }
    values[i] = std::bit_cast<double>(prev_value);
  }
  if (in.overrun()) return Truncated(n);
  if (!in.AtPaddedEnd()) return Corrupt("trailing bytes or non-zero padding after the last point");
  return n;
}

}  // namespace tidewatch::store::internal
