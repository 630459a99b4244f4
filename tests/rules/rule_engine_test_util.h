// Shared by the rule engine tests: a real Store, executor and SQLite catalog in a temp
// dir, a fake clock, points fed through the store and OnPoints(), and the outbox read
// back through the sinks' calls.
#ifndef TIDEWATCH_TESTS_RULES_RULE_ENGINE_TEST_UTIL_H_
#define TIDEWATCH_TESTS_RULES_RULE_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rules/catalog.h"
#include "rules/database_registry.h"
#include "rules/query_executor.h"
#include "rules/rule_definition.h"
#include "rules/rule_engine.h"
#include "store/store.h"
#include "tests/rules/catalog_test_util.h"

namespace tidewatch::rules::engine_test {

constexpr Timestamp kSecond = 1'000'000'000;
constexpr Timestamp kT0 = 1'800'000'000 * kSecond;  // processing time at the start
constexpr Timestamp S(std::int64_t seconds) { return seconds * kSecond; }

inline RuleDefinition Definition(const std::string& json) {
  StatusOr<RuleDefinition> definition = ParseRuleJson(json);
  EXPECT_TRUE(definition.ok()) << definition.status().ToString();
  return definition.ok() ? *definition : RuleDefinition{};
}

// "high-pressure": pressure > 8 (reset 7.5), immediate, channel "ops".
inline RuleDefinition Pressure(const std::string& name = "high-pressure",
                               const std::string& extra = "") {
  return Definition(R"({"name": ")" + name +
                    R"(", "db": "plant", "query": "SELECT value FROM pressure",
      "condition": ">", "severity": "critical", "trip": 8, "reset": 7.5,
      "channels": ["ops"])" +
                    extra + "}");
}

class EngineFixture {
 public:
  explicit EngineFixture(CatalogOptions options = {})
      : registry_(store_), executor_(store_, registry_, QueryLimits{}) {
    catalog_ = catalog_test::MustOpen(catalog_path(), std::move(options));
    NewEngine();
  }

  // Destroys the engine (as a restart would) and makes a new one over the same
  // catalog, without Load().
  void NewEngine() {
    engine_.reset();
    RuleEngineOptions options;
    options.clock = [this] { return now_.load(); };
    options.external_url = "http://tw:8086";
    options.on_outbox_commit = [this] { ++outbox_commits_; };
    engine_ = std::make_unique<RuleEngine>(store_, executor_, *catalog_, std::move(options));
  }

  std::string catalog_path() const { return dir_.File("catalog.db"); }
  RuleEngine& engine() { return *engine_; }
  Catalog& catalog() { return *catalog_; }
  store::Store& store() { return store_; }
  DatabaseRegistry& registry() { return registry_; }
  void SetNow(Timestamp t) { now_.store(t); }
  // How often the engine announced a commit that enqueued outbox rows.
  int outbox_commits() const { return outbox_commits_.load(); }
  Timestamp now() const { return now_.load(); }

  store::SeriesId Intern(const std::string& measurement, const std::string& sensor,
                         const std::string& db = "plant") {
    const std::vector<store::TagView> tags = {{"sensor", sensor}, {"site", "site1"}};
    StatusOr<store::SeriesId> id =
        store_.Intern({db, measurement, tags, "value"}, store::FieldType::kFloat);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  // Stores one point (event time `ts`) and hands it to the engine, as a worker does.
  void Feed(const std::string& measurement, const std::string& sensor, Timestamp ts, double value) {
    const store::Point point{Intern(measurement, sensor), ts, value};
    const store::AppendStats stored = store_.Append({&point, 1});
    EXPECT_EQ(stored.appended + stored.replaced, 1u);
    engine_->OnPoints({&point, 1});
  }

  // Every outbox row of `channel`, claimed and marked done, in claim order.
  std::vector<OutboxEntry> Drain(const std::string& channel) {
    std::vector<OutboxEntry> all;
    constexpr std::int64_t kFar = std::numeric_limits<std::int64_t>::max() / 2;
    for (int round = 0; round < 100'000; ++round) {
      StatusOr<std::vector<OutboxEntry>> due = catalog_->ClaimDue(channel, kFar, 1000, kFar);
      EXPECT_TRUE(due.ok()) << due.status().ToString();
      if (!due.ok() || due->empty()) break;
      for (OutboxEntry& entry : *due) {
        EXPECT_TRUE(catalog_->MarkDone(entry.id).ok());
        all.push_back(std::move(entry));
      }
    }
    return all;
  }

  std::int64_t Pending(const std::string& channel) {
    StatusOr<OutboxCounts> counts = catalog_->CountOutbox(channel);
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? counts->pending : -1;
  }

 private:
  catalog_test::TempDir dir_;
  store::Store store_;
  DatabaseRegistry registry_;
  QueryExecutor executor_;
  std::unique_ptr<Catalog> catalog_;
  std::atomic<Timestamp> now_{kT0};
  std::atomic<int> outbox_commits_{0};
  std::unique_ptr<RuleEngine> engine_;
};

// "<instance> <state>[/<isa>]" per alert, sorted as the engine lists them.
inline std::string RenderAlerts(const std::vector<AlertView>& views) {
  std::string out;
  for (const AlertView& v : views) {
    out += v.rule + " " + v.instance_key + " " + v.state + "/" +
           std::string(AlarmStateName(v.isa_state)) + "\n";
  }
  return out;
}

}  // namespace tidewatch::rules::engine_test

#endif  // TIDEWATCH_TESTS_RULES_RULE_ENGINE_TEST_UTIL_H_
