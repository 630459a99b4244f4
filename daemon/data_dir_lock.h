// DataDirLock: one tidewatchd per data directory. Two daemons on one directory would
// overwrite each other's snapshots and, worse, each would take the other's outbox leases
// for crashed ones. The lock is an flock(2) on <data_dir>/LOCK, held for the process's
// life and released by the kernel when it dies (kill -9 included), so a stale file never
// blocks a restart.
//
// Thread safety: a plain owner of a file descriptor.
#ifndef TIDEWATCH_DAEMON_DATA_DIR_LOCK_H_
#define TIDEWATCH_DAEMON_DATA_DIR_LOCK_H_

#include <string>

#include "store/status.h"

namespace tidewatch::daemon {

class DataDirLock {
 public:
  // Locks `data_dir` (which must exist). kUnavailable naming the directory when another
  // process holds it; kInternal when the lock file cannot be opened.
  [[nodiscard]] static StatusOr<DataDirLock> Acquire(const std::string& data_dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();  // releases the lock

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_DATA_DIR_LOCK_H_
