// The main() of every test binary: GoogleTest's, after one step on the main thread.
//
// spdlog creates its registry (and the default logger) on first use, as a function-
// local static inside libspdlog.so. That library is not built with ThreadSanitizer, so
// when two worker threads of a test log first, TSan cannot see the static's guard and
// reports the logger's construction racing with its first read. Touching the default
// logger here, before any test starts a thread, builds it once on the main thread.
// The daemon does the same in its own main() when it sets up logging.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  spdlog::default_logger_raw();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
