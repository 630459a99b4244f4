// DeliveryWorker over the REAL SQLite catalog through daemon::CatalogOutboxQueue: order
// per alert instance under concurrency, and rows surviving a restart of the worker and
// of the catalog (a new worker on the same file finishes them, including a row whose
// sender "crashed" holding its lease).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/catalog_outbox_queue.h"
#include "rules/catalog.h"
#include "sinks/delivery_worker.h"
#include "tests/rules/catalog_test_util.h"
#include "tests/sinks/fake_emitter.h"

namespace tidewatch::daemon {
namespace {

using rules::catalog_test::Instance;
using rules::catalog_test::MustOpen;
using rules::catalog_test::TempDir;
using rules::catalog_test::Transition;
using sinks::testing::Delivered;
using sinks::testing::Eventually;
using sinks::testing::FakeEmitter;
using sinks::testing::Retry;

std::int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

sinks::ChannelPolicy FastPolicy(std::int64_t concurrency) {
  sinks::ChannelPolicy p;
  p.max_concurrency = concurrency;
  p.retry.base = std::chrono::milliseconds(1);
  p.retry.cap = std::chrono::milliseconds(5);
  p.breaker.failure_threshold = 0;
  return p;
}

sinks::DeliveryWorkerOptions FastOptions() {
  sinks::DeliveryWorkerOptions o;
  o.poll_interval = std::chrono::milliseconds(2);
  o.seed = 5;
  return o;
}

class CatalogDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MustOpen(dir_.File("c.db"));
    ASSERT_NE(catalog_, nullptr);
    StatusOr<rules::RuleRecord> rule = catalog_->CreateRule({"hot", "plant", "{}", true});
    ASSERT_TRUE(rule.ok());
    rule_ = rule->id;
  }

  // Each of `instances` alert instances fires, then resolves, one row each on "hook";
  // idempotency keys "<n>-fire" / "<n>-resolve".
  void FireAndResolve(int instances) {
    const std::int64_t now = WallNow();
    for (const char* phase : {"fire", "resolve"}) {
      for (int i = 0; i < instances; ++i) {
        const std::string key = "sensor=pt-" + std::to_string(i);
        const std::string idem = std::to_string(i) + "-" + phase;
        const std::vector<rules::OutboxRow> rows = {{"hook", idem, R"({"n":1})"}};
        const std::string state = std::string(phase) == "fire" ? "firing" : "resolved";
        ASSERT_TRUE(
            catalog_->RecordTransition(Transition(Instance(rule_, key, state, now), "x"), rows)
                .ok());
      }
    }
  }

  rules::OutboxCounts Counts() {
    StatusOr<rules::OutboxCounts> counts = catalog_->CountOutbox("hook");
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? *counts : rules::OutboxCounts{};
  }

  // Fails the test if any resolve was sent before its firing had been delivered.
  static void ExpectFiringFirst(const std::vector<FakeEmitter::Event>& events) {
    std::set<std::string> fired;
    for (const FakeEmitter::Event& e : events) {
      const std::string& idem = e.notification.idempotency_key;
      const std::string instance = idem.substr(0, idem.find('-'));
      if (idem.ends_with("-fire")) {
        if (e.completed && e.outcome == sinks::DeliveryOutcome::kDelivered) fired.insert(instance);
      } else {
        EXPECT_TRUE(fired.contains(instance)) << idem << " sent before its firing";
      }
    }
  }

  TempDir dir_;
  std::unique_ptr<rules::Catalog> catalog_;
  std::int64_t rule_ = 0;
};

TEST_F(CatalogDeliveryTest, OrderPerInstanceHoldsWithFourSenders) {
  FireAndResolve(25);
  // Every firing fails its first attempt; resolves would go through at once.
  auto emitter = std::make_shared<FakeEmitter>([](const sinks::Notification& n) {
    if (n.idempotency_key.ends_with("-fire") && n.attempts == 1) return Retry("HTTP 503");
    return Delivered();
  });
  CatalogOutboxQueue queue(*catalog_);
  sinks::DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy(4)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return Counts().done == 50; }));
  worker.Stop();
  EXPECT_EQ(Counts(), (rules::OutboxCounts{.pending = 0, .done = 50, .dead = 0}));
  ExpectFiringFirst(emitter->events());
  EXPECT_EQ(emitter->sends(), 75u);
}

TEST_F(CatalogDeliveryTest, RowsSurviveARestart) {
  FireAndResolve(10);
  // First life: the receiver takes 5 notifications, then is down; the worker stops.
  std::map<std::int64_t, std::string> keys;  // row id -> idempotency key, first life
  std::vector<FakeEmitter::Event> history;   // every send of both lives, in order
  {
    auto down_after_five =
        std::make_shared<FakeEmitter>([n = 0](const sinks::Notification&) mutable {
          return ++n <= 5 ? Delivered() : Retry("connection refused");
        });
    CatalogOutboxQueue queue(*catalog_);
    sinks::ChannelPolicy policy = FastPolicy(1);
    policy.retry.max_attempts = 1000;  // nothing dies in this life, however fast it spins
    sinks::DeliveryWorker worker(queue, FastOptions());
    ASSERT_TRUE(worker.AddChannel("hook", down_after_five, policy).ok());
    ASSERT_TRUE(worker.Start().ok());
    ASSERT_TRUE(Eventually([&] { return down_after_five->sends() >= 8; }));
    worker.Stop();
    history = down_after_five->events();
    for (const auto& e : history) keys[e.notification.id] = e.notification.idempotency_key;
  }
  EXPECT_EQ(Counts().done, 5);
  EXPECT_EQ(Counts().pending, 15);
  // A sender that "crashed" holding a lease: the row comes back when the lease ends.
  CatalogOutboxQueue claimer(*catalog_);
  const std::int64_t now = WallNow();
  StatusOr<std::vector<sinks::Notification>> leased =
      claimer.Claim("hook", now, 1, now + 50'000'000);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);

  // The daemon restarts: the catalog is reopened from its file, a new worker runs.
  catalog_.reset();
  catalog_ = MustOpen(dir_.File("c.db"));
  ASSERT_NE(catalog_, nullptr);
  auto emitter = std::make_shared<FakeEmitter>();
  {
    CatalogOutboxQueue queue(*catalog_);
    sinks::DeliveryWorker worker(queue, FastOptions());
    ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy(4)).ok());
    ASSERT_TRUE(worker.Start().ok());
    ASSERT_TRUE(Eventually([&] { return Counts().done == 20; }));
    worker.Stop();
  }
  EXPECT_EQ(Counts(), (rules::OutboxCounts{.pending = 0, .done = 20, .dead = 0}));
  EXPECT_EQ(emitter->sends(), 15u);
  for (const auto& e : emitter->events()) history.push_back(e);
  ExpectFiringFirst(history);
  for (const auto& e : emitter->events()) {
    // A row retried across the restart keeps its idempotency key.
    if (keys.contains(e.notification.id)) {
      EXPECT_EQ(keys[e.notification.id], e.notification.idempotency_key);
      EXPECT_GT(e.notification.attempts, 1);
    }
  }
  bool crashed_row_resent = false;
  for (const auto& e : emitter->events())
    crashed_row_resent |= e.notification.id == leased->front().id;
  EXPECT_TRUE(crashed_row_resent);
}

}  // namespace
}  // namespace tidewatch::daemon
