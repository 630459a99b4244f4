#include "store/internal/payload.h"

#include <bit>
#include <utility>

namespace tidewatch::store::internal {

namespace {

constexpr std::size_t kMaxVarint64Bytes = 10;  // ceil(64 / 7)

// Lengths are decoded as u64 and used as sizes.
static_assert(sizeof(std::size_t) == sizeof(std::uint64_t), "tidewatch needs a 64-bit size_t");

// One append per value rather than one push_back per byte: the store encodes millions.
template <class T>
void AppendLe(std::string& out, T v) {
  char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>(v >> (8 * i));
  out.append(bytes, sizeof(T));
}

// REQUIRES: b.size() == sizeof(T).
template <class T>
T LoadLe(std::string_view b) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(b[i])) << (8 * i));
  }
  return v;
}

}  // namespace

void PayloadWriter::PutU32(std::uint32_t v) { AppendLe(buf_, v); }

void PayloadWriter::PutU64(std::uint64_t v) { AppendLe(buf_, v); }

void PayloadWriter::PutF64(double v) { PutU64(std::bit_cast<std::uint64_t>(v)); }

void PayloadWriter::PutVarint64(std::uint64_t v) {
  char bytes[kMaxVarint64Bytes];
  std::size_t n = 0;
  for (; v >= 0x80; v >>= 7) bytes[n++] = static_cast<char>(v | 0x80);
  bytes[n++] = static_cast<char>(v);
  buf_.append(bytes, n);
}

void PayloadWriter::PutLengthPrefixed(std::string_view bytes) {
  PutVarint64(bytes.size());
  buf_.append(bytes);
}

bool PayloadReader::Fail(std::string message) {
  if (status_.ok()) status_ = Status(StatusCode::kDataLoss, std::move(message));
  return false;
}

bool PayloadReader::Take(std::size_t n, std::string_view what, std::string_view* v) {
  if (!status_.ok()) return false;
  if (n > remaining()) {
    return Fail("truncated: " + std::string(what) + " at offset " + std::to_string(pos_) +
                " needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
                " remain");
  }
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool PayloadReader::ReadU8(std::uint8_t* v) {
  std::string_view b;
  if (!Take(1, "u8", &b)) return false;
  *v = static_cast<std::uint8_t>(b[0]);
  return true;
}

bool PayloadReader::ReadU32(std::uint32_t* v) {
  std::string_view b;
  if (!Take(4, "u32", &b)) return false;
  *v = LoadLe<std::uint32_t>(b);
  return true;
}

bool PayloadReader::ReadU64(std::uint64_t* v) {
  std::string_view b;
  if (!Take(8, "u64", &b)) return false;
  *v = LoadLe<std::uint64_t>(b);
  return true;
}

bool PayloadReader::ReadI64(std::int64_t* v) {
  std::uint64_t u;
  if (!ReadU64(&u)) return false;
  *v = static_cast<std::int64_t>(u);
  return true;
}

bool PayloadReader::ReadF64(double* v) {
  std::uint64_t u;
  if (!ReadU64(&u)) return false;
  *v = std::bit_cast<double>(u);
  return true;
}

bool PayloadReader::ReadVarint64(std::uint64_t* v) {
  if (!status_.ok()) return false;
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < kMaxVarint64Bytes; ++i) {
    if (pos_ + i == data_.size()) {
      return Fail("truncated: varint at offset " + std::to_string(pos_) + " ends after " +
                  std::to_string(i) + " bytes");
    }
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(data_[pos_ + i]));
    // The 10th byte holds bit 63 only; anything more would be silently shifted out.
    if (i == kMaxVarint64Bytes - 1 && byte > 1) break;
    result |= (byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      pos_ += i + 1;
      *v = result;
      return true;
    }
  }
  return Fail("varint at offset " + std::to_string(pos_) + " does not fit 64 bits");
}

bool PayloadReader::ReadBytes(std::size_t n, std::string_view* v) {
  return Take(n, "bytes", v);
}

bool PayloadReader::ReadLengthPrefixed(std::string_view* v) {
  const std::size_t start = pos_;
  std::uint64_t n;
  if (!ReadVarint64(&n)) return false;
  if (n > remaining()) {
    const std::size_t left = remaining();
    pos_ = start;  // a failed read consumes nothing, like every other Read*
    return Fail("truncated: string at offset " + std::to_string(start) + " declares " +
                std::to_string(n) + " bytes, " + std::to_string(left) + " remain");
  }
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace tidewatch::store::internal
