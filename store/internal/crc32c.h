// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4,
// leveldb and RocksDB. Detects every burst of up to 32 bits and every odd number of
// flipped bits, and is computed by one x86 instruction (SSE4.2 `crc32`) per 8 bytes.
//
// Thread safety: pure functions; call them from any thread.
#ifndef TIDEWATCH_STORE_INTERNAL_CRC32C_H_
#define TIDEWATCH_STORE_INTERNAL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace tidewatch::store::internal {

// Returns the CRC-32C of data[0, n) appended to a stream whose CRC-32C so far is `crc`
// (leveldb's crc32c::Extend): Crc32c(ab) == Crc32c(b, |b|, Crc32c(a)). The default
// starts a new stream, so Crc32c("123456789", 9) == 0xE3069283.
// Uses the SSE4.2 instruction when the CPU has it (checked once, at the first call),
// the table-driven software code otherwise; both give the same result.
// REQUIRES: data points to n readable bytes (any alignment; may be null if n == 0).
std::uint32_t Crc32c(const void* data, std::size_t n, std::uint32_t crc = 0);

// The two implementations behind Crc32c, exposed so tests can compare them.
// Slicing-by-8 (eight 1 KiB tables, 8 bytes per step); portable.
std::uint32_t Crc32cSoftware(const void* data, std::size_t n, std::uint32_t crc = 0);
// SSE4.2 `crc32`, 8 bytes at a time. REQUIRES: Crc32cHardwareAvailable().
std::uint32_t Crc32cHardware(const void* data, std::size_t n, std::uint32_t crc = 0);
// True on x86-64 CPUs with SSE4.2; always false elsewhere.
bool Crc32cHardwareAvailable();

// Masked CRCs, for CRCs that are stored next to the data they cover (leveldb's
// crc32c::Mask). The CRC of a string that itself contains CRCs is weak: CRC is linear,
// so e.g. a block followed by its own CRC always has the same CRC. Rotating and adding
// a constant breaks that. Store MaskCrc(crc); compare UnmaskCrc(stored) with the CRC.
inline constexpr std::uint32_t kCrcMaskDelta = 0xA282EAD8U;

inline std::uint32_t MaskCrc(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta;
}

inline std::uint32_t UnmaskCrc(std::uint32_t masked) {
  const std::uint32_t rot = masked - kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_CRC32C_H_
