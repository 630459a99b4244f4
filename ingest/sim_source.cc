#include "ingest/sim_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <stdexcept>

namespace tidewatch::ingest {

namespace {

// Excursions: amplitude in bands above the normal band, length in intervals. The
// shape is a ramp up over the first 30 %, a plateau to 60 %, a ramp down to the end.
constexpr double kExcursionBandsMin = 3;
constexpr double kExcursionBandsMax = 6;
constexpr std::uint32_t kExcursionLengthMin = 20;
constexpr std::uint32_t kExcursionLengthMax = 60;
// Drift is an Ornstein-Uhlenbeck walk pulled back by this fraction per interval
// (a time constant of 200 intervals), with a stationary deviation of a third of the
// limit, and clamped to the limit.
constexpr double kDriftPull = 0.005;

constexpr std::array<KindProfile, 3> kProfiles = {{
    {"pressure", "pt", "bar", 2.0, 10.0, 0.3, 0.02, 0.001, true},
    {"temperature", "tt", "°C", 40.0, 90.0, 2.0, 0.15, 0.01, false},
    {"flow", "ft", "m³/h", 20.0, 200.0, 5.0, 0.8, 0.01, true},
}};

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

double ExcursionShape(std::uint32_t age, std::uint32_t length) {
  const double x = static_cast<double>(age) / static_cast<double>(length);
  if (x < 0.3) return x / 0.3;
  if (x < 0.6) return 1;
  return (1 - x) / 0.4;
}

}  // namespace

const KindProfile* FindKindProfile(std::string_view kind) {
  for (const KindProfile& p : kProfiles) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

// xoshiro256** (Blackman & Vigna): small, fast, and the same sequence on every
// platform, unlike std:: distributions.
std::uint64_t SimSource::Rng::Next() {
  const std::uint64_t result = Rotl(s[1] * 5, 7) * 9;
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = Rotl(s[3], 45);
  return result;
}

double SimSource::Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double SimSource::Rng::Gaussian() {
  // Box-Muller; 1 - Uniform() is in (0, 1], so the log is finite.
  const double r = std::sqrt(-2 * std::log(1 - Uniform()));
  return r * std::cos(2 * std::numbers::pi * Uniform());
}

Status SimSource::Validate(const SimOptions& o) {
  const auto bad = [](std::string what) {
    return Status(StatusCode::kInvalidArgument, "simulator: " + std::move(what));
  };
  if (o.database.empty()) return bad("database must not be empty");
  if (o.sites < 1 || o.sites > 65535) return bad("sites must be in 1..65535");
  if (o.sensors_per_site < 1 || o.sensors_per_site > 999'999) {
    return bad("sensors_per_site must be in 1..999999");
  }
  if (o.kinds.empty()) return bad("kinds must not be empty");
  for (std::size_t i = 0; i < o.kinds.size(); ++i) {
    if (FindKindProfile(o.kinds[i]) == nullptr) {
      return bad("unknown kind \"" + o.kinds[i] + "\" (known: pressure, temperature, flow)");
    }
    if (std::find(o.kinds.begin(), o.kinds.begin() + static_cast<std::ptrdiff_t>(i), o.kinds[i]) !=
        o.kinds.begin() + static_cast<std::ptrdiff_t>(i)) {
      return bad("kind \"" + o.kinds[i] + "\" listed twice");
    }
  }
  if (o.interval.count() <= 0) return bad("interval must be positive");
  if (!(o.excursion_probability >= 0 && o.excursion_probability <= 1)) {
    return bad("excursion_probability must be in [0, 1]");
  }
  if (o.backfill.count() < 0) return bad("backfill must not be negative");
  if (o.ring_wait.count() < 0) return bad("ring_wait must not be negative");
  const auto series = static_cast<std::uint64_t>(o.sites) *
                      static_cast<std::uint64_t>(o.sensors_per_site) * o.kinds.size();
  if (series > (std::uint64_t{1} << 24)) return bad("more than 16M series");
  return Status::Ok();
}

SimSource::SimSource(SimOptions options, store::Store& store, store::FieldRings& rings)
    : options_(std::move(options)), store_(store), rings_(rings), writer_(rings) {
  if (Status s = Validate(options_); !s.ok()) throw std::invalid_argument(s.message());
  for (const std::string& kind : options_.kinds) profiles_.push_back(FindKindProfile(kind));
  sensors_.reserve(static_cast<std::size_t>(options_.sites) *
                   static_cast<std::size_t>(options_.sensors_per_site) * profiles_.size());
  for (std::size_t k = 0; k < profiles_.size(); ++k) {
    const KindProfile& profile = *profiles_[k];
    // The kind's own index in kProfiles, so a sensor's values do not depend on which
    // other kinds are configured.
    const auto kind_id = static_cast<std::uint64_t>(profiles_[k] - kProfiles.data());
    for (int site = 1; site <= options_.sites; ++site) {
      for (int n = 1; n <= options_.sensors_per_site; ++n) {
        Sensor s;
        std::uint64_t seed = options_.seed ^ (kind_id << 56) ^
                             (static_cast<std::uint64_t>(site) << 32) ^
                             static_cast<std::uint64_t>(n);
        for (std::uint64_t& word : s.rng.s) word = SplitMix64(seed);
        s.baseline =
            profile.baseline_min + (profile.baseline_max - profile.baseline_min) * s.rng.Uniform();
        s.kind = static_cast<std::uint8_t>(k);
        s.site = static_cast<std::uint16_t>(site);
        s.number = static_cast<std::uint32_t>(n);
        sensors_.push_back(s);
      }
    }
  }
}

SimSource::~SimSource() { Stop(); }

Status SimSource::InternAll() {
  Status first;
  char sensor_name[16];
  char site_name[16];
  bool all = true;
  for (Sensor& s : sensors_) {
    if (s.interned) continue;
    const KindProfile& profile = *profiles_[s.kind];
    std::snprintf(sensor_name, sizeof(sensor_name), "%.*s-%03u",
                  static_cast<int>(profile.sensor_prefix.size()), profile.sensor_prefix.data(),
                  s.number);
    std::snprintf(site_name, sizeof(site_name), "site%u", static_cast<unsigned>(s.site));
    const store::TagView tags[] = {{"sensor", sensor_name}, {"site", site_name}};  // sorted
    StatusOr<store::FieldId> field = rings_.FieldFor(profile.kind, "value");
    StatusOr<store::SeriesId> series =
        field.ok() ? store_.Intern({options_.database, profile.kind, tags, "value"},
                                   store::FieldType::kFloat)
                   : StatusOr<store::SeriesId>(field.status());
    if (!series.ok()) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      if (first.ok()) first = series.status();
      all = false;
      continue;
    }
    s.field = *field;
    s.series = *series;
    s.interned = true;
  }
  all_interned_ = all;
  return first;
}

double SimSource::NextReading(Sensor& s) {
  const KindProfile& p = *profiles_[s.kind];
  const double drift_step = p.drift_limit / 3 * std::sqrt(2 * kDriftPull - kDriftPull * kDriftPull);
  s.drift = std::clamp(s.drift * (1 - kDriftPull) + drift_step * s.rng.Gaussian(), -p.drift_limit,
                       p.drift_limit);
  const double noise = std::clamp(s.rng.Gaussian(), -4.0, 4.0) * p.noise_sd;
  if (s.excursion_length == 0 && s.rng.Uniform() < options_.excursion_probability) {
    s.excursion_length = kExcursionLengthMin +
                         static_cast<std::uint32_t>(
                             s.rng.Uniform() * (kExcursionLengthMax - kExcursionLengthMin + 1));
    s.excursion_age = 0;
    s.excursion_amplitude =
        p.band() *
        (1 + kExcursionBandsMin + (kExcursionBandsMax - kExcursionBandsMin) * s.rng.Uniform());
    excursions_.fetch_add(1, std::memory_order_relaxed);
  }
  double excursion = 0;
  if (s.excursion_length != 0) {
    excursion = s.excursion_amplitude * ExcursionShape(s.excursion_age, s.excursion_length);
    if (++s.excursion_age >= s.excursion_length) s.excursion_length = 0;
  }
  double value =
      std::round((s.baseline + s.drift + noise + excursion) / p.resolution) * p.resolution;
  if (p.non_negative) value = std::max(value, 0.0);
  return value;
}

bool SimSource::PushWithRetry(const Sensor& sensor, double value,
                              std::chrono::steady_clock::time_point& deadline, bool& deadline_set) {
  for (unsigned attempt = 0;; ++attempt) {
    if (writer_.Push(sensor.field, sensor.series, value)) return true;
    retries_.fetch_add(1, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (!deadline_set) {
      deadline = now + options_.ring_wait;
      deadline_set = true;
    }
    if (now >= deadline || stopping_.load(std::memory_order_relaxed)) return false;
    if (attempt < 16) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(std::min(attempt, 1000u)));
    }
  }
}

bool SimSource::Step(store::Timestamp ts, Status& first_error) {
  const std::uint64_t generation = series_generation_.load(std::memory_order_acquire);
  if (generation != seen_generation_) {
    seen_generation_ = generation;
    for (Sensor& s : sensors_) s.interned = false;
    all_interned_ = false;
  }
  if (!all_interned_) {
    Status s = InternAll();
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  }
  bool complete = all_interned_;
  bool deadline_set = false;
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t pushed = 0;
  std::uint64_t dropped = 0;
  for (Sensor& s : sensors_) {
    // The reading is computed even when it cannot be delivered, so a sensor's series
    // stays the same function of time whatever happened to the rings.
    const double value = NextReading(s);
    if (!s.interned) continue;
    writer_.BeginRecord(ts, 1);
    if (PushWithRetry(s, value, deadline, deadline_set)) {
      ++pushed;
    } else {
      ++dropped;
    }
  }
  ticks_.fetch_add(1, std::memory_order_relaxed);
  generated_.fetch_add(pushed, std::memory_order_relaxed);
  if (dropped > 0) {
    dropped_.fetch_add(dropped, std::memory_order_relaxed);
    complete = false;
    if (first_error.ok()) {
      first_error = Status(StatusCode::kUnavailable,
                           "simulator: " + std::to_string(dropped) +
                               " points dropped: the rings stayed full (or the source stopped)");
    }
  }
  return complete;
}

void SimSource::Tick(store::Timestamp now) {
  Status ignored;
  Step(now, ignored);
  ignored.IgnoreError();  // counted in stats()
}

Status SimSource::Backfill(store::Timestamp from, store::Timestamp to) {
  if (from > to) return Status(StatusCode::kInvalidArgument, "simulator: backfill from > to");
  Status first;
  const std::int64_t interval = options_.interval.count();
  for (store::Timestamp ts = from; ts < to; ts += interval) {
    if (stopping_.load(std::memory_order_relaxed)) {
      if (first.ok())
        first = Status(StatusCode::kUnavailable, "simulator: stopped during backfill");
      break;
    }
    Step(ts, first);
    if (ts > to - interval) break;  // the next step would overflow or pass `to`
  }
  return first;
}

void SimSource::Start() {
  stopping_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] { Run(); });
}

void SimSource::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
  thread_.join();
  stopping_.store(false, std::memory_order_relaxed);
}

void SimSource::Run() {
  using Clock = std::chrono::steady_clock;
  const std::int64_t interval = options_.interval.count();
  const std::int64_t wall_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  const Clock::time_point steady_now = Clock::now();
  // The first tick at the next multiple of the interval; the backfill ends there.
  const std::int64_t first_ts = (wall_now / interval + 1) * interval;
  const Clock::time_point first_due = steady_now + std::chrono::nanoseconds(first_ts - wall_now);
  if (options_.backfill.count() > 0) {
    const std::int64_t steps = (options_.backfill.count() + interval - 1) / interval;
    if (Status s = Backfill(first_ts - steps * interval, first_ts);
        !s.ok() && !stopping_.load(std::memory_order_relaxed)) {
      spdlog::warn("simulator: backfill incomplete: {}", s.ToString());
    }
  }
  std::int64_t k = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const Clock::time_point due = first_due + std::chrono::nanoseconds(k * interval);
    if (cv_.wait_until(lock, due, [this] { return stopping_.load(std::memory_order_relaxed); })) {
      return;
    }
    lock.unlock();
    Tick(first_ts + k * interval);
    // Late (a stall, a slow ring): skip the intervals already past rather than
    // writing a burst of stale ticks.
    const std::int64_t behind =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - first_due).count() /
        interval;
    const std::int64_t next = std::max(k + 1, behind + 1);
    skipped_.fetch_add(static_cast<std::uint64_t>(next - k - 1), std::memory_order_relaxed);
    k = next;
    lock.lock();
  }
}

SimStats SimSource::stats() const {
  const auto get = [](const std::atomic<std::uint64_t>& c) {
    return c.load(std::memory_order_relaxed);
  };
  return SimStats{get(ticks_),      get(generated_), get(retries_), get(dropped_),
                  get(excursions_), get(refused_),   get(skipped_)};
}

}  // namespace tidewatch::ingest
