#include "store/internal/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tidewatch::store::internal {

namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78U;  // reflected Castagnoli

// kTables[0] is the classic byte-at-a-time table; kTables[k][b] is the CRC of byte b
// followed by k zero bytes, which lets one step fold 8 input bytes with 8 lookups that
// do not depend on each other (Intel's slicing-by-8).
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1U) != 0 ? kPolynomial : 0U);
    t[0][b] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) {
      const std::uint32_t prev = t[k - 1][b];
      t[k][b] = (prev >> 8) ^ t[0][prev & 0xFFU];
    }
  }
  return t;
}

constexpr Tables kTables = MakeTables();

// Little-endian load without alignment requirements; compiles to one mov on x86.
std::uint32_t LoadLe32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint32_t StepByte(std::uint32_t crc, unsigned char byte) {
  return (crc >> 8) ^ kTables[0][(crc ^ byte) & 0xFFU];
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t Sse42Crc(const unsigned char* p,
                                                          std::size_t n, std::uint32_t crc) {
  std::uint32_t c = crc;
  // Byte steps up to an 8-byte boundary so the 8-byte loads below never split a cache
  // line.
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7U) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  std::uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof(word));  // x86 is little-endian, as the CRC expects
    c64 = _mm_crc32_u64(c64, word);
  }
  c = static_cast<std::uint32_t>(c64);  // the instruction zero-extends a 32-bit CRC
  for (; n > 0; --n) c = _mm_crc32_u8(c, *p++);
  return c;
}
#endif

}  // namespace

std::uint32_t Crc32cSoftware(const void* data, std::size_t n, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t lo = c ^ LoadLe32(p);
    const std::uint32_t hi = LoadLe32(p + 4);
    c = kTables[7][lo & 0xFFU] ^ kTables[6][(lo >> 8) & 0xFFU] ^
        kTables[5][(lo >> 16) & 0xFFU] ^ kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFU] ^
        kTables[2][(hi >> 8) & 0xFFU] ^ kTables[1][(hi >> 16) & 0xFFU] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; --n) c = StepByte(c, *p++);
  return ~c;
}

std::uint32_t Crc32cHardware(const void* data, std::size_t n, std::uint32_t crc) {
#if defined(__x86_64__)
  return ~Sse42Crc(static_cast<const unsigned char*>(data), n, ~crc);
#else
  return Crc32cSoftware(data, n, crc);  // unreachable by contract; keeps the symbol
#endif
}

bool Crc32cHardwareAvailable() {
#if defined(__x86_64__)
  __builtin_cpu_init();  // needed if we run before the CPU model is initialised
  return __builtin_cpu_supports("sse4.2") != 0;
#else
  return false;
#endif
}

std::uint32_t Crc32c(const void* data, std::size_t n, std::uint32_t crc) {
  // A function-local static: initialised once, thread-safely, even when the first call
  // comes from another translation unit's static initialiser.
  static const bool kHardware = Crc32cHardwareAvailable();
  return kHardware ? Crc32cHardware(data, n, crc) : Crc32cSoftware(data, n, crc);
}

}  // namespace tidewatch::store::internal
