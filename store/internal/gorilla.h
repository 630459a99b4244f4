// The compressed chunk codec: Facebook Gorilla's encoding (Pelkonen et al., "Gorilla:
// A Fast, Scalable, In-Memory Time Series Database", VLDB 2015, section 4.1) for
// sealed window-store chunks, adapted to nanosecond timestamps and to arbitrary
// doubles.
//
// Thread safety: plain functions without shared state; concurrent calls are safe as
// long as they do not write the same output.
//
// Block layout (bits most significant first, see bit_stream.h):
//
//   varint  n          point count, 1..kMaxBlockPoints, LEB128, minimal length
//   64 bits ts[0]      two's complement
//   64 bits values[0]  the IEEE-754 bit pattern
//   n - 1 times:       the timestamp code, then the value code, of points 1..n-1
//   0..7 zero bits     padding to a whole byte
//
// A block is self-delimiting given its bytes: the decoder knows n from the header
// and rejects a block with bytes left over. Blocks are not self-delimiting inside a
// longer byte string (the store keeps each block's length).
//
// Timestamps: ts[0] and the codes of points 1..n-1 are the delta-of-delta code of
// timestamp_codec.h, shared with the decimal codec: 1 bit per point at exact
// intervals, 44 bits for a gap of up to 9 minutes, a 68-bit escape for any step.
//
// Values. x = bits(values[i]) XOR bits(values[i-1]), on the raw bit patterns, so
// NaN payloads, -0.0, denormals and infinities round-trip bit for bit:
//
//   0                                            x == 0                1 bit
//   10 + the window's width of x's bits          x fits the window     2 + width
//   11 + 5-bit leading zeros + 6-bit width + x's meaningful bits,
//        and this becomes the window                                  13 + width
//
// Leading zeros are capped at 31 (5 bits), as in the paper; width 64, which 6 bits
// cannot hold, is stored as 0 (width 0 cannot occur). One encoder choice differs:
// the paper reuses the window whenever x fits, so windows only ever widen and one
// wide XOR taxes every later value; this encoder opens a fresh window when the
// current one is more than 11 bits (the header's cost) wider than x needs. On the
// test datasets that saves 4% on integer counters and on full-precision walks, and
// nothing on 0.01-quantised values. The decoder does not depend on that choice.
#ifndef TIDEWATCH_STORE_INTERNAL_GORILLA_H_
#define TIDEWATCH_STORE_INTERNAL_GORILLA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::store::internal {

// The most points one block holds (a window-store chunk holds up to 1024).
inline constexpr std::size_t kMaxBlockPoints = 65535;

// Appends one block holding the points (ts[i], values[i]), i < n, to `out` (which
// may already hold other bytes; they are left as they are).
// REQUIRES: 1 <= n <= kMaxBlockPoints; ts strictly ascending (the store has already
// applied last-write-wins to duplicates).
void GorillaEncode(const std::int64_t* ts, const double* values, std::size_t n,
                   std::string& out);

// Decodes the block GorillaEncode produced, which must be all of `block`, into
// ts[0, k) and values[0, k), and returns k, the block's point count. A decoded
// block always has 1 <= k <= capacity and strictly ascending timestamps.
//
// Errors, all kDataLoss with a message that says what is wrong (and at which point):
// an empty or truncated block, a point count of 0, above kMaxBlockPoints or above
// `capacity`, a non-minimal count, trailing bytes or non-zero padding after the
// last point, and encodings no encoder produces (a window reused before one is set,
// a window wider than 64 bits, timestamps that do not ascend). On error ts and
// values hold unspecified contents within [0, capacity).
//
// Any input is safe: the decoder reads only `block`, writes only within
// [0, capacity) and does at most O(min(k, capacity)) work.
[[nodiscard]] StatusOr<std::size_t> GorillaDecode(std::string_view block, std::int64_t* ts,
                                                  double* values, std::size_t capacity);

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_GORILLA_H_
