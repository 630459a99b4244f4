// DataDirLock: a second holder is refused with a clear error until the first is gone.
#include "daemon/data_dir_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/rules/catalog_test_util.h"

namespace tidewatch::daemon {
namespace {

using ::testing::HasSubstr;

TEST(DataDirLockTest, OneHolderAtATime) {
  rules::catalog_test::TempDir dir;
  const std::string data_dir = dir.File("data");
  std::filesystem::create_directories(data_dir);
  {
    StatusOr<DataDirLock> first = DataDirLock::Acquire(data_dir);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    StatusOr<DataDirLock> second = DataDirLock::Acquire(data_dir);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(second.status().message(), HasSubstr("in use by another tidewatchd"));
    DataDirLock moved = std::move(*first);  // the lock moves with its owner
    EXPECT_FALSE(DataDirLock::Acquire(data_dir).ok());
  }
  EXPECT_TRUE(DataDirLock::Acquire(data_dir).ok());  // released with its owner
}

TEST(DataDirLockTest, AProcessThatDiesReleasesIt) {
  rules::catalog_test::TempDir dir;
  const std::string data_dir = dir.File("data");
  std::filesystem::create_directories(data_dir);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StatusOr<DataDirLock> held = DataDirLock::Acquire(data_dir);
    ::_exit(held.ok() ? 0 : 1);  // dies holding it: no destructor runs
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(DataDirLock::Acquire(data_dir).ok());
}

TEST(DataDirLockTest, MissingDirectoryIsAClearError) {
  StatusOr<DataDirLock> lock = DataDirLock::Acquire("/nonexistent/tidewatch-data");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), StatusCode::kInternal);
  EXPECT_THAT(lock.status().message(), HasSubstr("/nonexistent/tidewatch-data"));
}

}  // namespace
}  // namespace tidewatch::daemon
