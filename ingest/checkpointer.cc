#include "ingest/checkpointer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <utility>

namespace tidewatch::ingest {

namespace {

std::int64_t UnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Checkpointer::Checkpointer(store::Store& store, std::string path)
    : store_(store), path_(std::move(path)) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::AddSource(KafkaSource& source) {
  AddSource([&source] { return source.ProcessedOffsets(); },
            [&source](const store::SnapshotOffsets& offsets) { source.CommitOffsets(offsets); });
}

void Checkpointer::AddSource(ProcessedFn processed, CommitFn commit) {
  sources_.push_back({std::move(processed), std::move(commit)});
}

StatusOr<store::SnapshotOffsets> Checkpointer::Restore() {
  StatusOr<store::SnapshotOffsets> offsets = store_.Restore(path_);
  if (offsets.ok()) {
    spdlog::info("checkpoint: restored {} series from {}, offsets of {} partitions",
                 store_.index().series_count(), path_, offsets->size());
    return offsets;
  }
  const StatusCode code = offsets.status().code();
  if (code == StatusCode::kNotFound) {
    spdlog::info("checkpoint: no snapshot at {}: starting empty", path_);
    return store::SnapshotOffsets{};
  }
  std::error_code type_error;
  if ((code != StatusCode::kDataLoss && code != StatusCode::kInvalidArgument) ||
      !std::filesystem::is_regular_file(path_, type_error)) {
    // There, but unreadable or not a file: do not start as if it were not.
    return offsets.status();
  }
  // Never load what cannot be vouched for: start empty, keep the file for inspection
  // (and out of the way of the next checkpoint's rename).
  const std::string aside = path_ + ".corrupt-" + std::to_string(UnixNs() / 1'000'000'000);
  spdlog::error("checkpoint: {}; starting empty and resuming from the committed offsets",
                offsets.status().ToString());
  if (std::rename(path_.c_str(), aside.c_str()) == 0) {
    spdlog::error("checkpoint: moved the unusable snapshot to {}", aside);
  } else {
    spdlog::error("checkpoint: could not move {} to {}; the next checkpoint replaces it", path_,
                  aside);
  }
  return store::SnapshotOffsets{};
}

Status Checkpointer::Checkpoint() {
  const std::lock_guard<std::mutex> lock(checkpoint_mu_);
  const auto start = std::chrono::steady_clock::now();
  // Offsets first: the snapshot then holds at least what they cover.
  store::SnapshotOffsets offsets;
  for (const Source& source : sources_) {
    for (const auto& [key, offset] : source.processed()) {
      auto [it, inserted] = offsets.emplace(key, offset);
      if (!inserted) it->second = std::max(it->second, offset);
    }
  }
  const Status status = store_.Snapshot(path_, offsets);
  if (status.ok()) {
    for (const Source& source : sources_) source.commit(offsets);
  }
  std::error_code size_error;
  const std::uintmax_t bytes = status.ok() ? std::filesystem::file_size(path_, size_error) : 0;
  const auto duration = std::chrono::steady_clock::now() - start;

  const std::lock_guard<std::mutex> stats_lock(stats_mu_);
  stats_.last_duration = std::chrono::duration_cast<std::chrono::nanoseconds>(duration);
  if (status.ok()) {
    ++stats_.ok;
    stats_.last_success_unix_ns = UnixNs();
    stats_.last_bytes = size_error ? 0 : static_cast<std::uint64_t>(bytes);
  } else {
    ++stats_.failed;
    stats_.last_error = status.ToString();
  }
  return status;
}

Status Checkpointer::Start(std::chrono::milliseconds interval) {
  if (thread_.joinable()) return Status(StatusCode::kInternal, "checkpointer: already started");
  {
    const std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, interval] { Run(interval); });
  return Status::Ok();
}

void Checkpointer::Stop() {
  {
    const std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::Run(std::chrono::milliseconds interval) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    const Status status = Checkpoint();
    // At most one line per interval.
    if (!status.ok()) spdlog::warn("checkpoint failed: {}", status.ToString());
    lock.lock();
  }
}

CheckpointStats Checkpointer::stats() const {
  const std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace tidewatch::ingest
