// The decimal chunk codec: for sealed chunks whose values all have a few decimal
// digits, as most sensor readings do. Such values are stored as the scaled integers
// m = v * 10^k, as deltas, instead of Gorilla's XOR of bit patterns (gorilla.h): two
// decimal fractions that differ in the last digit differ in most mantissa bits, so
// Gorilla spends 5.3 bytes per point on a 0.01-quantised walk that changes at almost
// every point, and this codec 0.65 (the dataset of decimal_codec_test.cc).
//
// Use: k = DecimalDigits(values, n); if it has a value, DecimalEncode with it, else
// fall back to GorillaEncode. Which codec made a block is the caller's to record.
//
// Thread safety: plain functions without shared state; concurrent calls are safe as
// long as they do not write the same output.
//
// Block layout (bits most significant first, see bit_stream.h):
//
//   16 bits  n        point count, 1..kMaxBlockPoints
//    3 bits  k        decimal digits, 0..kMaxDecimalDigits
//    6 bits  r        Rice parameter of the value codes, 0..kMaxRiceBits
//   64 bits  ts[0]    then the value code of point 0
//   n - 1 times:      the timestamp code, then the value code, of points 1..n-1
//   0..7 zero bits    padding to a whole byte
//
// Self-delimiting given its bytes, like a Gorilla block; the decoder rejects bytes
// left over.
//
// Timestamps: the delta-of-delta code of timestamp_codec.h, as in Gorilla blocks.
//
// Values: point i holds m_i with values[i] == double(m_i) / 10^k bit for bit (the
// decoder's exact expression) and |m_i| <= 2^53. z = ZigZag(m_i - m_{i-1}), with
// m_{-1} = 0 and the difference in uint64 wrapping arithmetic, is Rice coded:
//
//   q = z >> r < 8:   q ones, a zero, the low r bits of z           q + 1 + r bits
//   otherwise:        8 ones, 6-bit L = bit width of z, z in L bits   14 + L bits
//
// Why Rice codes rather than Gorilla-style fixed buckets: Rice codes are buckets of
// width 2^r, and the encoder picks r per block: the bit width of the median z less
// one (so about half the codes take r + 1 bits), read off a histogram of widths. On
// every test dataset that lands within 1% of the best r. One fixed table cannot fit
// deltas whose scale depends on k and on the sensor. Measured in bits per value on
// 1024-point blocks (Rice with that r / the best fixed table found by search,
// {'0', 10+3, 110+5, 1110+11, 11110+13, 11111+56}):
//   walk sigma 0.02 at k=2 (the target data)   3.23 / 4.40 (empirical entropy 3.08)
//   Poisson(0.1..3) integer counters           3.22 / 4.13
//   walk sigma 0.1 at k=2                      5.56 / 7.69
//   walk sigma 1 at k=3                        12.1 / 15.9
// The escape bounds an outlier (a step change, a restart) at 14 + L bits; 8 ones
// rather than 16 or 32 measured best with 1% of points jumping. Delta-of-delta
// values would suit linear ramps but double the noise of walks and counters.
#ifndef TIDEWATCH_STORE_INTERNAL_DECIMAL_CODEC_H_
#define TIDEWATCH_STORE_INTERNAL_DECIMAL_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/internal/gorilla.h"  // kMaxBlockPoints
#include "store/status.h"

namespace tidewatch::store::internal {

// The most decimal digits a block may have. Sensors report at most a few; values
// with more are rarely true decimals, and 10^6 keeps |v| up to 9e9 within 2^53.
inline constexpr int kMaxDecimalDigits = 6;

// The largest Rice parameter: a delta of two values within ±2^53 has a ZigZag code
// below 2^56.
inline constexpr unsigned kMaxRiceBits = 55;

// The smallest k in [0, kMaxDecimalDigits] such that every value v is, bit for bit,
// double(m) / 10^k for some integer m with |m| <= 2^53 (10^k an exact double, so the
// quotient is correctly rounded); nullopt when there is none, and for n == 0.
// -0.0 is never such a quotient (0 / 10^k is +0.0), nor are NaN and infinities.
// Cost: one multiply, one division and a few compares per value per k tried; each
// k stops at the first value that does not fit it.
std::optional<int> DecimalDigits(const double* values, std::size_t n);

// Appends one block holding the points (ts[i], values[i]), i < n, to `out` (which
// may already hold other bytes; they are left as they are). Allocates 8 bytes per
// point of scratch for the call.
// REQUIRES: 1 <= n <= kMaxBlockPoints; ts strictly ascending;
// digits == DecimalDigits(values, n) (in a release build a value that does not fit
// `digits` is stored as 0).
void DecimalEncode(const std::int64_t* ts, const double* values, std::size_t n, int digits,
                   std::string& out);

// Decodes the block DecimalEncode produced, which must be all of `block`, into
// ts[0, k) and values[0, k), and returns k, the block's point count. A decoded block
// always has 1 <= k <= capacity, strictly ascending timestamps and values that are
// decimals as above (so never -0.0, NaN or infinite).
//
// Errors, all kDataLoss with a message that says what is wrong (and at which point):
// an empty or truncated block, a point count of 0 or above `capacity`, trailing bytes
// or non-zero padding after the last point, and encodings no encoder produces (k
// above kMaxDecimalDigits, r above kMaxRiceBits, timestamps that do not ascend, a
// scaled value beyond ±2^53). On error ts and values hold unspecified contents
// within [0, capacity).
//
// Any input is safe: the decoder reads only `block`, writes only within
// [0, capacity) and does at most O(min(k, capacity)) work.
[[nodiscard]] StatusOr<std::size_t> DecimalDecode(std::string_view block, std::int64_t* ts,
                                                  double* values, std::size_t capacity);

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_DECIMAL_CODEC_H_
