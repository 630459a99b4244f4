// The catalog used from several threads at once (one Catalog shared, and two Catalogs
// on one file), run under TSan: writers, a sender draining the outbox, and readers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rules/catalog.h"
#include "tests/rules/catalog_test_util.h"

namespace tidewatch::rules {
namespace {

using catalog_test::Instance;
using catalog_test::MustOpen;
using catalog_test::TempDir;
using catalog_test::Transition;

#ifdef TIDEWATCH_SANITIZED
constexpr int kRounds = 6;
#else
constexpr int kRounds = 20;
#endif
constexpr int kWriters = 4;
constexpr int kInstancesPerWriter = 5;

CatalogOptions Fast() {
  CatalogOptions options;
  options.durability = Durability::kNormal;  // no fsync per commit: the test is about threads
  return options;
}

TEST(CatalogConcurrencyTest, WritersSenderAndReadersShareOneCatalog) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("c.db"), Fast());
  ASSERT_NE(catalog, nullptr);
  StatusOr<RuleRecord> rule = catalog->CreateRule({"hot", "plant", "{}", true});
  ASSERT_TRUE(rule.ok());
  const std::int64_t rule_id = rule->id;
  constexpr int kTotal = kWriters * kInstancesPerWriter * kRounds;

  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kInstancesPerWriter; ++i) {
          const std::string key = "w" + std::to_string(w) + "-s" + std::to_string(i);
          const bool firing = round % 2 == 0;
          Status s = catalog->RecordTransition(
              Transition(Instance(rule_id, key, firing ? "firing" : "resolved", round),
                         firing ? "inactive" : "firing"),
              std::vector<OutboxRow>{{"hook", key + "#" + std::to_string(round), "p"}});
          if (!s.ok()) failures.fetch_add(1);
        }
      }
    });
  }

  // The sender: every row exactly once, in sequence order per instance.
  std::map<std::string, std::int64_t> last_sequence;
  std::set<std::string> seen;
  int out_of_order = 0;
  int duplicates = 0;
  std::thread sender([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (static_cast<int>(seen.size()) < kTotal && std::chrono::steady_clock::now() < deadline) {
      StatusOr<std::vector<OutboxEntry>> rows =
          catalog->ClaimDue("hook", kRounds, 16, std::numeric_limits<std::int64_t>::max());
      if (!rows.ok()) {
        failures.fetch_add(1);
        continue;
      }
      if (rows->empty()) std::this_thread::yield();
      for (const OutboxEntry& row : *rows) {
        if (!seen.insert(row.idempotency_key).second) ++duplicates;
        std::int64_t& last = last_sequence[row.instance_key];
        if (row.sequence != last + 1) ++out_of_order;
        last = row.sequence;
        if (!catalog->MarkDone(row.id).ok()) failures.fetch_add(1);
      }
    }
  });

  std::thread reader([&] {
    while (!writers_done.load()) {
      if (!catalog->LoadInstances().ok() || !catalog->CountOutbox("hook").ok()) {
        failures.fetch_add(1);
      }
    }
  });

  for (std::thread& t : writers) t.join();
  writers_done.store(true);
  sender.join();
  reader.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(static_cast<int>(seen.size()), kTotal);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(*catalog->CountOutbox("hook"), (OutboxCounts{.done = kTotal}));
  StatusOr<std::vector<AlertInstanceRecord>> instances = catalog->LoadInstances();
  ASSERT_TRUE(instances.ok());
  EXPECT_EQ(static_cast<int>(instances->size()), kWriters * kInstancesPerWriter);
  StatusOr<std::vector<AuditEntry>> audit = catalog->AuditForInstance(rule_id, "w0-s0", 1000);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(static_cast<int>(audit->size()), kRounds);
}

TEST(CatalogConcurrencyTest, TwoCatalogsOnOneFileWaitForEachOther) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto first = MustOpen(path, Fast());
  auto second = MustOpen(path, Fast());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    Catalog* catalog = t % 2 == 0 ? first.get() : second.get();
    threads.emplace_back([&failures, catalog, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!catalog->CreateRule({name, "plant", "{}", true}).ok()) failures.fetch_add(1);
        if (!catalog->SetRuleEnabled(name, false).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  StatusOr<std::vector<RuleRecord>> rules = second->ListRules();
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(static_cast<int>(rules->size()), 4 * kRounds);
  for (const RuleRecord& rule : *rules) EXPECT_EQ(rule.version, 2) << rule.name;
}

}  // namespace
}  // namespace tidewatch::rules
