#include "store/store.h"

#include "store/internal/crc32c.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace tidewatch::store {
namespace {

constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
constexpr std::int64_t kSecond = 1'000'000'000;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tw-store-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

SeriesId MustIntern(Store& store, std::string_view db, std::string_view measurement,
                    std::string_view host, std::string_view field, FieldType type = FieldType::kFloat) {
  const TagView tags[] = {{"host", host}};
  StatusOr<SeriesId> id = store.Intern({db, measurement, tags, field}, type);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : 0;
}

std::map<Timestamp, double> ReadAll(const Store& store, SeriesId id) {
  SeriesSnapshot snapshot;
  std::map<Timestamp, double> out;
  if (!store.windows().Read(id, kMin, kMax, snapshot)) return out;
  internal::ChunkBuffer scratch;
  ForEachRun(snapshot, kMin, kMax, scratch, [&](const Timestamp* ts, const double* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[ts[i]] = v[i];
  });
  return out;
}

// "db measurement host field type: ts=value ..." for every series, in id order.
std::string Dump(const Store& store) {
  std::string out;
  for (const std::string& db : store.index().Databases()) {
    for (const std::string& m : store.index().Measurements(db)) {
      for (const SeriesId id : store.index().SeriesOf(db, m)) {
        const std::optional<SeriesInfo> info = store.index().Info(id);
        out += info->db + " " + info->measurement + " " + info->tags[0].value + " " + info->field +
               " " + std::to_string(static_cast<int>(info->type)) + ":";
        for (const auto& [ts, v] : ReadAll(store, id)) out += " " + std::to_string(ts) + "=" + std::to_string(v);
        out += "\n";
      }
    }
  }
  return out;
}

void Fill(Store& store) {
  const SeriesId a = MustIntern(store, "plant", "boiler", "b1", "temp");
  const SeriesId b = MustIntern(store, "plant", "boiler", "b2", "temp");
  const SeriesId c = MustIntern(store, "lab", "pump", "p1", "running", FieldType::kBoolean);
  std::vector<Point> points;
  for (Timestamp t = 0; t < 3000; ++t) points.push_back({a, t * kSecond, static_cast<double>(t % 97)});
  for (Timestamp t = 2999; t >= 0; t -= 7) points.push_back({b, t * kSecond, -static_cast<double>(t)});
  const SeriesId d = MustIntern(store, "plant", "boiler", "b1", "ratio");  // not short decimals
  for (Timestamp t = 0; t < 2000; ++t) points.push_back({d, t * kSecond, 1.0 / static_cast<double>(t + 3)});
  points.push_back({c, 5, 1});
  points.push_back({c, -5, 0});  // before 1970
  EXPECT_EQ(store.Append(points).appended, points.size());
}

TEST(StoreTest, InternCreatesAWindowOnce) {
  Store store;
  const SeriesId a = MustIntern(store, "db", "m", "h", "f");
  EXPECT_EQ(MustIntern(store, "db", "m", "h", "f"), a);
  EXPECT_TRUE(store.windows().HasSeries(a));
  EXPECT_EQ(store.windows().series_count(), 1u);
}

TEST(StoreTest, DeleteByTagFilterAndTimeRange) {
  Store store;
  const SeriesId a = MustIntern(store, "db", "m", "a", "f");
  const SeriesId b = MustIntern(store, "db", "m", "b", "f");
  const SeriesId other = MustIntern(store, "db", "n", "a", "f");
  std::vector<Point> points;
  for (Timestamp t = 0; t < 10; ++t) {
    for (SeriesId s : {a, b, other}) points.push_back({s, t, 1});
  }
  store.Append(points);
  const TagView host_a[] = {{"host", "a"}};
  EXPECT_EQ(store.Delete("db", "m", host_a, 2, 5), 3u);
  EXPECT_EQ(ReadAll(store, a).size(), 7u);
  EXPECT_EQ(ReadAll(store, b).size(), 10u);      // other tag value
  EXPECT_EQ(ReadAll(store, other).size(), 10u);  // other measurement
  EXPECT_EQ(store.Delete("db", "m", {}, 0, 100), 17u);  // no filter: the whole measurement
  EXPECT_EQ(store.Delete("nodb", "m", {}, 0, 100), 0u);
}

TEST(StoreTest, RetentionFollowsEventTimeNotTheWallClock) {
  StoreOptions options;
  options.default_retention_ns = 3600 * kSecond;
  options.retention_by_db["long"] = 24 * 3600 * kSecond;
  Store store(options);
  const SeriesId old_series = MustIntern(store, "short", "m", "old", "f");
  const SeriesId live = MustIntern(store, "short", "m", "live", "f");
  const SeriesId kept = MustIntern(store, "long", "m", "kept", "f");
  // Data from 2001: a wall-clock retention would drop all of it.
  const Timestamp t0 = 1'000'000'000 * kSecond;
  std::vector<Point> points;
  points.push_back({old_series, t0, 1});
  points.push_back({kept, t0, 1});
  for (Timestamp t = 0; t <= 2 * 3600; t += 1) points.push_back({live, t0 + t * kSecond, 2});
  store.Append(points);
  const MaintenanceStats stats = store.RunMaintenance();
  EXPECT_EQ(stats.series_evicted, 1u);  // "old": nothing within the last hour
  EXPECT_FALSE(store.index().Info(old_series).has_value());
  EXPECT_FALSE(store.windows().HasSeries(old_series));
  const auto left = ReadAll(store, live);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.rbegin()->first, t0 + 2 * 3600 * kSecond);
  // Chunk granularity: nothing newer than the cutoff is gone, at most a chunk older stays.
  EXPECT_LE(left.begin()->first, t0 + 3600 * kSecond);
  EXPECT_GT(left.begin()->first, t0 + 3600 * kSecond - 1024 * kSecond);
  EXPECT_EQ(ReadAll(store, kept).size(), 1u);  // its db keeps a day
  EXPECT_EQ(stats.points_expired, 1 + (2 * 3600 + 1) - left.size());
}

class StoreSnapshotTest : public ::testing::TestWithParam<bool> {};

TEST_P(StoreSnapshotTest, RoundTrip) {
  TempDir dir;
  StoreOptions options;
  options.windows.compress_sealed_chunks = GetParam();
  Store original(options);
  Fill(original);
  const SnapshotOffsets offsets = {{"plant-raw/0", 42}, {"plant-raw/1", 7}};
  ASSERT_TRUE(original.Snapshot(dir.File("snap"), offsets).ok());

  Store restored;
  StatusOr<SnapshotOffsets> got = restored.Restore(dir.File("snap"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, offsets);
  EXPECT_EQ(Dump(restored), Dump(original));
  EXPECT_EQ(restored.newest_ts("plant"), original.newest_ts("plant"));
  EXPECT_EQ(restored.windows().point_count(), original.windows().point_count());
  // The restored store keeps working: a new series does not collide with restored ids.
  const SeriesId fresh = MustIntern(restored, "plant", "boiler", "b3", "temp");
  EXPECT_EQ(restored.index().series_count(), 5u);
  EXPECT_TRUE(restored.windows().HasSeries(fresh));
}

INSTANTIATE_TEST_SUITE_P(CompressedAndRaw, StoreSnapshotTest, ::testing::Bool());

TEST(StoreTest, DamagedSnapshotsAreRejectedAndLoadNothing) {
  TempDir dir;
  Store original;
  Fill(original);
  const std::string path = dir.File("snap");
  ASSERT_TRUE(original.Snapshot(path, {}).ok());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  };
  auto expect_rejected = [&](StatusCode code) {
    Store store;
    StatusOr<SnapshotOffsets> got = store.Restore(path);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), code) << got.status().ToString();
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status().ToString();
    EXPECT_EQ(store.index().series_count(), 0u);
    EXPECT_EQ(store.windows().point_count(), 0u);
  };
  write(bytes.substr(0, bytes.size() / 2));
  expect_rejected(StatusCode::kDataLoss);
  std::string flipped = bytes;
  flipped[flipped.size() / 3] = static_cast<char>(flipped[flipped.size() / 3] ^ 0x10);
  write(flipped);
  expect_rejected(StatusCode::kDataLoss);
  // Version 2 (after the 8-byte magic), with the header's own checksum made right.
  std::string versioned = bytes;
  versioned[8] = 2;
  const std::uint32_t crc = internal::MaskCrc(internal::Crc32c(versioned.data(), 16));
  for (std::size_t i = 0; i < 4; ++i) versioned[16 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  write(versioned);
  expect_rejected(StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
  expect_rejected(StatusCode::kNotFound);
}

}  // namespace
}  // namespace tidewatch::store
