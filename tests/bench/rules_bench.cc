// Alert rules and continuous queries on the stream (issue 6): points/s end to end
// (pushed into the field rings -> stored -> evaluated by the rules and the CQ windows)
// and the latency from a point entering its ring to the alert transition it causes
// being committed to the catalog.
//
// The real pipeline, wired as daemon/daemon.cc wires it: store::Store, store::FieldRings
// (65536 entries per field, reject when full), 2 ingest::EvaluationWorkers whose
// after-store hook calls rules::RuleEngine::OnPoints then
// rules::ContinuousQueries::OnPoints, a real SQLite rules::Catalog in a temp dir
// ($TMPDIR or /tmp), a QueryExecutor + DatabaseRegistry, the engine's own thread
// (ticks), and a thread calling ContinuousQueries::RunDue every 250 ms whose output goes
// back through ingest::HttpWrite into the rings, as the daemon's does.
//
// Data: 1000 series (site1..site10 x pt-001..pt-100, measurement "pressure", field
// "value", db "plant"), pushed by this thread in rounds of one point per series; event
// time advances 1 s per round, so the CQs' windows close as the run goes. Values are
// deterministic, in [2, 10).
//
// Rules: N raw rules `SELECT value FROM pressure WHERE site = 'siteK'`, rule i on site
// i % 10 + 1, so a point is evaluated by N/10 rules on average (N = 1: only site1's
// points, by one rule), condition ">", one channel. The first rule of each site trips at
// 1000 and resets at 0; the other rules of a site (limits never reached: trip 1e12) are
// evaluated but do not trip, so a crossing point causes one transition whatever N is and
// the numbers separate evaluation cost from transition cost. (Every rule tripping on the
// same point is the "all" variant: N/10 transitions per crossing point, mostly a catalog
// benchmark.)
// CQs: 10 of `SELECT mean(value), max(value) INTO plant.pressure_<d> FROM pressure
// GROUP BY time(<d>), *` with d = 1m, 2m, 3m, 5m, 10m, 15m, 20m, 30m, 1h, 2h.
//
// Latency: one point per series per 100 rounds (1 % of points) crosses the threshold,
// trip and reset in turn per series: a trip carries 1e6 + (us since start at its push),
// a reset -1 - (us since start). Between them the series' normal values sit in the
// deadband (0, 1000), so each crossing point causes exactly one transition per tripping
// rule. The hook wrapper records now - push time for those points after
// RuleEngine::OnPoints returned (the batch's transitions are committed then).
//
// Arguments: rules (1, 100, 1000), full_sync (0: Durability::kNormal, 1: kFull), and
// all_trip (0: one tripping rule per site, 1: every rule trips; run for 100 rules only,
// as 1000 would take minutes). After a warm-up of 100 rounds, each run has two phases:
//  1. saturation: the producer pushes for kMeasure as fast as the pipeline takes points
//     (at most kMaxInFlight in flight), then waits for it to drain:
//       points_per_s            input points pushed / (last one evaluated - first pushed)
//       rule_evaluations_per_s  (point, rule) evaluations / the same time
//       transitions_per_s       committed transitions (RuleEngine stats) / the same time
//       cq_points_per_s         CQ output points written back / the same time
//       sat_p50_us ...          latency under saturation: mostly queueing
//  2. half load: kPaced at paced_points_per_s = points_per_s / 2:
//       p50_us p99_us p999_us   push -> transition committed, over `latency_samples`
// Run it alone on the machine; the whole binary takes about 2 minutes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ingest/evaluation_workers.h"
#include "ingest/http_write.h"
#include "rules/catalog.h"
#include "rules/continuous_queries.h"
#include "rules/database_registry.h"
#include "rules/parser.h"
#include "rules/query_executor.h"
#include "rules/rule_definition.h"
#include "rules/rule_engine.h"
#include "store/field_rings.h"
#include "store/store.h"
#include "tests/bench/bench_catalog.h"
#include "tests/bench/bench_util.h"

namespace tidewatch::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSites = 10;
constexpr int kSensorsPerSite = 100;
constexpr int kSeries = kSites * kSensorsPerSite;
constexpr int kMarkerEvery = 100;  // rounds between two crossing points of a series
constexpr int kWarmupRounds = kMarkerEvery;
// Points the producer keeps in flight at most (pushed, not yet evaluated), as a source
// with a bounded ticket table does; below the ring's capacity, so the producer waits
// (sleeping, not spinning: the machine has few cores) instead of finding rings full.
constexpr std::uint64_t kMaxInFlight = 16384;
constexpr auto kMeasure = std::chrono::seconds(8);  // at saturation
constexpr auto kPaced = std::chrono::seconds(4);    // at half the saturated rate
constexpr auto kDrainLimit = std::chrono::seconds(120);
constexpr double kTripMarker = 1e6;  // trips carry kTripMarker + us; resets -1 - us
constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kT0 = 1'800'000'000 * kSecondNs;  // event time of round 0
constexpr std::size_t kMaxLatencySamples = 1 << 22;
constexpr const char* kCqIntervals[] = {"1m",  "2m",  "3m",  "5m", "10m",
                                        "15m", "20m", "30m", "1h", "2h"};

std::string RuleJson(int i, bool trips) {
  const int site = i % kSites + 1;
  char json[512];
  std::snprintf(json, sizeof(json),
                R"({"name": "r%04d", "db": "plant",
                    "query": "SELECT value FROM pressure WHERE site = 'site%d'",
                    "condition": ">", "severity": "critical", "trip": %s, "reset": 0,
                    "channels": ["bench"]})",
                i, site, trips ? "1000" : "1e12");
  return json;
}

// The whole pipeline of one run. Construction builds and starts it; destruction stops
// and tears it down.
class Pipeline {
 public:
  Pipeline(int rules, rules::Durability durability, bool all_trip)
      : store_(), rings_(RingOptions()), registry_(store_), executor_(store_, registry_, {}) {
    catalog_ = OpenBenchCatalog(dir_.path() + "/catalog.db", durability);
    registry_.Create("plant");
    InternSeries();

    engine_ = std::make_unique<rules::RuleEngine>(store_, executor_, *catalog_);
    Check(engine_->Load(), "engine load");
    for (int i = 0; i < rules; ++i) {
      const bool trips = all_trip || i < kSites;
      StatusOr<rules::RuleDefinition> definition = rules::ParseRuleJson(RuleJson(i, trips));
      Check(definition.status(), "rule");
      Check(engine_->CreateRule(*definition, "bench").status(), "create rule");
      if (trips) {
        for (int sensor = 0; sensor < kSensorsPerSite; ++sensor) {
          routed_[series_[static_cast<std::size_t>((i % kSites) * kSensorsPerSite + sensor)]] = 2;
        }
      }
    }

    ingest::HttpWriteOptions write_options;
    write_options.db_exists = [this](std::string_view db) { return registry_.Exists(db); };
    write_options.create_db = [this](std::string_view db) { registry_.Create(db); };
    http_write_ = std::make_unique<ingest::HttpWrite>(store_, rings_, 1, write_options);
    cqs_ = std::make_unique<rules::ContinuousQueries>(
        *catalog_, store_, executor_,
        [this](const rules::ContinuousQueryBatch& batch) {
          return WriteCqOutput(batch.into_db, batch.line_protocol);
        });
    executor_.set_continuous_queries(cqs_.get());
    Check(cqs_->Load(), "cq load");
    for (const char* d : kCqIntervals) CreateCq(d);
    cqs_->Prime();

    latencies_.resize(kMaxLatencySamples);
    workers_ = std::make_unique<ingest::EvaluationWorkers>(
        rings_, store_, std::vector<ingest::TicketTable*>{nullptr, &http_write_->tickets()}, 2,
        [this](std::span<const store::Point> points) { AfterStore(points); });
    engine_->Start();
    cq_thread_ = std::thread([this] { RunCqs(); });
  }

  ~Pipeline() {
    {
      std::lock_guard lock(cq_mu_);
      stopping_ = true;
    }
    cq_wake_.notify_all();
    cq_thread_.join();
    workers_->Stop();
    engine_->Stop();
  }

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Pushes rounds until `until`, returns how many.
  std::int64_t PushUntil(Clock::time_point until) {
    std::int64_t rounds = 0;
    while (Clock::now() < until) {
      PushRound();
      ++rounds;
    }
    return rounds;
  }

  void PushRounds(int rounds) {
    for (int r = 0; r < rounds; ++r) PushRound();
  }

  // Waits until every input point pushed so far was evaluated; false after kDrainLimit.
  bool AwaitEvaluated() const {
    const Clock::time_point deadline = Clock::now() + kDrainLimit;
    while (evaluated_.load(std::memory_order_acquire) < pushed_) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
  }

  // Pushes rounds at `points_per_s` (one round, 1000 points, at a time) until `until`.
  void PushPaced(double points_per_s, Clock::time_point until) {
    const auto period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(kSeries / points_per_s));
    for (Clock::time_point next = Clock::now(); next < until; next += period) {
      std::this_thread::sleep_until(next);
      PushRound();
    }
  }

  // Starts recording latencies afresh. REQUIRES: nothing in flight (AwaitEvaluated).
  void StartRecording() {
    latency_count_.store(0, std::memory_order_relaxed);
    recording_.store(true, std::memory_order_release);
  }

  std::vector<std::int64_t> Latencies() const {
    const std::size_t n =
        std::min(latency_count_.load(std::memory_order_acquire), kMaxLatencySamples);
    return {latencies_.begin(), latencies_.begin() + static_cast<std::ptrdiff_t>(n)};
  }

  std::uint64_t pushed() const { return pushed_; }
  std::uint64_t ring_full_retries() const { return ring_full_retries_; }
  rules::RuleEngine& engine() { return *engine_; }
  rules::ContinuousQueries& cqs() { return *cqs_; }
  ingest::HttpWrite& http_write() { return *http_write_; }

 private:
  static store::FieldRingsOptions RingOptions() {
    store::FieldRingsOptions options;
    options.defaults.capacity = 65536;  // the daemon's default ingest.ring_capacity
    return options;
  }

  void InternSeries() {
    StatusOr<store::FieldId> field = rings_.FieldFor("pressure", "value");
    Check(field.status(), "field");
    field_ = *field;
    series_ = InternPlantSeries(store_, kSites, kSensorsPerSite);
    const store::SeriesId max_id = *std::max_element(series_.begin(), series_.end());
    // The CQ outputs' series are interned later, so they never collide with these ids.
    routed_.assign(max_id + 1u, 0);
    for (store::SeriesId id : series_) routed_[id] = 1;
  }

  void CreateCq(std::string_view interval) {
    const std::string text = "CREATE CONTINUOUS QUERY cq_" + std::string(interval) +
                             " ON plant BEGIN SELECT mean(value), max(value) INTO plant.pressure_" +
                             std::string(interval) + " FROM pressure GROUP BY time(" +
                             std::string(interval) + "), * END";
    StatusOr<rules::Query> query = rules::ParseQuery(text);
    Check(query.status(), text);
    const rules::QueryResult result = executor_.Execute(*query, {"plant", WallNs()});
    for (const rules::StatementResult& r : result.results) {
      if (r.error) throw std::runtime_error(text + ": " + *r.error);
    }
  }

  std::int64_t MicrosSinceStart() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
  }

  void PushRound() {
    while (pushed_ + kSeries - evaluated_.load(std::memory_order_acquire) > kMaxInFlight) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    const std::int64_t ts = kT0 + round_ * kSecondNs;
    for (int s = 0; s < kSeries; ++s) {
      const store::SeriesId series = series_[static_cast<std::size_t>(s)];
      const bool crossing = (round_ + s) % kMarkerEvery == 0;
      const double normal =
          2 +
          static_cast<double>((static_cast<std::int64_t>(s) * 7919 + round_ * 104'729) % 800) / 100;
      writer_.BeginRecord(ts, 1);
      for (;;) {
        double value = normal;
        if (crossing) {
          const auto us = static_cast<double>(MicrosSinceStart());
          value = tripped_[static_cast<std::size_t>(s)] ? -1 - us : kTripMarker + us;
        }
        if (writer_.Push(field_, series, value)) break;
        ++ring_full_retries_;
        std::this_thread::yield();
      }
      if (crossing) tripped_[static_cast<std::size_t>(s)] ^= 1;
    }
    pushed_ += kSeries;
    ++round_;
  }

  // The daemon's hook, plus counting and the latency of crossing points.
  void AfterStore(std::span<const store::Point> points) {
    engine_->OnPoints(points);
    const bool recording = recording_.load(std::memory_order_acquire);
    const std::int64_t now_us = MicrosSinceStart();
    std::uint64_t input = 0;
    for (const store::Point& p : points) {
      if (p.series >= routed_.size() || routed_[p.series] == 0) continue;  // CQ output
      ++input;
      if (!recording || routed_[p.series] != 2) continue;
      std::int64_t pushed_us = -1;
      if (p.value >= kTripMarker) {
        pushed_us = static_cast<std::int64_t>(p.value - kTripMarker);
      } else if (p.value < 0) {
        pushed_us = static_cast<std::int64_t>(-p.value - 1);
      }
      if (pushed_us < 0) continue;
      const std::size_t slot = latency_count_.fetch_add(1, std::memory_order_relaxed);
      if (slot < kMaxLatencySamples) latencies_[slot] = now_us - pushed_us;
    }
    cqs_->OnPoints(points, WallNs());
    evaluated_.fetch_add(input, std::memory_order_release);
  }

  Status WriteCqOutput(std::string_view db, std::string_view lines) {
    const ingest::HttpWriteResult result =
        http_write_->Write({.db = db, .precision = "ns", .body = lines, .now_ns = WallNs()});
    if (result.kind == ingest::HttpWriteKind::kOk) return Status::Ok();
    return Status(result.kind == ingest::HttpWriteKind::kUnavailable ? StatusCode::kUnavailable
                                                                     : StatusCode::kInvalidArgument,
                  result.error);
  }

  void RunCqs() {
    std::unique_lock lock(cq_mu_);
    while (!stopping_) {
      cq_wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      cqs_->RunDue(WallNs());
      lock.lock();
    }
  }

  // Destroyed last: everything below uses it.
  TempDir dir_{"rules_bench"};
  const Clock::time_point start_ = Clock::now();
  store::Store store_;
  store::FieldRings rings_;
  rules::DatabaseRegistry registry_;
  rules::QueryExecutor executor_;
  std::unique_ptr<rules::Catalog> catalog_;
  std::unique_ptr<rules::RuleEngine> engine_;
  // HttpWrite outlives the workers (they complete its tickets); the CQs' output uses it.
  std::unique_ptr<ingest::HttpWrite> http_write_;
  std::unique_ptr<rules::ContinuousQueries> cqs_;

  // Constant once the workers run.
  store::FieldId field_ = 0;
  std::vector<store::SeriesId> series_;  // by producer index (site-major)
  // By SeriesId: 0 not an input series, 1 input, 2 input evaluated by a tripping rule.
  std::vector<std::uint8_t> routed_;

  // The producer's (this benchmark's thread) own.
  store::RecordWriter writer_{rings_};
  std::int64_t round_ = 0;
  std::uint64_t pushed_ = 0;
  std::uint64_t ring_full_retries_ = 0;
  std::vector<std::uint8_t> tripped_ = std::vector<std::uint8_t>(kSeries, 0);

  // Written by the workers.
  std::atomic<std::uint64_t> evaluated_{0};
  std::atomic<bool> recording_{false};
  std::atomic<std::size_t> latency_count_{0};
  std::vector<std::int64_t> latencies_;  // slots [0, latency_count_) written once each

  std::unique_ptr<ingest::EvaluationWorkers> workers_;

  std::mutex cq_mu_;
  std::condition_variable cq_wake_;
  bool stopping_ = false;  // guarded by cq_mu_
  std::thread cq_thread_;
};

// Sets <prefix>p50_us, p99_us, p999_us and latency_samples from `pipeline`'s samples.
void LatencyCounters(const Pipeline& pipeline, const std::string& prefix, benchmark::State& state) {
  std::vector<std::int64_t> latencies = pipeline.Latencies();
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    if (latencies.empty()) return 0.0;
    return static_cast<double>(
        latencies[static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1))]);
  };
  state.counters[prefix + "p50_us"] = at(0.5);
  state.counters[prefix + "p99_us"] = at(0.99);
  state.counters[prefix + "p999_us"] = at(0.999);
  state.counters[prefix + "latency_samples"] = static_cast<double>(latencies.size());
}

void BM_RulesOnStream(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  const bool full = state.range(1) != 0;
  const bool all_trip = state.range(2) != 0;
  state.SetLabel(std::string(full ? "kFull" : "kNormal") + (all_trip ? ", every rule trips" : ""));
  try {
    Pipeline pipeline(rules, full ? rules::Durability::kFull : rules::Durability::kNormal,
                      all_trip);
    // Warm-up: instances created, routes cached, one crossing per series.
    pipeline.PushRounds(kWarmupRounds);
    if (!pipeline.AwaitEvaluated()) throw std::runtime_error("warm-up did not drain");
    for (auto _ : state) {
      // Saturation: the producer pushes as fast as the rings take points.
      const std::uint64_t pushed_before = pipeline.pushed();
      const rules::EngineStats engine_before = pipeline.engine().stats();
      const std::uint64_t cq_before = pipeline.http_write().stats().points_written;
      pipeline.StartRecording();
      const Clock::time_point start = Clock::now();
      const std::int64_t rounds = pipeline.PushUntil(start + kMeasure);
      if (!pipeline.AwaitEvaluated()) throw std::runtime_error("the pipeline did not drain");
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      state.SetIterationTime(seconds);

      const rules::EngineStats engine_after = pipeline.engine().stats();
      const auto points = static_cast<double>(pipeline.pushed() - pushed_before);
      // Each rule reads one site: 100 series.
      const double evaluations = static_cast<double>(rounds) * rules * kSensorsPerSite;
      const auto transitions =
          static_cast<double>(engine_after.transitions - engine_before.transitions);
      const auto cq_points =
          static_cast<double>(pipeline.http_write().stats().points_written - cq_before);
      state.counters["points_per_s"] = points / seconds;
      state.counters["rule_evaluations_per_s"] = evaluations / seconds;
      state.counters["transitions_per_s"] = transitions / seconds;
      state.counters["cq_points_per_s"] = cq_points / seconds;
      state.counters["ring_full_retries"] = static_cast<double>(pipeline.ring_full_retries());
      // Under saturation the latency is mostly queueing in full rings.
      LatencyCounters(pipeline, "sat_", state);

      // Half load: the latency a point sees when the pipeline keeps up.
      const double paced = points / seconds / 2;
      pipeline.StartRecording();
      pipeline.PushPaced(paced, Clock::now() + kPaced);
      if (!pipeline.AwaitEvaluated()) throw std::runtime_error("the pipeline did not drain");
      state.counters["paced_points_per_s"] = paced;
      LatencyCounters(pipeline, "", state);

      const rules::EngineStats engine_end = pipeline.engine().stats();
      if (engine_end.commit_errors != 0) {
        throw std::runtime_error("commit errors: " + engine_end.last_commit_error);
      }
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

BENCHMARK(BM_RulesOnStream)
    ->ArgNames({"rules", "full_sync", "all_trip"})
    ->ArgsProduct({{1, 100, 1000}, {0, 1}, {0}})
    ->Args({100, 0, 1})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tidewatch::bench

BENCHMARK_MAIN();
