// SourceShared: what a Kafka source's consumer thread shares with the rest of the
// daemon: the counters behind KafkaSourceStats, the processed offsets, the offsets the
// daemon asks to commit, the per-topic reject and ingest counts, the partitions' high
// watermarks and the series-cache generation.
//
// Thread safety: every member function may be called from any thread. Counters are
// relaxed atomics (statistics, no ordering implied); the maps are guarded by mu_, held
// only to copy or merge, never across a call out.
#ifndef TIDEWATCH_INGEST_INTERNAL_SOURCE_SHARED_H_
#define TIDEWATCH_INGEST_INTERNAL_SOURCE_SHARED_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/dead_letter.h"
#include "store/store.h"

namespace tidewatch::ingest::internal {

struct SourceCounters {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> points{0};
  std::atomic<std::uint64_t> string_fields{0};
  std::atomic<std::uint64_t> bad_lines{0};
  std::atomic<std::uint64_t> points_refused{0};
  std::atomic<std::uint64_t> messages_rejected{0};
  std::atomic<std::uint64_t> pauses{0};
  std::atomic<std::uint64_t> points_abandoned{0};
  std::atomic<std::uint64_t> consumer_errors{0};
  std::atomic<std::uint64_t> rebalances{0};

  static void Add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

// Ingest counts of one topic (KafkaSourceStats::per_topic). Written by the consumer
// thread only, read by any.
struct TopicCounters {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> points{0};
  std::atomic<std::uint64_t> bytes{0};
};

class SourceShared {
 public:
  SourceCounters counters;

  // Bumped by any thread to make the consumer thread drop its series cache.
  std::atomic<std::uint64_t> series_generation{0};

  // Processed offsets ("topic/partition" -> next offset, everything before processed).
  void SetProcessed(const std::vector<std::pair<std::string, std::int64_t>>& moved) {
    std::lock_guard lock(mu_);
    for (const auto& [key, offset] : moved) processed_[key] = offset;
  }
  void ForgetProcessed(const std::string& key) {
    std::lock_guard lock(mu_);
    processed_.erase(key);
  }
  store::SnapshotOffsets Processed() const {
    std::lock_guard lock(mu_);
    return processed_;
  }

  // Offsets the daemon made durable; merged, keeping the highest per partition, until
  // the consumer thread takes them.
  void RequestCommit(const store::SnapshotOffsets& offsets) {
    std::lock_guard lock(mu_);
    for (const auto& [key, offset] : offsets) {
      auto [it, inserted] = commit_requests_.emplace(key, offset);
      if (!inserted) it->second = std::max(it->second, offset);
    }
  }
  store::SnapshotOffsets TakeCommitRequests() {
    std::lock_guard lock(mu_);
    return std::exchange(commit_requests_, {});
  }

  // Counts one rejected message of `topic` under each reason bit in `reasons`.
  void CountRejected(std::string_view topic, std::uint32_t reasons) {
    std::lock_guard lock(mu_);
    auto it = rejected_.find(topic);
    if (it == rejected_.end()) it = rejected_.emplace(std::string(topic), RejectCounts{}).first;
    for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
      if ((reasons >> r) & 1u) ++it->second[r];
    }
  }
  std::map<std::string, RejectCounts> Rejected() const {
    std::lock_guard lock(mu_);
    return {rejected_.begin(), rejected_.end()};
  }

  // The counters of `topic`, created on first use. Entries are never removed (a source
  // reads few topics), so the reference stays valid for the life of this object and
  // the consumer thread may keep it to count without the lock.
  TopicCounters& Topic(std::string_view topic) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.try_emplace(std::string(topic)).first;
    return it->second;
  }
  // Every topic's counters; the pointers stay valid as for Topic().
  std::vector<std::pair<std::string, const TopicCounters*>> Topics() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, const TopicCounters*>> out;
    out.reserve(topics_.size());
    for (const auto& [topic, topic_counters] : topics_) out.emplace_back(topic, &topic_counters);
    return out;
  }

  // High watermarks ("topic/partition" -> offset) of the assigned partitions whose
  // watermark the consumer knows; replaced as a whole.
  void SetHighWatermarks(store::SnapshotOffsets watermarks) {
    std::lock_guard lock(mu_);
    high_watermarks_ = std::move(watermarks);
  }
  store::SnapshotOffsets HighWatermarks() const {
    std::lock_guard lock(mu_);
    return high_watermarks_;
  }

 private:
  mutable std::mutex mu_;
  store::SnapshotOffsets processed_;                           // guarded by mu_
  store::SnapshotOffsets commit_requests_;                     // guarded by mu_
  std::map<std::string, RejectCounts, std::less<>> rejected_;  // guarded by mu_
  // The map is guarded by mu_; the counters inside are atomics, updated without it.
  std::map<std::string, TopicCounters, std::less<>> topics_;
  store::SnapshotOffsets high_watermarks_;  // guarded by mu_
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_SOURCE_SHARED_H_
