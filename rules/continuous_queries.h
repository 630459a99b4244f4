// ContinuousQueries: the continuous queries (downsampling) of every database, evaluated
// on the stream in event time, as InfluxDB's
//   CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d] [LATE REEMIT|IGNORE]]
//   BEGIN SELECT ... INTO [db.]target FROM ... GROUP BY time(d[, offset])[, tags|*] END
//
// Lifecycle. Construct, Load() the CQs persisted in the catalog (the stored text is the
// CREATE statement, re-parsed), Prime() once the store is restored from its snapshot,
// then set the object on the QueryExecutor (CREATE/DROP/SHOW CONTINUOUS QUERIES), feed
// every stored batch to OnPoints() and call RunDue() periodically.
//
// Windows. Each CQ has a WindowTracker (rules/window_tracker.h) fed by every point of
// the measurements its FROM names (any field): interval and offset from GROUP BY
// time(); allowed lateness FOR - interval when RESAMPLE FOR is given (InfluxDB re-covers
// FOR worth of late data), else options.default_lateness_ns; idle timeout RESAMPLE
// EVERY when given, else options.default_idle_timeout_ns; LATE IGNORE drops late points
// inside the bound from the output (counted), otherwise they re-emit their bucket.
//
// Output. RunDue() runs the SELECT over each closed range (rules/window_query.h), so a
// CQ's output is exactly what an ad-hoc query of the same SELECT over the same buckets
// answers, and hands it to `output` as line protocol for the INTO database (the CQ's
// own when INTO names none): measurement = the INTO target (the source measurement for
// :MEASUREMENT), tags = the GROUP BY tags of the result series (empty values left
// out), one field per result column named like it (`mean`, `max_value`, an alias),
// timestamp = the bucket start. Null cells are skipped, so a bucket without data
// writes nothing, as in InfluxDB. Each (CQ, series, bucket) is written once in normal
// operation; a re-emission (late point, restart) writes the same key and timestamp
// with the value recomputed from the store, so downstream it is idempotent.
// Errors: a range whose query fails is skipped (stats: run_errors, last_error); a
// range whose output fails stays pending and is retried first by the next RunDue().
//
// Restart. Prime() sets each CQ's frontier to the bucket before the one holding (its
// source measurements' newest event time - lateness): the buckets up to it were
// emitted before the restart, the one bucket before re-emits harmlessly.
//
// Statements (through QueryExecutor, which checks that the database exists):
//   CREATE: needs INTO (the parser), GROUP BY time() and an aggregate, and must pass
//     ValidateSelect. "continuous query already exists" when the name is taken by
//     another query in that database (the same text again is a no-op, as in InfluxDB).
//   DROP: "continuous query not found" for an unknown (db, name).
//   SHOW: one series per database, columns name and query (InfluxDB's shape).
//   DROP DATABASE: the database's CQs are deleted too.
//
// Thread safety: OnPoints() may be called from any number of threads at once (the
// evaluation workers); per batch it takes one mutex, per point only what
// WindowTracker::Observe() does, and allocates only the first time a series is seen.
// The statements, stats() and Prime() may be called from any thread. RunDue() may be
// called from any thread; calls are serialized (one periodic thread is the intent), and
// they invoke `output` with no lock held that OnPoints() or the statements wait on.
#ifndef TIDEWATCH_RULES_CONTINUOUS_QUERIES_H_
#define TIDEWATCH_RULES_CONTINUOUS_QUERIES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ast.h"
#include "rules/catalog.h"
#include "rules/query_executor.h"
#include "rules/query_result.h"
#include "rules/window_tracker.h"
#include "store/status.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::rules {

struct ContinuousQueryOptions {
  // Allowed lateness of a CQ without RESAMPLE FOR. Default 0: a bucket closes as soon as
  // a point past its end arrives; more delays the output and covers more disorder.
  std::int64_t default_lateness_ns = 0;
  // Idle timeout of a CQ without RESAMPLE EVERY (processing time): after this long
  // without input every bucket up to the newest point closes. Default 10 s. 0 never
  // closes by idleness (the last bucket waits for the next point).
  std::int64_t default_idle_timeout_ns = 10'000'000'000;
  // Lines per output call; a range with more is written in several calls.
  std::size_t max_lines_per_write = 5000;
  // Buckets per query; a longer closed range (after a long idle gap or a jump in event
  // time) is queried in pieces, so it stays under the executor's max_buckets.
  std::int64_t max_buckets_per_query = 10'000;
};

struct ContinuousQueryStats {
  std::string db;
  std::string name;
  std::uint64_t buckets_emitted = 0;  // buckets run and written (first emissions)
  std::uint64_t reemissions = 0;      // buckets handed out again (late points)
  std::uint64_t late_ignored = 0;     // late points inside the bound, LATE IGNORE
  std::uint64_t too_late = 0;         // late points beyond the bound
  std::uint64_t lines_written = 0;
  std::uint64_t run_errors = 0;    // failed queries (range skipped) and failed outputs
  std::string last_error;          // of the latest failure; empty once a run succeeds
  store::Timestamp watermark = 0;  // min() before any input
};

// One piece of a CQ's output: line protocol (ns timestamps, "\n"-terminated lines).
struct ContinuousQueryBatch {
  std::string_view cq_db;    // the CQ's own database (CQ names are unique per database)
  std::string_view cq_name;
  std::string_view into_db;  // the database the lines are for (the INTO clause's)
  std::string_view line_protocol;
};

// Receives a CQ's output. An error keeps the range pending for the next RunDue().
using ContinuousQueryOutput = std::function<Status(const ContinuousQueryBatch& batch)>;

class ContinuousQueries final : public ContinuousQueryStatements {
 public:
  // `catalog`, `store` and `executor` must outlive this object; `executor` runs the
  // CQs' selects (it may have this object set as its ContinuousQueryStatements).
  ContinuousQueries(Catalog& catalog, store::Store& store, QueryExecutor& executor,
                    ContinuousQueryOutput output, ContinuousQueryOptions options = {});
  ~ContinuousQueries() override;
  ContinuousQueries(const ContinuousQueries&) = delete;
  ContinuousQueries& operator=(const ContinuousQueries&) = delete;

  // Loads every CQ stored in the catalog. A stored text that no longer parses or
  // validates is skipped and reported (kDataLoss naming it) after the others loaded;
  // catalog errors are returned as they are.
  Status Load();

  // After the store was restored: primes each CQ's window (see Restart above). CQs
  // without data in their source measurements are left alone.
  void Prime();

  // A batch of points, already stored, at processing time `now` (hot path).
  void OnPoints(std::span<const store::Point> points, store::Timestamp now);

  // Runs and writes every closed range of every CQ.
  void RunDue(store::Timestamp now);

  // One entry per CQ, by (db, name).
  std::vector<ContinuousQueryStats> stats() const;

  // ContinuousQueryStatements.
  Status Create(const CreateContinuousQuery& statement) override;
  Status Drop(const DropContinuousQuery& statement) override;
  std::vector<ResultSeries> Show(const std::vector<std::string>& databases) override;
  void DropDatabase(std::string_view db) override;

 private:
  struct Cq;
  struct CqSet;
  // Per SeriesId: the trackers its points feed, targets_[begin, begin + count); begin
  // kUnresolved until the series is first seen.
  struct Route {
    static constexpr std::uint32_t kUnresolved = 0xffffffff;
    std::uint32_t begin = kUnresolved;
    std::uint32_t count = 0;
  };

  // A CQ ready to run, or the error that makes the statement invalid.
  StatusOr<std::shared_ptr<Cq>> Build(const CreateContinuousQuery& statement,
                                      std::string text) const;
  // Replaces the set by a copy with `add` (if any) inserted and CQs for which `remove`
  // is true left out. REQUIRES: admin_mu_ held.
  void Publish(const std::shared_ptr<Cq>& add, const std::function<bool(const Cq&)>& remove);
  std::shared_ptr<const CqSet> Current() const;
  // The trackers of the CQs reading `series`. REQUIRES: mu_ held.
  void Resolve(store::SeriesId series, const CqSet& set, Route& route);
  void RunOne(Cq& cq, store::Timestamp now);
  // Queries one range and writes it. False when the output failed (retry the range
  // later); true when written, or when the query failed (the range is skipped).
  bool Emit(Cq& cq, BucketRange range, store::Timestamp now);
  // The newest event time of the CQ's source measurements (min() if none).
  store::Timestamp NewestSourceTime(const Cq& cq) const;

  // Constant after construction.
  Catalog& catalog_;
  store::Store& store_;
  QueryExecutor& executor_;
  const ContinuousQueryOutput output_;
  const ContinuousQueryOptions options_;

  // Serializes the statements and Load(), so the catalog and the set change together.
  // Held across catalog calls; nothing on the point path waits on it.
  std::mutex admin_mu_;

  mutable std::mutex mu_;
  // Guarded by mu_. The CQs, sorted by (db, name); replaced, never modified in place.
  std::shared_ptr<const CqSet> set_;
  // The routing cache, valid for route_set_ and store generation route_generation_.
  std::shared_ptr<const CqSet> route_set_;
  std::uint64_t route_generation_ = 0;
  std::vector<Route> routes_;            // by SeriesId
  std::vector<WindowTracker*> targets_;  // owned by route_set_'s CQs

  // Serializes RunDue(); held while the output runs (only RunDue() waits on it).
  std::mutex run_mu_;
};

}  // namespace tidewatch::rules

#endif  // TIDEWATCH_RULES_CONTINUOUS_QUERIES_H_
