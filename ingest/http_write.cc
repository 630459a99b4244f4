#include "ingest/http_write.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <thread>
#include <utility>

namespace tidewatch::ingest {

namespace {

using Clock = std::chrono::steady_clock;

// A ticket is taken before the points are counted, with this many pending points; once
// the body is pushed, the points that never went out are completed by the writer, so
// the count cannot reach zero before every pushed point is stored. (A body would need
// more than 4 billion points to reach it: pushes stop one short.)
constexpr std::uint32_t kReserve = std::numeric_limits<std::uint32_t>::max();

// Store refusals described in a partial-write answer; later ones are only counted.
constexpr std::size_t kMaxRefusalNotes = 10;

constexpr std::size_t kPrecisions = 6;

// Spin briefly, then sleep with doubling pauses up to 1 ms: reacts within microseconds
// when the workers are quick, costs nothing when they are not.
class Backoff {
 public:
  void Pause() {
    if (pause_ < std::chrono::microseconds(20)) {
      std::this_thread::yield();
      pause_ += std::chrono::microseconds(5);
      return;
    }
    std::this_thread::sleep_for(pause_);
    pause_ = std::min<std::chrono::microseconds>(pause_ * 2, std::chrono::milliseconds(1));
  }

 private:
  std::chrono::microseconds pause_{0};
};

}  // namespace

struct HttpWrite::Worker {
  struct Value {
    store::FieldId field = 0;
    store::SeriesId series = 0;
    double value = 0;
  };

  explicit Worker(store::FieldRings& rings) : writer(rings) {}

  LineProtocolDecoder& Decoder(Precision precision, std::size_t max_line_bytes) {
    std::optional<LineProtocolDecoder>& decoder = decoders[static_cast<std::size_t>(precision)];
    if (!decoder) {
      LineProtocolOptions options;
      options.precision = precision;
      options.max_line_bytes = max_line_bytes;
      decoder.emplace(options);
    }
    return *decoder;
  }

  std::array<std::optional<LineProtocolDecoder>, kPrecisions> decoders;
  store::RecordWriter writer;
  std::vector<LineError> errors;  // per request, reused
  std::vector<Value> values;      // per line, reused
};

struct HttpWrite::Progress {
  Ticket ticket = 0;
  std::uint64_t points = 0;  // values of good lines (strings aside)
  std::uint64_t pushed = 0;
  std::uint64_t refused = 0;
  std::uint64_t not_pushed = 0;  // ring full
  std::uint64_t strings = 0;
  bool gave_up = false;  // a ring stayed full past the retry deadline
  std::optional<Clock::time_point> retry_deadline;
  std::vector<std::string> refusals;
};

HttpWrite::HttpWrite(store::Store& store, store::FieldRings& rings,
                     std::uint32_t ticket_table_index, HttpWriteOptions options)
    : store_(store),
      rings_(rings),
      options_(std::move(options)),
      tickets_(ticket_table_index, std::max<std::uint32_t>(options_.max_in_flight, 1)) {}

HttpWrite::~HttpWrite() = default;

HttpWriteStats HttpWrite::stats() const {
  HttpWriteStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.points_written = points_written_.load(std::memory_order_relaxed);
  s.string_fields = string_fields_.load(std::memory_order_relaxed);
  s.lines_malformed = lines_malformed_.load(std::memory_order_relaxed);
  s.points_refused = points_refused_.load(std::memory_order_relaxed);
  s.points_backpressure = points_backpressure_.load(std::memory_order_relaxed);
  s.wait_timeouts = wait_timeouts_.load(std::memory_order_relaxed);
  return s;
}

std::unique_ptr<HttpWrite::Worker> HttpWrite::AcquireWorker() {
  {
    std::lock_guard lock(workers_mu_);
    if (!idle_workers_.empty()) {
      std::unique_ptr<Worker> worker = std::move(idle_workers_.back());
      idle_workers_.pop_back();
      return worker;
    }
  }
  return std::make_unique<Worker>(rings_);
}

void HttpWrite::ReleaseWorker(std::unique_ptr<Worker> worker) {
  std::lock_guard lock(workers_mu_);
  idle_workers_.push_back(std::move(worker));
}

bool HttpWrite::DatabaseExists(std::string_view db) const {
  if (options_.db_exists) return options_.db_exists(db);
  const std::vector<std::string> dbs = store_.index().Databases();
  return std::find(dbs.begin(), dbs.end(), db) != dbs.end();
}

HttpWriteResult HttpWrite::Write(const HttpWriteRequest& request) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (request.db.empty()) return {HttpWriteKind::kInvalid, "database is required", 0};
  const std::optional<Precision> precision = ParsePrecision(request.precision);
  if (!precision) {
    return {
        HttpWriteKind::kInvalid,
        "invalid precision \"" + std::string(request.precision) + "\" (use n, u, ms, s, m or h)",
        0};
  }
  if (!DatabaseExists(request.db)) {
    if (!options_.auto_create_databases) {
      return {HttpWriteKind::kDbNotFound, "database not found: \"" + std::string(request.db) + "\"",
              0};
    }
    if (options_.create_db) options_.create_db(request.db);
  }

  Progress p;
  {
    std::lock_guard lock(tickets_mu_);
    // Writes that timed out earlier give their tickets back once their points are in.
    std::erase_if(abandoned_, [&](Ticket t) {
      if (!tickets_.Done(t)) return false;
      tickets_.Release(t);
      return true;
    });
    const std::optional<Ticket> ticket = tickets_.Take(kReserve);
    if (!ticket) {
      return {HttpWriteKind::kUnavailable,
              "too many writes in flight (" + std::to_string(tickets_.capacity()) + ")", 0};
    }
    p.ticket = *ticket;
  }

  std::unique_ptr<Worker> worker = AcquireWorker();
  worker->errors.clear();
  const DecodeCounts counts =
      worker->Decoder(*precision, options_.max_line_bytes)
          .Decode(
              request.body, request.now_ns,
              [&](const DecodedLine& line) { WriteLine(line, request.db, *worker, p); },
              worker->errors);
  // The points that never went out count as completed; what remains pending is
  // exactly the pushed points, completed by the workers as they store them.
  tickets_.Complete(p.ticket, kReserve - static_cast<std::uint32_t>(p.pushed));
  const bool stored = AwaitDone(p.ticket, Clock::now() + options_.write_wait);
  {
    std::lock_guard lock(tickets_mu_);
    if (stored) {
      tickets_.Release(p.ticket);
    } else {
      abandoned_.push_back(p.ticket);
    }
  }

  bytes_.fetch_add(request.body.size(), std::memory_order_relaxed);
  string_fields_.fetch_add(p.strings, std::memory_order_relaxed);
  lines_malformed_.fetch_add(counts.bad_lines, std::memory_order_relaxed);
  points_refused_.fetch_add(p.refused, std::memory_order_relaxed);
  points_backpressure_.fetch_add(p.not_pushed, std::memory_order_relaxed);
  HttpWriteResult result;
  if (stored) points_written_.fetch_add(p.pushed, std::memory_order_relaxed);
  if (stored || p.gave_up) {
    result = Compose(p, counts, worker->errors, stored);
  } else {
    wait_timeouts_.fetch_add(1, std::memory_order_relaxed);
    result = {HttpWriteKind::kUnavailable,
              "timeout: " + std::to_string(p.pushed) + " points were not stored within " +
                  std::to_string(options_.write_wait.count()) +
                  "ms; they are queued and will be stored",
              0};
  }
  ReleaseWorker(std::move(worker));
  return result;
}

void HttpWrite::WriteLine(const DecodedLine& line, std::string_view db, Worker& worker,
                          Progress& p) {
  worker.values.clear();
  for (const DecodedField& field : line.fields) {
    if (field.is_string) {
      ++p.strings;
      continue;
    }
    ++p.points;
    StatusOr<store::FieldId> field_id = rings_.FieldFor(line.measurement, field.key);
    StatusOr<store::SeriesId> series =
        field_id.ok() ? store_.Intern({db, line.measurement, line.tags, field.key}, field.type)
                      : StatusOr<store::SeriesId>(field_id.status());
    if (!series.ok()) {
      ++p.refused;
      if (p.refusals.size() < kMaxRefusalNotes) {
        const Status& s = series.status();
        // The series limit in InfluxDB's words; the other refusals already are.
        p.refusals.push_back(field_id.ok() && s.code() == StatusCode::kResourceExhausted
                                 ? "max-series-per-database limit exceeded: " + s.message()
                                 : s.message());
      }
      continue;
    }
    worker.values.push_back({*field_id, *series, field.value});
  }
  const std::size_t n = worker.values.size();
  if (n == 0) return;
  if (p.gave_up || p.pushed + n >= kReserve) {
    p.gave_up = true;
    p.not_pushed += n;
    return;
  }
  worker.writer.BeginRecord(line.ts_ns, static_cast<std::uint32_t>(n), p.ticket);
  for (std::size_t i = 0; i < n; ++i) {
    const Worker::Value& v = worker.values[i];
    Backoff backoff;
    while (!worker.writer.Push(v.field, v.series, v.value)) {
      const Clock::time_point now = Clock::now();
      if (!p.retry_deadline) p.retry_deadline = now + options_.ring_retry;
      if (now >= *p.retry_deadline) {
        // The rest of this record (and of the body) stays out; the record's values
        // pushed so far are stored as a partial record.
        p.gave_up = true;
        p.not_pushed += n - i;
        return;
      }
      backoff.Pause();
    }
    ++p.pushed;
  }
}

bool HttpWrite::AwaitDone(Ticket ticket, Clock::time_point deadline) const {
  Backoff backoff;
  while (!tickets_.Done(ticket)) {
    if (Clock::now() >= deadline) return tickets_.Done(ticket);
    backoff.Pause();
  }
  return true;
}

HttpWriteResult HttpWrite::Compose(const Progress& p, const DecodeCounts& counts,
                                   const std::vector<LineError>& errors, bool stored) const {
  const std::size_t written = stored ? static_cast<std::size_t>(p.pushed) : 0;
  if (p.gave_up) {
    return {HttpWriteKind::kUnavailable,
            "ring full: " + std::to_string(p.pushed) + " of " + std::to_string(p.points) +
                (stored ? " points written" : " points queued (not stored yet)") +
                ", the rest were not; retry the write (rewriting the same points is harmless)",
            written};
  }
  if (counts.bad_lines == 0 && p.refused == 0) return {HttpWriteKind::kOk, {}, written};

  std::string reasons;
  const auto add = [&](const std::string& text) {
    if (!reasons.empty()) reasons.push_back('\n');
    reasons += text;
  };
  for (const LineError& e : errors) add(e.ToString());
  if (counts.bad_lines > errors.size()) {
    add("... and " + std::to_string(counts.bad_lines - errors.size()) + " more bad lines");
  }
  for (const std::string& r : p.refusals) add(r);
  if (p.refused > p.refusals.size()) {
    add("... and " + std::to_string(p.refused - p.refusals.size()) + " more points refused");
  }
  // Every line bad: InfluxDB answers the parse errors alone, without "partial write".
  if (counts.good_lines == 0) return {HttpWriteKind::kInvalid, std::move(reasons), 0};
  return {HttpWriteKind::kPartial,
          "partial write: " + reasons + " dropped=" + std::to_string(counts.bad_lines + p.refused),
          written};
}

}  // namespace tidewatch::ingest
