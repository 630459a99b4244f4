// SimSource: the plant's series, deterministic values in plausible bands, excursions at
// the configured rate, one point per series per tick, backfill, full rings, refused and
// evicted series. Time is driven with Tick() and the rings are drained by hand; the
// ticking thread is tested in sim_source_thread_test.cc.
#include "ingest/sim_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/util/allocation_counter.h"

namespace tidewatch::ingest {
namespace {

using store::SeriesId;
using store::Timestamp;

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kT0 = 1'794'000'000 * kSecond;  // an hour in 2026
constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();

SimOptions SmallPlant(int sites, int sensors, double excursion_probability = 0) {
  SimOptions o;
  o.sites = sites;
  o.sensors_per_site = sensors;
  o.excursion_probability = excursion_probability;
  return o;
}

store::FieldRingsOptions RingOptions(std::size_t capacity) {
  store::FieldRingsOptions o;
  o.defaults.capacity = capacity;
  return o;
}

// Moves everything in the rings into the store, as the evaluation workers would.
void Drain(store::FieldRings& rings, store::Store& db) {
  std::vector<store::Point> points;
  store::FieldEntry entry;
  for (store::FieldId f = 0; f < rings.field_count(); ++f) {
    while (rings.ring(f).TryPop(entry)) points.push_back({entry.series, entry.ts, entry.value});
  }
  const store::AppendStats stats = db.Append(points);
  EXPECT_EQ(stats.unknown_series + stats.non_finite, 0u);
}

std::map<Timestamp, double> ReadAll(const store::Store& db, SeriesId id) {
  std::map<Timestamp, double> out;
  store::SeriesSnapshot snapshot;
  if (!db.windows().Read(id, kMin, kMax, snapshot)) return out;
  store::internal::ChunkBuffer scratch;
  store::ForEachRun(snapshot, kMin, kMax, scratch,
                    [&](const Timestamp* ts, const double* v, std::size_t n) {
                      for (std::size_t i = 0; i < n; ++i) out[ts[i]] = v[i];
                    });
  return out;
}

struct SeriesValues {
  std::string measurement;
  std::string name;  // "pressure sensor=pt-001 site=site1 value"
  std::map<Timestamp, double> values;
};

// Every series of the "plant" database with its points, by name.
std::map<std::string, SeriesValues> ReadPlant(const store::Store& db) {
  std::map<std::string, SeriesValues> out;
  for (const std::string& m : db.index().Measurements("plant")) {
    for (const SeriesId id : db.index().SeriesOf("plant", m)) {
      const std::optional<store::SeriesInfo> info = db.index().Info(id);
      if (!info) continue;
      std::string name = info->measurement;
      for (const store::Tag& tag : info->tags) name += " " + tag.key + "=" + tag.value;
      name += " " + info->field;
      out[name] = {info->measurement, name, ReadAll(db, id)};
    }
  }
  return out;
}

// Runs a plant for `ticks` intervals and returns its series.
std::map<std::string, SeriesValues> RunPlant(const SimOptions& options, int ticks) {
  store::Store db;
  store::FieldRings rings(RingOptions(4096));
  SimSource sim(options, db, rings);
  for (int t = 0; t < ticks; ++t) {
    sim.Tick(kT0 + t * kSecond);
    Drain(rings, db);
  }
  EXPECT_EQ(sim.stats().points_dropped, 0u);
  return ReadPlant(db);
}

TEST(SimSourceTest, ValidateRejectsBadOptions) {
  EXPECT_TRUE(SimSource::Validate(SimOptions{}).ok());
  const auto invalid = [](auto mutate) {
    SimOptions o;
    mutate(o);
    return SimSource::Validate(o).code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(invalid([](SimOptions& o) { o.sites = 0; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.sensors_per_site = -1; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.kinds = {}; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.kinds = {"pressure", "humidity"}; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.kinds = {"flow", "flow"}; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.interval = std::chrono::nanoseconds(0); }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.excursion_probability = 1.5; }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.excursion_probability = std::nan(""); }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.backfill = std::chrono::seconds(-1); }));
  EXPECT_TRUE(invalid([](SimOptions& o) { o.database = ""; }));

  store::Store db;
  store::FieldRings rings(RingOptions(16));
  SimOptions bad;
  bad.kinds = {"humidity"};
  EXPECT_THROW(SimSource(bad, db, rings), std::invalid_argument);
}

TEST(SimSourceTest, SeriesCountAndNames) {
  const auto plant = RunPlant(SmallPlant(2, 3), 1);
  std::string names;
  for (const auto& [name, series] : plant) names += name + "\n";
  EXPECT_EQ(names,
            "flow sensor=ft-001 site=site1 value\n"
            "flow sensor=ft-001 site=site2 value\n"
            "flow sensor=ft-002 site=site1 value\n"
            "flow sensor=ft-002 site=site2 value\n"
            "flow sensor=ft-003 site=site1 value\n"
            "flow sensor=ft-003 site=site2 value\n"
            "pressure sensor=pt-001 site=site1 value\n"
            "pressure sensor=pt-001 site=site2 value\n"
            "pressure sensor=pt-002 site=site1 value\n"
            "pressure sensor=pt-002 site=site2 value\n"
            "pressure sensor=pt-003 site=site1 value\n"
            "pressure sensor=pt-003 site=site2 value\n"
            "temperature sensor=tt-001 site=site1 value\n"
            "temperature sensor=tt-001 site=site2 value\n"
            "temperature sensor=tt-002 site=site1 value\n"
            "temperature sensor=tt-002 site=site2 value\n"
            "temperature sensor=tt-003 site=site1 value\n"
            "temperature sensor=tt-003 site=site2 value\n");

  store::Store db;
  store::FieldRings rings(RingOptions(16));
  EXPECT_EQ(SimSource(SmallPlant(2, 50), db, rings).series_count(), 300u);
}

TEST(SimSourceTest, SameSeedSameValuesOtherSeedOtherValues) {
  SimOptions options = SmallPlant(2, 10, 0.01);
  const auto a = RunPlant(options, 200);
  const auto b = RunPlant(options, 200);
  ASSERT_EQ(a.size(), 60u);
  for (const auto& [name, series] : a) {
    ASSERT_EQ(b.count(name), 1u) << name;
    EXPECT_EQ(series.values, b.at(name).values) << name;
  }
  // A sensor's values do not depend on the size of the plant around it.
  const auto bigger = RunPlant(SmallPlant(3, 20, 0.01), 200);
  for (const auto& [name, series] : a) EXPECT_EQ(series.values, bigger.at(name).values) << name;

  options.seed = 43;
  const auto c = RunPlant(options, 200);
  std::size_t same = 0;
  for (const auto& [name, series] : a) same += series.values == c.at(name).values ? 1u : 0u;
  EXPECT_EQ(same, 0u);
}

TEST(SimSourceTest, WithoutExcursionsValuesStayInTheirBands) {
  const auto plant = RunPlant(SmallPlant(2, 20), 1000);
  ASSERT_EQ(plant.size(), 120u);
  for (const auto& [name, series] : plant) {
    const KindProfile* p = FindKindProfile(series.measurement);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(series.values.size(), 1000u) << name;
    double lo = std::numeric_limits<double>::max();
    double hi = std::numeric_limits<double>::lowest();
    for (const auto& [ts, v] : series.values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    EXPECT_GE(lo, p->baseline_min - p->band()) << name;
    EXPECT_LE(hi, p->baseline_max + p->band()) << name;
    EXPECT_GE(lo, 0) << name;
    // One baseline: the spread is at most a band either side of it.
    EXPECT_LE(hi - lo, 2 * p->band()) << name;
    // And the readings move (noise and drift), they are not a constant.
    EXPECT_GT(hi - lo, p->noise_sd) << name;
  }
}

TEST(SimSourceTest, ExcursionsStartAtTheConfiguredRateAndRecover) {
  constexpr double kProbability = 0.002;
  constexpr int kTicks = 1000;
  store::Store db;
  store::FieldRings rings(RingOptions(4096));
  SimSource sim(SmallPlant(2, 50, kProbability), db, rings);
  for (int t = 0; t < kTicks; ++t) {
    sim.Tick(kT0 + t * kSecond);
    Drain(rings, db);
  }
  // 300 sensors x 1000 intervals x 0.002, less the ~7 % of the time a sensor is already
  // in an excursion (mean length 40): about 556, standard deviation about 24.
  const std::uint64_t started = sim.stats().excursions_started;
  EXPECT_GE(started, 450u);
  EXPECT_LE(started, 660u);

  // Readings far from the sensor's median (more than two bands) are excursions. They
  // exist, they are a small fraction of all readings, and no sensor stays out.
  std::size_t out_of_band = 0;
  std::size_t total = 0;
  double max_excess_in_bands = 0;
  for (const auto& [name, series] : ReadPlant(db)) {
    const KindProfile* p = FindKindProfile(series.measurement);
    std::vector<double> v;
    for (const auto& [ts, value] : series.values) v.push_back(value);
    ASSERT_EQ(v.size(), static_cast<std::size_t>(kTicks)) << name;
    std::vector<double> sorted = v;
    std::nth_element(sorted.begin(), sorted.begin() + kTicks / 2, sorted.end());
    const double median = sorted[kTicks / 2];
    std::size_t out = 0;
    for (const double x : v) {
      const double excess = std::abs(x - median) / p->band();
      max_excess_in_bands = std::max(max_excess_in_bands, excess);
      out += excess > 2 ? 1u : 0u;
    }
    EXPECT_LT(out, v.size() / 2) << name;
    out_of_band += out;
    total += v.size();
  }
  const double fraction = static_cast<double>(out_of_band) / static_cast<double>(total);
  EXPECT_GT(fraction, 0.01);
  EXPECT_LT(fraction, 0.10);
  EXPECT_GT(max_excess_in_bands, 4);  // well past the band, not just noise
}

TEST(SimSourceTest, NTicksStoreNPointsPerSeriesAtThoseTimes) {
  store::Store db;
  store::FieldRings rings(RingOptions(1024));
  SimSource sim(SmallPlant(1, 4, 0.05), db, rings);
  constexpr int kTicks = 25;
  for (int t = 0; t < kTicks; ++t) {
    sim.Tick(kT0 + t * 10 * kSecond);
    Drain(rings, db);
  }
  const auto plant = ReadPlant(db);
  ASSERT_EQ(plant.size(), 12u);
  for (const auto& [name, series] : plant) {
    ASSERT_EQ(series.values.size(), static_cast<std::size_t>(kTicks)) << name;
    Timestamp expected = kT0;
    for (const auto& [ts, v] : series.values) {
      EXPECT_EQ(ts, expected) << name;
      expected += 10 * kSecond;
    }
  }
  const SimStats stats = sim.stats();
  EXPECT_EQ(stats.ticks, static_cast<std::uint64_t>(kTicks));
  EXPECT_EQ(stats.points_generated, 12u * kTicks);
  EXPECT_EQ(stats.points_dropped, 0u);
  EXPECT_EQ(stats.series_refused, 0u);
  EXPECT_EQ(db.windows().point_count(), 12u * kTicks);
}

TEST(SimSourceTest, TickDoesNotAllocateOnceSeriesAreInterned) {
  store::Store db;
  store::FieldRings rings(RingOptions(1024));
  SimSource sim(SmallPlant(2, 20, 0.05), db, rings);
  sim.Tick(kT0);  // interns
  Drain(rings, db);
  for (int t = 1; t < 20; ++t) {
    const std::size_t before = test_util::ThreadAllocations();
    sim.Tick(kT0 + t * kSecond);
    EXPECT_EQ(test_util::ThreadAllocations() - before, 0u) << "tick " << t;
    Drain(rings, db);
  }
}

TEST(SimSourceTest, BackfillWritesOnePointPerSeriesPerInterval) {
  store::Store db;
  store::FieldRings rings(RingOptions(1024));
  SimOptions options = SmallPlant(1, 5, 0.01);
  options.interval = std::chrono::seconds(10);
  SimSource sim(options, db, rings);
  // [kT0, kT0 + 1000 s): 100 intervals, the last at kT0 + 990 s.
  ASSERT_TRUE(sim.Backfill(kT0, kT0 + 1000 * kSecond).ok());
  Drain(rings, db);
  const auto plant = ReadPlant(db);
  ASSERT_EQ(plant.size(), 15u);
  for (const auto& [name, series] : plant) {
    ASSERT_EQ(series.values.size(), 100u) << name;
    EXPECT_EQ(series.values.begin()->first, kT0) << name;
    EXPECT_EQ(series.values.rbegin()->first, kT0 + 990 * kSecond) << name;
  }
  EXPECT_EQ(sim.stats().points_generated, 1500u);
  EXPECT_EQ(sim.stats().ticks, 100u);

  // An empty range writes nothing; a reversed one is an error.
  EXPECT_TRUE(sim.Backfill(kT0, kT0).ok());
  EXPECT_EQ(sim.Backfill(kT0 + 1, kT0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sim.stats().points_generated, 1500u);
}

TEST(SimSourceTest, FullRingsAreRetriedThenCountedAsDropped) {
  store::Store db;
  store::FieldRings rings(RingOptions(4));  // nobody drains: the rings fill up
  SimOptions options = SmallPlant(1, 10);
  options.ring_wait = std::chrono::milliseconds(1);
  SimSource sim(options, db, rings);
  const Status status = sim.Backfill(kT0, kT0 + 3 * kSecond);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  const SimStats stats = sim.stats();
  // 3 rings of 4 take 12 of the 90 points; the rest was refused, retried, and counted.
  EXPECT_EQ(stats.points_generated, 12u);
  EXPECT_EQ(stats.points_generated + stats.points_dropped, 90u);
  EXPECT_GT(stats.ring_retries, 0u);
  EXPECT_EQ(stats.ticks, 3u);
}

TEST(SimSourceTest, SeriesRefusedByTheStoreAreCountedAndTheRestWritten) {
  store::StoreOptions store_options;
  store_options.index.max_series_per_db = 5;
  store::Store db(store_options);
  store::FieldRings rings(RingOptions(64));
  SimSource sim(SmallPlant(1, 3), db, rings);  // 9 series, room for 5
  const Status status = sim.Backfill(kT0, kT0 + 2 * kSecond);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status.ToString();
  Drain(rings, db);
  EXPECT_EQ(ReadPlant(db).size(), 5u);
  EXPECT_EQ(sim.stats().points_generated, 10u);
  EXPECT_EQ(sim.stats().series_refused, 8u);  // 4 series, refused on each of 2 steps
}

TEST(SimSourceTest, InvalidatedSeriesAreInternedAgainAfterEviction) {
  store::StoreOptions store_options;
  store_options.default_retention_ns = 60 * kSecond;
  store::Store db(store_options);
  store::FieldRings rings(RingOptions(64));
  SimSource sim(SmallPlant(1, 2), db, rings);
  sim.Tick(kT0);
  Drain(rings, db);
  ASSERT_EQ(ReadPlant(db).size(), 6u);

  // Another series of the database moves its event time an hour on: the simulator's
  // series are idle past retention and evicted.
  const store::TagView tags[] = {{"site", "site9"}};
  const StatusOr<SeriesId> other =
      db.Intern({"plant", "other", tags, "value"}, store::FieldType::kFloat);
  ASSERT_TRUE(other.ok());
  const store::Point late{*other, kT0 + 3600 * kSecond, 1.0};
  ASSERT_EQ(db.Append({&late, 1}).appended, 1u);
  ASSERT_EQ(db.RunMaintenance().series_evicted, 6u);
  ASSERT_EQ(ReadPlant(db).size(), 1u);

  sim.InvalidateSeriesCache();
  sim.Tick(kT0 + 3601 * kSecond);
  Drain(rings, db);
  const auto plant = ReadPlant(db);
  ASSERT_EQ(plant.size(), 7u);
  for (const auto& [name, series] : plant) {
    if (series.measurement == "other") continue;
    ASSERT_EQ(series.values.size(), 1u) << name;
    EXPECT_EQ(series.values.begin()->first, kT0 + 3601 * kSecond) << name;
  }
}

}  // namespace
}  // namespace tidewatch::ingest
