// CRC-32C: published test vectors, chaining, masking, and hardware == software ==
// a bitwise reference on random buffers at every length and alignment.
#include "store/internal/crc32c.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tidewatch::store::internal {
namespace {

// The definition, one bit at a time: slow, obviously correct, shares no table with
// the code under test.
std::uint32_t ReferenceCrc(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1U) != 0 ? 0x82F63B78U : 0U);
  }
  return ~c;
}

// Every implementation this machine can run, with a name for failure messages.
struct Impl {
  const char* name;
  std::uint32_t (*fn)(const void*, std::size_t, std::uint32_t);
};

std::vector<Impl> Impls() {
  std::vector<Impl> impls = {{"dispatch", &Crc32c}, {"software", &Crc32cSoftware}};
  if (Crc32cHardwareAvailable()) impls.push_back({"hardware", &Crc32cHardware});
  return impls;
}

std::vector<unsigned char> Bytes(std::size_t n, unsigned char first, int step) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<unsigned char>(first + step * static_cast<int>(i));
  }
  return v;
}

TEST(Crc32cTest, MatchesRfc3720Vectors) {
  for (const Impl& impl : Impls()) {
    SCOPED_TRACE(impl.name);
    const auto zeros = Bytes(32, 0, 0);
    const auto ones = Bytes(32, 0xFF, 0);
    const auto ascending = Bytes(32, 0, 1);
    const auto descending = Bytes(32, 31, -1);
    EXPECT_EQ(impl.fn(zeros.data(), 32, 0), 0x8A9136AAU);
    EXPECT_EQ(impl.fn(ones.data(), 32, 0), 0x62A8AB43U);
    EXPECT_EQ(impl.fn(ascending.data(), 32, 0), 0x46DD794EU);
    EXPECT_EQ(impl.fn(descending.data(), 32, 0), 0x113FDB5CU);
  }
}

TEST(Crc32cTest, MatchesCheckValue) {
  for (const Impl& impl : Impls()) {
    EXPECT_EQ(impl.fn("123456789", 9, 0), 0xE3069283U) << impl.name;
    EXPECT_EQ(impl.fn(nullptr, 0, 0), 0U) << impl.name;
  }
}

TEST(Crc32cTest, ChainingEqualsOneShotAtEverySplit) {
  const std::string s = "The quick brown fox jumps over the lazy dog, 0123456789 times.";
  for (const Impl& impl : Impls()) {
    const std::uint32_t whole = impl.fn(s.data(), s.size(), 0);
    for (std::size_t split = 0; split <= s.size(); ++split) {
      const std::uint32_t head = impl.fn(s.data(), split, 0);
      EXPECT_EQ(impl.fn(s.data() + split, s.size() - split, head), whole)
          << impl.name << " split at " << split;
    }
  }
}

TEST(Crc32cTest, AllImplementationsAgreeOnRandomBuffers) {
  constexpr std::uint32_t kSeed = 20240611;
  std::mt19937 rng(kSeed);
  std::vector<unsigned char> buf(300 + 16);
  for (std::size_t len = 0; len <= 300; ++len) {
    const std::size_t align = rng() % 16;
    for (std::size_t i = 0; i < len; ++i) buf[align + i] = static_cast<unsigned char>(rng());
    const std::uint32_t want = ReferenceCrc(buf.data() + align, len);
    for (const Impl& impl : Impls()) {
      ASSERT_EQ(impl.fn(buf.data() + align, len, 0), want)
          << impl.name << " len=" << len << " align=" << align << " seed=" << kSeed;
    }
  }
}

TEST(Crc32cTest, MaskRoundTripsAndChangesTheValue) {
  const std::uint32_t crc = Crc32c("foo", 3);
  EXPECT_NE(MaskCrc(crc), crc);
  EXPECT_NE(MaskCrc(MaskCrc(crc)), crc);
  EXPECT_EQ(UnmaskCrc(MaskCrc(crc)), crc);
  EXPECT_EQ(UnmaskCrc(UnmaskCrc(MaskCrc(MaskCrc(crc)))), crc);
}

}  // namespace
}  // namespace tidewatch::store::internal
