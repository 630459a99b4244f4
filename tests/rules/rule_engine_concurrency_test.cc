// Two evaluation workers feeding overlapping series while an API thread ticks, lists
// and acknowledges: the engine's state and the outbox must come out consistent, with
// every instance's notifications committed in the order they were made.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rules/rule_engine.h"
#include "tests/rules/rule_engine_test_util.h"

namespace tidewatch::rules {
namespace {

using engine_test::EngineFixture;
using engine_test::Pressure;
using engine_test::S;

#ifdef TIDEWATCH_SANITIZED
constexpr int kRounds = 60;
#else
constexpr int kRounds = 300;
#endif
constexpr int kSensors = 12;

std::string Sensor(int i) { return "pt-" + std::to_string(100 + i); }

// Alternates above and below the trip, out of phase across sensors.
double ValueAt(int round, int sensor) { return (round + sensor) % 3 == 0 ? 9.0 : 1.0; }

// The AlertRule's sequence number: the idempotency key's last "-" part.
std::int64_t KeySequence(const std::string& key) {
  return std::stoll(key.substr(key.rfind('-') + 1));
}

TEST(RuleEngineConcurrencyTest, WorkersAndOperatorsKeepPerInstanceOrder) {
  CatalogOptions options;
  options.durability = Durability::kNormal;
  EngineFixture f(std::move(options));
  ASSERT_TRUE(f.engine().CreateRule(Pressure(), "ann").ok());
  std::vector<store::SeriesId> ids;
  for (int s = 0; s < kSensors; ++s) ids.push_back(f.Intern("pressure", Sensor(s)));

  // Worker w feeds sensors [w * 4, w * 4 + 8): sensors 4..7 are fed by both.
  auto worker = [&](int w) {
    std::vector<store::Point> batch;
    for (int round = 0; round < kRounds; ++round) {
      batch.clear();
      for (int s = w * 4; s < w * 4 + 8; ++s) {
        batch.push_back({ids[static_cast<std::size_t>(s)], S(1 + round), ValueAt(round, s)});
      }
      f.store().Append(batch);
      f.engine().OnPoints(batch);
    }
  };
  std::atomic<bool> done{false};
  std::atomic<int> acknowledged{0};
  std::thread operators([&] {
    for (int i = 0; i < 1'000'000 && !done.load(); ++i) {
      f.SetNow(f.now() + 1'000'000);  // 1 ms per round
      f.engine().Tick();
      const std::vector<AlertView> firing = f.engine().ListAlerts({"", "unacked", false});
      if (!firing.empty() &&
          f.engine().Acknowledge("high-pressure", firing.front().instance_key, "ann").ok()) {
        acknowledged.fetch_add(1);
      }
      (void)f.engine().stats();
    }
  });
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  done.store(true);
  operators.join();

  // A last point puts every sensor in alarm.
  std::vector<store::Point> last;
  for (int s = 0; s < kSensors; ++s) {
    last.push_back({ids[static_cast<std::size_t>(s)], S(kRounds + 10), 9.5});
  }
  f.store().Append(last);
  f.engine().OnPoints(last);
  EXPECT_EQ(f.engine().ListAlerts({"", "firing", false}).size(), std::size_t{kSensors});

  const EngineStats stats = f.engine().stats();
  EXPECT_EQ(stats.commit_errors, 0u);
  EXPECT_EQ(stats.transitions_dropped, 0u);
  const std::vector<OutboxEntry> rows = f.Drain("ops");
  EXPECT_EQ(rows.size(), stats.notifications);
  std::map<std::string, std::vector<const OutboxEntry*>> by_instance;
  for (const OutboxEntry& row : rows) by_instance[row.instance_key].push_back(&row);
  ASSERT_EQ(by_instance.size(), std::size_t{kSensors});
  for (auto& [instance, list] : by_instance) {
    std::sort(list.begin(), list.end(),
              [](const OutboxEntry* x, const OutboxEntry* y) { return x->id < y->id; });
    for (std::size_t i = 0; i < list.size(); ++i) {
      // Committed in the order made: no gap, no duplicate, no reordering.
      EXPECT_EQ(KeySequence(list[i]->idempotency_key), static_cast<std::int64_t>(i) + 1)
          << instance;
      EXPECT_EQ(list[i]->sequence, static_cast<std::int64_t>(i) + 1) << instance;
    }
    EXPECT_NE(list.back()->payload.find("\"status\":\"firing\""), std::string::npos) << instance;
  }
  // Each acknowledgement left its operator-history row.
  std::size_t actions = 0;
  const std::int64_t rule_id = f.engine().GetRule("high-pressure")->record.id;
  for (const auto& [instance, list] : by_instance) {
    StatusOr<std::vector<OperatorActionEntry>> history =
        f.catalog().OperatorActionsForInstance(rule_id, instance, 1'000'000);
    ASSERT_TRUE(history.ok());
    actions += history->size();
  }
  EXPECT_EQ(actions, static_cast<std::size_t>(acknowledged.load()));
  RecordProperty("acknowledged", acknowledged.load());
  RecordProperty("notifications", static_cast<int>(rows.size()));
}

}  // namespace
}  // namespace tidewatch::rules
