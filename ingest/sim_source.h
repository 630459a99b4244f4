// SimSource: a simulated plant that writes sensor readings into the field rings, so a
// fresh daemon (the quickstart) has data for Grafana and the influx CLI without Kafka.
//
// The plant has `sites` sites with `sensors_per_site` sensors of every kind. Each
// sensor is one series:
//   measurement = kind ("pressure", "temperature", "flow"),
//   tags        = sensor=<prefix>-NNN (pt-001, tt-001, ft-001, ...), site=site1..siteN,
//   field       = value (float), in the kind's unit: bar, °C, m³/h.
// Every Tick() writes one point per series at the given event time. A reading is the
// sensor's baseline (drawn once per sensor from the kind's range) plus a slow drift
// (mean-reverting, bounded) plus Gaussian noise (truncated at 4 sigma), rounded to the
// kind's resolution; outside excursions it stays within baseline ± KindProfile::band.
// With probability excursion_probability per sensor per interval an excursion starts:
// the reading ramps up well past the band (3 to 6 bands above it), holds, and
// recovers, over 20 to 60 intervals. Values never go below zero for absolute kinds.
//
// Determinism: each sensor has its own PRNG (xoshiro256**), seeded from the seed, the
// kind, the site and the sensor number, so for one seed the same sequence of Tick()
// and Backfill() calls yields the same values, whatever the plant's size.
//
// Delivery. Series are interned on first use and their ids cached; InvalidateSeriesCache()
// makes the next tick re-intern them (after the store evicted or deleted series). A
// full ring (kReject) is retried with backoff, each refusal counted, for at most
// `ring_wait` per tick; once that is spent, a point whose ring is full is counted in
// points_dropped, never lost silently (other rings still get theirs). Stop() also ends
// the waiting. A series the store refuses (series or field limits) is counted in
// series_refused, skipped, and tried again on the next tick. No allocation per point.
//
// Thread safety: Tick() and Backfill() are called from one thread at a time and not
// while Start()ed; Start(), Stop() and the destructor from one owning thread.
// stats() and InvalidateSeriesCache() from any thread.
#ifndef TIDEWATCH_INGEST_SIM_SOURCE_H_
#define TIDEWATCH_INGEST_SIM_SOURCE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/field_rings.h"
#include "store/status.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::ingest {

// How readings of one kind behave. All quantities in the kind's unit.
struct KindProfile {
  std::string_view kind;           // the measurement
  std::string_view sensor_prefix;  // "pt" for pt-001
  std::string_view unit;           // for documentation: "bar", "°C", "m³/h"
  double baseline_min;             // baselines are uniform in [baseline_min, baseline_max]
  double baseline_max;
  double drift_limit;  // |drift| <= drift_limit
  double noise_sd;     // noise is clipped to ±4 noise_sd
  double resolution;   // readings are rounded to a multiple of this
  bool non_negative;   // an absolute quantity: never below 0

  // Largest distance of a reading from its baseline outside excursions (plus rounding).
  double band() const { return drift_limit + 4 * noise_sd + resolution; }
};

// The profile of `kind`, or nullptr for a kind the simulator does not know.
const KindProfile* FindKindProfile(std::string_view kind);

struct SimOptions {
  std::string database = "plant";
  int sites = 2;
  int sensors_per_site = 100;
  // Each must have a profile (FindKindProfile); no duplicates.
  std::vector<std::string> kinds = {"pressure", "temperature", "flow"};
  // Event time between two points of a series; also the wall-clock tick period of the
  // Start() thread. Default 1 s.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  // Per sensor per interval: chance that an excursion starts (not while one runs).
  double excursion_probability = 0.001;
  std::uint64_t seed = 42;
  // History the Start() thread writes before its first tick, ending where ticking
  // begins; 0 writes none. Default 0 (the quickstart asks for an hour).
  std::chrono::nanoseconds backfill{0};
  // How long one tick (one backfill step) keeps retrying full rings; after that its
  // points that meet a full ring are dropped and counted. Default 1 s.
  std::chrono::nanoseconds ring_wait = std::chrono::seconds(1);
};

struct SimStats {
  std::uint64_t ticks = 0;             // intervals generated (Tick and backfill steps)
  std::uint64_t points_generated = 0;  // pushed into the rings
  std::uint64_t ring_retries = 0;      // pushes refused by a full ring
  std::uint64_t points_dropped = 0;    // given up after ring_wait or on Stop()
  std::uint64_t excursions_started = 0;
  std::uint64_t series_refused = 0;  // Intern/FieldFor failures (per attempt)
  std::uint64_t ticks_skipped = 0;   // Start() thread: intervals missed when late
};

class SimSource {
 public:
  // Returns OK or kInvalidArgument saying which option is wrong.
  static Status Validate(const SimOptions& options);

  // Builds the plant (baselines, PRNG states); touches neither store nor rings yet.
  // Throws std::invalid_argument if !Validate(options).ok() (config is validated at
  // startup). REQUIRES: store and rings outlive the source; something (normally
  // EvaluationWorkers) pops the rings.
  SimSource(SimOptions options, store::Store& store, store::FieldRings& rings);
  ~SimSource();  // Stop()
  SimSource(const SimSource&) = delete;
  SimSource& operator=(const SimSource&) = delete;

  // Writes one point per series at event times from, from + interval, ... < to, as
  // fast as the rings take them. Returns OK when every point was pushed; otherwise
  // the first problem after writing what it could: the store's error for a refused
  // series, kUnavailable when points were dropped (ring_wait exceeded or Stop()),
  // kInvalidArgument if from > to.
  Status Backfill(store::Timestamp from, store::Timestamp to);

  // Writes one point per series at event time `now` (ns since the epoch).
  void Tick(store::Timestamp now);

  // Starts a thread that backfills `backfill` and then ticks at every multiple of
  // `interval` of the wall clock (event time = those multiples), sleeping on the steady
  // clock. REQUIRES: not running.
  void Start();
  // Wakes and joins the thread at once (a tick in progress gives up waiting for full
  // rings). Idempotent.
  void Stop();

  // Makes the next tick re-intern every series (see KafkaSource::InvalidateSeriesCache).
  void InvalidateSeriesCache() { series_generation_.fetch_add(1, std::memory_order_release); }

  // Number of series: sites * sensors_per_site * kinds.
  std::size_t series_count() const { return sensors_.size(); }
  SimStats stats() const;

 private:
  struct Rng {
    std::uint64_t s[4];
    std::uint64_t Next();
    double Uniform();  // [0, 1)
    double Gaussian();
  };

  // One series. Hot state first; ids filled by InternAll().
  struct Sensor {
    Rng rng;
    double baseline = 0;
    double drift = 0;
    double excursion_amplitude = 0;
    std::uint32_t excursion_length = 0;  // 0: no excursion running
    std::uint32_t excursion_age = 0;
    store::SeriesId series = 0;
    store::FieldId field = 0;
    bool interned = false;
    std::uint8_t kind = 0;     // index into profiles_
    std::uint16_t site = 0;    // 1-based
    std::uint32_t number = 0;  // 1-based within site and kind
  };

  double NextReading(Sensor& sensor);
  // Interns every series whose id is not known; returns the first error.
  Status InternAll();
  // One interval at `ts`; returns false if any point was dropped or a series skipped.
  bool Step(store::Timestamp ts, Status& first_error);
  // Pushes one point, retrying while the ring is full until `deadline`.
  bool PushWithRetry(const Sensor& sensor, double value,
                     std::chrono::steady_clock::time_point& deadline, bool& deadline_set);
  void Run();

  // Constant after construction.
  const SimOptions options_;
  store::Store& store_;
  store::FieldRings& rings_;
  std::vector<const KindProfile*> profiles_;  // by kind index

  // Used by the generating thread only (the caller of Tick/Backfill, or Run()).
  std::vector<Sensor> sensors_;
  store::RecordWriter writer_;
  std::uint64_t seen_generation_ = 0;
  bool all_interned_ = false;

  std::atomic<std::uint64_t> series_generation_{0};
  std::atomic<bool> stopping_{false};

  std::atomic<std::uint64_t> ticks_{0};
  std::atomic<std::uint64_t> generated_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> excursions_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> skipped_{0};

  std::mutex mu_;  // pairs with cv_ for Stop()'s wake-up; guards nothing else
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_SIM_SOURCE_H_
