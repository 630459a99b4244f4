// tidewatch_demo: the pipeline that exists so far, end to end, until tidewatchd exists.
//
// A simulated plant (4 sites x 50 units, each reporting pressure, temperature and
// flow once a second) writes an hour of multi-field records through the per-field
// lock-free rings; evaluation workers store them in the window store; then the demo
// runs the queries a dashboard would, prints their answers, and shows throughput,
// memory per point and ring counters.
//
// Usage: tidewatch_demo [seconds_of_plant_time]   (default 3600)
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "store/field_rings.h"
#include "store/series_aggregate.h"
#include "store/store.h"

namespace {

using namespace tidewatch;  // a demo main: brevity over qualification

constexpr int kSites = 4;
constexpr int kUnits = 50;
constexpr std::array<const char*, 3> kFields = {"pressure", "temperature", "flow"};
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kStart = 1'794'000'000 * kSecond;  // an arbitrary hour in 2026

struct Unit {
  std::string site;
  std::string unit;
  std::array<store::SeriesId, kFields.size()> series{};
  std::array<double, kFields.size()> value{};
};

std::vector<Unit> MakePlant(store::Store& db) {
  std::vector<Unit> plant;
  for (int s = 0; s < kSites; ++s) {
    for (int u = 0; u < kUnits; ++u) {
      Unit unit{"site" + std::to_string(s), "unit" + std::to_string(u)};
      const store::TagView tags[] = {{"site", unit.site}, {"unit", unit.unit}};
      for (std::size_t f = 0; f < kFields.size(); ++f) {
        unit.series[f] = *db.Intern({"plant", "boiler", tags, kFields[f]}, store::FieldType::kFloat);
        unit.value[f] = 10.0 * static_cast<double>(f + 1) + s;
      }
      plant.push_back(std::move(unit));
    }
  }
  return plant;
}

// One reading per unit per second; values are random walks rounded to 0.01, as real
// transmitters report them, with an excursion on site0/unit7 in the second half hour.
void RunPlant(std::vector<Unit>& plant, store::FieldRings& rings, std::int64_t seconds) {
  std::array<store::FieldId, kFields.size()> fields{};
  for (std::size_t f = 0; f < kFields.size(); ++f) fields[f] = *rings.FieldFor("boiler", kFields[f]);
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0, 0.05);
  store::RecordWriter writer(rings);
  for (std::int64_t t = 0; t < seconds; ++t) {
    for (std::size_t u = 0; u < plant.size(); ++u) {
      Unit& unit = plant[u];
      writer.BeginRecord(kStart + t * kSecond, kFields.size());
      for (std::size_t f = 0; f < kFields.size(); ++f) {
        unit.value[f] += noise(rng);
        double reading = std::round(unit.value[f] * 100) / 100;
        if (u == 7 && f == 0 && t > seconds / 2) reading += 25;  // the excursion
        while (!writer.Push(fields[f], unit.series[f], reading)) std::this_thread::yield();
      }
    }
  }
}

void PrintQuery(const store::Store& db, const char* title, const std::vector<store::SeriesId>& series,
                store::AggregateFn fn, std::int64_t interval) {
  store::AggregateSpec spec;
  spec.start = kStart;
  spec.end = db.newest_ts("plant") + 1;
  spec.interval = interval;
  spec.functions = {fn};
  auto result = store::AggregateSeries(db.windows(), series, spec);
  if (!result.ok()) {
    std::printf("%s: %s\n", title, result.status().ToString().c_str());
    return;
  }
  auto values = result->Evaluate(fn);
  std::printf("\n%s\n", title);
  for (std::size_t b = 0; b < values->size(); ++b) {
    const auto& v = (*values)[b];
    std::printf("  +%3lld min  %s\n", static_cast<long long>((result->bucket_start(b) - kStart) / (60 * kSecond)),
                v.has_value ? std::to_string(v.value).c_str() : "(no data)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t seconds = argc > 1 ? std::atoll(argv[1]) : 3600;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: %s [seconds_of_plant_time > 0]\n", argv[0]);
    return 2;
  }
  store::Store db;
  store::FieldRings rings(store::FieldRingsOptions{});
  std::vector<Unit> plant = MakePlant(db);

  const auto start = std::chrono::steady_clock::now();
  {
    ingest::EvaluationWorkers workers(rings, db, {}, 2);
    RunPlant(plant, rings, seconds);
    workers.Stop();  // drains the rings
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto points = db.windows().point_count();

  std::printf("tidewatch demo: %d units x %zu fields x %lld s of plant time\n", kSites * kUnits,
              kFields.size(), static_cast<long long>(seconds));
  std::printf("ingested %llu points in %.2f s: %.1f M points/s through rings -> workers -> store\n",
              static_cast<unsigned long long>(points), elapsed, static_cast<double>(points) / elapsed / 1e6);
  std::printf("memory: %.2f bytes/point (compressed chunks + open heads + index)\n",
              static_cast<double>(db.MemoryBytes()) / static_cast<double>(points));
  for (store::FieldId f = 0; f < rings.field_count(); ++f) {
    const auto c = rings.ring(f).counters();
    std::printf("ring %s.%s: pushed=%llu popped=%llu full(backpressure)=%llu dropped=%llu\n",
                std::string(rings.measurement(f)).c_str(), std::string(rings.field(f)).c_str(),
                static_cast<unsigned long long>(c.pushed), static_cast<unsigned long long>(c.popped),
                static_cast<unsigned long long>(c.rejected), static_cast<unsigned long long>(c.dropped));
  }

  // SELECT mean(pressure) FROM boiler WHERE site='site0' GROUP BY time(10m)
  const store::TagView site0[] = {{"site", "site0"}};
  std::vector<store::SeriesId> site0_pressure;
  for (store::SeriesId id : db.index().SeriesWithTag("plant", "boiler", site0[0].key, site0[0].value)) {
    if (db.index().Info(id)->field == "pressure") site0_pressure.push_back(id);
  }
  PrintQuery(db, "SELECT mean(pressure) FROM boiler WHERE site='site0' GROUP BY time(10m)",
             site0_pressure, store::AggregateFn::kMean, 600 * kSecond);
  PrintQuery(db, "SELECT max(pressure) FROM boiler WHERE site='site0' GROUP BY time(10m)  (unit7's excursion)",
             site0_pressure, store::AggregateFn::kMax, 600 * kSecond);
  return points == static_cast<std::uint64_t>(seconds) * kSites * kUnits * kFields.size() ? 0 : 1;
}
