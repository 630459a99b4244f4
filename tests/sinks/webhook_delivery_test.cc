// End to end: DeliveryWorker + WebhookEmitter + a real HTTP receiver on 127.0.0.1 that
// fails, throttles, refuses or stalls. Retries, give-up and dead-lettering behave as
// specified, and every attempt of a row carries the same Idempotency-Key.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sinks/delivery_worker.h"
#include "sinks/webhook_emitter.h"
#include "tests/sinks/fake_emitter.h"
#include "tests/sinks/fake_outbox_queue.h"
#include "tests/sinks/test_receiver.h"

namespace tidewatch::sinks {
namespace {

using testing::Eventually;
using testing::FakeOutboxQueue;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TestReceiver;
using State = FakeOutboxQueue::State;
using std::chrono::milliseconds;

std::int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Emitter> Webhook(const TestReceiver& receiver,
                                 milliseconds request_timeout = milliseconds(5000)) {
  WebhookOptions options;
  options.url = receiver.Url("/hook");
  options.http.request_timeout = request_timeout;
  StatusOr<std::unique_ptr<WebhookEmitter>> emitter = WebhookEmitter::Create(options);
  EXPECT_TRUE(emitter.ok()) << emitter.status().ToString();
  return emitter.ok() ? std::shared_ptr<Emitter>(std::move(*emitter)) : nullptr;
}

ChannelPolicy FastPolicy(std::int64_t concurrency = 1) {
  ChannelPolicy p;
  p.max_concurrency = concurrency;
  p.retry.base = milliseconds(1);
  p.retry.cap = milliseconds(5);
  p.breaker.failure_threshold = 0;
  return p;
}

DeliveryWorkerOptions FastOptions() {
  DeliveryWorkerOptions o;
  o.poll_interval = milliseconds(2);
  o.seed = 11;
  return o;
}

ChannelStats StatsOf(const DeliveryWorker& worker, const std::string& channel) {
  for (ChannelStats& s : worker.Stats()) {
    if (s.channel == channel) return s;
  }
  ADD_FAILURE() << "no channel " << channel;
  return {};
}

ScriptedResponse Answer(int status, std::string body = "") {
  ScriptedResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ScriptedResponse Stalled(milliseconds stall) {
  ScriptedResponse r;
  r.stall = stall;
  return r;
}

// The Idempotency-Key of every request, e.g. "idem-1 idem-1 idem-1".
std::string Keys(const std::vector<ReceivedRequest>& requests) {
  std::string out;
  for (const ReceivedRequest& r : requests) {
    if (!out.empty()) out += " ";
    out += r.Header("Idempotency-Key");
  }
  return out;
}

class WebhookDeliveryTest : public ::testing::Test {
 protected:
  // Runs one channel "hook" over `receiver` until `done` holds, then stops.
  void Run(const TestReceiver& receiver, ChannelPolicy policy, const std::function<bool()>& done,
           milliseconds request_timeout = milliseconds(5000)) {
    DeliveryWorker worker(queue_, FastOptions());
    ASSERT_TRUE(worker.AddChannel("hook", Webhook(receiver, request_timeout), policy).ok());
    ASSERT_TRUE(worker.Start().ok());
    ASSERT_TRUE(Eventually(done, milliseconds(30000)));
    worker.Stop();
    stats_ = StatsOf(worker, "hook");
  }

  FakeOutboxQueue queue_;
  ChannelStats stats_;
};

TEST_F(WebhookDeliveryTest, FailingFirstRequestsAreRetriedWithOneKey) {
  TestReceiver receiver;
  receiver.Respond(Answer(500, "busy"), 2);
  receiver.Respond(Answer(503), 1);
  const std::int64_t id = queue_.Add("hook", "1/a", WallNow(), R"({"status":"firing"})");
  Run(receiver, FastPolicy(), [&] { return queue_.Count(State::kDone) == 1; });
  const std::vector<ReceivedRequest> requests = receiver.requests();
  EXPECT_EQ(Keys(requests), "idem-1 idem-1 idem-1 idem-1");
  EXPECT_EQ(requests.back().body, R"({"status":"firing"})");
  EXPECT_EQ(requests.back().target, "/hook");
  EXPECT_EQ(queue_.Get(id).notification.attempts, 4);
  EXPECT_EQ(stats_.retries, 3u);
  EXPECT_EQ(stats_.delivered, 1u);
}

TEST_F(WebhookDeliveryTest, TooManyRequestsHonoursRetryAfter) {
  TestReceiver receiver;
  ScriptedResponse throttled = Answer(429);
  throttled.headers = {{"Retry-After", "1"}};
  receiver.Respond(throttled);
  queue_.Add("hook", "1/a", WallNow());
  const std::int64_t started = WallNow();
  Run(receiver, FastPolicy(), [&] { return queue_.Count(State::kDone) == 1; });
  EXPECT_EQ(Keys(receiver.requests()), "idem-1 idem-1");
  EXPECT_EQ(stats_.retries, 1u);
  // The retry was scheduled at least a second after the 429, by the worker's own clock.
  EXPECT_GE(WallNow() - started, 1'000'000'000);
}

TEST_F(WebhookDeliveryTest, NotFoundIsDeadAtOnce) {
  TestReceiver receiver;
  receiver.SetDefault(Answer(404, "no such hook"));
  const std::int64_t id = queue_.Add("hook", "1/a", WallNow());
  Run(receiver, FastPolicy(), [&] { return queue_.Count(State::kDead) == 1; });
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(queue_.Get(id).dead_reason, "HTTP 404: no such hook");
  EXPECT_EQ(stats_.permanent_failures, 1u);
}

TEST_F(WebhookDeliveryTest, ServerErrorsUntilGiveUpAreDeadWithTheLastError) {
  TestReceiver receiver;
  receiver.SetDefault(Answer(502, "bad gateway"));
  const std::int64_t id = queue_.Add("hook", "1/a", WallNow());
  ChannelPolicy policy = FastPolicy();
  policy.retry.max_attempts = 3;
  Run(receiver, policy, [&] { return queue_.Count(State::kDead) == 1; });
  EXPECT_EQ(Keys(receiver.requests()), "idem-1 idem-1 idem-1");
  EXPECT_EQ(queue_.Get(id).dead_reason, "HTTP 502: bad gateway");
  EXPECT_EQ(stats_.dead, 1u);
  EXPECT_EQ(stats_.retries, 2u);
}

TEST_F(WebhookDeliveryTest, StalledResponseTimesOutAndIsRetried) {
  TestReceiver receiver;
  receiver.Respond(Stalled(milliseconds(20000)));
  ScriptedResponse hang_up;
  hang_up.close_without_answer = true;
  receiver.Respond(hang_up);
  const std::int64_t id = queue_.Add("hook", "1/a", WallNow());
  Run(
      receiver, FastPolicy(), [&] { return queue_.Count(State::kDone) == 1; }, milliseconds(300));
  EXPECT_EQ(Keys(receiver.requests()), "idem-1 idem-1 idem-1");
  EXPECT_EQ(queue_.Get(id).notification.attempts, 3);
}

// A receiver that stalls every request holds its own channel's senders only.
TEST_F(WebhookDeliveryTest, StalledEndpointDoesNotDelayAnother) {
  TestReceiver slow;
  slow.SetDefault(Stalled(milliseconds(60000)));
  TestReceiver fast;
  const std::int64_t now = WallNow();
  for (int i = 0; i < 4; ++i) queue_.Add("slow", "s/" + std::to_string(i), now);
  for (int i = 0; i < 20; ++i) queue_.Add("fast", "f/" + std::to_string(i), now);
  DeliveryWorker worker(queue_, FastOptions());
  ASSERT_TRUE(worker.AddChannel("slow", Webhook(slow, milliseconds(1500)), FastPolicy(2)).ok());
  ASSERT_TRUE(worker.AddChannel("fast", Webhook(fast), FastPolicy(2)).ok());
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(slow.WaitForRequests(2));
  ASSERT_TRUE(fast.WaitForRequests(20));
  ASSERT_TRUE(Eventually([&] { return StatsOf(worker, "fast").delivered == 20; }));
  EXPECT_EQ(StatsOf(worker, "slow").delivered, 0u);
  worker.Stop();  // bounded: the stalled sends end at their 1.5 s timeout
  EXPECT_EQ(StatsOf(worker, "slow").in_flight, 0);
  EXPECT_EQ(queue_.Count(State::kPending), 4);
}

}  // namespace
}  // namespace tidewatch::sinks
