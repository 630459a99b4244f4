// BitWriter and BitReader: a most-significant-bit-first bit stream over bytes, the
// substrate of the Gorilla chunk codec (store/internal/gorilla.h).
//
// Layout: the first bit written is bit 7 of the first byte. A finished stream is
// padded with zero bits to a whole byte, so a stream of B bits takes ceil(B / 8)
// bytes and nothing else (no length, no terminator: the format above decides where
// it ends).
//
// Both sides move 64 bits at a time, never one bit at a time. The writer gathers
// bits in a 64-bit accumulator and appends 8 bytes whenever it fills. The reader
// refills its accumulator with one unaligned 8-byte load ("lookahead" refill, F.
// Giesen, "Reading bits in far too many ways", part 2, variant 4): after a refill it
// holds at least 56 bits, so a point's few reads rarely refill at all. Only within
// the last 7 bytes of its input does it fall back to a byte loop, so it never reads
// outside the bytes it was given, whatever they contain.
//
// Thread safety: none; an object belongs to one thread. BitWriter borrows the string
// it appends to, BitReader the bytes it reads: they must outlive the object.
#ifndef TIDEWATCH_STORE_INTERNAL_BIT_STREAM_H_
#define TIDEWATCH_STORE_INTERNAL_BIT_STREAM_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidewatch::store::internal {

class BitWriter {
 public:
  // Appends to `out` after whatever it already holds.
  explicit BitWriter(std::string& out) : out_(out) {}

  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Appends the low `n` bits of `bits`, most significant first.
  // REQUIRES: 1 <= n <= 64; bits < 2^n.
  void Write(std::uint64_t bits, unsigned n) {
    assert(n >= 1 && n <= 64);
    assert(n == 64 || bits >> n == 0);
    const unsigned free = 64 - used_;  // >= 1: a full accumulator is flushed at once
    if (n < free) {
      acc_ |= bits << (free - n);
      used_ += n;
      return;
    }
    const unsigned rest = n - free;  // bits that spill into the next word, 0..63
    acc_ |= bits >> rest;
    AppendWord(acc_);
    acc_ = rest == 0 ? 0 : bits << (64 - rest);
    used_ = rest;
  }

  // Appends the pending bits padded with zeros to a whole byte. Call once, last;
  // bits written before it and not yet flushed are lost without it.
  void Finish() {
    for (unsigned i = 0; i < used_; i += 8) out_.push_back(static_cast<char>(acc_ >> (56 - i)));
    acc_ = 0;
    used_ = 0;
  }

 private:
  void AppendWord(std::uint64_t word) {
    char bytes[8];
    for (unsigned i = 0; i < 8; ++i) bytes[i] = static_cast<char>(word >> (56 - 8 * i));
    out_.append(bytes, 8);
  }

  std::string& out_;
  std::uint64_t acc_ = 0;  // pending bits, left-aligned
  unsigned used_ = 0;      // how many bits of acc_ are pending; always < 64
};

class BitReader {
 public:
  // The most bits Peek() and Read() take at once; ReadWide() takes up to 64.
  static constexpr unsigned kMaxReadBits = 56;

  explicit BitReader(std::string_view in)
      : next_(reinterpret_cast<const unsigned char*>(in.data())), end_(next_ + in.size()) {}

  BitReader(const BitReader&) = delete;
  BitReader& operator=(const BitReader&) = delete;

  // The next `n` bits, not consumed. Bits past the end of the input read as zero
  // (peeking past the end is not an error; consuming past it is).
  // REQUIRES: 1 <= n <= kMaxReadBits.
  std::uint64_t Peek(unsigned n) {
    assert(n >= 1 && n <= kMaxReadBits);
    if (avail_ < n) Refill();
    return acc_ >> (64 - n);
  }

  // Consumes `n` bits. REQUIRES: 1 <= n <= kMaxReadBits.
  void Skip(unsigned n) {
    assert(n >= 1 && n <= kMaxReadBits);
    if (avail_ < n) Refill();
    Consume(n);
  }

  // Consumes and returns the next `n` bits. REQUIRES: 1 <= n <= kMaxReadBits.
  std::uint64_t Read(unsigned n) {
    const std::uint64_t bits = Peek(n);
    Consume(n);
    return bits;
  }

  // Read() for any width. REQUIRES: 1 <= n <= 64.
  std::uint64_t ReadWide(unsigned n) {
    if (n <= kMaxReadBits) return Read(n);
    const std::uint64_t high = Read(n - 32);
    return (high << 32) | Read(32);
  }

  bool ReadBit() { return Read(1) != 0; }

  // True once a read or skip went past the end of the input. It stays true, and
  // reads return zeros from then on, so a decoder may check it once at the end.
  bool overrun() const { return overrun_; }

  // True when every byte of the input has been consumed except fewer than 8 zero
  // bits of padding: the input is exactly what a BitWriter produced for the bits
  // read so far. False after an overrun.
  bool AtPaddedEnd() const {
    // Once next_ == end_, the last refill was the byte loop, which sets no bit of
    // acc_ beyond avail_; so acc_ == 0 says exactly that the padding bits are zero.
    return !overrun_ && next_ == end_ && avail_ < 8 && acc_ == 0;
  }

 private:
  // Tops acc_ up to at least 56 bits, or to every remaining bit near the end.
  // REQUIRES: avail_ < 64 (callers refill only below kMaxReadBits).
  void Refill() {
    if (end_ - next_ >= 8) {
      std::uint64_t word = 0;
      for (unsigned i = 0; i < 8; ++i) word = word << 8 | next_[i];  // one bswapped load
      // Bits of `word` beyond the whole bytes counted below land in acc_ too. They
      // are the stream's true next bits at their true positions, so the next refill
      // ORs the same values over them: harmless, and it keeps this branch-free.
      acc_ |= word >> avail_;
      const unsigned bytes = (63 - avail_) / 8;
      next_ += bytes;
      avail_ += 8 * bytes;
      return;
    }
    while (avail_ <= 56 && next_ != end_) {
      acc_ |= std::uint64_t{*next_++} << (56 - avail_);
      avail_ += 8;
    }
  }

  void Consume(unsigned n) {
    if (n > avail_) [[unlikely]] {
      overrun_ = true;
      acc_ = 0;
      avail_ = 0;
      return;
    }
    acc_ <<= n;
    avail_ -= n;
  }

  const unsigned char* next_;  // first byte not yet counted in avail_
  const unsigned char* end_;
  std::uint64_t acc_ = 0;  // the next avail_ bits, left-aligned (see Refill)
  unsigned avail_ = 0;     // <= 64
  bool overrun_ = false;
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_BIT_STREAM_H_
