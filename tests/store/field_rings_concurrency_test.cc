// Record alignment under concurrency: several writers push multi-field records while
// several assemblers pop the same rings. Whatever the interleaving, an assembled record
// holds only values of that record, and every value comes out exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "store/field_rings.h"

namespace tidewatch::store {
namespace {

#ifdef TIDEWATCH_SANITIZED
constexpr std::int64_t kRecordsPerWriter = 50'000;
#else
constexpr std::int64_t kRecordsPerWriter = 500'000;
#endif
constexpr std::uint32_t kFields = 3;
constexpr auto kDeadline = std::chrono::seconds(120);

// Writer w's record number i has ts = i, series = w, and in field f the value
// i * kFields + f: a value mis-paired into another record disagrees with its ts,
// its series or its field.
double ValueOf(std::int64_t ts, FieldId field) {
  return static_cast<double>(ts * kFields + static_cast<std::int64_t>(field));
}

struct Params {
  int writers;
  int assemblers;
};

class RecordAlignmentTest : public ::testing::TestWithParam<Params> {};

TEST_P(RecordAlignmentTest, RecordsNeverMixAndNothingIsLost) {
  const Params p = GetParam();
  FieldRingsOptions options;
  options.defaults.capacity = 256;  // small, so writers hit full rings and retry
  FieldRings rings(options);
  std::vector<FieldId> fields;
  for (std::uint32_t f = 0; f < kFields; ++f) fields.push_back(*rings.FieldFor("m", "f" + std::to_string(f)));

  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::atomic<int> writers_done{0};
  std::atomic<bool> timed_out{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < p.writers; ++w) {
    threads.emplace_back([&, w] {
      RecordWriter writer(rings);
      for (std::int64_t i = 0; i < kRecordsPerWriter && !timed_out; ++i) {
        writer.BeginRecord(i, kFields);
        // Fields in a rotating order so rings see records in different orders.
        for (std::uint32_t k = 0; k < kFields; ++k) {
          const FieldId f = fields[(static_cast<std::uint32_t>(i) + k) % kFields];
          while (!writer.Push(f, static_cast<SeriesId>(w), ValueOf(i, f))) {
            if (std::chrono::steady_clock::now() > deadline) timed_out = true;
            if (timed_out) return;
            std::this_thread::yield();
          }
        }
      }
      writers_done.fetch_add(1);
    });
  }

  std::vector<std::vector<AssembledRecord>> results(static_cast<std::size_t>(p.assemblers));
  for (int a = 0; a < p.assemblers; ++a) {
    threads.emplace_back([&, a] {
      RecordAssembler assembler(rings, fields, /*max_pending=*/1024);
      std::vector<AssembledRecord>& out = results[static_cast<std::size_t>(a)];
      for (;;) {
        const bool finished = writers_done.load() == p.writers;  // read before polling
        if (assembler.Poll(out) > 0) continue;
        if (finished || timed_out) break;
        if (std::chrono::steady_clock::now() > deadline) timed_out = true;
        std::this_thread::yield();
      }
      assembler.FlushPartial(out);
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(timed_out) << "no progress within " << kDeadline.count() << " s";

  // seen[w][i] counts the values of writer w's record i, over all assemblers.
  std::vector<std::vector<std::uint8_t>> seen(static_cast<std::size_t>(p.writers),
                                              std::vector<std::uint8_t>(kRecordsPerWriter, 0));
  std::size_t partial = 0;
  for (const auto& out : results) {
    for (const AssembledRecord& r : out) {
      ASSERT_FALSE(r.values.empty());
      ASSERT_LE(r.values.size(), kFields);
      if (!r.complete) ++partial;
      if (r.complete) {
        ASSERT_EQ(r.values.size(), kFields);
      }
      const SeriesId writer = r.values[0].series;
      for (const AssembledValue& v : r.values) {
        ASSERT_EQ(v.series, writer) << "record " << r.record_seq << " mixes writers";
        ASSERT_EQ(v.value, ValueOf(r.ts, v.field)) << "record " << r.record_seq << " mixes records";
      }
      ASSERT_LT(writer, static_cast<SeriesId>(p.writers));
      ASSERT_GE(r.ts, 0);
      ASSERT_LT(r.ts, kRecordsPerWriter);
      seen[writer][static_cast<std::size_t>(r.ts)] += static_cast<std::uint8_t>(r.values.size());
    }
  }
  for (int w = 0; w < p.writers; ++w) {
    const auto& counts = seen[static_cast<std::size_t>(w)];
    const auto bad = std::find_if(counts.begin(), counts.end(), [](std::uint8_t c) { return c != kFields; });
    ASSERT_EQ(bad, counts.end()) << "writer " << w << " record " << (bad - counts.begin())
                                 << " delivered " << int{*bad} << " of " << kFields << " values";
  }
  if (p.assemblers == 1) {
    EXPECT_EQ(partial, 0u) << "a single consumer completes every record";
  }
}

INSTANTIATE_TEST_SUITE_P(WritersByAssemblers, RecordAlignmentTest,
                         ::testing::Values(Params{1, 1}, Params{4, 1}, Params{2, 2}, Params{4, 4}),
                         [](const ::testing::TestParamInfo<Params>& param_info) {
                           return std::to_string(param_info.param.writers) + "W" +
                                  std::to_string(param_info.param.assemblers) + "A";
                         });

TEST(FieldRingsConcurrencyTest, ConcurrentCreationAgreesOnIds) {
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kNames = 64;
  FieldRingsOptions options;
  options.defaults.capacity = 2;
  options.max_fields = kNames;
  FieldRings rings(options);
  std::vector<std::vector<FieldId>> ids(kThreads, std::vector<FieldId>(kNames));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t k = 0; k < kNames; ++k) {
        const std::size_t name = (k * (2 * t + 1)) % kNames;  // a different order per thread
        ids[t][name] = *rings.FieldFor("m", "f" + std::to_string(name));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (std::size_t t = 1; t < kThreads; ++t) EXPECT_EQ(ids[t], ids[0]);
  std::vector<FieldId> sorted = ids[0];
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t k = 0; k < kNames; ++k) EXPECT_EQ(sorted[k], k);
  EXPECT_EQ(rings.field_count(), kNames);
  EXPECT_EQ(rings.fields_rejected(), 0u);
  for (std::size_t k = 0; k < kNames; ++k) EXPECT_EQ(rings.field(ids[0][k]), "f" + std::to_string(k));
}

}  // namespace
}  // namespace tidewatch::store
