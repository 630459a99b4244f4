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
// and warns (-Wmismatched-new-delete). The array forms default to these.
[[gnu::noinline]] void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
