// The timestamp column shared by the sealed-chunk codecs (gorilla.h, decimal_codec.h):
// Gorilla's delta-of-delta code (Pelkonen et al., VLDB 2015, section 4.1) adapted to
// nanoseconds, written through BitWriter and read through BitReader (bit_stream.h).
//
// Code: the first timestamp is 64 raw bits (two's complement). For each later one,
// delta_i = ts[i] - ts[i-1] and dod_i = delta_i - delta_{i-1} (with delta_0 = 0, so
// the first delta is coded like any dod) are computed in uint64 wrapping arithmetic:
// every strictly ascending int64 pair, even INT64_MIN then INT64_MAX, has a delta in
// [1, 2^64 - 1], and every dod is some 64-bit pattern. ZigZag(dod) maps small dods
// of either sign to small codes:
//
//   0                           dod == 0                       1 bit
//   10   + 16-bit ZigZag(dod)   -2^15 <= dod < 2^15 (±33 us)  18 bits
//   110  + 26-bit ZigZag(dod)   -2^25 <= dod < 2^25 (±34 ms)  29 bits
//   1110 + 40-bit ZigZag(dod)   -2^39 <= dod < 2^39 (±9 min)  44 bits
//   1111 + 64-bit ZigZag(dod)   anything                       68 bits
//
// Why these buckets: the paper's 7/9/12/32-bit buckets are tuned for second
// precision; in nanoseconds they would catch nothing but exact intervals. What makes
// dod != 0 in ns data comes in three scales, one bucket each:
//   - clock jitter of hardware/PTP-timestamped sources, microseconds: jitter within
//     ±J gives |dod| <= 4J, so J up to 8 us always takes 18 bits;
//   - jitter of software sampling (timer wake-ups, scheduling), up to milliseconds:
//     J up to 8 ms takes 29 bits;
//   - a missing point or a restart: dod = +k*interval, then -k*interval. 44 bits
//     cover gaps up to 9 minutes; the first delta of a block (10 s: 1e10 ns) also
//     lands here, once per block.
// Beyond that (day-long gaps, INT64 extremes) the 64-bit escape codes any series.
// Exact-interval data, the usual SCADA case, costs 1 bit per timestamp.
//
// Persisted blocks hold this code: changing it breaks snapshot files.
//
// Thread safety: none; an encoder or decoder belongs to one thread, like the bit
// stream it borrows (which must outlive it).
#ifndef TIDEWATCH_STORE_INTERNAL_TIMESTAMP_CODEC_H_
#define TIDEWATCH_STORE_INTERNAL_TIMESTAMP_CODEC_H_

#include <bit>
#include <cassert>
#include <cstdint>
#include <limits>

#include "store/internal/bit_stream.h"

namespace tidewatch::store::internal {

// Maps a two's complement value (as uint64) to 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
inline std::uint64_t ZigZag(std::uint64_t v) {
  return (v << 1) ^ static_cast<std::uint64_t>(static_cast<std::int64_t>(v) >> 63);
}

inline std::uint64_t UnZigZag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

namespace timestamp_codec_internal {

// The buckets after the 1-bit dod == 0 code, smallest first. The prefix of bucket b
// is b + 1 ones, then a zero except for the escape, so a decoder finds the bucket by
// counting leading ones in 4 bits.
struct DodBucket {
  unsigned prefix;
  unsigned prefix_bits;
  unsigned payload_bits;
};
inline constexpr DodBucket kDodBuckets[] = {
    {0b10, 2, 16}, {0b110, 3, 26}, {0b1110, 4, 40}, {0b1111, 4, 64}};
inline constexpr unsigned kDodPrefixPeekBits = 4;

}  // namespace timestamp_codec_internal

// Writes one block's timestamps: WriteFirst once, then WriteNext for each later one.
class TimestampEncoder {
 public:
  explicit TimestampEncoder(BitWriter& out) : out_(out) {}

  TimestampEncoder(const TimestampEncoder&) = delete;
  TimestampEncoder& operator=(const TimestampEncoder&) = delete;

  void WriteFirst(std::int64_t ts) {
    prev_ts_ = static_cast<std::uint64_t>(ts);
    out_.Write(prev_ts_, 64);
  }

  // REQUIRES: WriteFirst was called; ts is above the timestamp written last.
  void WriteNext(std::int64_t ts) {
    using timestamp_codec_internal::kDodBuckets;
    assert(ts > static_cast<std::int64_t>(prev_ts_));
    const std::uint64_t delta = static_cast<std::uint64_t>(ts) - prev_ts_;
    const std::uint64_t dod = delta - prev_delta_;
    prev_ts_ = static_cast<std::uint64_t>(ts);
    prev_delta_ = delta;
    if (dod == 0) {
      out_.Write(0, 1);
      return;
    }
    const std::uint64_t z = ZigZag(dod);
    for (const auto& bucket : kDodBuckets) {
      if (bucket.payload_bits == 64 || z >> bucket.payload_bits == 0) {
        out_.Write(bucket.prefix, bucket.prefix_bits);
        out_.Write(z, bucket.payload_bits);
        return;
      }
    }
  }

 private:
  BitWriter& out_;
  std::uint64_t prev_ts_ = 0;
  std::uint64_t prev_delta_ = 0;
};

// Reads what TimestampEncoder wrote: ReadFirst once, then ReadNext for each later
// timestamp. Reads past the end of the input behave as BitReader's do (zeros, and
// overrun() is set); the caller checks overrun().
class TimestampDecoder {
 public:
  explicit TimestampDecoder(BitReader& in) : in_(in) {}

  TimestampDecoder(const TimestampDecoder&) = delete;
  TimestampDecoder& operator=(const TimestampDecoder&) = delete;

  std::int64_t ReadFirst() {
    prev_ts_ = in_.ReadWide(64);
    return static_cast<std::int64_t>(prev_ts_);
  }

  // Decodes the next timestamp into `ts`. False, with `ts` unchanged, when it would
  // not be above the previous one (or would pass INT64_MAX): no encoder writes that.
  // REQUIRES: ReadFirst was called.
  [[nodiscard]] bool ReadNext(std::int64_t& ts) {
    using timestamp_codec_internal::kDodBuckets;
    using timestamp_codec_internal::kDodPrefixPeekBits;
    const auto code = static_cast<std::uint8_t>(in_.Peek(kDodPrefixPeekBits) << 4);
    const auto ones = static_cast<unsigned>(std::countl_one(code));  // 0..4
    if (ones == 0) {
      in_.Skip(1);
    } else {
      const auto& bucket = kDodBuckets[ones - 1];
      in_.Skip(bucket.prefix_bits);
      delta_ += UnZigZag(in_.ReadWide(bucket.payload_bits));
    }
    // Ascending iff 1 <= delta <= INT64_MAX - prev_ts; that difference is exact in
    // uint64 arithmetic, and delta - 1 wraps a zero delta out of range.
    constexpr auto kMaxTs = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (delta_ - 1 >= kMaxTs - prev_ts_) return false;
    prev_ts_ += delta_;
    ts = static_cast<std::int64_t>(prev_ts_);
    return true;
  }

 private:
  BitReader& in_;
  std::uint64_t prev_ts_ = 0;
  std::uint64_t delta_ = 0;
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_TIMESTAMP_CODEC_H_
