// AlertmanagerEmitter against the test receiver: the exact body, resolve times, and the
// re-send schedule under an injected clock; plus the RFC 3339 helpers it relies on.
#include "sinks/alertmanager_emitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "store/rfc3339.h"
#include "tests/sinks/test_receiver.h"

namespace tidewatch::sinks {
namespace {

using std::chrono::milliseconds;
using store::FormatRfc3339;
using store::ParseRfc3339;
using ::testing::HasSubstr;
using testing::TestReceiver;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kMinute = 60 * kSecond;
const std::int64_t kStart = *ParseRfc3339("2026-11-21T13:00:05Z");

std::string Payload(const std::string& status, const std::string& site = "site1",
                    const std::string& ends_at = "null") {
  return R"({"version":1,"status":")" + status +
         R"(","labels":{"alertname":"high-pressure","site":")" + site +
         R"(","sensor":"pt-001","sensor.type":"pt","9lives":"x","empty":""},)"
         R"("annotations":{"summary":"pt-001 at 9.7 bar","runbook-url":"http://r"},)"
         R"("starts_at":"2026-11-21T13:00:05Z","ends_at":)" +
         ends_at + R"(,"generator_url":"http://tw:8086/api/v1/alerts?rule=high-pressure"})";
}

Notification MakeNotification(std::string payload) {
  Notification notification;
  notification.id = 1;
  notification.idempotency_key = "tw-1-0000000000000000-1";
  notification.payload = std::move(payload);
  return notification;
}

class AlertmanagerEmitterTest : public ::testing::Test {
 protected:
  std::unique_ptr<AlertmanagerEmitter> MakeEmitter(AlertmanagerOptions options = {}) {
    if (options.url.empty()) options.url = receiver_.Url("/prefix/");
    options.clock = [this] { return now_.load(); };
    StatusOr<std::unique_ptr<AlertmanagerEmitter>> emitter =
        AlertmanagerEmitter::Create(std::move(options));
    EXPECT_TRUE(emitter.ok()) << emitter.status().ToString();
    return std::move(*emitter);
  }

  // The alerts of request `i`, compact, for comparing once.
  std::string Body(std::size_t i) const {
    const auto requests = receiver_.requests();
    if (i >= requests.size()) return "<no request " + std::to_string(i) + ">";
    return nlohmann::json::parse(requests[i].body).dump();
  }

  TestReceiver receiver_;
  std::atomic<std::int64_t> now_{kStart + 10 * kSecond};
};

TEST_F(AlertmanagerEmitterTest, FiringAlertHasAlertmanagerShape) {
  auto emitter = MakeEmitter();
  const DeliveryResult result = emitter->Send(MakeNotification(Payload("firing")));
  EXPECT_EQ(result.outcome, DeliveryOutcome::kDelivered) << result.error;
  const auto requests = receiver_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/prefix/api/v2/alerts");
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("Idempotency-Key"), "tw-1-0000000000000000-1");
  // endsAt = now (13:00:15) + 4 x 1 min.
  EXPECT_EQ(Body(0), R"([{"annotations":{"runbook_url":"http://r","summary":"pt-001 at 9.7 bar"},)"
                     R"("endsAt":"2026-11-21T13:04:15Z",)"
                     R"("generatorURL":"http://tw:8086/api/v1/alerts?rule=high-pressure",)"
                     R"("labels":{"_9lives":"x","alertname":"high-pressure","sensor":"pt-001",)"
                     R"("sensor_type":"pt","site":"site1"},"startsAt":"2026-11-21T13:00:05Z"}])");
}

TEST_F(AlertmanagerEmitterTest, ResolvedAlertEndsAtItsEndNeverInTheFuture) {
  AlertmanagerOptions options;
  options.resolve_timeout = milliseconds(90'000);
  auto emitter = MakeEmitter(options);
  emitter->Send(MakeNotification(Payload("resolved", "site1", R"("2026-11-21T13:00:09.5Z")")));
  emitter->Send(MakeNotification(Payload("resolved", "site2", R"("2030-01-01T00:00:00Z")")));
  emitter->Send(MakeNotification(Payload("resolved", "site3", "null")));
  emitter->Send(MakeNotification(Payload("resolved", "site4", R"("2000-01-01T00:00:00Z")")));
  const char* expected[] = {"2026-11-21T13:00:09.5Z", "2026-11-21T13:00:15Z",
                            "2026-11-21T13:00:15Z", "2026-11-21T13:00:05Z"};
  for (std::size_t i = 0; i < 4; ++i) {
    const nlohmann::json alert = nlohmann::json::parse(receiver_.requests().at(i).body).at(0);
    EXPECT_EQ(alert["endsAt"], expected[i]) << i;
    EXPECT_EQ(alert["startsAt"], "2026-11-21T13:00:05Z");
  }
}

TEST_F(AlertmanagerEmitterTest, ResendsFiringEveryIntervalAndResolvedForAWhile) {
  AlertmanagerOptions options;
  options.resend_interval = milliseconds(60'000);
  options.resolved_resend_for = milliseconds(150'000);
  auto emitter = MakeEmitter(options);
  const std::int64_t t0 = now_.load();
  ASSERT_EQ(emitter->Send(MakeNotification(Payload("firing", "a"))).outcome,
            DeliveryOutcome::kDelivered);
  ASSERT_EQ(emitter->Send(MakeNotification(Payload("firing", "b"))).outcome,
            DeliveryOutcome::kDelivered);
  EXPECT_EQ(emitter->remembered(), 2u);

  // Not due yet: no request at all.
  EXPECT_EQ(emitter->Resend(t0 + 59 * kSecond).http_status, 0);
  EXPECT_EQ(receiver_.requests().size(), 2u);

  // Due: one batched POST of both with a fresh endsAt (now + 4 min).
  EXPECT_EQ(emitter->Resend(t0 + 60 * kSecond).http_status, 200);
  ASSERT_EQ(receiver_.requests().size(), 3u);
  nlohmann::json batch = nlohmann::json::parse(receiver_.requests()[2].body);
  ASSERT_EQ(batch.size(), 2u);
  for (const auto& alert : batch) EXPECT_EQ(alert["endsAt"], FormatRfc3339(t0 + 5 * kMinute));
  // A batch repeats several alerts' state: no one notification's key.
  EXPECT_EQ(receiver_.requests()[2].Header("Idempotency-Key"), "");

  // "a" resolves; the next re-send carries it resolved, "b" still firing.
  now_ = t0 + 90 * kSecond;
  emitter->Send(MakeNotification(Payload("resolved", "a", R"("2026-11-21T13:01:40Z")")));
  EXPECT_EQ(emitter->Resend(t0 + 120 * kSecond).http_status, 200);
  ASSERT_EQ(receiver_.requests().size(), 5u);
  batch = nlohmann::json::parse(receiver_.requests()[4].body);
  ASSERT_EQ(batch.size(), 1u) << "a was sent resolved at +90s; only b is due at +120s";
  EXPECT_EQ(batch[0]["labels"]["site"], "b");

  EXPECT_EQ(emitter->Resend(t0 + 150 * kSecond).http_status, 200);  // a: due again
  batch = nlohmann::json::parse(receiver_.requests().at(5).body);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]["labels"]["site"], "a");
  EXPECT_EQ(batch[0]["endsAt"], "2026-11-21T13:01:40Z");

  // 150 s after it resolved, "a" is forgotten; "b" keeps going.
  EXPECT_EQ(emitter->Resend(t0 + 240 * kSecond).http_status, 200);
  EXPECT_EQ(emitter->remembered(), 1u);
  batch = nlohmann::json::parse(receiver_.requests().at(6).body);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]["labels"]["site"], "b");
}

TEST_F(AlertmanagerEmitterTest, FailedResendStaysDue) {
  auto emitter = MakeEmitter();
  const std::int64_t t0 = now_.load();
  emitter->Send(MakeNotification(Payload("firing")));
  receiver_.Respond({503, {{"Retry-After", "5"}}, "", milliseconds(0), false});
  const DeliveryResult failed = emitter->Resend(t0 + kMinute);
  EXPECT_EQ(failed.outcome, DeliveryOutcome::kRetry);
  EXPECT_EQ(failed.retry_after, milliseconds(5000));
  EXPECT_EQ(emitter->Resend(t0 + kMinute + kSecond).http_status, 200);    // still due
  EXPECT_EQ(emitter->Resend(t0 + kMinute + 2 * kSecond).http_status, 0);  // now sent
  EXPECT_EQ(receiver_.requests().size(), 3u);
}

TEST_F(AlertmanagerEmitterTest, RememberSeedsWithoutSendingAndIsDueAtOnce) {
  auto emitter = MakeEmitter();
  EXPECT_TRUE(emitter->Remember(Payload("firing")));
  EXPECT_FALSE(emitter->Remember("{\"status\":\"firing\"}"));
  EXPECT_FALSE(emitter->Remember("not json"));
  EXPECT_TRUE(receiver_.requests().empty());
  EXPECT_EQ(emitter->Resend(now_.load()).http_status, 200);
  ASSERT_EQ(receiver_.requests().size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(receiver_.requests()[0].body).size(), 1u);
}

TEST_F(AlertmanagerEmitterTest, BatchesAndCapacity) {
  AlertmanagerOptions options;
  options.max_batch = 2;
  options.max_alerts = 3;
  auto emitter = MakeEmitter(options);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(emitter->Remember(Payload("firing", "s" + std::to_string(i))), i < 3) << i;
  }
  EXPECT_EQ(emitter->dropped(), 2);
  EXPECT_EQ(emitter->Resend(now_.load()).http_status, 200);
  ASSERT_EQ(receiver_.requests().size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(receiver_.requests()[0].body).size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(receiver_.requests()[1].body).size(), 1u);
}

TEST_F(AlertmanagerEmitterTest, PermanentAnswersAreNotRemembered) {
  auto emitter = MakeEmitter();
  receiver_.Respond({400, {}, "invalid label", milliseconds(0), false});
  const DeliveryResult result = emitter->Send(MakeNotification(Payload("firing")));
  EXPECT_EQ(result.outcome, DeliveryOutcome::kPermanent);
  EXPECT_EQ(result.error, "HTTP 400: invalid label");
  EXPECT_EQ(emitter->remembered(), 0u);
}

TEST_F(AlertmanagerEmitterTest, MalformedPayloadsArePermanent) {
  auto emitter = MakeEmitter();
  for (const std::string& payload :
       {std::string("not json"), std::string("[]"), std::string(R"({"status":"firing"})"),
        std::string(R"({"status":"firing","labels":{"a":""},"starts_at":"2026-11-21T13:00:05Z"})"),
        std::string(R"({"status":"odd","labels":{"a":"b"},"starts_at":"2026-11-21T13:00:05Z"})"),
        std::string(R"({"status":"firing","labels":{"a":"b"},"starts_at":"yesterday"})"),
        std::string(R"({"status":"firing","labels":"a=b","starts_at":"2026-11-21T13:00:05Z"})")}) {
    const DeliveryResult result = emitter->Send(MakeNotification(payload));
    EXPECT_EQ(result.outcome, DeliveryOutcome::kPermanent) << payload;
    EXPECT_THAT(result.error, HasSubstr("not an alert notification")) << payload;
  }
  EXPECT_TRUE(receiver_.requests().empty());
}

TEST_F(AlertmanagerEmitterTest, RejectsBadOptions) {
  AlertmanagerOptions options;
  options.url = "http://127.0.0.1:1";
  options.resend_interval = milliseconds(0);
  EXPECT_FALSE(AlertmanagerEmitter::Create(options).ok());
  options.resend_interval = milliseconds(1000);
  options.max_batch = 0;
  EXPECT_FALSE(AlertmanagerEmitter::Create(options).ok());
  options.max_batch = 1;
  options.url = "127.0.0.1:9093";
  EXPECT_FALSE(AlertmanagerEmitter::Create(options).ok());
}

TEST(Rfc3339Test, FormatsAndParses) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kStart + 250'000'000), "2026-11-21T13:00:05.25Z");
  EXPECT_EQ(FormatRfc3339(kStart + 1), "2026-11-21T13:00:05.000000001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2026-11-21T13:00:05.0123Z"), kStart + 12'300'000);
  EXPECT_EQ(ParseRfc3339("2026-11-21T14:00:05+01:00"), kStart);
  EXPECT_EQ(ParseRfc3339("2026-11-21t12:30:05-00:30"), kStart);
  for (std::int64_t ns : {kStart, kStart + 123'456'789, std::int64_t{-5}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(ns)), ns);
  }
  for (const char* bad :
       {"", "2026-11-21", "2026-11-21T13:00:05", "2026-11-21T13:00:05.Z",
        "2026-11-21T13:00:05.1234567891Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-21T24:00:00Z", "2026-11-21T13:00:05Zjunk", "2026-11-21T13:00:05+1:00",
        "9999-01-01T00:00:00Z", "2026-11-21 13:00:05Z", "+026-11-21T13:00:05Z"}) {
    EXPECT_EQ(ParseRfc3339(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace tidewatch::sinks
