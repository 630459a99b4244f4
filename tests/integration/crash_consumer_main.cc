// crash_consumer: the daemon's ingest and checkpoint path in a small process for the
// kill -9 test (kafka_crash_test.cc). Store + FieldRings + EvaluationWorkers + one
// KafkaSource (line protocol) + Checkpointer:
//   - at start, restores <data_dir>/store.snap and resumes from its offsets;
//   - checkpoints every checkpoint_ms;
//   - every 20 ms writes <progress> (atomically, tmp + rename), one line:
//       restored=<points restored> points=<points in the store> processed=<sum of the
//       processed offsets> committed=<sum of the offsets the last checkpoint committed>
//       messages=<consumed by this run> checkpoints=<ok> failed=<n>
//   - on SIGTERM: stops the checkpointer and the source, drains the workers, takes a
//     final checkpoint, writes <dump> (test::DumpStore plus count/mean/max per
//     measurement and field GROUP BY time(1m) through store::AggregateSeries) and the
//     progress file a last time, then exits 0.
// Usage: crash_consumer brokers=B topic=T group=G data_dir=D progress=P dump=F
//                       [checkpoint_ms=200]
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ingest/checkpointer.h"
#include "ingest/kafka_source.h"
#include "store/aggregate.h"
#include "store/series_aggregate.h"
#include "tests/ingest/kafka_test_util.h"

namespace tidewatch::ingest {
namespace {

constexpr const char* kDb = "kafka";

bool WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// count, mean and max of every (measurement, field) of kDb per minute, over the whole
// time range of the data.
std::string DumpAggregates(const store::Store& store) {
  std::map<std::pair<std::string, std::string>, std::vector<store::SeriesId>> groups;
  store.index().ForEach([&](store::SeriesId id, const store::SeriesInfo& info) {
    if (info.db == kDb) groups[{info.measurement, info.field}].push_back(id);
  });
  constexpr store::Timestamp kMinute = 60'000'000'000;
  std::string out;
  for (auto& [group, series] : groups) {
    std::sort(series.begin(), series.end());
    store::AggregateSpec spec;
    // The range: whole minutes around the group's points.
    store::Timestamp lo = 0;
    store::Timestamp hi = 0;
    bool any = false;
    store::SeriesSnapshot snapshot;
    store::internal::ChunkBuffer scratch;
    for (store::SeriesId id : series) {
      if (!store.windows().Read(id, std::numeric_limits<store::Timestamp>::min(),
                                std::numeric_limits<store::Timestamp>::max(), snapshot)) {
        continue;
      }
      store::ForEachRun(snapshot, std::numeric_limits<store::Timestamp>::min(),
                        std::numeric_limits<store::Timestamp>::max(), scratch,
                        [&](const store::Timestamp* ts, const double*, std::size_t n) {
                          lo = any ? std::min(lo, ts[0]) : ts[0];
                          hi = any ? std::max(hi, ts[n - 1]) : ts[n - 1];
                          any = true;
                        });
    }
    if (!any) continue;
    spec.start = lo - lo % kMinute;
    spec.end = hi - hi % kMinute + kMinute;
    spec.interval = kMinute;
    spec.functions = {store::AggregateFn::kCount, store::AggregateFn::kMean,
                      store::AggregateFn::kMax};
    StatusOr<store::BucketAggregator> aggregator =
        store::AggregateSeries(store.windows(), series, spec);
    if (!aggregator.ok()) return "aggregate error: " + aggregator.status().ToString() + "\n";
    const auto count = aggregator->Evaluate(store::AggregateFn::kCount);
    const auto mean = aggregator->Evaluate(store::AggregateFn::kMean);
    const auto max = aggregator->Evaluate(store::AggregateFn::kMax);
    if (!count.ok() || !mean.ok() || !max.ok()) return "evaluate error\n";
    for (std::size_t b = 0; b < aggregator->bucket_count(); ++b) {
      out += "SELECT count,mean,max FROM " + group.first + "." + group.second + " @" +
             std::to_string(aggregator->bucket_start(b)) + ": " + Number((*count)[b].value) + " " +
             Number((*mean)[b].value) + " " + Number((*max)[b].value) + "\n";
    }
  }
  return out;
}

int Main(const std::map<std::string, std::string>& args) {
  for (const char* required : {"brokers", "topic", "group", "data_dir", "progress", "dump"}) {
    if (!args.contains(required)) {
      std::fprintf(stderr, "crash_consumer: %s= is required\n", required);
      return 2;
    }
  }
  const auto checkpoint_ms = std::chrono::milliseconds(
      args.contains("checkpoint_ms") ? std::stoll(args.at("checkpoint_ms")) : 200);

  // SIGTERM is taken with sigtimedwait below; block it before any thread exists so
  // that every thread inherits the mask.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);

  test::Pipeline pipeline;
  Checkpointer checkpointer(pipeline.store(), args.at("data_dir") + "/store.snap");
  const StatusOr<store::SnapshotOffsets> offsets = checkpointer.Restore();
  if (!offsets.ok()) {
    std::fprintf(stderr, "crash_consumer: restore: %s\n", offsets.status().ToString().c_str());
    return 1;
  }
  const std::uint64_t restored = pipeline.points();

  KafkaSourceConfig config;
  config.brokers = args.at("brokers");
  config.group_id = args.at("group");
  config.topics = {args.at("topic")};
  config.database = kDb;
  config.properties = {
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"auto.commit.interval.ms", "100"},
      // Static membership: a restarted process takes its partitions back at once
      // instead of waiting for the killed one's session to time out.
      {"group.instance.id", args.at("group") + "-member"},
  };
  config.drain_timeout_ms = std::chrono::milliseconds(5000);
  KafkaSource& source = pipeline.Add(config);
  source.SetStartOffsets(*offsets);
  // As AddSource(source), and counts what the checkpoints committed, so that the test
  // can tell when a snapshot covers part of the stream.
  std::atomic<std::int64_t> committed{0};
  checkpointer.AddSource([&source] { return source.ProcessedOffsets(); },
                         [&source, &committed](const store::SnapshotOffsets& durable) {
                           std::int64_t sum = 0;
                           for (const auto& [key, offset] : durable) sum += offset;
                           committed.store(sum, std::memory_order_relaxed);
                           source.CommitOffsets(durable);
                         });
  pipeline.StartWorkers();
  if (Status s = source.Start(); !s.ok()) {
    std::fprintf(stderr, "crash_consumer: start: %s\n", s.ToString().c_str());
    return 1;
  }
  if (Status s = checkpointer.Start(checkpoint_ms); !s.ok()) return 1;

  const auto progress = [&] {
    std::int64_t processed = 0;
    for (const auto& [key, offset] : pipeline.Processed()) processed += offset;
    const CheckpointStats stats = checkpointer.stats();
    const std::string line =
        "restored=" + std::to_string(restored) + " points=" + std::to_string(pipeline.points()) +
        " processed=" + std::to_string(processed) +
        " committed=" + std::to_string(committed.load(std::memory_order_relaxed)) +
        " messages=" + std::to_string(source.stats().messages) +
        " checkpoints=" + std::to_string(stats.ok) + " failed=" + std::to_string(stats.failed) +
        "\n";
    WriteAtomically(args.at("progress"), line);
  };
  const timespec tick{0, 20'000'000};
  while (sigtimedwait(&term, nullptr, &tick) < 0) progress();

  checkpointer.Stop();
  pipeline.Stop();  // the source drains and leaves the group, then the workers drain
  // The final checkpoint: its offsets are in the snapshot (which wins at the next
  // start); the source has left the group, so they are not committed.
  if (Status s = checkpointer.Checkpoint(); !s.ok()) {
    std::fprintf(stderr, "crash_consumer: final checkpoint: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!WriteAtomically(args.at("dump"),
                       test::DumpStore(pipeline.store()) + DumpAggregates(pipeline.store()))) {
    std::fprintf(stderr, "crash_consumer: cannot write the dump\n");
    return 1;
  }
  progress();
  return 0;
}

}  // namespace
}  // namespace tidewatch::ingest

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "crash_consumer: expected key=value, got '%s'\n", argv[i]);
      return 2;
    }
    args[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  return tidewatch::ingest::Main(args);
}
