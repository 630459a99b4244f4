// Checkpointer with a real Store in a temporary directory and fake offset sources:
// round trip, corrupt and missing files, failures that must commit nothing, and the
// periodic thread racing appends.
#include "ingest/checkpointer.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/ingest/kafka_test_util.h"

namespace tidewatch::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory under the system temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("tw-checkpointer-" + std::string(info->name()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Appends `n` points (ts 1000.., values i + 0.5) to series cpu,host=<host> usage.
void Fill(store::Store& store, const std::string& host, int n, std::int64_t first_ts = 1000) {
  const std::array<store::TagView, 1> tags = {{{"host", host}}};
  const StatusOr<store::SeriesId> id =
      store.Intern({"db", "cpu", tags, "usage"}, store::FieldType::kFloat);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  std::vector<store::Point> points;
  for (int i = 0; i < n; ++i) points.push_back({*id, first_ts + i, i + 0.5});
  store.Append(points);
}

// An offset source whose processed offsets the test sets and whose commits it records.
struct FakeSource {
  std::mutex mu;
  store::SnapshotOffsets processed;
  std::vector<store::SnapshotOffsets> commits;

  void AddTo(Checkpointer& checkpointer) {
    checkpointer.AddSource(
        [this] {
          const std::lock_guard<std::mutex> lock(mu);
          return processed;
        },
        [this](const store::SnapshotOffsets& offsets) {
          const std::lock_guard<std::mutex> lock(mu);
          commits.push_back(offsets);
        });
  }
  std::vector<store::SnapshotOffsets> Commits() {
    const std::lock_guard<std::mutex> lock(mu);
    return commits;
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The files of `dir` whose name starts with `prefix`.
std::vector<std::string> FilesStartingWith(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(entry.path().string());
  }
  return out;
}

TEST(CheckpointerTest, RestoreRoundTripsTheStoreAndTheMergedOffsets) {
  TempDir dir;
  const std::string path = dir.File("store.snap");
  store::Store store;
  Fill(store, "a", 300);
  Fill(store, "b", 10);
  FakeSource first;
  FakeSource second;
  first.processed = {{"t/0", 5}, {"t/1", 7}};
  second.processed = {{"t/1", 9}, {"u/0", 2}};  // t/1 moved to `second`: the larger wins
  Checkpointer checkpointer(store, path);
  first.AddTo(checkpointer);
  second.AddTo(checkpointer);
  ASSERT_TRUE(checkpointer.Checkpoint().ok());

  const store::SnapshotOffsets merged = {{"t/0", 5}, {"t/1", 9}, {"u/0", 2}};
  EXPECT_EQ(first.Commits(), std::vector<store::SnapshotOffsets>{merged});
  EXPECT_EQ(second.Commits(), std::vector<store::SnapshotOffsets>{merged});
  const CheckpointStats stats = checkpointer.stats();
  EXPECT_EQ(stats.ok, 1u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_GT(stats.last_success_unix_ns, 0);
  EXPECT_EQ(stats.last_bytes, fs::file_size(path));
  EXPECT_TRUE(stats.last_error.empty());

  store::Store restored;
  Checkpointer after(restored, path);
  const StatusOr<store::SnapshotOffsets> offsets = after.Restore();
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  EXPECT_EQ(*offsets, merged);
  EXPECT_EQ(test::DumpStore(restored), test::DumpStore(store));
  EXPECT_EQ(restored.windows().point_count(), 310u);
}

TEST(CheckpointerTest, NoSnapshotIsACleanStart) {
  TempDir dir;
  store::Store store;
  Checkpointer checkpointer(store, dir.File("store.snap"));
  const StatusOr<store::SnapshotOffsets> offsets = checkpointer.Restore();
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  EXPECT_TRUE(offsets->empty());
  EXPECT_EQ(store.index().series_count(), 0u);
}

// Every way a file can be damaged: the store starts empty (never half loaded), the
// file is moved aside unchanged, and the next checkpoint writes a good one again.
TEST(CheckpointerTest, CorruptSnapshotIsMovedAsideAndTheStoreStartsEmpty) {
  TempDir dir;
  const std::string path = dir.File("store.snap");
  store::Store original;
  Fill(original, "a", 2000);
  FakeSource source;
  source.processed = {{"t/0", 42}};
  {
    Checkpointer checkpointer(original, path);
    source.AddTo(checkpointer);
    ASSERT_TRUE(checkpointer.Checkpoint().ok());
  }
  const std::string good = ReadFile(path);
  ASSERT_GT(good.size(), 100u);

  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  std::string bad_version = good;
  bad_version[8] = 7;  // the version field; the header CRC catches it too
  const std::vector<std::pair<const char*, std::string>> damages = {
      {"a flipped bit", flipped},
      {"truncated", good.substr(0, good.size() - 5)},
      {"cut at the header", good.substr(0, 20)},
      {"empty", ""},
      {"not a snapshot", "hello, world\n"},
      {"another version", bad_version},
  };
  for (const auto& [what, bytes] : damages) {
    SCOPED_TRACE(what);
    for (const std::string& old : FilesStartingWith(dir.path(), "store.snap.corrupt-"))
      fs::remove(old);
    WriteFile(path, bytes);
    store::Store store;
    Checkpointer checkpointer(store, path);
    const StatusOr<store::SnapshotOffsets> offsets = checkpointer.Restore();
    ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
    EXPECT_TRUE(offsets->empty());
    EXPECT_EQ(store.index().series_count(), 0u);
    EXPECT_EQ(store.windows().point_count(), 0u);
    EXPECT_FALSE(fs::exists(path));
    const std::vector<std::string> aside = FilesStartingWith(dir.path(), "store.snap.corrupt-");
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(ReadFile(aside[0]), bytes);

    FakeSource fresh;
    fresh.AddTo(checkpointer);
    Fill(store, "z", 3);
    ASSERT_TRUE(checkpointer.Checkpoint().ok());
    store::Store again;
    Checkpointer reader(again, path);
    ASSERT_TRUE(reader.Restore().ok());
    EXPECT_EQ(again.windows().point_count(), 3u);
  }
}

TEST(CheckpointerTest, AFileThatCannotBeReadIsAnError) {
  TempDir dir;
  const std::string path = dir.File("store.snap");
  fs::create_directory(path);  // there, but not a file
  store::Store store;
  Checkpointer checkpointer(store, path);
  const StatusOr<store::SnapshotOffsets> offsets = checkpointer.Restore();
  EXPECT_FALSE(offsets.ok());
  EXPECT_TRUE(fs::is_directory(path));  // left alone
}

// A failed snapshot commits nothing and leaves the previous one in place; the next
// successful checkpoint commits again.
TEST(CheckpointerTest, NothingIsCommittedWhenTheSnapshotFails) {
  TempDir dir;
  const std::string path = dir.File("store.snap");
  store::Store store;
  Fill(store, "a", 100);
  FakeSource source;
  source.processed = {{"t/0", 10}};
  Checkpointer checkpointer(store, path);
  source.AddTo(checkpointer);
  ASSERT_TRUE(checkpointer.Checkpoint().ok());
  ASSERT_EQ(source.Commits().size(), 1u);
  const std::string previous = ReadFile(path);

  // The temp file cannot be created: a directory is in its way.
  fs::create_directory(path + ".tmp");
  Fill(store, "b", 100);
  source.processed = {{"t/0", 20}};
  Status status = checkpointer.Checkpoint();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(source.Commits().size(), 1u);
  EXPECT_EQ(ReadFile(path), previous);
  CheckpointStats stats = checkpointer.stats();
  EXPECT_EQ(stats.ok, 1u);
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.last_error, status.ToString());

  // The directory the snapshot lives in is gone.
  {
    store::Store other;
    FakeSource lost;
    lost.processed = {{"t/0", 1}};
    Checkpointer nowhere(other, dir.File("missing/store.snap"));
    lost.AddTo(nowhere);
    EXPECT_FALSE(nowhere.Checkpoint().ok());
    EXPECT_TRUE(lost.Commits().empty());
  }

  // The path itself is a directory: the rename fails after the temp file was written.
  {
    store::Store other;
    FakeSource blocked;
    blocked.processed = {{"t/0", 1}};
    const std::string dir_path = dir.File("is-a-dir");
    fs::create_directory(dir_path);
    fs::create_directory(dir_path + "/inside");  // rename(2) onto a non-empty directory fails
    Checkpointer renamer(other, dir_path);
    blocked.AddTo(renamer);
    EXPECT_FALSE(renamer.Checkpoint().ok());
    EXPECT_TRUE(blocked.Commits().empty());
    EXPECT_FALSE(fs::exists(dir_path + ".tmp"));  // the writer removed its temp file
  }

  fs::remove(path + ".tmp");
  ASSERT_TRUE(checkpointer.Checkpoint().ok());
  EXPECT_EQ(source.Commits().back(), (store::SnapshotOffsets{{"t/0", 20}}));
  stats = checkpointer.stats();
  EXPECT_EQ(stats.ok, 2u);
  store::Store restored;
  Checkpointer reader(restored, path);
  ASSERT_TRUE(reader.Restore().ok());
  EXPECT_EQ(restored.windows().point_count(), 200u);
}

// The periodic thread checkpoints while a writer appends and the offsets move; every
// snapshot restores to a store holding at least the points its offsets cover.
TEST(CheckpointerTest, PeriodicCheckpointsRaceAppendsAndStopJoins) {
  TempDir dir;
  const std::string path = dir.File("store.snap");
  store::Store store;
  FakeSource source;
  Checkpointer checkpointer(store, path);
  source.AddTo(checkpointer);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    // "offset" n means the first n batches of 10 points are in the store.
    for (int batch = 0; !stop.load(); ++batch) {
      Fill(store, "h" + std::to_string(batch % 5), 10, 1000 + batch * 10);
      const std::lock_guard<std::mutex> lock(source.mu);
      source.processed = {{"t/0", batch + 1}};
      if (batch > 100'000) break;  // bound
    }
  });
  ASSERT_TRUE(checkpointer.Start(5ms).ok());
  EXPECT_FALSE(checkpointer.Start(5ms).ok());  // once
  const bool enough = test::WaitFor([&] { return checkpointer.stats().ok >= 5; });
  checkpointer.Stop();
  checkpointer.Stop();  // idempotent
  stop = true;
  writer.join();
  ASSERT_TRUE(enough);
  EXPECT_EQ(checkpointer.stats().failed, 0u);

  const std::vector<store::SnapshotOffsets> commits = source.Commits();
  ASSERT_GE(commits.size(), 5u);
  for (std::size_t i = 1; i < commits.size(); ++i) {
    EXPECT_LE(commits[i - 1].at("t/0"), commits[i].at("t/0"));
  }
  store::Store restored;
  Checkpointer reader(restored, path);
  const StatusOr<store::SnapshotOffsets> offsets = reader.Restore();
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  EXPECT_EQ(*offsets, commits.back());
  EXPECT_GE(restored.windows().point_count(), static_cast<std::uint64_t>(offsets->at("t/0")) * 10);
}

}  // namespace
}  // namespace tidewatch::ingest
