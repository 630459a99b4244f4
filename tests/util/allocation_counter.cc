#include "tests/util/allocation_counter.h"

#include <cstdlib>
#include <new>

namespace {
thread_local std::size_t t_allocations = 0;
}  // namespace

namespace tidewatch::test_util {
std::size_t ThreadAllocations() { return t_allocations; }
}  // namespace tidewatch::test_util

// Not inlined, or GCC sees malloc() paired with operator delete, or `new` with free(),
// and warns (-Wmismatched-new-delete). The array and nothrow deletes default to these
// deletes, and the array news to these news; the nothrow new (std::stable_sort's
// temporary buffer) must be replaced too, or ASan sees its block freed by free().
[[gnu::noinline]] void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++t_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
