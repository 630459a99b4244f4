#include "store/internal/gorilla.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdint>
#include <string>
#include <utility>

#include "store/internal/bit_stream.h"
#include "store/internal/timestamp_codec.h"

namespace tidewatch::store::internal {
namespace {

// A LEB128 count up to kMaxBlockPoints takes at most 3 bytes.
constexpr std::size_t kMaxCountBytes = 3;

// XOR windows: 5 bits of leading zeros (so at most 31), 6 bits of width.
constexpr unsigned kMaxLeadingZeros = 31;
constexpr unsigned kWindowHeaderBits = 5 + 6;

// The meaningful bits of the last '11' value code. width == 0: no window yet.
struct XorWindow {
  unsigned leading = 0;
  unsigned trailing = 0;
  unsigned width = 0;
};

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
  TimestampEncoder ts_out(bits);
  ts_out.WriteFirst(ts[0]);
  std::uint64_t prev_value = std::bit_cast<std::uint64_t>(values[0]);
  bits.Write(prev_value, 64);
  XorWindow window;
  for (std::size_t i = 1; i < n; ++i) {
    ts_out.WriteNext(ts[i]);
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

  TimestampDecoder ts_in(in);
  ts[0] = ts_in.ReadFirst();
  std::uint64_t prev_value = in.ReadWide(64);
  values[0] = std::bit_cast<double>(prev_value);
  XorWindow window;
  for (std::size_t i = 1; i < n; ++i) {
    if (!ts_in.ReadNext(ts[i])) return fail(i, "timestamp does not ascend");

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
