// SeriesIndex under concurrent use: ingest threads interning overlapping key sets while
// query threads list, and removals racing with creation. Whatever the interleaving,
// one key gets one id, no id is handed out twice, the cardinality limit is exact, and
// the listings agree with the series table afterwards. Run under TSan too.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/series_index.h"

namespace tidewatch::store {
namespace {

#ifdef TIDEWATCH_SANITIZED
constexpr int kKeys = 1'000;
#else
constexpr int kKeys = 20'000;
#endif
constexpr int kWriters = 4;
constexpr int kMaxRounds = 100'000;  // bounds the loops that run until the writers finish

// Key i of `db`: measurement m<i%8>, tags host=h<i> (unique) and zone=z<i%5>, field f.
class Keys {
 public:
  explicit Keys(const std::string& db, int count) : db_(db) {
    for (int i = 0; i < count; ++i) {
      measurements_.push_back("m" + std::to_string(i % 8));
      hosts_.push_back("h" + std::to_string(i));
      zones_.push_back("z" + std::to_string(i % 5));
    }
  }

  int size() const { return static_cast<int>(hosts_.size()); }

  // `tags` is the caller's storage for the tag views.
  SeriesKeyView view(int i, TagView (&tags)[2]) const {
    const auto k = static_cast<std::size_t>(i);
    tags[0] = {"host", hosts_[k]};
    tags[1] = {"zone", zones_[k]};
    return {db_, measurements_[k], tags, "f"};
  }

 private:
  std::string db_;
  std::vector<std::string> measurements_, hosts_, zones_;
};

std::vector<int> Shuffled(int n, unsigned seed) {
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  return order;
}

// Counts a listing that is not strictly increasing (unsorted or with duplicates).
template <class List>
int Disorder(const List& list) {
  return std::adjacent_find(list.begin(), list.end(), [](const auto& a, const auto& b) {
           return !(a < b);
         }) == list.end() ? 0 : 1;
}

TEST(SeriesIndexConcurrencyTest, WritersAgreeOnIdsWhileReadersList) {
  SeriesIndex index;
  const Keys keys("db", kKeys);
  std::vector<std::vector<SeriesId>> ids(kWriters, std::vector<SeriesId>(kKeys));
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::atomic<int> disorder{0};
  std::atomic<int> shrunk{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::size_t last_size = 0;
      for (int round = 0; round < kMaxRounds && !writers_done; ++round) {
        disorder += Disorder(index.Measurements("db"));
        disorder += Disorder(index.TagValues("db", "m3", "zone"));
        const PostingList all = index.SeriesOf("db", r == 0 ? "m0" : "m5");
        disorder += Disorder(all);
        disorder += Disorder(index.SeriesWithTag("db", "m0", "zone", "z0"));
        if (all.size() < last_size) ++shrunk;  // nothing is removed: lists only grow
        last_size = all.size();
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      TagView tags[2];
      for (const int i : Shuffled(kKeys, static_cast<unsigned>(w) + 1)) {
        const StatusOr<SeriesId> id = index.Intern(keys.view(i, tags), FieldType::kFloat);
        if (!id.ok()) ++failures;
        ids[static_cast<std::size_t>(w)][static_cast<std::size_t>(i)] = id.ok() ? *id : 0;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  writers_done = true;
  for (std::thread& t : readers) t.join();

  EXPECT_EQ(failures, 0);
  EXPECT_EQ(disorder, 0);
  EXPECT_EQ(shrunk, 0);
  for (int w = 1; w < kWriters; ++w) EXPECT_EQ(ids[static_cast<std::size_t>(w)], ids[0]) << w;
  const std::set<SeriesId> distinct(ids[0].begin(), ids[0].end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kKeys));  // no id handed out twice
  EXPECT_EQ(*distinct.rbegin(), static_cast<SeriesId>(kKeys - 1));  // and they are dense
  EXPECT_EQ(index.series_count(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(index.Info(ids[0][7])->tags[0].value, "h7");
}

TEST(SeriesIndexConcurrencyTest, CardinalityLimitIsExactUnderContention) {
  // Many small dbs, walked by all writers in the same order, so that they arrive at
  // each db's limit together: every db is a chance to overshoot it.
  constexpr int kLimit = 2;
  constexpr int kDbs = kKeys / 10;
  SeriesIndexOptions options;
  options.max_series_per_db = kLimit;
  SeriesIndex index(options);
  std::vector<std::string> dbs, hosts;
  for (int d = 0; d < kDbs; ++d) dbs.push_back("db" + std::to_string(d));
  for (int h = 0; h < kWriters * kLimit; ++h) hosts.push_back("h" + std::to_string(h));
  std::vector<std::vector<SeriesId>> created(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (const std::string& db : dbs) {
        for (int i = w * kLimit; i < (w + 1) * kLimit; ++i) {
          const TagView tags[] = {{"host", hosts[static_cast<std::size_t>(i)]}};
          const StatusOr<SeriesId> id = index.Intern({db, "m", tags, "f"}, FieldType::kFloat);
          if (id.ok()) created[static_cast<std::size_t>(w)].push_back(*id);
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  std::set<SeriesId> distinct;
  for (const auto& ids : created) distinct.insert(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kDbs * kLimit));
  int wrong_counts = 0;
  for (const std::string& db : dbs) {
    if (index.series_count(db) != kLimit ||
        index.rejected_series(db) != (kWriters - 1) * kLimit) {
      ++wrong_counts;
    }
  }
  EXPECT_EQ(wrong_counts, 0);
}

TEST(SeriesIndexConcurrencyTest, RemovalsRacingWithCreationLeaveAConsistentIndex) {
  SeriesIndex index;
  const Keys churn("churn", kKeys / 4);
  const Keys stable("stable", kKeys / 4);
  std::atomic<int> stable_failures{0};
  std::atomic<bool> writers_done{false};
  // The remover and the reader keep going while the writers do (at least 20 rounds).
  const auto keep_going = [&writers_done](int round) {
    return round < kMaxRounds && (round < 20 || !writers_done);
  };
  std::vector<std::thread> writers;
  std::vector<std::thread> others;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      TagView tags[2];
      for (int round = 0; round < 4; ++round) {
        for (const int i : Shuffled(churn.size(), static_cast<unsigned>(w * 10 + round))) {
          index.Intern(churn.view(i, tags), FieldType::kFloat).status().IgnoreError();
          if (!index.Intern(stable.view(i, tags), FieldType::kFloat).ok()) ++stable_failures;
        }
      }
    });
  }
  others.emplace_back([&] {
    for (int round = 0; keep_going(round); ++round) {
      if (round % 10 == 9) {
        index.DropDatabase("churn");
        continue;
      }
      const PostingList ids = index.SeriesOf("churn", "m" + std::to_string(round % 8));
      // Every other one, so each removal rewrites the middle of posting lists.
      PostingList half;
      for (std::size_t i = 0; i < ids.size(); i += 2) half.push_back(ids[i]);
      index.Remove(half);
    }
  });
  others.emplace_back([&] {
    for (int round = 0; keep_going(round); ++round) {
      index.SeriesWhereTagValue("churn", "m1", "zone", [](std::string_view v) { return v < "z3"; });
      index.ForEach([](SeriesId, const SeriesInfo&) {});
      static_cast<void>(index.MemoryBytesApprox());
    }
  });
  for (std::thread& t : writers) t.join();
  writers_done = true;
  for (std::thread& t : others) t.join();

  EXPECT_EQ(stable_failures, 0);
  // The series table, the key tables and the listings describe the same series.
  std::set<SeriesId> live;
  std::size_t mismatches = 0;
  index.ForEach([&](SeriesId id, const SeriesInfo& info) {
    live.insert(id);
    const std::vector<TagView> tags = {{"host", info.tags[0].value}, {"zone", info.tags[1].value}};
    const StatusOr<SeriesId> found = index.Find({info.db, info.measurement, tags, info.field});
    if (!found.ok() || *found != id) ++mismatches;
  });
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(live.size(), index.series_count());
  std::set<SeriesId> listed;
  for (const std::string& db : index.Databases()) {
    for (const std::string& m : index.Measurements(db)) {
      for (const SeriesId id : index.SeriesOf(db, m)) listed.insert(id);
    }
  }
  EXPECT_EQ(listed, live);
  EXPECT_EQ(index.series_count("stable"), static_cast<std::size_t>(stable.size()));
}

}  // namespace
}  // namespace tidewatch::store
