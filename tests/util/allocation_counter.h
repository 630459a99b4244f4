// Counts the calling thread's calls of the global operator new, so a test can show that
// a hot path does not allocate. Linking tidewatch_test_util into a test binary
// replaces the global operator new/delete with counting ones that forward to
// malloc/free, so nothing else changes.
#ifndef TIDEWATCH_TESTS_UTIL_ALLOCATION_COUNTER_H_
#define TIDEWATCH_TESTS_UTIL_ALLOCATION_COUNTER_H_

#include <cstddef>

namespace tidewatch::test_util {

// Calls of operator new made by this thread so far.
std::size_t ThreadAllocations();

}  // namespace tidewatch::test_util

#endif  // TIDEWATCH_TESTS_UTIL_ALLOCATION_COUNTER_H_
