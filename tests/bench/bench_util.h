// Small helpers of the benchmark binaries under tests/bench (benchmark builds leave
// the tests, and their utilities, out).
#ifndef TIDEWATCH_TESTS_BENCH_BENCH_UTIL_H_
#define TIDEWATCH_TESTS_BENCH_BENCH_UTIL_H_

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/status.h"

namespace tidewatch::bench {

// Throws std::runtime_error("<what>: <status>") unless `status` is ok.
inline void Check(const Status& status, std::string_view what) {
  if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.ToString());
}

// The wall clock in ns since the epoch.
inline std::int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The q-quantile (0..1) of `v` (ns) in ms, 0 when empty; sorts v.
inline double QuantileMs(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[i]) / 1e6;
}

// A new directory $TMPDIR/<prefix>.XXXXXX (/tmp without TMPDIR), removed with
// everything in it on destruction. Throws std::runtime_error if it cannot be made.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                          std::string(prefix) + ".XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tidewatch::bench

#endif  // TIDEWATCH_TESTS_BENCH_BENCH_UTIL_H_
