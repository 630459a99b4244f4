// PayloadWriter / PayloadReader: the byte encoding of everything the store writes to
// disk (snapshot block payloads, and the snapshot file's own framing).
//
// Encoding, fixed forever because files outlive builds:
//   u8, u32, u64     little-endian, 1 / 4 / 8 bytes, written byte by byte (never a
//                    memcpy of a struct, so the host's layout and endianness do not leak)
//   i64              two's complement, as u64
//   f64              the IEEE-754 bit pattern, as u64: bit-exact, so -0.0, infinities
//                    and NaN payloads survive a round trip
//   varint64         LEB128: 7 bits per byte, low groups first, high bit = "more";
//                    1 byte for values < 128, at most 10 bytes
//   length-prefixed  varint64 byte count, then the bytes; for text and binary alike
//
// Thread safety: neither class is thread-safe; use one object per thread. Distinct
// objects are independent.
#ifndef TIDEWATCH_STORE_INTERNAL_PAYLOAD_H_
#define TIDEWATCH_STORE_INTERNAL_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/status.h"

namespace tidewatch::store::internal {

// Appends encoded values to a growing std::string. Never fails (short of
// std::bad_alloc).
class PayloadWriter {
 public:
  void PutU8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void PutU32(std::uint32_t v);
  void PutU64(std::uint64_t v);
  void PutI64(std::int64_t v) { PutU64(static_cast<std::uint64_t>(v)); }
  void PutF64(double v);
  void PutVarint64(std::uint64_t v);
  void PutLengthPrefixed(std::string_view bytes);

  // The bytes written since construction or the last Clear().
  const std::string& data() const { return buf_; }

  // Empties the writer but keeps its capacity, so a writer reused per block stops
  // allocating once it has seen the largest block.
  void Clear() { buf_.clear(); }

 private:
  std::string buf_;
};

// Decodes values from a view, front to back.
//
// Every Read* either decodes a whole value into *v and advances, or returns false,
// leaves *v and offset() untouched and puts the reader into the failed state, in which
// every later Read* returns false too (so a sequence of reads can be checked once, at
// its end, via status()). A reader never touches a byte outside its view and never
// allocates on a length it has decoded: a length larger than what remains is a failure.
//
// The view (and every string_view handed out by ReadLengthPrefixed) points into the
// caller's buffer, which must outlive its use.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view data) : data_(data) {}

  [[nodiscard]] bool ReadU8(std::uint8_t* v);
  [[nodiscard]] bool ReadU32(std::uint32_t* v);
  [[nodiscard]] bool ReadU64(std::uint64_t* v);
  [[nodiscard]] bool ReadI64(std::int64_t* v);
  [[nodiscard]] bool ReadF64(double* v);
  // Fails on a truncated varint and on one that does not fit 64 bits (more than 10
  // bytes, or a 10th byte above 1).
  [[nodiscard]] bool ReadVarint64(std::uint64_t* v);
  // Exactly n raw bytes, no length prefix (fixed-size fields, magic numbers).
  [[nodiscard]] bool ReadBytes(std::size_t n, std::string_view* v);
  [[nodiscard]] bool ReadLengthPrefixed(std::string_view* v);

  // Bytes consumed so far (the offset of the next read), and bytes left after it.
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }

  // OK until a read fails; then kDataLoss saying what was read where, e.g.
  // "truncated: u64 at offset 12 needs 8 bytes, 3 remain". Callers prefix the context
  // (file, block) they know.
  Status status() const { return status_; }

 private:
  // Consumes n bytes into *v, or fails naming `what` and consumes nothing.
  bool Take(std::size_t n, std::string_view what, std::string_view* v);
  bool Fail(std::string message);

  std::string_view data_;
  std::size_t pos_ = 0;
  Status status_;
};

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_PAYLOAD_H_
