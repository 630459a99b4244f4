// HttpWrite: the write path behind InfluxDB's `POST /write`, shared by every HTTP
// thread.
//
// A write decodes its body (line protocol), interns each point's series in the store,
// pushes the points into the field rings under one completion ticket, and returns only
// once the evaluation workers have stored every pushed point (and run the rules on
// it), or when `write_wait` has passed. So a client that got 204 reads its own writes.
//
// Outcomes, worded as InfluxDB 1.x words them (the HTTP layer maps kind to status):
//   kOk            204   everything written (also an empty body)
//   kInvalid       400   "database is required"; "invalid precision \"x\" (use n, u,
//                        ms, s, m or h)"; every line bad: "unable to parse '...': ..."
//                        (one per bad line, joined by "\n")
//   kPartial       400   "partial write: <reasons> dropped=N": bad lines, or points
//                        the store refused ("field type conflict: ...",
//                        "max-series-per-database limit exceeded: ..."); the other
//                        lines ARE written. N counts bad lines plus refused points.
//                        Bad lines are described by LineError::ToString() (InfluxDB's
//                        "unable to parse '<line>': <reason>" after "line L, column
//                        C: ", see docs/LINE_PROTOCOL.md).
//   kDbNotFound    404   "database not found: \"x\"" (only without auto-create)
//   kUnavailable   503   a ring stayed full for `ring_retry`: the points pushed
//                        until then are written (or queued, if the workers did not
//                        store them within write_wait), the rest are not, and the
//                        message says how many ("ring full: N of M points written,
//                        ..."; a record cut in the middle is stored in part). InfluxDB has
//                        no partial 503; a client retries the whole body, which is
//                        harmless: the last write per (series, time) wins. Also when
//                        the workers did not store the points within write_wait (they
//                        will still be stored), and when every ticket is in use.
// The `rp` parameter is accepted and ignored by the caller: there are no retention
// policies, retention is per database (see StoreOptions).
// String fields are accepted and counted, not stored (see ARCHITECTURE.md).
//
// Thread safety: Write() may be called from any number of threads at once. Each call
// borrows a decoder and a RecordWriter from a small pool (one per concurrent call) and
// takes the ticket mutex twice per request, never per point.
#ifndef TIDEWATCH_INGEST_HTTP_WRITE_H_
#define TIDEWATCH_INGEST_HTTP_WRITE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_protocol.h"
#include "ingest/ticket_table.h"
#include "store/field_rings.h"
#include "store/store.h"

namespace tidewatch::ingest {

struct HttpWriteOptions {
  // /write to a database that does not exist creates it (it exists once a point is
  // stored in it). Off: 404. Default on.
  bool auto_create_databases = true;
  // How long a write waits for its points to be stored before answering 503.
  std::chrono::milliseconds write_wait{5000};
  // How long a write retries pushing into a full ring before giving up with 503.
  // Longer rides out short stalls of the workers; shorter frees the HTTP thread sooner.
  std::chrono::milliseconds ring_retry{200};
  // Writes in flight at once (tickets), including writes that timed out waiting and
  // whose points are still in the rings. Beyond: 503. Default 1024.
  std::uint32_t max_in_flight = 1024;
  // Line protocol decoding (max_line_bytes; precision comes with each write).
  std::size_t max_line_bytes = 64 * 1024;
  // The database registry, to connect to whatever the daemon has. Unset: a database
  // exists iff the store has data in it; creation needs nothing (writing creates it).
  std::function<bool(std::string_view db)> db_exists;
  std::function<void(std::string_view db)> create_db;
};

enum class HttpWriteKind { kOk, kInvalid, kPartial, kDbNotFound, kUnavailable };

struct HttpWriteResult {
  HttpWriteKind kind = HttpWriteKind::kOk;
  std::string error;               // InfluxDB's wording; empty for kOk
  std::size_t points_written = 0;  // acknowledged: stored (kOk, kPartial, ring-full 503)
};

struct HttpWriteRequest {
  std::string_view db;
  std::string_view precision;  // the raw parameter; "" is nanoseconds
  std::string_view body;       // inflated line protocol
  std::int64_t now_ns = 0;     // the time of lines without a timestamp
};

struct HttpWriteStats {
  std::uint64_t requests = 0;
  std::uint64_t bytes = 0;           // body bytes decoded
  std::uint64_t points_written = 0;  // stored and acknowledged
  std::uint64_t string_fields = 0;   // accepted, not stored
  // Rejected, by reason.
  std::uint64_t lines_malformed = 0;      // line protocol errors
  std::uint64_t points_refused = 0;       // store / rings refused (type conflict, limits)
  std::uint64_t points_backpressure = 0;  // not written: ring full
  std::uint64_t wait_timeouts = 0;        // writes answered before being stored
};

class HttpWrite {
 public:
  // `ticket_table_index` (1..kMaxTicketTables-1) is the index of this write path's
  // ticket table among the EvaluationWorkers' tables: the wiring passes tickets() to
  // the workers at that index. REQUIRES: store and rings outlive this object; the
  // workers use tickets() for its index and are stopped before this object is destroyed
  // (they complete its tickets).
  HttpWrite(store::Store& store, store::FieldRings& rings, std::uint32_t ticket_table_index,
            HttpWriteOptions options = {});
  ~HttpWrite();
  HttpWrite(const HttpWrite&) = delete;
  HttpWrite& operator=(const HttpWrite&) = delete;

  // Writes `request` and waits as described above.
  HttpWriteResult Write(const HttpWriteRequest& request);

  TicketTable& tickets() { return tickets_; }
  HttpWriteStats stats() const;

 private:
  struct Worker;
  struct Progress;

  std::unique_ptr<Worker> AcquireWorker();
  void ReleaseWorker(std::unique_ptr<Worker> worker);
  bool DatabaseExists(std::string_view db) const;
  void WriteLine(const DecodedLine& line, std::string_view db, Worker& worker, Progress& p);
  // Waits until `ticket` is done or the deadline passes; true if done.
  bool AwaitDone(Ticket ticket, std::chrono::steady_clock::time_point deadline) const;
  // The outcome of a write whose points were all stored (`stored`), or of one that gave
  // up on a full ring (stored or not).
  HttpWriteResult Compose(const Progress& p, const DecodeCounts& counts,
                          const std::vector<LineError>& errors, bool stored) const;

  // Constant after construction.
  store::Store& store_;
  store::FieldRings& rings_;
  const HttpWriteOptions options_;

  std::mutex workers_mu_;
  std::vector<std::unique_ptr<Worker>> idle_workers_;  // guarded by workers_mu_

  // Take() and Release() are single-owner: every call holds tickets_mu_.
  std::mutex tickets_mu_;
  TicketTable tickets_;
  std::vector<Ticket> abandoned_;  // timed out, released once done; guarded by tickets_mu_

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> points_written_{0};
  std::atomic<std::uint64_t> string_fields_{0};
  std::atomic<std::uint64_t> lines_malformed_{0};
  std::atomic<std::uint64_t> points_refused_{0};
  std::atomic<std::uint64_t> points_backpressure_{0};
  std::atomic<std::uint64_t> wait_timeouts_{0};
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_HTTP_WRITE_H_
