// DeliveryWorker over the in-memory FakeOutboxQueue with scripted emitters: outcomes,
// retries and dead-lettering, ordering per alert instance under concurrency, isolation
// of a stalled channel, rate limit, circuit breaker, fallback, Notify(), outbox errors.
// Threads everywhere, so TSan reruns it (label concurrency).
#include "sinks/delivery_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/sinks/fake_emitter.h"
#include "tests/sinks/fake_outbox_queue.h"

namespace tidewatch::sinks {
namespace {

using testing::Delivered;
using testing::Eventually;
using testing::FakeEmitter;
using testing::FakeOutboxQueue;
using testing::Retry;
using State = FakeOutboxQueue::State;
using std::chrono::milliseconds;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSecond;

// Fast retries on the real clock: backoff of at most 1 ms, polling every 1 ms.
ChannelPolicy FastPolicy(std::int64_t concurrency = 1) {
  ChannelPolicy p;
  p.max_concurrency = concurrency;
  p.retry.base = milliseconds(1);
  p.retry.cap = milliseconds(1);
  p.breaker.failure_threshold = 0;
  return p;
}

DeliveryWorkerOptions FastOptions() {
  DeliveryWorkerOptions o;
  o.poll_interval = milliseconds(1);
  o.seed = 1;
  return o;
}

std::int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ChannelStats StatsOf(const DeliveryWorker& worker, const std::string& channel) {
  for (ChannelStats& s : worker.Stats()) {
    if (s.channel == channel) return s;
  }
  ADD_FAILURE() << "no channel " << channel;
  return {};
}

TEST(DeliveryWorkerTest, DeliversEveryRowAndRecordsLatency) {
  FakeOutboxQueue queue;
  const std::int64_t now = WallNow();
  for (int i = 0; i < 30; ++i) queue.Add(i % 2 == 0 ? "a" : "b", "k" + std::to_string(i), now);
  auto a = std::make_shared<FakeEmitter>();
  auto b = std::make_shared<FakeEmitter>();
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("a", a, FastPolicy(4)).ok());
  ASSERT_TRUE(worker.AddChannel("b", b, FastPolicy(2)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 30; }));
  worker.Stop();
  EXPECT_EQ(a->sends(), 15u);
  EXPECT_EQ(b->sends(), 15u);
  const ChannelStats s = StatsOf(worker, "a");
  EXPECT_EQ(s.delivered, 15u);
  EXPECT_EQ(s.retries + s.dead + s.outbox_errors, 0u);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_EQ(s.latency_count, 15u);
  EXPECT_EQ(s.latency_cumulative.back(), 15u);  // all within 24 h
  EXPECT_GE(s.latency_sum_seconds, 0.0);
}

TEST(DeliveryWorkerTest, PermanentFailureIsDeadAtOnce) {
  FakeOutboxQueue queue;
  const std::int64_t id = queue.Add("hook", "k", WallNow());
  auto emitter = std::make_shared<FakeEmitter>([](const Notification&) {
    return DeliveryResult{DeliveryOutcome::kPermanent, "HTTP 404 Not Found", std::nullopt, 404};
  });
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDead) == 1; }));
  worker.Stop();
  EXPECT_EQ(emitter->sends(), 1u);
  EXPECT_EQ(queue.Get(id).dead_reason, "HTTP 404 Not Found");
  const ChannelStats s = StatsOf(worker, "hook");
  EXPECT_EQ(s.dead, 1u);
  EXPECT_EQ(s.permanent_failures, 1u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.last_error, "HTTP 404 Not Found");
}

TEST(DeliveryWorkerTest, AttemptsExhaustedGoesDeadWithTheLastErrorAndOneKey) {
  FakeOutboxQueue queue;
  const std::int64_t id = queue.Add("hook", "k", WallNow());
  auto emitter = std::make_shared<FakeEmitter>([](const Notification& n) {
    return Retry("HTTP 500 on attempt " + std::to_string(n.attempts));
  });
  ChannelPolicy policy = FastPolicy();
  policy.retry.max_attempts = 4;
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, policy).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDead) == 1; }));
  worker.Stop();
  EXPECT_EQ(queue.Get(id).dead_reason, "HTTP 500 on attempt 4");
  EXPECT_EQ(queue.Get(id).notification.attempts, 4);
  std::set<std::string> keys;
  for (const auto& e : emitter->events()) keys.insert(e.notification.idempotency_key);
  EXPECT_EQ(keys, std::set<std::string>{"idem-" + std::to_string(id)});
  EXPECT_EQ(emitter->sends(), 4u);
  const ChannelStats s = StatsOf(worker, "hook");
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.dead, 1u);
  EXPECT_EQ(s.permanent_failures, 0u);
}

TEST(DeliveryWorkerTest, TooOldRowGoesDeadAfterOneFailedAttempt) {
  FakeOutboxQueue queue;
  const std::int64_t id = queue.Add("hook", "k", WallNow() - 25 * 3600 * kSecond);
  auto emitter = std::make_shared<FakeEmitter>([](const Notification&) { return Retry("down"); });
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDead) == 1; }));
  worker.Stop();
  EXPECT_EQ(queue.Get(id).notification.attempts, 1);
  EXPECT_EQ(queue.Get(id).dead_reason, "down");
}

TEST(DeliveryWorkerTest, RetryAfterIsTheLeastWait) {
  FakeOutboxQueue queue;
  std::atomic<std::int64_t> clock{kT0};
  const std::int64_t id = queue.Add("hook", "k", kT0);
  auto emitter = std::make_shared<FakeEmitter>([](const Notification&) {
    return DeliveryResult{DeliveryOutcome::kRetry, "HTTP 429", std::chrono::minutes(10), 429};
  });
  DeliveryWorkerOptions options = FastOptions();
  options.clock = [&] { return clock.load(); };
  DeliveryWorker worker(queue, options);
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return StatsOf(worker, "hook").retries == 1; }));
  worker.Stop();
  EXPECT_EQ(queue.Get(id).next_attempt_at, kT0 + 600 * kSecond);
  EXPECT_EQ(queue.Get(id).last_error, "HTTP 429");
  EXPECT_EQ(emitter->sends(), 1u);
}

// 40 alert instances, each a firing then a resolve, 4 senders; every firing fails twice
// before it goes through. No resolve may be sent before its firing was delivered.
TEST(DeliveryWorkerTest, ResolveNeverOvertakesItsFiringUnderConcurrency) {
  FakeOutboxQueue queue;
  const std::int64_t now = WallNow();
  std::map<std::int64_t, std::string> kind;  // id -> "fire" / "resolve"
  for (int i = 0; i < 40; ++i) kind[queue.Add("hook", "rule/" + std::to_string(i), now)] = "fire";
  for (int i = 0; i < 40; ++i) {
    kind[queue.Add("hook", "rule/" + std::to_string(i), now)] = "resolve";
  }
  auto emitter = std::make_shared<FakeEmitter>([&kind](const Notification& n) {
    if (kind.at(n.id) == "fire" && n.attempts <= 2) return Retry("HTTP 503");
    return Delivered();
  });
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy(4)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 80; }));
  worker.Stop();
  std::set<std::string> fired;  // keys whose firing was delivered
  std::size_t concurrent = 0;
  std::size_t max_concurrent = 0;
  for (const FakeEmitter::Event& e : emitter->events()) {
    const std::string& key = e.notification.ordering_key;
    concurrent = e.completed ? concurrent - 1 : concurrent + 1;
    max_concurrent = std::max(max_concurrent, concurrent);
    if (kind.at(e.notification.id) == "fire") {
      EXPECT_FALSE(fired.contains(key)) << "firing of " << key << " sent after delivery";
      if (e.completed && e.outcome == DeliveryOutcome::kDelivered) fired.insert(key);
    } else {
      EXPECT_TRUE(fired.contains(key)) << "resolve of " << key << " before its firing";
    }
  }
  EXPECT_EQ(fired.size(), 40u);
  EXPECT_LE(max_concurrent, 4u);
  EXPECT_EQ(StatsOf(worker, "hook").retries, 80u);
}

TEST(DeliveryWorkerTest, StalledChannelDoesNotDelayAnother) {
  FakeOutboxQueue queue;
  const std::int64_t now = WallNow();
  for (int i = 0; i < 10; ++i) queue.Add("stuck", "s" + std::to_string(i), now);
  for (int i = 0; i < 50; ++i) queue.Add("fast", "f" + std::to_string(i), now);
  auto stuck = std::make_shared<FakeEmitter>();
  stuck->SetGate(true);
  auto fast = std::make_shared<FakeEmitter>();
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("stuck", stuck, FastPolicy(2)).ok());
  ASSERT_TRUE(worker.AddChannel("fast", fast, FastPolicy(2)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return stuck->blocked() == 2; }));
  ASSERT_TRUE(
      Eventually([&] { return fast->sends() == 50 && StatsOf(worker, "fast").delivered == 50; }));
  EXPECT_EQ(stuck->blocked(), 2u);  // still stuck: the fast channel did not wait for it
  EXPECT_EQ(StatsOf(worker, "stuck").in_flight, 2);
  EXPECT_EQ(StatsOf(worker, "stuck").delivered, 0u);
  // Stop waits for the stuck sends to finish; release them concurrently.
  std::thread release([&] { stuck->SetGate(false); });
  worker.Stop();
  release.join();
  const ChannelStats s = StatsOf(worker, "stuck");
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_GE(s.delivered, 2u);  // the outcomes of the stuck sends were recorded
  EXPECT_EQ(queue.Count(State::kDone), 50 + static_cast<std::int64_t>(s.delivered));
}

// Rate 10/s, burst 2 on a test clock stepping 10 ms: every send happens at a clock time
// t with sends so far <= 2 + 10 * (t - t0).
TEST(DeliveryWorkerTest, RateLimitHoldsOverTheInjectedClock) {
  FakeOutboxQueue queue;
  std::atomic<std::int64_t> clock{kT0};
  for (int i = 0; i < 100; ++i) queue.Add("hook", "k" + std::to_string(i), kT0);
  std::atomic<std::int64_t> sent{0};
  std::atomic<bool> violated{false};
  auto emitter = std::make_shared<FakeEmitter>([&](const Notification&) {
    const std::int64_t n = ++sent;
    const std::int64_t elapsed = clock.load() - kT0;
    if (n > 2 + 10 * elapsed / kSecond) violated = true;
    return Delivered();
  });
  DeliveryWorkerOptions options = FastOptions();
  options.clock = [&] { return clock.load(); };
  ChannelPolicy policy = FastPolicy(4);
  policy.rate_per_s = 10;
  policy.burst = 2;
  DeliveryWorker worker(queue, options);
  ASSERT_TRUE(worker.AddChannel("hook", emitter, policy).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return sent.load() == 2; }));
  for (int step = 1; step <= 300; ++step) {  // 3 s of test time
    clock += kSecond / 100;
    if (step % 10 == 0) {  // each 100 ms of test time earns one token: await its send
      const std::int64_t expected = 2 + step / 10;
      ASSERT_TRUE(Eventually([&] { return sent.load() >= expected; })) << "step " << step;
    }
  }
  worker.Stop();
  EXPECT_FALSE(violated.load());
  EXPECT_EQ(sent.load(), 32);
}

// Threshold 3, open 10 s, on a test clock: three failures open it; no send happens
// while open; after 10 s one probe goes out, succeeds and closes it.
TEST(DeliveryWorkerTest, BreakerOpensThenProbesAndCloses) {
  FakeOutboxQueue queue;
  std::atomic<std::int64_t> clock{kT0};
  for (int i = 0; i < 6; ++i) queue.Add("hook", "k" + std::to_string(i), kT0);
  std::atomic<bool> healthy{false};
  std::atomic<std::int64_t> opened_at{0};
  std::atomic<bool> sent_while_open{false};
  auto emitter = std::make_shared<FakeEmitter>([&](const Notification&) {
    const std::int64_t t = clock.load();
    if (opened_at.load() != 0 && t < opened_at.load() + 10 * kSecond) sent_while_open = true;
    if (healthy.load()) return Delivered();
    // Retry-After 1 h: the failed rows are not retried within the test.
    return DeliveryResult{DeliveryOutcome::kRetry, "HTTP 502", std::chrono::hours(1), 502};
  });
  DeliveryWorkerOptions options = FastOptions();
  options.clock = [&] { return clock.load(); };
  ChannelPolicy policy = FastPolicy(1);
  policy.breaker.failure_threshold = 3;
  policy.breaker.open_for = std::chrono::seconds(10);
  DeliveryWorker worker(queue, options);
  ASSERT_TRUE(worker.AddChannel("hook", emitter, policy).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return StatsOf(worker, "hook").breaker == BreakerState::kOpen; }));
  opened_at = clock.load();
  EXPECT_EQ(emitter->sends(), 3u);
  const std::int64_t claims = queue.claims();
  for (int step = 0; step < 9; ++step) {  // through the open period, 1 s at a time
    clock += kSecond;
    worker.Notify();
  }
  // Without a fallback an open breaker claims nothing: the rows keep their attempts.
  EXPECT_EQ(queue.claims(), claims);
  healthy = true;
  clock += kSecond;  // open_for has passed
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 3; }));
  worker.Stop();
  EXPECT_FALSE(sent_while_open.load());
  EXPECT_EQ(StatsOf(worker, "hook").breaker, BreakerState::kClosed);
  EXPECT_EQ(emitter->sends(), 6u);
  EXPECT_EQ(queue.Get(1).state, State::kPending);  // waits for its Retry-After
}

TEST(DeliveryWorkerTest, FallbackDeliversAfterNFailures) {
  FakeOutboxQueue queue;
  const std::int64_t id = queue.Add("primary", "k", WallNow());
  auto primary = std::make_shared<FakeEmitter>([](const Notification&) { return Retry("down"); });
  auto backup = std::make_shared<FakeEmitter>();
  ChannelPolicy policy = FastPolicy();
  policy.fallback = "backup";
  policy.fallback_after_failures = 3;
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("primary", primary, policy).ok());
  ASSERT_TRUE(worker.AddChannel("backup", backup, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 1; }));
  worker.Stop();
  EXPECT_EQ(primary->sends(), 3u);
  ASSERT_EQ(backup->sends(), 1u);
  const Notification copy = backup->events().front().notification;
  EXPECT_EQ(copy.channel, "backup");
  EXPECT_EQ(copy.idempotency_key, "idem-" + std::to_string(id));
  EXPECT_EQ(copy.attempts, 3);
  const ChannelStats s = StatsOf(worker, "primary");
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.delivered_via_fallback, 1u);
  EXPECT_EQ(s.retries, 2u);
}

TEST(DeliveryWorkerTest, FailingFallbackLeavesThePrimaryOutcome) {
  FakeOutboxQueue queue;
  const std::int64_t id = queue.Add("primary", "k", WallNow());
  auto primary = std::make_shared<FakeEmitter>([](const Notification&) { return Retry("down"); });
  auto backup = std::make_shared<FakeEmitter>([](const Notification&) {
    return DeliveryResult{DeliveryOutcome::kPermanent, "HTTP 400", std::nullopt, 400};
  });
  ChannelPolicy policy = FastPolicy();
  policy.fallback = "backup";
  policy.fallback_after_failures = 1;
  policy.retry.max_attempts = 2;
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("primary", primary, policy).ok());
  ASSERT_TRUE(worker.AddChannel("backup", backup, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDead) == 1; }));
  worker.Stop();
  EXPECT_EQ(backup->sends(), 2u);
  EXPECT_EQ(queue.Get(id).dead_reason, "down; fallback 'backup': HTTP 400");
}

// An open breaker with a fallback: rows still go out, through the fallback, without
// calling the dead primary.
TEST(DeliveryWorkerTest, OpenBreakerHandsRowsToTheFallback) {
  FakeOutboxQueue queue;
  const std::int64_t now = WallNow();
  for (int i = 0; i < 5; ++i) queue.Add("primary", "k" + std::to_string(i), now);
  auto primary = std::make_shared<FakeEmitter>([](const Notification&) { return Retry("down"); });
  auto backup = std::make_shared<FakeEmitter>();
  ChannelPolicy policy = FastPolicy();
  policy.breaker.failure_threshold = 1;
  policy.breaker.open_for = std::chrono::hours(1);
  policy.fallback = "backup";
  policy.fallback_after_failures = 2;
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("primary", primary, policy).ok());
  ASSERT_TRUE(worker.AddChannel("backup", backup, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 5; }));
  worker.Stop();
  EXPECT_EQ(primary->sends(), 1u);  // the failure that opened the breaker
  EXPECT_EQ(backup->sends(), 5u);
  EXPECT_EQ(StatsOf(worker, "primary").delivered_via_fallback, 5u);
  EXPECT_EQ(StatsOf(worker, "primary").breaker, BreakerState::kOpen);
}

TEST(DeliveryWorkerTest, NotifyWakesIdleSenders) {
  FakeOutboxQueue queue;
  auto emitter = std::make_shared<FakeEmitter>();
  DeliveryWorkerOptions options = FastOptions();
  options.poll_interval = std::chrono::hours(1);  // only Notify() can wake them in time
  DeliveryWorker worker(queue, options);
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy(3)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.claims() == 3; }));  // all idle, nothing due
  queue.Add("hook", "k", WallNow());
  worker.Notify();
  EXPECT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 1; }));
  worker.Stop();  // wakes the sleeping senders too
}

TEST(DeliveryWorkerTest, OutboxErrorsAreCountedAndOvercome) {
  FakeOutboxQueue queue;
  queue.FailNextClaims(3);
  queue.Add("hook", "k", WallNow());
  auto emitter = std::make_shared<FakeEmitter>();
  DeliveryWorker worker(queue, FastOptions());
  ASSERT_TRUE(worker.AddChannel("hook", emitter, FastPolicy()).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(Eventually([&] { return queue.Count(State::kDone) == 1; }));
  worker.Stop();
  const ChannelStats s = StatsOf(worker, "hook");
  EXPECT_EQ(s.outbox_errors, 3u);
  EXPECT_EQ(s.last_error, "UNAVAILABLE: injected claim failure");
  EXPECT_EQ(s.delivered, 1u);
}

TEST(DeliveryWorkerTest, RejectsBadChannels) {
  FakeOutboxQueue queue;
  auto emitter = std::make_shared<FakeEmitter>();
  DeliveryWorker worker(queue, FastOptions());
  EXPECT_FALSE(worker.AddChannel("", emitter, {}).ok());
  EXPECT_FALSE(worker.AddChannel("x", nullptr, {}).ok());
  ChannelPolicy bad;
  bad.max_concurrency = 0;
  EXPECT_FALSE(worker.AddChannel("x", emitter, bad).ok());
  bad = {};
  bad.retry.cap = bad.retry.base / 2;
  EXPECT_FALSE(worker.AddChannel("x", emitter, bad).ok());
  bad = {};
  bad.fallback = "x";
  EXPECT_FALSE(worker.AddChannel("x", emitter, bad).ok());
  bad = {};
  bad.lease = std::chrono::nanoseconds(0);
  EXPECT_FALSE(worker.AddChannel("x", emitter, bad).ok());
  ASSERT_TRUE(worker.AddChannel("x", emitter, {}).ok());
  EXPECT_FALSE(worker.AddChannel("x", emitter, {}).ok());
  ChannelPolicy orphan;
  orphan.fallback = "nowhere";
  ASSERT_TRUE(worker.AddChannel("y", emitter, orphan).ok());
  const Status s = worker.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "channel 'y': unknown fallback 'nowhere'");
}

}  // namespace
}  // namespace tidewatch::sinks
