// daemon::Notifier over a real catalog file and real HTTP receivers: config and API
// channels, delivery with the outbox row's key, Alertmanager re-sends seeded from the
// outbox after a restart, and the sweep of rows no channel will ever take.
#include "daemon/notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/rules/catalog_test_util.h"
#include "tests/sinks/fake_emitter.h"
#include "tests/sinks/test_receiver.h"

namespace tidewatch::daemon {
namespace {

using rules::catalog_test::Instance;
using rules::catalog_test::MustOpen;
using rules::catalog_test::TempDir;
using rules::catalog_test::Transition;
using sinks::testing::Eventually;
using sinks::testing::TestReceiver;
using ::testing::HasSubstr;

// A notification payload as docs/NOTIFICATIONS.md has it.
std::string Payload(const std::string& sensor, const std::string& status) {
  return R"({"version":1,"idempotency_key":"tw-1-)" + sensor + R"(","status":")" + status +
         R"(","kind":"alarm","rule":"high-pressure","rule_id":1,"db":"plant","instance":"sensor=)" +
         sensor + R"(","labels":{"alertname":"high-pressure","sensor":")" + sensor +
         R"("},"annotations":{},"severity":"critical","starts_at":"2026-11-21T13:00:05Z","ends_at":)" +
         (status == "firing" ? std::string("null") : std::string(R"("2026-11-21T13:01:05Z")")) +
         "}";
}

ChannelConfig Webhook(const std::string& name, const std::string& url) {
  ChannelConfig c;
  c.name = name;
  c.kind = rules::ChannelKind::kWebhook;
  c.url = url;
  c.backoff_base = std::chrono::milliseconds(10);
  c.backoff_cap = std::chrono::milliseconds(50);
  c.lease = std::chrono::seconds(5);
  return c;
}

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MustOpen(dir_.File("catalog.db"));
    ASSERT_NE(catalog_, nullptr);
    StatusOr<rules::RuleRecord> rule = catalog_->CreateRule({"high-pressure", "plant", "{}"});
    ASSERT_TRUE(rule.ok());
    rule_ = rule->id;
  }

  std::unique_ptr<Notifier> Make(
      std::vector<ChannelConfig> config_channels, RulesNamingChannel rules_naming = nullptr,
      std::chrono::nanoseconds prune_interval = std::chrono::milliseconds(20)) {
    NotifierOptions options;
    options.config_channels = std::move(config_channels);
    options.rules_naming = std::move(rules_naming);
    options.worker.poll_interval = std::chrono::milliseconds(20);
    options.housekeeping_interval = std::chrono::milliseconds(20);
    options.prune_interval = prune_interval;
    return std::make_unique<Notifier>(*catalog_, std::move(options));
  }

  // One transition of instance sensor=<sensor> with a row on `channel`.
  void Enqueue(const std::string& sensor, const std::string& state, const std::string& channel,
               const std::string& key) {
    const std::string status = state == "firing" ? "firing" : "resolved";
    const rules::OutboxRow row{channel, key, Payload(sensor, status)};
    ASSERT_TRUE(catalog_
                    ->RecordTransition(Transition(Instance(rule_, "sensor=" + sensor, state, 1),
                                                  state == "firing" ? "inactive" : "firing"),
                                       {&row, 1})
                    .ok());
  }

  rules::OutboxCounts Counts(const std::string& channel) {
    StatusOr<rules::OutboxCounts> counts = catalog_->CountOutbox(channel);
    return counts.ok() ? *counts : rules::OutboxCounts{-1, -1, -1};
  }

  TempDir dir_;
  std::unique_ptr<rules::Catalog> catalog_;
  std::int64_t rule_ = 0;
};

TEST_F(NotifierTest, ConfigChannelIsStoredAndDeliversWithTheRowsKey) {
  TestReceiver receiver;
  auto notifier = Make({Webhook("hook", receiver.Url("/hook"))});
  ASSERT_TRUE(notifier->Start().ok());
  StatusOr<rules::ChannelRecord> stored = catalog_->GetChannel("hook");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->source, "config");
  EXPECT_TRUE(notifier->ManagedByConfig("hook"));

  Enqueue("pt-001", "firing", "hook", "k-1/hook");
  notifier->Notify();
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.requests()[0].Header("Idempotency-Key"), "k-1/hook");
  EXPECT_EQ(receiver.requests()[0].target, "/hook");
  ASSERT_TRUE(Eventually([&] { return Counts("hook").done == 1; }));
  ASSERT_TRUE(Eventually([&] {
    const NotifierStats stats = notifier->Stats();
    return stats.channels.size() == 1 && stats.channels[0].delivered == 1;
  }));
}

TEST_F(NotifierTest, RowsLeasedByADeadProcessAreSentAtOnceAfterARestart) {
  Enqueue("pt-001", "firing", "hook", "k-1");
  // A sender of the previous process claimed it for an hour, then the process died.
  constexpr std::int64_t kHour = 3'600'000'000'000;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  ASSERT_EQ(catalog_->ClaimDue("hook", now, 10, now + kHour)->size(), 1u);

  TestReceiver receiver;
  auto notifier = Make({Webhook("hook", receiver.Url("/hook"))});
  ASSERT_TRUE(notifier->Start().ok());
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.requests()[0].Header("Idempotency-Key"), "k-1");
  ASSERT_TRUE(Eventually([&] { return Counts("hook").done == 1; }));
}

TEST_F(NotifierTest, AlertmanagerIsToldAgainOfAlertsThatFiredBeforeARestart) {
  TestReceiver am;
  Enqueue("pt-001", "firing", "am", "a-1");
  Enqueue("pt-002", "firing", "am", "b-1");
  Enqueue("pt-002", "inactive", "am", "b-2");  // resolved: not re-announced
  // Delivered before the "restart".
  constexpr std::int64_t kFar = std::int64_t{1} << 62;
  for (int round = 0; round < 3; ++round) {
    StatusOr<std::vector<rules::OutboxEntry>> claimed = catalog_->ClaimDue("am", kFar, 10, kFar);
    ASSERT_TRUE(claimed.ok());
    for (const rules::OutboxEntry& row : *claimed) ASSERT_TRUE(catalog_->MarkDone(row.id).ok());
  }
  ASSERT_EQ(Counts("am").done, 3);

  ChannelConfig channel;
  channel.name = "am";
  channel.kind = rules::ChannelKind::kAlertmanager;
  channel.url = am.Url("");
  auto notifier = Make({channel});
  ASSERT_TRUE(notifier->Start().ok());
  ASSERT_TRUE(am.WaitForRequests(1));
  const sinks::testing::ReceivedRequest request = am.requests()[0];
  EXPECT_EQ(request.target, "/api/v2/alerts");
  EXPECT_THAT(request.body, HasSubstr(R"("sensor":"pt-001")"));
  EXPECT_THAT(request.body, ::testing::Not(HasSubstr("pt-002")));
}

TEST_F(NotifierTest, RowsOfAChannelThatDoesNotExistAreDeadLettered) {
  TestReceiver receiver;
  auto notifier = Make({Webhook("hook", receiver.Url("/hook"))});
  ASSERT_TRUE(notifier->Start().ok());
  Enqueue("pt-001", "firing", "ghost", "g-1");
  // The sweep counts after its catalog commit: await the count, then the rows.
  ASSERT_TRUE(Eventually([&] { return notifier->Stats().unrouted_dead == 1; }));
  EXPECT_EQ(Counts("ghost").dead, 1);
  EXPECT_EQ(Counts("ghost").pending, 0);
  EXPECT_EQ(receiver.requests().size(), 0u);
}

TEST_F(NotifierTest, DeliveredRowsArePrunedButTheNewestOfEachInstance) {
  // The rows are created at the epoch, far beyond the default retention of 120 h.
  Enqueue("pt-001", "firing", "hook", "a-1");
  Enqueue("pt-001", "inactive", "hook", "a-2");
  Enqueue("pt-002", "firing", "hook", "b-1");
  TestReceiver receiver;
  auto notifier = Make({Webhook("hook", receiver.Url("/hook"))});
  ASSERT_TRUE(notifier->Start().ok());
  ASSERT_TRUE(receiver.WaitForRequests(3));
  // a-1 goes; a-2 and b-1 stay as what each instance was last told.
  ASSERT_TRUE(Eventually([&] { return notifier->Stats().outbox_pruned == 1; }));
  EXPECT_EQ(Counts("hook"), (rules::OutboxCounts{.pending = 0, .done = 2, .dead = 0}));
  StatusOr<std::vector<rules::OutboxEntry>> kept = catalog_->LatestPerInstance("hook");
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].idempotency_key, "a-2");
  EXPECT_EQ((*kept)[1].idempotency_key, "b-1");
}

// Passes come again and again, prune_interval apart, not only at start.
TEST_F(NotifierTest, PruningGoesOnAfterTheFirstPass) {
  TestReceiver receiver;
  // Housekeeping rounds every 20 ms, a pass every 100 ms.
  auto notifier =
      Make({Webhook("hook", receiver.Url("/hook"))}, nullptr, std::chrono::milliseconds(100));
  ASSERT_TRUE(notifier->Start().ok());
  for (int round = 1; round <= 3; ++round) {
    const std::string n = std::to_string(round);
    Enqueue("pt-" + n, "firing", "hook", "f-" + n);
    Enqueue("pt-" + n, "inactive", "hook", "r-" + n);
    notifier->Notify();
    // Each round's firing is pruned by a later pass; its resolve stays as the newest.
    ASSERT_TRUE(Eventually([&] { return notifier->Stats().outbox_pruned == round; }))
        << "round " << round << ": " << notifier->Stats().outbox_pruned;
  }
  EXPECT_EQ(Counts("hook"), (rules::OutboxCounts{.pending = 0, .done = 3, .dead = 0}));
}

// A config channel that cannot be built keeps its rows pending, and CQ output it should
// carry fails (the range stays pending and is retried) instead of skipping the channel.
TEST_F(NotifierTest, AChannelThatCannotBeBuiltHoldsItsRowsAndFailsItsCqOutput) {
  ChannelConfig kafka;
  kafka.name = "downsampled";
  kafka.kind = rules::ChannelKind::kKafka;
  kafka.brokers = "127.0.0.1:1";
  kafka.topic = "plant-1m";
  kafka.properties = {{"no.such.property", "1"}};
  kafka.continuous_queries = {"*"};
  auto notifier = Make({kafka});
  ASSERT_TRUE(notifier->Start().ok());
  EXPECT_EQ(notifier->Stats().build_errors, 1);
  Enqueue("pt-001", "firing", "downsampled", "d-1");
  const Status produced =
      notifier->ProduceContinuousQueryOutput("plant", "cq_1m", "pressure,site=s1 mean=1 60\n");
  EXPECT_EQ(produced.code(), StatusCode::kUnavailable) << produced.ToString();
  EXPECT_NE(produced.message().find("downsampled"), std::string::npos) << produced.ToString();
  EXPECT_EQ(notifier->Stats().cq_produce_errors, 1);
  notifier->Stop();
  EXPECT_EQ(Counts("downsampled").pending, 1);  // neither sent nor dead-lettered
  EXPECT_EQ(Counts("downsampled").dead, 0);
}

TEST_F(NotifierTest, ApiChannelsAreStoredRebuiltAndKeptAcrossRestarts) {
  TestReceiver receiver;
  auto notifier = Make({Webhook("hook", receiver.Url("/config"))});
  ASSERT_TRUE(notifier->Start().ok());

  StatusOr<std::pair<ChannelInfo, bool>> put = notifier->Put(Webhook("api", receiver.Url("/a")));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->second);
  EXPECT_EQ(put->first.source, ChannelSource::kApi);
  ChannelConfig changed = Webhook("api", receiver.Url("/api"));
  put = notifier->Put(changed);
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->second);

  // The rebuilt worker delivers to the new URL.
  Enqueue("pt-001", "firing", "api", "api-1");
  notifier->Notify();
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.requests()[0].target, "/api");

  // Config channels are read-only; a fallback cannot dangle.
  StatusOr<std::pair<ChannelInfo, bool>> refused = notifier->Put(Webhook("hook", "http://x/"));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("managed by the config file"));
  EXPECT_FALSE(notifier->Delete("hook").ok());
  ChannelConfig with_fallback = Webhook("primary", receiver.Url("/p"));
  with_fallback.fallback = "api";
  ASSERT_TRUE(notifier->Put(with_fallback).ok());
  Status deleted = notifier->Delete("api");
  ASSERT_FALSE(deleted.ok());
  EXPECT_THAT(deleted.message(), HasSubstr("fallback of channel \"primary\""));
  with_fallback.fallback = "nowhere";
  EXPECT_FALSE(notifier->Put(with_fallback).ok());
  EXPECT_EQ(notifier->Delete("nope").code(), StatusCode::kNotFound);
  notifier.reset();

  // A restart whose config no longer has "hook": the API channels stay, "hook" is gone.
  auto restarted = Make({});
  ASSERT_TRUE(restarted->Start().ok());
  std::vector<std::string> names;
  for (const ChannelInfo& info : restarted->List()) {
    names.push_back(info.config.name + "/" + std::string(ChannelSourceName(info.source)));
  }
  EXPECT_THAT(names, ::testing::ElementsAre("api/api", "primary/api"));
  EXPECT_EQ(restarted->Get("api")->config, changed);
  EXPECT_EQ(catalog_->GetChannel("hook").status().code(), StatusCode::kNotFound);
}

// A rule stored through WithChannels and a Delete of its channel cannot interleave:
// the delete waits, then sees the rule and is refused.
TEST_F(NotifierTest, WithChannelsHoldsOffADeleteUntilTheChangeIsDone) {
  std::mutex mu;
  std::condition_variable cv;
  bool changing = false;
  bool asked_while_changing = false;  // the delete looked at the rules mid-change
  std::vector<std::string> rules_of_hook;
  auto notifier = Make({}, [&](std::string_view) {
    std::lock_guard lock(mu);
    asked_while_changing = asked_while_changing || changing;
    cv.notify_all();
    return rules_of_hook;
  });
  ASSERT_TRUE(notifier->Start().ok());
  TestReceiver receiver;
  ASSERT_TRUE(notifier->Put(Webhook("hook", receiver.Url("/hook"))).ok());

  Status held;
  std::thread storing([&] {
    held = notifier->WithChannels({"hook"}, [&] {
      std::unique_lock lock(mu);
      changing = true;
      cv.notify_all();
      // Gives a delete that does not wait the time to look at the rules now.
      cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return asked_while_changing; });
      rules_of_hook.push_back("high-pressure");
      changing = false;
    });
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return changing; }));
  }
  const Status deleted = notifier->Delete("hook");
  storing.join();
  EXPECT_TRUE(held.ok()) << held.ToString();
  EXPECT_FALSE(asked_while_changing);
  EXPECT_EQ(deleted.code(), StatusCode::kInvalidArgument) << deleted.ToString();
  EXPECT_THAT(deleted.message(), HasSubstr("used by rules: \"high-pressure\""));
  EXPECT_TRUE(notifier->Get("hook").ok());
  EXPECT_EQ(notifier->WithChannels({"hook", "nope"}, [] { ADD_FAILURE() << "ran"; }).code(),
            StatusCode::kNotFound);
}

TEST_F(NotifierTest, ReloadMakesTheConfigChannelsThoseOfTheFile) {
  TestReceiver receiver;
  auto notifier = Make({Webhook("a", receiver.Url("/a-old")), Webhook("b", receiver.Url("/b"))});
  ASSERT_TRUE(notifier->Start().ok());
  ASSERT_TRUE(notifier->Put(Webhook("api", receiver.Url("/api"))).ok());
  const auto names = [&] {
    std::vector<std::string> out;
    for (const ChannelInfo& info : notifier->List()) {
      out.push_back(info.config.name + "/" + std::string(ChannelSourceName(info.source)));
    }
    return out;
  };

  // a changes, b leaves, c comes; the API's channel stays.
  ASSERT_TRUE(notifier
                  ->ReloadConfigChannels(
                      {Webhook("a", receiver.Url("/a-new")), Webhook("c", receiver.Url("/c"))})
                  .ok());
  EXPECT_THAT(names(), ::testing::ElementsAre("a/config", "api/api", "c/config"));
  EXPECT_EQ(catalog_->GetChannel("b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog_->GetChannel("c")->source, "config");
  Enqueue("pt-001", "firing", "a", "a-1");
  notifier->Notify();
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.requests()[0].target, "/a-new");

  // A set that fails the checks changes nothing.
  ChannelConfig dangling = Webhook("a", receiver.Url("/a-newer"));
  dangling.fallback = "nowhere";
  const Status refused = notifier->ReloadConfigChannels({dangling});
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << refused.ToString();
  EXPECT_THAT(names(), ::testing::ElementsAre("a/config", "api/api", "c/config"));
  EXPECT_EQ(notifier->Get("a")->config.url, receiver.Url("/a-new"));
  EXPECT_TRUE(catalog_->GetChannel("c").ok());

  // Reading the same file again keeps what did not change as it was.
  const std::int64_t updated_at = notifier->Get("c")->updated_at;
  ASSERT_TRUE(notifier
                  ->ReloadConfigChannels(
                      {Webhook("a", receiver.Url("/a-new")), Webhook("c", receiver.Url("/c"))})
                  .ok());
  EXPECT_EQ(notifier->Get("c")->updated_at, updated_at);
}

}  // namespace
}  // namespace tidewatch::daemon
