// Approximate heap footprint of standard containers, for MemoryBytesApprox(). The
// figures are libstdc++'s layouts on a 64-bit target plus a flat allocator overhead;
// they aim at "right within tens of percent", not at byte accuracy.
//
// Thread safety: pure functions.
#ifndef TIDEWATCH_STORE_INTERNAL_MEMORY_ESTIMATE_H_
#define TIDEWATCH_STORE_INTERNAL_MEMORY_ESTIMATE_H_

#include <cstddef>
#include <string>
#include <vector>

namespace tidewatch::store::internal {

// glibc malloc: an 8-byte chunk header and rounding to 16 bytes, about 16 on average.
inline constexpr std::size_t kAllocOverhead = 16;

// What one heap block of `bytes` costs.
constexpr std::size_t BlockBytes(std::size_t bytes) { return bytes + kAllocOverhead; }

// The heap part of a std::string of `size` characters built to fit (its capacity equals
// its size); short strings live inside the object (SSO, up to 15 characters).
constexpr std::size_t StringHeapBytes(std::size_t size) {
  return size <= 15 ? 0 : BlockBytes(size + 1);
}

template <class T>
std::size_t VectorHeapBytes(const std::vector<T>& v) {
  return v.capacity() == 0 ? 0 : BlockBytes(v.capacity() * sizeof(T));
}

// One node of a std::map/std::set (red-black tree: colour and three pointers, then
// the value) whose key is a string of `key_size` characters, not counting the heap
// blocks the mapped value owns.
template <class Map>
constexpr std::size_t TreeNodeBytes(std::size_t key_size) {
  return BlockBytes(32 + sizeof(typename Map::value_type)) + StringHeapBytes(key_size);
}

}  // namespace tidewatch::store::internal

#endif  // TIDEWATCH_STORE_INTERNAL_MEMORY_ESTIMATE_H_
