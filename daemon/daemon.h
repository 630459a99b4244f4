// Daemon: tidewatchd's parts, built from one DaemonConfig and wired as ARCHITECTURE.md
// draws them: sources (Kafka, HTTP /write, the plant simulator) → field rings →
// evaluation workers → store, and from the workers every stored batch to the alert
// rules (rules/rule_engine.h) and the continuous queries (rules/continuous_queries.h),
// whose output goes to the Kafka channels that carry it and back through the /write
// path; the notifier (daemon/notifier.h), which delivers the outbox's notifications
// through the configured channels; the SQLite catalog (<data_dir>/catalog.db), the query
// executor, the HTTP API, metrics, periodic maintenance and checkpoints around it.
//
// Lifecycle:
//   Create()  validates what the config parser cannot (Kafka properties, simulator
//             options, the data directory) and builds every part; nothing runs yet.
//   Start()   restores the latest good snapshot (ingest/checkpointer.h), hands its
//             offsets to the Kafka sources, starts the notifier (channels from the
//             config and the catalog), loads CQs and alert rules (catalog, then the
//             rules file) and starts their threads, starts the sources, the HTTP
//             server, periodic checkpoints and maintenance; /readyz turns ready once
//             every Kafka source has its first assignment.
//   Stop()    the graceful shutdown of SIGTERM/SIGINT, bounded in time: HTTP stops
//             taking requests, the sources stop (Kafka finishes or abandons in-flight
//             messages within its drain_timeout), the workers empty the rings, the
//             notifier finishes the sends in flight (what is left stays in the outbox for
//             the next start), then one final checkpoint writes the store with the offsets it covers. A restart
//             restores it and resumes each partition where it ends.
//
// Thread safety: Create, Start, Stop and the destructor from one controlling thread;
// the accessors from any thread.
#ifndef TIDEWATCH_DAEMON_DAEMON_H_
#define TIDEWATCH_DAEMON_DAEMON_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/config.h"
#include "rules/continuous_queries.h"
#include "store/status.h"

namespace tidewatch::daemon {

// tidewatchd's version, as --version and tidewatch_build_info print it.
inline constexpr std::string_view kVersion = "0.1.0";

class Daemon {
 public:
  static StatusOr<std::unique_ptr<Daemon>> Create(DaemonConfig config);
  ~Daemon();  // Stop()
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Errors: the snapshot cannot be read (not corrupt: unreadable), a Kafka source
  // cannot subscribe, the HTTP port cannot be bound. What had started is stopped.
  Status Start();

  // Graceful shutdown (see the file comment). Idempotent.
  void Stop();

  // The bound HTTP port (the configured one, or the ephemeral one for port 0); 0 when
  // HTTP is disabled. REQUIRES: Start() succeeded.
  std::uint16_t http_port() const;

  // Makes the engine's file rules those of the rules file at `path` (empty: none), as
  // SIGHUP does. A file with errors changes nothing; the errors are logged.
  // REQUIRES: Start() succeeded; from the controlling thread.
  void ReloadRules(const std::string& path);
  // Makes the config file's notification channels `channels`, as SIGHUP does. A set
  // that fails the channel checks changes nothing; the error is logged and the result
  // is false. REQUIRES: Start() succeeded; from the controlling thread.
  bool ReloadChannels(const std::vector<ChannelConfig>& channels);

 private:
  struct Parts;
  explicit Daemon(DaemonConfig config);
  Status Build();
  void AddRoutes();
  // Loads CQs and rules from the catalog and the rules file; starts the engine.
  void StartRules();
  void RunMaintenance();
  // Runs due continuous queries every rules.tick_interval until Stop().
  void RunContinuousQueries();
  // The CQs' output callback: to the Kafka channels that carry the CQ, then line
  // protocol through the /write path.
  Status WriteCqOutput(const rules::ContinuousQueryBatch& batch);
  bool Ready() const;

  // Constant after construction.
  const DaemonConfig config_;

  std::unique_ptr<Parts> parts_;
  std::atomic<bool> ready_{false};
  bool started_ = false;  // controlling thread only
  bool stopped_ = false;  // controlling thread only

  // The maintenance thread.
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_maintenance_ = false;  // guarded by mu_; also stops continuous_queries_
  std::thread maintenance_;
  std::thread continuous_queries_;
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_DAEMON_H_
