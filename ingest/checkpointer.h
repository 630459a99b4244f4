// Checkpointer: periodic and final checkpoints of the Store together with the Kafka
// offsets they cover, and the restore at startup (ARCHITECTURE.md, guarantee 5).
//
// A checkpoint, in this order:
//   1. gathers ProcessedOffsets() of every registered source, merged into one map (a
//      partition is processed by one source at a time; the larger offset wins);
//   2. writes the store and that map with Store::Snapshot(): a temp file, fsync, an
//      atomic rename over the previous snapshot, fsync of the directory. Until the
//      rename the previous good snapshot stays in place, so a crash at any moment
//      leaves one complete snapshot;
//   3. only if the snapshot is durable, hands the map to every source's
//      CommitOffsets(). A failed checkpoint commits nothing: the group's committed
//      offsets never pass what the newest durable snapshot holds.
// The store may hold more than the offsets say (points appended while the snapshot was
// written); their messages are consumed again after a restart, which changes nothing
// because writes are idempotent per (series, ts).
//
// Restore() runs once at startup, before the sources start: it loads the snapshot and
// returns the offsets to hand to each source's SetStartOffsets(). No file: a clean
// start. A corrupt file (kDataLoss) or one of another format version
// (kInvalidArgument) is logged and renamed "<path>.corrupt-<unix seconds>" for
// inspection, and the store starts empty; the sources then resume from the group's
// committed offsets. The store never holds data it cannot vouch for, but the points of
// the lost snapshot before those offsets are not replayed unless the operator resets
// the group's offsets (kafka-consumer-groups --reset-offsets).
//
// Thread safety: AddSource() and Restore() before Start() and before the first
// Checkpoint(); Checkpoint() and stats() from any thread (checkpoints are serialised:
// one writer per snapshot path); Start(), Stop() and the destructor from the owning
// thread.
#ifndef TIDEWATCH_INGEST_CHECKPOINTER_H_
#define TIDEWATCH_INGEST_CHECKPOINTER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/kafka_source.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::ingest {

struct CheckpointStats {
  std::uint64_t ok = 0;                       // checkpoints written and committed
  std::uint64_t failed = 0;                   // snapshots that failed (nothing committed)
  std::chrono::nanoseconds last_duration{0};  // of the last checkpoint, ok or not
  // Wall-clock time of the last successful checkpoint, ns since the epoch; 0 if none
  // yet. The checkpoint-age metric is now minus this.
  std::int64_t last_success_unix_ns = 0;
  std::uint64_t last_bytes = 0;  // size of the last snapshot written
  std::string last_error;        // of the last failed checkpoint; empty if none
};

class Checkpointer {
 public:
  // What a checkpoint needs of a source of offsets: its processed offsets, and where to
  // hand the durable ones. KafkaSource is one (AddSource(KafkaSource&)); tests use fakes.
  using ProcessedFn = std::function<store::SnapshotOffsets()>;
  using CommitFn = std::function<void(const store::SnapshotOffsets&)>;

  // Checkpoints `store` to the file `path` (its directory must exist).
  // REQUIRES: store outlives the checkpointer.
  Checkpointer(store::Store& store, std::string path);
  // Stop().
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Registers a source. REQUIRES: before Start() and the first Checkpoint(); `source`
  // outlives the checkpointer; the functions return promptly and do not call back into
  // the checkpointer.
  void AddSource(KafkaSource& source);
  void AddSource(ProcessedFn processed, CommitFn commit);

  // Loads the snapshot into the store and returns its offsets (for SetStartOffsets()).
  // No file: empty offsets. A corrupt file or another format version: logged, moved
  // aside (see the file comment), empty offsets and an empty store. Errors: the file
  // exists but cannot be read (kInternal, e.g. permission denied) or is not a regular
  // file (kInvalidArgument); the store is empty then too. REQUIRES: the store is empty and not yet
  // shared with other threads.
  StatusOr<store::SnapshotOffsets> Restore();

  // Writes one checkpoint now (see the file comment). Errors: those of
  // Store::Snapshot(), e.g. kInternal "snapshot <path>.tmp: open: Permission denied";
  // nothing is committed then and the previous snapshot stays in place.
  Status Checkpoint();

  // Starts a thread that calls Checkpoint() every `interval` (failures are logged and
  // counted; the next one retries). kInternal if already started.
  // REQUIRES: interval > 0.
  Status Start(std::chrono::milliseconds interval);

  // Stops the periodic thread (waiting for a checkpoint in progress) and joins it. Takes
  // no final checkpoint: stop the sources, then call Checkpoint(). Idempotent.
  void Stop();

  CheckpointStats stats() const;

  const std::string& path() const { return path_; }

 private:
  struct Source {
    ProcessedFn processed;
    CommitFn commit;
  };

  void Run(std::chrono::milliseconds interval);

  // Constant after construction (sources_: after the last AddSource()).
  store::Store& store_;
  const std::string path_;
  std::vector<Source> sources_;

  // Held for a whole checkpoint: one writer per path. Nothing on the ingest path waits
  // for it. The sources' ProcessedFn and CommitFn run under it: they must return
  // promptly and not call Checkpoint() (KafkaSource's take only its own short locks).
  std::mutex checkpoint_mu_;

  mutable std::mutex stats_mu_;
  CheckpointStats stats_;  // guarded by stats_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;   // guarded by stop_mu_
  std::thread thread_;  // owner thread only
};

}  // namespace tidewatch::ingest

#endif  // TIDEWATCH_INGEST_CHECKPOINTER_H_
